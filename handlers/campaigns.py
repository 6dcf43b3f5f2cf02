"""`/ses campaigns`: campaigns with their Send-only figures (bot.reports, the same rows as `sesbot campaigns`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.reports import campaigns_report
from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.render import as_dicts, campaigns_blocks


def list_campaigns(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any],
                   respond: Callable[..., Any], deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    report = campaigns_report(deps.store, deps.clock_ms(), deps.settings.delivery_window_s)
    respond(response_type="in_channel", text=f"{len(report['campaigns'])} campaign(s)",
            blocks=as_dicts(campaigns_blocks(report)))


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.CAMPAIGNS)])(list_campaigns)
