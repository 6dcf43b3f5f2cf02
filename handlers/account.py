"""`/ses account`: SES account sending status, enforcement and quota, and the active configuration sets' options
(the engine's `account` step, `Investigator.account_for`, as `sesbot account`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.ids import Subcommand
from handlers.single_step import answer_step, since_ms
from handlers.subcommand import register_subcommand


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    now_ms = deps.clock_ms()
    result, _seconds, sets = deps.investigator().account_for(now_ms, since_ms(deps, now_ms))
    subject = "the account" + (f" and configuration sets {', '.join(sets)}" if sets else "")
    answer_step(respond, "account", result.to_dict(), subject, in_channel=True)


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.ACCOUNT, answer)
