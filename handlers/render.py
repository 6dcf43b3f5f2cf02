"""Pure Block Kit rendering: plain data in (the engine's JSON shapes), `slack_sdk.models.blocks` out.

Every text that came from a user or an event is escaped here (`handlers.text.escape`), addresses are masked unless
the caller says the reader may see them, and every message is clipped to Slack's limits: section text under 3,000
characters, at most 50 blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.reports import age
from handlers.ids import COMMAND, Action, Subcommand
from handlers.text import (
    CONTEXT_TEXT_MAX,
    PLAIN_TEXT_MAX,
    SECTION_TEXT_MAX,
    clip,
    code,
    escape,
    mask_email,
    mask_emails_in,
    percent,
)

MAX_BLOCKS = 50
MAX_CAUSES = 5
LINE_MAX = 300  # one step's line in a list
STATUS_EMOJI = {"ok": ":white_check_mark:", "finding": ":warning:", "skipped": ":heavy_minus_sign:",
                "error": ":x:", "pending": ":hourglass_flowing_sand:"}
CAUSE_TITLES = {
    "suppression": "Suppressed recipients",
    "missing_events": "Outcome events not captured",
    "temporary_failure": "Temporary failures (SES is retrying)",
    "account_controls": "Account or configuration-set controls",
    "still_in_flight": "Still in flight",
    "unknown": "Unknown",
    "none": "Nothing wrong",
}
STEP_TITLES = {
    "suppression": "Suppression", "routing": "Event routing", "domains": "Recipient domains",
    "temporary_failures": "Temporary failures", "account": "Account", "authentication": "Authentication",
    "reputation": "Reputation",
}
Blocks = list[Block]


# ---------------------------------------------------------------------------------------------- building blocks
def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_TEXT_MAX - 1)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, CONTEXT_TEXT_MAX))])


def header(text: str) -> HeaderBlock:
    """`text` is raw (escaped here: Slack decodes &amp; &lt; &gt; in plain text too)."""
    return HeaderBlock(text=PlainTextObject(text=clip(escape(text), PLAIN_TEXT_MAX), emoji=True))


def button(label: str, action: Action, value: str, style: str | None = None) -> ButtonElement:
    """`label` is raw (escaped here); `value` is data for our own handler, never shown, so it stays raw."""
    return ButtonElement(text=PlainTextObject(text=clip(escape(label), 75), emoji=True), action_id=action,
                         value=value, style=style)


def finish(blocks: Sequence[Block], note: str = "Shortened to fit Slack's limits.") -> Blocks:
    """At most 50 blocks: the last one says what was cut."""
    if len(blocks) <= MAX_BLOCKS:
        return list(blocks)
    return [*blocks[: MAX_BLOCKS - 1], context(note)]


def as_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    """Validated JSON (slack_sdk raises SlackObjectFormationError on anything Slack would reject)."""
    return [b.to_dict() for b in blocks]


def lines_to_sections(lines: Sequence[str]) -> Blocks:
    """Pack lines into as few sections as fit under the text limit."""
    out: Blocks = []
    chunk = ""
    for line in lines:
        line = clip(line, SECTION_TEXT_MAX - 2)
        if chunk and len(chunk) + 1 + len(line) >= SECTION_TEXT_MAX:
            out.append(section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(section(chunk))
    return out


def shown(address: str, show_addresses: bool) -> str:
    return escape(address if show_addresses else mask_email(address))


def free_text(text: object, show_addresses: bool = False) -> str:
    """Text written by someone else (a summary quoting a bounce diagnostic): addresses masked, then escaped."""
    raw = str(text)
    return escape(raw if show_addresses else mask_emails_in(raw))


def when(iso_or_ms: str | int | None) -> str:
    if iso_or_ms is None:
        return "-"
    if isinstance(iso_or_ms, int):
        return datetime.fromtimestamp(iso_or_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return escape(iso_or_ms.replace("T", " ").replace(".000Z", "Z"))


# ---------------------------------------------------------------------------------------------- help
HELP_LINES = (
    (Subcommand.WHY, "<campaign>", "why recipients are stuck in Send: ranked causes, evidence, charts"),
    (Subcommand.CAMPAIGNS, "", "campaigns with Send-only figures"),
    (Subcommand.RECIPIENT, "<email>", "every message to one address (only you see the answer)"),
    (Subcommand.MESSAGE, "<message-id>", "one SES message and its recipients (only you see the answer)"),
    (Subcommand.SUPPRESSION, "<campaign|email>", "the suppression step alone, or one address on the list"),
    (Subcommand.ROUTING, "[configuration-set]", "are outcome events published and captured?"),
    (Subcommand.DOMAINS, "<campaign>", "Send-only by recipient domain and mailbox provider"),
    (Subcommand.AUTH, "<domain>", "SPF, DKIM, DMARC and MAIL FROM of a sending domain"),
    (Subcommand.ACCOUNT, "", "SES account sending status, enforcement and quota"),
    (Subcommand.HELP, "", "this list"),
)


def help_blocks(intro: str | None = None) -> Blocks:
    lines = [f"`{COMMAND} {sub}{' ' + escape(arg) if arg else ''}` – {what}" for sub, arg, what in HELP_LINES]
    blocks: Blocks = []
    if intro:
        blocks.append(section(intro))
    blocks.append(section("*sesbot* explains why SES recipients are stuck in Send.\n" + "\n".join(lines)))
    blocks.append(context(f"Also: `{COMMAND} why campaign <name>`. Addresses are masked in channels."))
    return blocks


def help_text(intro: str | None = None) -> str:
    return (intro + " " if intro else "") + f"Try {COMMAND} help."


# ---------------------------------------------------------------------------------------------- why: progress
def step_line(name: str, step: Mapping[str, Any] | None, show_addresses: bool = False) -> str:
    title = STEP_TITLES.get(name, escape(name))
    if step is None:
        return f"{STATUS_EMOJI['pending']} *{title}*"
    status = str(step.get("status", ""))
    summary = clip(free_text(step.get("summary", ""), show_addresses), LINE_MAX)
    return f"{STATUS_EMOJI.get(status, ':grey_question:')} *{title}*: {summary}"


def progress_blocks(campaign: str, steps: Sequence[str], done: Mapping[str, Mapping[str, Any]]) -> Blocks:
    lines = [step_line(name, done.get(name)) for name in steps]
    return [
        section(f":mag: Investigating {code(campaign)}…"),
        *lines_to_sections(lines),
        context(f"{len([s for s in steps if s in done])} of {len(steps)} steps done"),
    ]


def progress_text(campaign: str) -> str:
    return f"Investigating {escape(campaign)}…"


# ---------------------------------------------------------------------------------------------- why: verdict
def evidence_counts(evidence: Mapping[str, Any], max_items: int = 4) -> str:
    """Numbers only: counts, and breakdowns (`by_reason: {BOUNCE: 30}`) with their largest items. Lists (examples,
    which may hold addresses) stay out of channel posts; keys are escaped and any address in them masked."""
    parts = []
    for key, value in evidence.items():
        label = escape(key).replace("_", " ")
        if key == "step" or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            parts.append(f"{label}: {_number(value)}")
        elif isinstance(value, Mapping):
            numbers = sorted(((k, v) for k, v in value.items() if isinstance(v, int | float)
                              and not isinstance(v, bool)), key=lambda kv: -kv[1])
            if numbers:
                shown_items = ", ".join(f"{free_text(k)} {_number(v)}" for k, v in numbers[:max_items])
                more = f", +{len(numbers) - max_items}" if len(numbers) > max_items else ""
                parts.append(f"{label}: {shown_items}{more}")
    return "; ".join(parts)


def _number(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3g}"


def cause_block(rank: int, cause: Mapping[str, Any]) -> SectionBlock:
    name = str(cause.get("cause", "unknown"))
    title = CAUSE_TITLES.get(name, escape(name))
    score = float(cause.get("score") or 0.0)
    evidence = cause.get("evidence") or {}
    lines = [f"*{rank}. {title}*  (score {score:.2f})", free_text(cause.get("summary", ""))]
    counts = evidence_counts(evidence) if isinstance(evidence, Mapping) else ""
    step = evidence.get("step") if isinstance(evidence, Mapping) else None
    if counts or step:
        source = f" (from {STEP_TITLES.get(str(step), escape(step))})" if step else ""
        lines.append(f"_Evidence{source}:_ {counts or '-'}")
    return section("\n".join(lines))


def send_only_line(report: Mapping[str, Any], delivery_window_s: int) -> str:
    totals = report.get("totals") or {}
    so = report.get("send_only") or {}
    recipients = sum(v for v in totals.values() if isinstance(v, int))
    count, rate = int(so.get("count") or 0), float(so.get("rate") or 0.0)
    parts = [f"*{percent(rate)}* Send-only: {count:,} of {recipients:,} recipients"]
    if so.get("stuck_count") is not None:
        parts.append(f"{int(so['stuck_count']):,} past the {age(delivery_window_s)} delivery window")
    if so.get("oldest_age_s") is not None:
        parts.append(f"oldest {age(so['oldest_age_s'])}")
    return "; ".join(parts)


def window_line(report: Mapping[str, Any], first_send_ms: int | None, last_send_ms: int | None) -> str:
    timings = report.get("timings") or {}
    took = timings.get("total")
    if not isinstance(took, int | float):
        took = sum(v for v in timings.values() if isinstance(v, int | float))
    return (f"Sends {when(first_send_ms)} – {when(last_send_ms)} · evaluated at {when(report.get('now'))}"
            f" · took {took:.1f} s")


def verdict_blocks(report: Mapping[str, Any], *, steps: Sequence[str], delivery_window_s: int,
                   first_send_ms: int | None = None, last_send_ms: int | None = None) -> Blocks:
    """The answer to `/ses why`: causes ranked with scores and next steps, evidence counts, steps, buttons."""
    campaign = str(report.get("campaign", ""))
    causes = [c for c in report.get("causes") or [] if isinstance(c, Mapping)]
    blocks: Blocks = [
        header(f"Why {campaign} is stuck in Send"),
        section(send_only_line(report, delivery_window_s)),
    ]
    if not causes:
        blocks.append(section("No cause stood out. See the steps below."))
    for rank, cause in enumerate(causes[:MAX_CAUSES], start=1):
        blocks.append(cause_block(rank, cause))
    if len(causes) > MAX_CAUSES:
        blocks.append(context(f"{len(causes) - MAX_CAUSES} more cause(s) with lower scores."))
    step_results = report.get("steps") or {}
    blocks.append(DividerBlock())
    blocks.extend(lines_to_sections([step_line(name, step_results.get(name)) for name in steps
                                     if name in step_results]))
    blocks.append(ActionsBlock(block_id="why_actions", elements=[
        button("Send-only recipients (CSV)", Action.SEND_ONLY_CSV, campaign, style="primary"),
        button("Re-run", Action.RERUN, campaign),
    ]))
    detail_buttons = [button(f"Details: {STEP_TITLES.get(name, name)}", Action.STEP_DETAILS,
                             details_value(name, campaign))
                      for name in steps if name in step_results]
    if detail_buttons:
        blocks.append(ActionsBlock(block_id="why_details", elements=detail_buttons))
    blocks.append(context(window_line(report, first_send_ms, last_send_ms)))
    return finish(blocks)


def verdict_text(report: Mapping[str, Any]) -> str:
    causes = report.get("causes") or []
    top = causes[0].get("cause") if causes and isinstance(causes[0], Mapping) else None
    title = CAUSE_TITLES.get(str(top), "no clear cause") if top else "no clear cause"
    return f"{escape(report.get('campaign', ''))}: {title}"


def details_value(step: str, campaign: str) -> str:
    return f"{step}|{campaign}"


# ---------------------------------------------------------------------------------------------- one step
def finding_lines(step: Mapping[str, Any], show_addresses: bool) -> list[str]:
    lines = []
    for finding in step.get("findings") or []:
        if not isinstance(finding, Mapping):
            continue
        severity = str(finding.get("severity", "info"))
        mark = {"critical": ":red_circle:", "warning": ":large_orange_circle:"}.get(severity, ":white_circle:")
        lines.append(f"{mark} {free_text(finding.get('summary', ''), show_addresses)}")
    return lines


def step_blocks(name: str, step: Mapping[str, Any], subject: str, show_addresses: bool = False,
                extra_lines: Sequence[str] = ()) -> Blocks:
    """One step in full: its status line, every finding and step-specific lines (already escaped)."""
    blocks: Blocks = [section(f"{step_line(name, step, show_addresses)}\n_for {code(subject)}_")]
    lines = finding_lines(step, show_addresses) + list(extra_lines)
    if not lines:
        lines = ["No findings."]
    blocks.extend(lines_to_sections(lines))
    return finish(blocks)


def domain_lines(data: Mapping[str, Any], limit: int = 15) -> list[str]:
    """The `domains` step's providers and domains tables (sorted by Send-only, by the engine)."""
    lines = []
    providers = [p for p in data.get("providers") or [] if isinstance(p, Mapping)]
    if providers:
        lines.append("*Providers* (Send-only / recipients, rate)")
        lines += [f"• {escape(p.get('provider'))}: {int(p.get('send_only') or 0):,} / "
                  f"{int(p.get('recipients') or 0):,}, {percent(float(p.get('rate') or 0))}"
                  for p in providers[:limit]]
    domains = [d for d in data.get("domains") or [] if isinstance(d, Mapping)]
    if domains:
        lines.append("*Domains*")
        lines += [f"• {escape(d.get('domain'))} ({escape(d.get('provider') or '?')}): "
                  f"{int(d.get('send_only') or 0):,} / {int(d.get('recipients') or 0):,}, "
                  f"{percent(float(d.get('rate') or 0))}" for d in domains[:limit]]
        if len(domains) > limit:
            lines.append(f"_…and {len(domains) - limit:,} more domains_")
    return lines


