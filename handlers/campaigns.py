"""`/ses campaigns`: campaigns with their Send-only figures (bot.reports, the same rows as `sesbot campaigns`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.reports import campaigns_report
from bot.slack_deps import SlackDeps
from handlers.ids import Subcommand
from handlers.render import as_dicts, campaigns_blocks
from handlers.subcommand import register_subcommand


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    report = campaigns_report(deps.store, deps.clock_ms(), deps.settings.delivery_window_s)
    respond(response_type="in_channel", text=f"{len(report['campaigns'])} campaign(s)",
            blocks=as_dicts(campaigns_blocks(report)))


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.CAMPAIGNS, answer)
