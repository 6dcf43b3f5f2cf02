"""`/ses account`: SES account sending status, enforcement and quota, and the configuration sets' options
(the engine's `account` step, judged on the newest campaign; the pure `check_account` when there is none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.aws import AwsError, AwsUnavailable
from bot.slack_deps import SlackDeps
from checks.account import AccountInputs, check_account
from handlers.background import after_ack
from handlers.command import subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step, latest_campaign, run_campaign_step


def account(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
            deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    campaign = latest_campaign(deps)
    if campaign is not None:
        answer_step(respond, "account", run_campaign_step(deps, "account", campaign),
                    f"the account (and campaign {campaign})", in_channel=True)
        return
    ses = deps.investigator().ses
    info, problem, is_error = None, None, False
    try:
        if ses is None:
            raise AwsUnavailable(deps.investigator().aws_problem)
        info = dict(ses.account())
    except AwsError as exc:
        problem, is_error = exc.reason, not isinstance(exc, AwsUnavailable)
    result = check_account(AccountInputs(info, problem, is_error, {}, {}))
    answer_step(respond, "account", result.to_dict(), "the account", in_channel=True)


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.ACCOUNT)])(account)
