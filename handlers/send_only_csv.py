"""The "Send-only recipients (CSV)" button: a CSV of the campaign's Send-only recipients in the answer's thread.

Addresses are masked (`j***@example.net`) unless the user who clicked is in SESBOT_PII_USERS.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from typing import Any

from bot.reports import iso
from bot.slack_deps import SlackDeps
from bot.store import MessageRecord, RecipientRecord
from handlers.background import after_ack
from handlers.button import campaign_button, presser
from handlers.campaign_lookup import require_campaign
from handlers.ids import Action
from handlers.text import escape, mask_email

MAX_ROWS = 100_000
COLUMNS = ("recipient", "domain", "message_id", "configuration_set", "send_time")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_name(campaign: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", campaign)[:80] or "campaign"


def cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def send_only_csv(rows: Iterable[tuple[MessageRecord, RecipientRecord]], show_addresses: bool,
                  limit: int = MAX_ROWS) -> tuple[bytes, int]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n = 0
    for message, recipient in rows:
        if n >= limit:
            break
        address = recipient.recipient if show_addresses else mask_email(recipient.recipient)
        writer.writerow([cell(address), cell(recipient.recipient.rpartition("@")[2]), cell(message.message_id),
                         cell(message.configuration_set), cell(iso(message.send_ms))])
        n += 1
    return out.getvalue().encode(), n


def export_send_only(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any,
                     respond: Callable[..., Any], deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(body, action, client, respond, deps))


def answer(body: dict[str, Any], action: dict[str, Any], client: Any, respond: Callable[..., Any],
           deps: SlackDeps) -> None:
    channel, named = campaign_button(body, action, deps)
    campaign = require_campaign(deps.store, named)
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or message.get("ts") or (body.get("container") or {}).get("message_ts")
    sees = deps.access.sees_addresses(presser(body), client)
    data, n = send_only_csv(deps.store.recipients_in_state(campaign, ("send_only",), limit=MAX_ROWS + 1), sees)
    if n == 0:
        respond(response_type="ephemeral", replace_original=False,
                text=f"{escape(campaign)} has no Send-only recipients now.")
        return
    masked = "" if sees else " (addresses masked)"
    client.files_upload_v2(channel=channel, thread_ts=thread_ts, content=data,
                           filename=f"send-only-{safe_name(campaign)}.csv", title=f"Send-only recipients{masked}",
                           initial_comment=f"{n:,} Send-only recipient(s) of {escape(campaign)}{masked}"
                                           f"{' – first ' + format(MAX_ROWS, ',') if n >= MAX_ROWS else ''}.")


def register(app: Any) -> None:
    app.action(Action.SEND_ONLY_CSV)(export_send_only)
