"""`/ses domains <campaign>`: Send-only by recipient domain and mailbox provider (the engine's `domains` step)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import one_argument, subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.render import domain_lines
from handlers.single_step import answer_step, run_campaign_step


def domains(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
            deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    campaign = one_argument(command, "campaign", "spring-sendout-042")
    result = run_campaign_step(deps, "domains", campaign)
    answer_step(respond, "domains", result, campaign, in_channel=True,
                extra_lines=domain_lines(result.get("data") or {}))


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.DOMAINS)])(domains)
