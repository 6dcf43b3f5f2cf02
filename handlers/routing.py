"""`/ses routing [configuration-set]`: are outcome events published and captured? (the engine's `routing` step).

The step is judged on a campaign: the argument may name one; a configuration set is judged on its newest campaign;
no argument means the newest campaign of all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import optional_argument, subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step, latest_campaign, run_campaign_step


def routing(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
            deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    name = optional_argument(command, "configuration-set", "marketing")
    known = {c for c, _first, _last in deps.store.campaigns()}
    if name is not None and name in known:
        campaign, subject = name, name
    else:
        campaign = latest_campaign(deps, name)
        if campaign is None:
            if name is None:
                raise UsageError("No campaigns yet: routing is judged on the events of a campaign.")
            raise UsageError(f"No campaign or configuration set named `{name[:80]}` in sesbot's events. "
                             f"Try {COMMAND} campaigns.")
        subject = f"{name} (campaign {campaign})" if name else campaign
    result = run_campaign_step(deps, "routing", campaign)
    answer_step(respond, "routing", result, subject, in_channel=True)


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.ROUTING)])(routing)