# ---------------------------------------------------------------------------------------------- reports
def campaigns_blocks(report: Mapping[str, Any], limit: int = 40) -> Blocks:
    rows = [r for r in report.get("campaigns") or [] if isinstance(r, Mapping)]
    if not rows:
        return [section("No campaigns yet: sesbot has not received SES events with a campaign tag.")]
    rows = sorted(rows, key=lambda r: r.get("last_send") or "", reverse=True)
    lines = []
    for row in rows[:limit]:
        so = row.get("send_only") or {}
        lines.append(f"{code(row.get('campaign') or '(untagged)')}  {int(row.get('recipients') or 0):,} recipients, "
                     f"*{percent(float(so.get('rate') or 0))}* Send-only ({int(so.get('count') or 0):,}; "
                     f"{int(so.get('stuck_count') or 0):,} stuck, oldest {age(so.get('oldest_age_s'))}); "
                     f"last send {when(row.get('last_send'))}")
    blocks: Blocks = [section(f"*Campaigns* (newest first, {len(rows):,} in all)"), *lines_to_sections(lines)]
    if len(rows) > limit:
        blocks.append(context(f"{len(rows) - limit:,} older campaign(s) not shown."))
    blocks.append(context(f"Ask `{COMMAND} why <campaign>` for the reasons."))
    return finish(blocks)


