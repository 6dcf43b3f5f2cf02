"""Work after `ack()`: listeners acknowledge at once and hand the rest to the app's worker threads.

Why not simply go on in the listener: Bolt (with process_before_response off) waits for `ack()` from its own thread
pool, and a listener that fails right after acknowledging can reset that acknowledgement before Bolt has seen it;
Bolt then answers nothing for 3 seconds and tries the next listener (the help text). Handing the work over makes
the listener itself trivially fast and safe; errors in the work go to the same error handler as every other error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from handlers.errors import handle_error

log = logging.getLogger(__name__)


def after_ack(deps: Any, body: dict[str, Any], respond: Callable[..., Any] | None, work: Callable[[], None]) -> None:
    """Run `work` on the app's executor; a user error is answered as one line, anything else with a reference."""

    def run() -> None:
        try:
            work()
        except Exception as exc:
            handle_error(exc, body, respond)

    deps.executor.submit(run)
