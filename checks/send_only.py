"""Send-only figures of a campaign from its aggregates (pure: `now` is passed in)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MINUTE_MS = 60_000
SES_MAX_RETRY_S = 14 * 3600  # SES retries a deferred message for up to 14 h unless MaxDeliverySeconds is lower


@dataclass(frozen=True)
class SendOnly:
    count: int
    rate: float  # of recipients whose Send is known
    stuck_count: int  # older than the delivery window
    in_flight_count: int  # younger than the delivery window
    lost_count: int  # older than the retry deadline: SES has given up, the outcome was never captured
    oldest_age_s: float | None  # minute resolution (the store keeps Send-only counts per send minute)
    sent: int  # recipients with a known Send

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def send_only_figures(
    totals: dict[str, int],
    send_only_by_minute: dict[int, int],
    now_ms: int,
    delivery_window_s: int,
    retry_deadline_s: int = SES_MAX_RETRY_S,
) -> SendOnly:
    count = totals.get("send_only", 0)
    sent = sum(n for state, n in totals.items() if state != "unknown")
    stuck = lost = 0
    oldest_minute = None
    for minute, n in send_only_by_minute.items():
        if n <= 0:
            continue
        newest_send_in_minute = (minute + 1) * MINUTE_MS
        if now_ms - newest_send_in_minute >= delivery_window_s * 1000:
            stuck += n
        if now_ms - newest_send_in_minute >= retry_deadline_s * 1000:
            lost += n
        oldest_minute = minute if oldest_minute is None else min(oldest_minute, minute)
    oldest_age = None if oldest_minute is None else max(0.0, (now_ms - oldest_minute * MINUTE_MS) / 1000)
    return SendOnly(
        count=count,
        rate=round(count / sent, 4) if sent else 0.0,
        stuck_count=stuck,
        in_flight_count=max(0, count - stuck),
        lost_count=lost,
        oldest_age_s=oldest_age,
        sent=sent,
    )
