"""What a pressed button tells a listener: the channel it was pressed in, who pressed it, the campaign it names.

The same for every button of a `/ses why` answer (Re-run, Details, Send-only CSV); the channel is checked against
SESBOT_SLACK_CHANNELS before anything else is read.
"""

from __future__ import annotations

from typing import Any

from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.command import MAX_TEXT

INVALID = "That button is not valid any more. Ask again with /ses why <campaign>."


def allowed_channel(body: dict[str, Any], deps: SlackDeps) -> str | None:
    """The id of the channel the button was pressed in (None when Slack did not say), once the bot may answer
    there; `NotAllowedHere` otherwise."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    deps.access.require_channel(channel, (body.get("channel") or {}).get("name"))
    return channel


def presser(body: dict[str, Any]) -> str | None:
    """The Slack user id of whoever pressed the button."""
    return (body.get("user") or {}).get("id")


def campaign_button(body: dict[str, Any], action: dict[str, Any], deps: SlackDeps) -> tuple[str, str]:
    """(channel, campaign) of a button whose value is a campaign name (Re-run, Send-only CSV), once the bot may
    answer in that channel; a button with no campaign (or none of sane length), or pressed where Slack gave no
    channel, is no longer valid."""
    channel = allowed_channel(body, deps)
    value = action.get("value")
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or not channel:
        raise UsageError(INVALID)
    return channel, value.strip()
