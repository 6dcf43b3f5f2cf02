"""Shared by the one-step subcommands (`suppression`, `routing`, `domains`, `auth`, `account`): one step of the
engine (`Investigator.run_step` and its campaign-less variants, the same code as `sesbot suppression` etc.)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.campaign_lookup import UnknownCampaign, require_campaign
from handlers.render import as_dicts, step_blocks

Respond = Callable[..., Any]


def run_campaign_step(deps: SlackDeps, step: str, campaign: str) -> dict[str, Any]:
    from bot.investigate import CampaignNotFound

    campaign = require_campaign(deps.store, campaign)
    try:
        result, _summary, _seconds = deps.investigator().run_step(step, campaign, deps.clock_ms())
    except CampaignNotFound as exc:
        raise UnknownCampaign(exc.campaign, list(exc.close_matches)) from None
    return result.to_dict()


def since_ms(deps: SlackDeps, now_ms: int) -> int:
    """Campaigns with a Send after this are active (SESBOT_ACTIVE_HOURS), as for `sesbot routing` and `account`."""
    return now_ms - deps.settings.active_hours * 3_600_000


def answer_step(respond: Respond, step: str, result: dict[str, Any], subject: str, *, in_channel: bool,
                show_addresses: bool = False, extra_lines: Sequence[str] = ()) -> None:
    """In a channel, addresses are always masked; `show_addresses` only counts for an ephemeral answer."""
    respond(response_type="in_channel" if in_channel else "ephemeral",
            text=f"{step}: {result.get('status')}",
            blocks=as_dicts(step_blocks(step, result, subject, show_addresses=show_addresses and not in_channel,
                                        extra_lines=extra_lines)))