def event_lines(events: Iterable[Mapping[str, Any]], show_addresses: bool) -> list[str]:
    lines = []
    for e in events:
        detail = f" – {free_text(e['detail'], show_addresses)}" if e.get("detail") else ""
        expires = f" (retries until {when(e['expires'])})" if e.get("expires") else ""
        lines.append(f"    {when(e.get('time'))}  *{escape(e.get('type'))}*{detail}{expires}")
    return lines


def recipient_blocks(report: Mapping[str, Any], show_addresses: bool, limit: int = 20) -> Blocks:
    messages = [m for m in report.get("messages") or [] if isinstance(m, Mapping)]
    lines = []
    for m in messages[:limit]:
        lines.append(f"• {when(m.get('send_time'))}  {code(m.get('campaign') or '(untagged)')}  "
                     f"`{escape(m.get('message_id'))}`  state *{escape(m.get('state'))}*")
        lines += event_lines(m.get("events") or [], show_addresses)
    blocks: Blocks = [section(f"*{shown(str(report.get('recipient', '')), show_addresses)}*: "
                              f"{len(messages)} message(s), newest first"), *lines_to_sections(lines)]
    if not show_addresses:
        blocks.append(context("Addresses are masked: you are not in SESBOT_PII_USERS."))
    return finish(blocks)


def message_blocks(report: Mapping[str, Any], show_addresses: bool, limit: int = 50) -> Blocks:
    recipients = [r for r in report.get("recipients") or [] if isinstance(r, Mapping)]
    lines = []
    for r in recipients[:limit]:
        lines.append(f"• {shown(str(r.get('recipient', '')), show_addresses)}: *{escape(r.get('state'))}*")
        lines += event_lines(r.get("events") or [], show_addresses)
    blocks: Blocks = [
        section(f"*Message* `{escape(report.get('message_id'))}`\ncampaign {code(report.get('campaign') or '-')}, "
                f"configuration set {code(report.get('configuration_set') or '-')}, "
                f"sent {when(report.get('send_time'))}"),
        *lines_to_sections(lines),
    ]
    if not show_addresses:
        blocks.append(context("Addresses are masked: you are not in SESBOT_PII_USERS."))
    return finish(blocks)
