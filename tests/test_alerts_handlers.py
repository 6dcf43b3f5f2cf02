"""The alert buttons' work (handlers.alerts.answer_*) called directly, and their listeners called as Bolt calls them
(ack, body, action, client, respond, deps), against a real Redis and the local Slack Web API server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.alert_run import collect_alerts
from bot.alerts import AlertLifecycle, web_client
from bot.cli import UsageError
from handlers import alerts as alert_handlers
from handlers.ids import AlertAction
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


def press(answer, action_id: str, value: str, ctx, *, user: str = "U0JANE") -> None:
    body = block_action_payload(action_id, value, user_id=user, channel_id=CHANNEL, message_ts=ctx.incident.ts)
    answer(body, body["actions"][0], ctx.client, ctx.deps)


def test_snooze_quiets_the_campaign_for_an_hour_and_says_so_in_the_thread(posted, slack_api):
    press(alert_handlers.answer_snooze, AlertAction.SNOOZE, posted.sim.campaign, posted)
    ttl = posted.store.client.ttl(posted.store.keys.alert_snooze(posted.sim.campaign))
    assert 3500 < ttl <= 3600
    note = slack_api.calls_to("chat.postMessage")[-1]
    assert note.args["thread_ts"] == posted.incident.ts and "<@U0JANE> snoozed" in note.args["text"]

    later = collect_alerts(posted.store, posted.settings, ms(posted.sim.now + timedelta(hours=2)))
    result = posted.lifecycle.sync(later)  # would escalate to critical if not snoozed
    assert (result.quiet, result.escalated) == ([posted.sim.campaign], [])
    assert slack_api.calls_to("chat.update") == []


def test_mute_then_unmute(posted, slack_api):
    press(alert_handlers.answer_mute, AlertAction.MUTE, posted.sim.campaign, posted)
    note = slack_api.calls_to("chat.postMessage")[-1]
    assert note.args["thread_ts"] == posted.incident.ts
    assert [e["action_id"] for e in note.args["blocks"][1]["elements"]] == [AlertAction.UNMUTE]
    later = collect_alerts(posted.store, posted.settings, ms(posted.sim.now + timedelta(hours=2)))
    assert posted.lifecycle.sync(later).quiet == [posted.sim.campaign]

    press(alert_handlers.answer_unmute, AlertAction.UNMUTE, posted.sim.campaign, posted)
    assert "unmuted" in slack_api.calls_to("chat.postMessage")[-1].args["text"]
    assert posted.lifecycle.sync(later).escalated == [posted.sim.campaign]


def test_a_tampered_button_is_a_user_error(posted):
    with pytest.raises(UsageError):
        press(alert_handlers.answer_snooze, AlertAction.SNOOZE, "x" * 3000, posted)
    body = block_action_payload(AlertAction.MUTE, posted.sim.campaign, channel_id=CHANNEL)
    body["message"] = {}
    body["container"] = {}
    with pytest.raises(UsageError):
        alert_handlers.answer_mute(body, body["actions"][0], posted.client, posted.deps)


@pytest.mark.parametrize("listener", [alert_handlers.investigate, alert_handlers.snooze, alert_handlers.mute,
                                      alert_handlers.unmute])
def test_listeners_ack_and_leave_the_work_and_its_errors_to_the_executor(posted, listener):
    """The listener returns right after ack() even when the button is bad (Bolt's ack race); the work's user error
    reaches the user through respond, from the executor."""
    events: list[tuple[str, object]] = []
    executor = ThreadPoolExecutor(max_workers=1)
    deps = SimpleNamespace(**vars(posted.deps), executor=executor)
    body = block_action_payload(AlertAction.SNOOZE, "x" * 3000, channel_id=CHANNEL, message_ts=posted.incident.ts)
    listener(lambda *a, **k: events.append(("ack", None)), body, body["actions"][0], posted.client,
             lambda **k: events.append(("respond", k)), deps)
    executor.shutdown(wait=True)  # the condition waited on: the handed-over work has finished
    assert [kind for kind, _ in events] == ["ack", "respond"]
    assert "not valid any more" in events[1][1]["text"] and events[1][1]["response_type"] == "ephemeral"
    assert posted.store.client.keys("*snooze*") == [] and posted.store.client.keys("*mute*") == []
