"""`/ses routing [configuration-set]`: are outcome events published and captured? (the engine's `routing` step,
`Investigator.routing_for`, as `sesbot routing`): the named set, or those of every campaign active lately."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.command import optional_argument
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step, since_ms
from handlers.subcommand import register_subcommand


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    config_set = optional_argument(command, "configuration-set", "marketing")
    now_ms = deps.clock_ms()
    result, _seconds, sets = deps.investigator().routing_for(config_set, now_ms, since_ms(deps, now_ms))
    if not sets:
        raise UsageError(f"No campaign had a Send in the last {deps.settings.active_hours} h: name a configuration "
                         f"set, e.g. {COMMAND} routing marketing")
    answer_step(respond, "routing", result.to_dict(), ", ".join(sets), in_channel=True)


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.ROUTING, answer)
