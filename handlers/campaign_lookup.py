"""An unknown campaign name becomes a user error listing the closest names the store knows (as the CLI does)."""

from __future__ import annotations

from typing import Any

from bot.cli import NotFound
from handlers.ids import COMMAND, Subcommand
from handlers.text import code

CLOSE_MATCHES = 3


class UnknownCampaign(NotFound):
    mrkdwn_safe = True  # the names in the message are escaped where it is built

    def __init__(self, campaign: str, close_matches: list[str]) -> None:
        self.campaign = campaign
        self.close_matches = close_matches
        hint = (" Did you mean " + ", ".join(code(m) for m in close_matches) + "?") if close_matches else ""
        super().__init__(f"Unknown campaign {code(campaign)}.{hint} Try {COMMAND} {Subcommand.CAMPAIGNS}.")


def close_matches(store: Any, name: str) -> list[str]:
    """The engine's own suggestions (`Investigator.close_matches`: similar names and names containing it)."""
    from bot.investigate import Investigator

    return Investigator(store, None, None).close_matches(name)[:CLOSE_MATCHES]


def require_campaign(store: Any, name: str) -> str:
    """`name` when the store has the campaign, else UnknownCampaign with close matches."""
    known = [c for c, _first, _last in store.campaigns()]
    if name in known:
        return name
    lowered = {c.lower(): c for c in known}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise UnknownCampaign(name, close_matches(store, name))
