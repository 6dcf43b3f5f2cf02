"""`/ses routing [configuration-set]`: are outcome events published and captured? (the engine's `routing` step,
`Investigator.routing_for`, as `sesbot routing`): the named set, or those of every campaign active lately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import optional_argument, subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step, since_ms


def routing(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
            deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    config_set = optional_argument(command, "configuration-set", "marketing")
    now_ms = deps.clock_ms()
    result, _seconds, sets = deps.investigator().routing_for(config_set, now_ms, since_ms(deps, now_ms))
    if not sets:
        raise UsageError(f"No campaign had a Send in the last {deps.settings.active_hours} h: name a configuration "
                         f"set, e.g. {COMMAND} routing marketing")
    answer_step(respond, "routing", result.to_dict(), ", ".join(sets), in_channel=True)


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.ROUTING)])(routing)
