"""Shared by the one-step subcommands (`suppression`, `routing`, `domains`, `account`): run one investigation step
of the engine (`Investigator.run_step`, the same code as `/ses why` and `sesbot why`) and answer with it."""

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


def latest_campaign(deps: SlackDeps, config_set: str | None = None) -> str | None:
    """The campaign with the newest send (using `config_set`, when given)."""
    best: tuple[int, str] | None = None
    for name, _first, last in deps.store.campaigns():
        if not name:
            continue
        if config_set is not None:
            summary = deps.store.campaign_summary(name)
            if summary is None or config_set not in summary.config_sets:
                continue
        if best is None or last > best[0]:
            best = (last, name)
    return best[1] if best else None


def answer_step(respond: Respond, step: str, result: dict[str, Any], subject: str, *, in_channel: bool,
                extra_lines: Sequence[str] = ()) -> None:
    respond(response_type="in_channel" if in_channel else "ephemeral",
            text=f"{step}: {result.get('status')}",
            blocks=as_dicts(step_blocks(step, result, subject, show_addresses=False, extra_lines=extra_lines)))
