"""The buttons of a channel alert: "Investigate" (the `why` answer in the alert's thread), "Snooze 1h",
"Mute campaign", and "Unmute" on the mute note.

Each listener acks and hands its work to the app's executor (handlers.background.after_ack, as every other
listener does): a listener that raised right after `ack()` could reset Bolt's acknowledgement before Bolt saw it,
and under load the request then went unanswered for 3 s and ended as a 404. The `answer_*` functions do the work
and raise `UsageError` for a bad button; the one error handler answers it. The button's value is the campaign.
Snooze and mute are kept in Redis through bot.alerts, so every replica's scheduler sees them at its next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot import alerts
from bot.cli import UsageError
from handlers import alert_blocks
from handlers.background import after_ack
from handlers.ids import AlertAction

log = logging.getLogger(__name__)

MAX_VALUE = 2000
INVALID = "That button is not valid any more. Ask with /ses why <campaign>."


def _where(body: dict[str, Any]) -> tuple[str, str, str | None]:
    """(channel, the alert's thread ts, channel name) of the message whose button was pressed."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    message = body.get("message") or {}
    ts = message.get("thread_ts") or message.get("ts") or (body.get("container") or {}).get("message_ts")
    if not channel or not ts:
        raise UsageError(INVALID)
    return str(channel), str(ts), (body.get("channel") or {}).get("name")


def _campaign(action: dict[str, Any]) -> str:
    value = action.get("value")
    if not isinstance(value, str) or len(value) > MAX_VALUE:
        raise UsageError(INVALID)
    return value  # "" is the untagged campaign


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "someone")


def investigate(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any,
                respond: Callable[..., Any], deps: Any) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer_investigate(body, action, client, deps))


def snooze(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any,
           respond: Callable[..., Any], deps: Any) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer_snooze(body, action, client, deps))


def mute(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any,
         respond: Callable[..., Any], deps: Any) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer_mute(body, action, client, deps))


def unmute(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any,
           respond: Callable[..., Any], deps: Any) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer_unmute(body, action, client, deps))


def answer_investigate(body: dict[str, Any], action: dict[str, Any], client: Any, deps: Any) -> None:
    """The `/ses why` answer (progress edited as steps finish, verdict, charts) in the alert's thread."""
    from handlers.why import run_why

    channel, thread_ts, name = _where(body)
    deps.access.require_channel(channel, name)
    run_why(client, deps, channel, _campaign(action), thread_ts=thread_ts)


def answer_snooze(body: dict[str, Any], action: dict[str, Any], client: Any, deps: Any) -> None:
    channel, thread_ts, name = _where(body)
    deps.access.require_channel(channel, name)
    campaign, user = _campaign(action), _user(body)
    alerts.snooze(deps.store, campaign, user, alerts.SNOOZE_S)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                            text=alert_blocks.snoozed_note(campaign, user, alerts.SNOOZE_S / 3600))


def answer_mute(body: dict[str, Any], action: dict[str, Any], client: Any, deps: Any) -> None:
    channel, thread_ts, name = _where(body)
    deps.access.require_channel(channel, name)
    campaign, user = _campaign(action), _user(body)
    alerts.mute(deps.store, campaign, user)
    text, blocks = alert_blocks.muted_note(campaign, user)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)


def answer_unmute(body: dict[str, Any], action: dict[str, Any], client: Any, deps: Any) -> None:
    channel, thread_ts, name = _where(body)
    deps.access.require_channel(channel, name)
    campaign, user = _campaign(action), _user(body)
    alerts.unmute(deps.store, campaign)
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=alert_blocks.unmuted_note(campaign, user))


def register(app: Any) -> None:
    app.action(AlertAction.INVESTIGATE)(investigate)
    app.action(AlertAction.SNOOZE)(snooze)
    app.action(AlertAction.MUTE)(mute)
    app.action(AlertAction.UNMUTE)(unmute)
