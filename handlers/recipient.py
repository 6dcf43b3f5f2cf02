"""`/ses recipient <email>`: every message to one address, answered only to the asker; full addresses only for
SESBOT_PII_USERS (bot.reports.recipient_report, the same data as `sesbot recipient`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cli import NotFound, UsageError
from bot.reports import recipient_report
from bot.slack_deps import SlackDeps
from handlers.command import one_argument
from handlers.ids import COMMAND, Subcommand
from handlers.render import as_dicts, recipient_blocks, shown
from handlers.subcommand import register_subcommand


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    email = one_argument(command, "email", "jane@example.net")
    if "@" not in email:
        raise UsageError(f"{email[:80]} is not an email address. Usage: {COMMAND} recipient <email>")
    sees = deps.access.sees_addresses(command.get("user_id"), client)
    records = deps.store.recipient(email)
    if not records:
        raise NotFound(f"No messages to {shown(email.strip().lower(), sees)} within retention.")
    report = recipient_report(email, records)
    respond(response_type="ephemeral", text=f"{len(report['messages'])} message(s)",
            blocks=as_dicts(recipient_blocks(report, show_addresses=sees)))


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.RECIPIENT, answer)
