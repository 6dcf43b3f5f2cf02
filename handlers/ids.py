"""Slack identifiers: the /ses subcommands and the action ids of our buttons (never string literals elsewhere)."""

from __future__ import annotations

from enum import StrEnum

COMMAND = "/ses"


class Subcommand(StrEnum):
    WHY = "why"
    CAMPAIGNS = "campaigns"
    RECIPIENT = "recipient"
    MESSAGE = "message"
    SUPPRESSION = "suppression"
    ROUTING = "routing"
    DOMAINS = "domains"
    AUTH = "auth"
    ACCOUNT = "account"
    HELP = "help"


class Action(StrEnum):
    SEND_ONLY_CSV = "sesbot_send_only_csv"
    RERUN = "sesbot_rerun"
    STEP_DETAILS = "sesbot_step_details"


class AlertAction(StrEnum):
    """The buttons of a channel alert (posted by bot.alerts, answered by handlers.alerts)."""

    INVESTIGATE = "alert_investigate"
    SNOOZE = "alert_snooze"
    MUTE = "alert_mute"
    UNMUTE = "alert_unmute"
