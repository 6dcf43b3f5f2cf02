"""The investigation report behind a posted `/ses why` answer, kept for its "Details" buttons.

Key: `store.keys.cache("slack_why", "<channel>:<ts>")` (a string of JSON, TTL REPORT_TTL_S).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import redis

from bot.store import Store

log = logging.getLogger(__name__)

REPORT_TTL_S = 7 * 86_400
NAMESPACE = "slack_why"


def save_report(store: Store, channel: str, ts: str, report: dict[str, Any]) -> None:
    try:
        store.client.set(store.keys.cache(NAMESPACE, f"{channel}:{ts}"), orjson.dumps(report, default=str),
                         ex=REPORT_TTL_S)
    except redis.RedisError as exc:  # the answer is posted; only its Details buttons will ask for a re-run
        log.warning("could not keep the report of %s:%s for its Details buttons: %s", channel, ts, exc)


def load_report(store: Store, channel: str, ts: str) -> dict[str, Any] | None:
    raw = store.client.get(store.keys.cache(NAMESPACE, f"{channel}:{ts}"))
    if raw is None:
        return None
    report = orjson.loads(raw)
    return report if isinstance(report, dict) else None
