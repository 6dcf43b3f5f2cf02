"""`/ses message <id>`: one SES message and its recipients, answered only to the asker; full addresses only for
SESBOT_PII_USERS (bot.reports.message_report, the same data as `sesbot message`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cli import NotFound
from bot.reports import message_report
from bot.slack_deps import SlackDeps
from handlers.command import one_argument
from handlers.ids import Subcommand
from handlers.render import as_dicts, message_blocks
from handlers.subcommand import register_subcommand


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    message_id = one_argument(command, "message-id", "0100018c1e2f3a4b-...-000000").strip()
    record = deps.store.message(message_id)
    if record is None:
        raise NotFound(f"No message {message_id[:80]} within retention.")
    sees = deps.access.sees_addresses(command.get("user_id"), client)
    report = message_report(record)
    respond(response_type="ephemeral", text=f"message {message_id}",
            blocks=as_dicts(message_blocks(report, show_addresses=sees)))


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.MESSAGE, answer)
