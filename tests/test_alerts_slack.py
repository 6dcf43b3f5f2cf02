"""Alert buttons end to end: an alert posted by the lifecycle, then signed block-action requests to the running
web app (real Bolt app, Redis, investigation engine) with the local Slack Web API server as Slack."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bot.alert_run import collect_alerts
from bot.alerts import AlertLifecycle, web_client
from bot.simulate import simulate
from handlers.ids import AlertAction
from tests.alerts_support import ms
from tests.slack_env import CHANNEL, SlackEnv
from tests.test_slack_app import blocks_valid

CAMPAIGN = "winback-reactivation-alerts"


def alerted(slack_env: Any) -> tuple[SlackEnv, AlertLifecycle, Any, str]:
    """A running app and a campaign whose alert is in the channel: (env, lifecycle, sim, alert ts)."""
    env: SlackEnv = slack_env()
    sim = simulate("suppression_no_bounce_events", recipients=600, campaign=CAMPAIGN)
    env.ingest(sim.events)
    env.set_now(sim.now)
    lifecycle = AlertLifecycle(env.store, web_client(env.settings), CHANNEL, charts=False)
    assert lifecycle.sync(collect_alerts(env.store, env.settings, ms(sim.now))).posted == [CAMPAIGN]
    [posted] = env.api.calls_to("chat.postMessage")
    blocks_valid(posted.args["blocks"])
    ts = lifecycle.incidents()[CAMPAIGN].ts
    return env, lifecycle, sim, ts


def thread_texts(env: SlackEnv, ts: str) -> list[str]:
    return [c.args.get("text", "") for c in env.api.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]


def test_snooze_button_quiets_the_campaign(slack_env: Any) -> None:
    env, lifecycle, sim, ts = alerted(slack_env)
    assert env.action(AlertAction.SNOOZE, CAMPAIGN, message_ts=ts).status == 200
    env.api.wait_for("chat.postMessage", count=2)
    assert any("snoozed alerts" in t for t in thread_texts(env, ts))
    assert env.store.client.ttl(env.store.keys.alert_snooze(CAMPAIGN)) > 3500

    later = collect_alerts(env.store, env.settings, ms(sim.now + timedelta(hours=2)))
    assert lifecycle.sync(later).quiet == [CAMPAIGN]
    assert env.api.calls_to("chat.update") == []


def test_mute_and_unmute_buttons(slack_env: Any) -> None:
    env, lifecycle, sim, ts = alerted(slack_env)
    assert env.action(AlertAction.MUTE, CAMPAIGN, message_ts=ts).status == 200
    [_, note] = env.api.wait_for("chat.postMessage", count=2)
    assert note.args["thread_ts"] == ts and "muted alerts" in note.args["text"]
    blocks_valid(note.args["blocks"])
    later = collect_alerts(env.store, env.settings, ms(sim.now + timedelta(hours=2)))
    assert lifecycle.sync(later).quiet == [CAMPAIGN]

    assert env.action(AlertAction.UNMUTE, CAMPAIGN, message_ts=ts).status == 200
    env.api.wait_for("chat.postMessage", count=3)
    assert any("unmuted alerts" in t for t in thread_texts(env, ts))
    assert lifecycle.sync(later).escalated == [CAMPAIGN]


def test_investigate_runs_why_into_the_alert_s_thread(slack_env: Any) -> None:
    env, _lifecycle, _sim, ts = alerted(slack_env)
    assert env.action(AlertAction.INVESTIGATE, CAMPAIGN, message_ts=ts).status == 200
    env.api.wait_for("files.completeUploadExternal")
    progress = [c for c in env.api.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]
    assert progress and progress[0].args["text"] == f"Investigating {CAMPAIGN}…"
    [progress_ts] = [t for (_, t), m in env.api.messages.items() if m["thread_ts"] == ts]
    verdict = [c for c in env.api.calls_to("chat.update") if c.args["ts"] == progress_ts][-1]
    assert "suppression" in json.dumps(verdict.args["blocks"]).lower()
    uploads = env.api.uploaded()
    assert uploads and {u["thread_ts"] for u in uploads} == {ts}


def test_a_tampered_button_gets_a_friendly_answer(slack_env: Any) -> None:
    env, _lifecycle, _sim, ts = alerted(slack_env)
    assert env.action(AlertAction.SNOOZE, "x" * 2500, message_ts=ts).status == 200
    [answer] = env.api.wait_for("response_url")  # polls the Slack API server's calls up to a deadline
    assert "not valid any more" in answer.args["text"] and answer.args["response_type"] == "ephemeral"
    assert env.store.client.keys("*snooze*") == []
    assert thread_texts(env, ts) == []  # no snooze note
