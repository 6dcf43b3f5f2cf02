"""`/ses account`: SES account sending status, enforcement and quota, and the active configuration sets' options
(the engine's `account` step, `Investigator.account_for`, as `sesbot account`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step, since_ms


def account(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
            deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    now_ms = deps.clock_ms()
    result, _seconds, sets = deps.investigator().account_for(now_ms, since_ms(deps, now_ms))
    subject = "the account" + (f" and configuration sets {', '.join(sets)}" if sets else "")
    answer_step(respond, "account", result.to_dict(), subject, in_channel=True)


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.ACCOUNT)])(account)
