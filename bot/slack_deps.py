"""What the Slack listeners need, handed to them through Bolt's context (`context["deps"]`) by one middleware."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from bot.store import Store
from handlers.access import Access

if TYPE_CHECKING:
    from bot.investigate import Investigation, Investigator

WORKERS = 8  # concurrent answers (investigations, look-ups, uploads) after ack()
ChartRenderer = Callable[["Investigation", int, int], dict[str, bytes]]


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class SlackDeps:
    settings: Settings
    store: Store
    access: Access
    clock_ms: Callable[[], int] = wall_clock_ms
    investigator_factory: Callable[[], Investigator] | None = None  # default: bot.investigate.build_investigator
    chart_renderer: ChartRenderer | None = None  # default: bot.charts.render_charts
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sesbot-slack"))
    _investigator: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> SlackDeps:
        return cls(settings, store, Access(settings.allowed_channels, settings.pii_users))

    def investigator(self) -> Investigator:
        """Built on first use (it opens the AWS and DNS seams), then shared by every request."""
        with self._lock:
            if self._investigator is None:
                if self.investigator_factory is not None:
                    self._investigator = self.investigator_factory()
                else:
                    from bot.investigate import build_investigator

                    self._investigator = build_investigator(self.settings, self.store)
            return self._investigator

    def render_charts(self, inv: Investigation, delivery_window_s: int, retry_deadline_s: int) -> dict[str, bytes]:
        if self.chart_renderer is not None:
            return self.chart_renderer(inv, delivery_window_s, retry_deadline_s)
        from bot.charts import render_charts

        return render_charts(inv, delivery_window_s, retry_deadline_s)
