"""Block Kit for channel alerts (pure): one message per campaign incident, its thread notes, and the digest.

Only campaign names, configuration sets, domains and counts appear here: never a recipient address.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from checks.alerts import Alert
from handlers.ids import AlertAction

SECTION_LIMIT = 2900  # Slack's section text limit is 3,000 characters
HEADER_LIMIT = 150
MAX_BLOCKS = 50
DIGEST_LINES = 40

KIND_TITLES = {
    "send_only_rate": "Send-only rate",
    "send_only_age": "Send-only age",
    "domain_spike": "Domain spike",
    "ingestion_gap": "Ingestion gap",
}
SEVERITY_ICONS = {"critical": ":red_circle:", "warning": ":large_orange_circle:", "info": ":white_circle:"}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label(campaign: str) -> str:
    return campaign or "(untagged)"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clock(now_ms: int) -> str:
    return datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def figures_line(figures: dict[str, Any]) -> str:
    parts = [f"{figures.get('recipients', 0):,} recipients", f"{figures.get('send_only', 0):,} Send-only"]
    if figures.get("settled_sent"):
        parts.append(f"{figures.get('stuck', 0):,} stuck ({figures.get('rate', 0.0):.1%} of those sent before "
                     "the delivery window)")
    oldest = figures.get("oldest_age_s")
    if oldest:
        parts.append(f"oldest {oldest / 3600:.1f} h" if oldest >= 3600 else f"oldest {oldest / 60:.0f} min")
    if figures.get("configuration_sets"):
        parts.append("configuration set " + ", ".join(figures["configuration_sets"]))
    return " · ".join(parts)


def alert_lines(alerts: Sequence[Alert]) -> str:
    lines = [f"{SEVERITY_ICONS.get(str(a.severity), '')} *{KIND_TITLES.get(a.kind, a.kind)}* ({a.severity}): "
             f"{_escape(a.summary)}" for a in alerts]
    return clip("\n".join(lines), SECTION_LIMIT)


def buttons(campaign: str) -> ActionsBlock:
    value = clip(campaign, 2000)
    return ActionsBlock(block_id="alert_actions", elements=[
        ButtonElement(text="Investigate", action_id=AlertAction.INVESTIGATE, value=value, style="primary"),
        ButtonElement(text="Snooze 1h", action_id=AlertAction.SNOOZE, value=value),
        ButtonElement(text="Mute campaign", action_id=AlertAction.MUTE, value=value, style="danger"),
    ])


def incident_message(campaign: str, severity: str, alerts: Sequence[Alert], figures: dict[str, Any],
                     now_ms: int) -> tuple[str, list[dict[str, Any]]]:
    """The incident's channel message (posted once, then kept current with chat.update)."""
    kinds = ", ".join(KIND_TITLES.get(a.kind, a.kind) for a in alerts)
    text = f"[{severity}] {label(campaign)}: {kinds}"
    blocks = [
        HeaderBlock(text=clip(f"{severity.capitalize()}: campaign {label(campaign)}", HEADER_LIMIT)),
        SectionBlock(text=MarkdownTextObject(text=alert_lines(alerts))),
        ContextBlock(elements=[MarkdownTextObject(text=clip(
            f"{_escape(figures_line(figures))} · updated {_clock(now_ms)}", SECTION_LIMIT))]),
        buttons(campaign),
    ]
    return clip(text, SECTION_LIMIT), [b.to_dict() for b in blocks]


def resolved_message(campaign: str, figures: dict[str, Any], opened_ms: int, now_ms: int,
                     reason: str) -> tuple[str, list[dict[str, Any]]]:
    text = f"[resolved] {label(campaign)}"
    blocks = [
        HeaderBlock(text=clip(f"Resolved: campaign {label(campaign)}", HEADER_LIMIT)),
        SectionBlock(text=MarkdownTextObject(text=clip(
            f":white_check_mark: {_escape(reason)} (open {_clock(opened_ms)} to {_clock(now_ms)}).",
            SECTION_LIMIT))),
    ]
    if figures:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(_escape(figures_line(figures)),
                                                                          SECTION_LIMIT))]))
    return text, [b.to_dict() for b in blocks]


def resolved_note(campaign: str, reason: str, now_ms: int) -> str:
    return f":white_check_mark: Resolved at {_clock(now_ms)}: {reason} ({label(campaign)})."


def escalation_note(campaign: str, old: str, new: str, alerts: Sequence[Alert]) -> str:
    raised = [a for a in alerts if str(a.severity) == new]
    lines = "\n".join(f"• *{KIND_TITLES.get(a.kind, a.kind)}*: {_escape(a.summary)}" for a in raised)
    return clip(f":arrow_up: {label(campaign)} rose from {old} to *{new}*.\n{lines}", SECTION_LIMIT)


def digest_message(items: Sequence[tuple[str, str, Sequence[Alert]]],
                   now_ms: int) -> tuple[str, list[dict[str, Any]]]:
    """Many campaigns firing at once: one message, one line per campaign (the worst first)."""
    text = f"{len(items)} campaigns are alerting"
    lines = []
    for campaign, severity, alerts in items[:DIGEST_LINES]:
        kinds = ", ".join(KIND_TITLES.get(a.kind, a.kind) for a in alerts)
        lines.append(f"{SEVERITY_ICONS.get(severity, '')} *{_escape(label(campaign))}* ({severity}): {kinds}")
    if len(items) > DIGEST_LINES:
        lines.append(f"… and {len(items) - DIGEST_LINES} more (`sesbot check` lists them all)")
    blocks: list[Any] = [HeaderBlock(text=clip(text, HEADER_LIMIT))]
    chunk: list[str] = []
    for line in lines:  # several sections so no section passes Slack's limit
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_LIMIT:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(clip(line, SECTION_LIMIT))
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=(
        f"Changes and resolutions follow in this thread · `/ses why CAMPAIGN` to investigate · {_clock(now_ms)}"))]))
    return text, [b.to_dict() for b in blocks[:MAX_BLOCKS]]


def snoozed_note(campaign: str, user: str, hours: float) -> str:
    return f":zzz: <@{user}> snoozed alerts for {label(campaign)} for {hours:g} h."


def muted_note(campaign: str, user: str) -> tuple[str, list[dict[str, Any]]]:
    text = f":no_bell: <@{user}> muted alerts for {label(campaign)}."
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id="alert_unmute", elements=[
            ButtonElement(text="Unmute", action_id=AlertAction.UNMUTE, value=clip(campaign, 2000)),
        ]),
    ]
    return text, [b.to_dict() for b in blocks]


def unmuted_note(campaign: str, user: str) -> str:
    return f":bell: <@{user}> unmuted alerts for {label(campaign)}."
