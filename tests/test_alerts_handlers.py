"""The alert buttons' listeners, called as Bolt calls them (ack, body, action, client, deps), against a real Redis
and the local Slack Web API server."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.alert_run import collect_alerts
from bot.alerts import AlertLifecycle, web_client
from bot.cli import UsageError
from handlers import alerts as alert_handlers
from handlers.alert_blocks import AlertAction
from tests.alerts_support import alert_settings, ingest_scenario, ms, open_store
from tests.slack_signing import block_action_payload

CHANNEL = "C0ALERTS"


class OpenChannels:
    """Every channel allowed (the channel allow-list is the Slack app's concern, tested there)."""

    def require_channel(self, channel_id, channel_name=None) -> None:
        assert channel_id == CHANNEL


@pytest.fixture
def posted(redis_url, slack_api):
    """A campaign whose alert is in the channel: (sim, lifecycle, incident, deps, client)."""
    store = open_store(redis_url)
    settings = alert_settings(redis_url, slack_api.url)
    sim = ingest_scenario(store, "suppression_no_bounce_events")
    lifecycle = AlertLifecycle(store, web_client(settings), CHANNEL, charts=False)
    lifecycle.sync(collect_alerts(store, settings, ms(sim.now)))
    incident = lifecycle.incidents()[sim.campaign]
    deps = SimpleNamespace(store=store, settings=settings, access=OpenChannels())
    return SimpleNamespace(sim=sim, lifecycle=lifecycle, incident=incident, deps=deps, settings=settings,
                           store=store, client=web_client(settings))


def press(handler, action_id: str, value: str, ctx, *, user: str = "U0JANE") -> list[bool]:
    acks: list[bool] = []
    body = block_action_payload(action_id, value, user_id=user, channel_id=CHANNEL, message_ts=ctx.incident.ts)
    handler(lambda *a, **k: acks.append(True), body, body["actions"][0], ctx.client, ctx.deps)
    return acks


def test_snooze_quiets_the_campaign_for_an_hour_and_says_so_in_the_thread(posted, slack_api):
    assert press(alert_handlers.snooze, AlertAction.SNOOZE, posted.sim.campaign, posted) == [True]
    ttl = posted.store.client.ttl(posted.store.keys.alert_snooze(posted.sim.campaign))
    assert 3500 < ttl <= 3600
    note = slack_api.calls_to("chat.postMessage")[-1]
    assert note.args["thread_ts"] == posted.incident.ts and "<@U0JANE> snoozed" in note.args["text"]

    later = collect_alerts(posted.store, posted.settings, ms(posted.sim.now + timedelta(hours=2)))
    result = posted.lifecycle.sync(later)  # would escalate to critical if not snoozed
    assert (result.quiet, result.escalated) == ([posted.sim.campaign], [])
    assert slack_api.calls_to("chat.update") == []


def test_mute_then_unmute(posted, slack_api):
    press(alert_handlers.mute, AlertAction.MUTE, posted.sim.campaign, posted)
    note = slack_api.calls_to("chat.postMessage")[-1]
    assert note.args["thread_ts"] == posted.incident.ts
    assert [e["action_id"] for e in note.args["blocks"][1]["elements"]] == [AlertAction.UNMUTE]
    later = collect_alerts(posted.store, posted.settings, ms(posted.sim.now + timedelta(hours=2)))
    assert posted.lifecycle.sync(later).quiet == [posted.sim.campaign]

    press(alert_handlers.unmute, AlertAction.UNMUTE, posted.sim.campaign, posted)
    assert "unmuted" in slack_api.calls_to("chat.postMessage")[-1].args["text"]
    assert posted.lifecycle.sync(later).escalated == [posted.sim.campaign]


def test_a_tampered_button_is_a_user_error(posted):
    with pytest.raises(UsageError):
        press(alert_handlers.snooze, AlertAction.SNOOZE, "x" * 3000, posted)
    body = block_action_payload(AlertAction.MUTE, posted.sim.campaign, channel_id=CHANNEL)
    body["message"] = {}
    body["container"] = {}
    with pytest.raises(UsageError):
        alert_handlers.mute(lambda: None, body, body["actions"][0], posted.client, posted.deps)
