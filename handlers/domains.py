"""`/ses domains <campaign>`: Send-only by recipient domain and mailbox provider (the engine's `domains` step)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.command import one_argument
from handlers.ids import Subcommand
from handlers.render import domain_lines
from handlers.single_step import answer_step, run_campaign_step
from handlers.subcommand import register_subcommand


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    campaign = one_argument(command, "campaign", "spring-sendout-042")
    result = run_campaign_step(deps, "domains", campaign)
    answer_step(respond, "domains", result, campaign, in_channel=True,
                extra_lines=domain_lines(result.get("data") or {}))


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.DOMAINS, answer)
