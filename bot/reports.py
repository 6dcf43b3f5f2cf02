"""Plain data for the `campaigns`, `message` and `recipient` reports: one shape for --json, the text view and
Slack (which masks addresses itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.store import CampaignSummary, MessageRecord, RecipientRecord, Store
from checks.send_only import send_only_figures


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--now {text!r} is not an ISO-8601 time (e.g. 2026-12-04T10:00:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def age(seconds: float | None, *, compact: bool = False) -> str:
    """How long ago, in minutes under an hour, hours (one decimal) under two days, then days; "-" for no age.
    ``compact`` writes "12m" instead of "12 min", for the fixed-width columns of the text table."""
    if seconds is None:
        return "-"
    if seconds < 3600:
        value, unit, short_unit = f"{seconds / 60:.0f}", "min", "m"
    elif seconds < 172_800:
        value, unit, short_unit = f"{seconds / 3600:.1f}", "h", "h"
    else:
        value, unit, short_unit = f"{seconds / 86_400:.0f}", "d", "d"
    return value + short_unit if compact else f"{value} {unit}"


def campaign_row(summary: CampaignSummary, now_ms: int, delivery_window_s: int) -> dict[str, Any]:
    figures = send_only_figures(summary.totals, summary.send_only_by_minute, now_ms, delivery_window_s)
    return {
        "campaign": summary.campaign,
        "recipients": summary.recipients,
        "first_send": iso(summary.first_send_ms),
        "last_send": iso(summary.last_send_ms),
        "configuration_sets": sorted(summary.config_sets),
        "totals": {k: v for k, v in sorted(summary.totals.items())},
        "send_only": figures.to_dict(),
    }


def campaigns_report(store: Store, now_ms: int, delivery_window_s: int) -> dict[str, Any]:
    rows = []
    for name, _first, _last in store.campaigns():
        summary = store.campaign_summary(name)
        if summary is not None:
            rows.append(campaign_row(summary, now_ms, delivery_window_s))
    return {"now": iso(now_ms), "campaigns": rows, "counters": store.counters()}


def events_json(recipient: RecipientRecord) -> list[dict[str, Any]]:
    out = []
    for view in recipient.events:
        item: dict[str, Any] = {"type": view.type, "time": iso(view.time_ms)}
        if view.detail:
            item["detail"] = view.detail
        if view.expires_ms:
            item["expires"] = iso(view.expires_ms)
        out.append(item)
    return out


def message_fields(record: MessageRecord) -> dict[str, Any]:
    """What both reports say about a message: its id, campaign, configuration set and Send time."""
    return {
        "message_id": record.message_id,
        "campaign": record.campaign,
        "configuration_set": record.configuration_set,
        "send_time": iso(record.send_ms),
    }


def message_report(record: MessageRecord) -> dict[str, Any]:
    return {
        **message_fields(record),
        "recipients": [
            {"recipient": r.recipient, "state": r.state, "events": events_json(r)} for r in record.recipients
        ],
    }


def recipient_report(address: str, records: list[MessageRecord]) -> dict[str, Any]:
    messages = []
    for record in records:
        for r in record.recipients:
            messages.append({
                **message_fields(record),
                "state": r.state,
                "events": events_json(r),
            })
    return {"recipient": address.strip().lower(), "messages": messages}


def campaign_label(name: str | None) -> str:
    if name is None:
        return "(waiting for its Send)"
    return name or "(untagged)"
