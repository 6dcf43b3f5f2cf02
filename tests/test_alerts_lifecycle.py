"""The alert lifecycle against a real Redis and the local Slack Web API server (slack_sdk over HTTP)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from bot import cli
from bot.alert_run import collect_alerts
from bot.alerts import AlertLifecycle, web_client
from handlers.ids import AlertAction
from tests.alerts_support import alert_settings, deliveries_for, ingest_records, ingest_scenario, ms, open_store

CHANNEL = "C0ALERTS"


@pytest.fixture
def env(redis_url, slack_api):
    store = open_store(redis_url)
    settings = alert_settings(redis_url, slack_api.url)

    def lifecycle(charts: bool = False) -> AlertLifecycle:
        return AlertLifecycle(store, web_client(settings), CHANNEL, charts=charts)

    return store, settings, lifecycle


def channel_posts(slack_api):
    return [c for c in slack_api.calls_to("chat.postMessage") if not c.args.get("thread_ts")]


def thread_posts(slack_api, ts):
    return [c for c in slack_api.calls_to("chat.postMessage") if c.args.get("thread_ts") == ts]


def addresses(sim) -> set[str]:
    return {r for e in sim.events for r in e["mail"]["destination"]}


def test_a_new_incident_is_one_message_with_figures_buttons_and_a_chart_in_its_thread(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "suppression_no_bounce_events")
    result = lifecycle(charts=True).sync(collect_alerts(store, settings, ms(sim.now)))
    assert result.posted == [sim.campaign]
    [post] = channel_posts(slack_api)
    assert post.args["channel"] == CHANNEL and post.token == "xoxb-test-token"
    text = json.dumps(post.args["blocks"])
    assert sim.campaign in text and "Send-only rate" in text and "Send-only age" in text
    assert f"{sim.expected_send_only['stuck_count']:,} stuck" in text
    actions = next(b for b in post.args["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == list(AlertAction)[:3]
    assert {e["value"] for e in actions["elements"]} == {sim.campaign}
    assert "@" not in json.dumps(post.args) and not any(a in json.dumps(post.args) for a in addresses(sim))

    [chart] = slack_api.uploaded()
    incident = lifecycle().incidents()[sim.campaign]
    assert (chart["channel"], chart["thread_ts"]) == (CHANNEL, incident.ts)
    assert chart["data"].startswith(b"\x89PNG") and chart["filename"] == "send-only.png"


def test_restart_does_not_post_again(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "missing_events")
    run = collect_alerts(store, settings, ms(sim.now))
    assert lifecycle().sync(run).posted == [sim.campaign]
    again = lifecycle().sync(collect_alerts(store, settings, ms(sim.now)))  # a new process, same Redis
    assert again.to_dict() == {"posted": [], "digest": [], "updated": [], "escalated": [], "resolved": [],
                               "quiet": [], "failed": []}
    assert len(channel_posts(slack_api)) == 1


def test_rising_severity_updates_the_message_and_posts_to_its_thread(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "suppression_no_bounce_events")
    lifecycle().sync(collect_alerts(store, settings, ms(sim.now)))
    incident = lifecycle().incidents()[sim.campaign]
    assert incident.severity == "warning"

    later = collect_alerts(store, settings, ms(sim.now + timedelta(hours=2)))  # the oldest pass 4 h: critical
    result = lifecycle().sync(later)
    assert result.escalated == [sim.campaign]
    [update] = slack_api.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (CHANNEL, incident.ts)
    assert update.args["text"].startswith("[critical]")
    [note] = thread_posts(slack_api, incident.ts)
    assert "rose from warning to *critical*" in note.args["text"]
    assert slack_api.messages[(CHANNEL, incident.ts)]["text"].startswith("[critical]")
    assert len(channel_posts(slack_api)) == 1


def test_a_resolved_note_when_the_outcomes_arrive(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "missing_events")
    lifecycle().sync(collect_alerts(store, settings, ms(sim.now)))
    incident = lifecycle().incidents()[sim.campaign]

    ingest_records(store, deliveries_for(sim, sim.now - timedelta(minutes=1)))
    result = lifecycle().sync(collect_alerts(store, settings, ms(sim.now)))
    assert result.resolved == [sim.campaign]
    [note] = thread_posts(slack_api, incident.ts)
    assert "Resolved" in note.args["text"] and "no alert fires any more" in note.args["text"]
    [update] = slack_api.calls_to("chat.update")
    assert update.args["ts"] == incident.ts and update.args["text"] == f"[resolved] {sim.campaign}"
    assert not any(b["type"] == "actions" for b in update.args["blocks"])
    assert lifecycle().incidents() == {}
    assert lifecycle().sync(collect_alerts(store, settings, ms(sim.now))).resolved == []
    assert len(slack_api.calls_to("chat.postMessage")) == 2


def test_a_campaign_going_inactive_resolves_its_incident(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "suppression_no_bounce_events")
    lifecycle().sync(collect_alerts(store, settings, ms(sim.now)))
    result = lifecycle().sync(collect_alerts(store, settings, ms(sim.now + timedelta(hours=30))))
    assert result.resolved == [sim.campaign]
    assert "no longer active" in slack_api.calls_to("chat.postMessage")[-1].args["text"]


def test_many_campaigns_firing_at_once_become_one_digest(env, slack_api):
    store, settings, lifecycle = env
    sims = [ingest_scenario(store, "suppression_no_bounce_events", recipients=300, seed=s, campaign=f"winback-{s}")
            for s in range(7)]
    now = ms(max(s.now for s in sims))
    result = lifecycle().sync(collect_alerts(store, settings, now))
    assert sorted(result.digest) == sorted(s.campaign for s in sims) and result.posted == []
    [digest] = channel_posts(slack_api)
    assert digest.args["text"] == "7 campaigns are alerting"
    assert all(s.campaign in json.dumps(digest.args["blocks"]) for s in sims)
    incidents = lifecycle().incidents()
    [digest_ts] = [ts for (_, ts), m in slack_api.messages.items() if m["text"] == "7 campaigns are alerting"]
    assert {i.ts for i in incidents.values()} == {digest_ts}
    assert all(i.digest for i in incidents.values())

    ingest_records(store, deliveries_for(sims[0], sims[0].now))
    resolved = lifecycle().sync(collect_alerts(store, settings, now))
    assert resolved.resolved == ["winback-0"]
    [note] = thread_posts(slack_api, incidents["winback-0"].ts)
    assert "winback-0" in note.args["text"]
    assert slack_api.calls_to("chat.update") == []  # the digest itself is not rewritten
    assert len(channel_posts(slack_api)) == 1


def test_snoozed_and_muted_campaigns_stay_quiet(env, slack_api):
    store, settings, lifecycle = env
    a = ingest_scenario(store, "missing_events", campaign="digest-a")
    b = ingest_scenario(store, "missing_events", campaign="digest-b", seed=9)
    life = lifecycle()
    life.snooze(a.campaign, "U1")
    life.mute(b.campaign, "U2")
    run = collect_alerts(store, settings, ms(a.now))
    result = life.sync(run)
    assert (result.posted, result.quiet) == ([], [a.campaign, b.campaign])
    assert slack_api.calls_to("chat.postMessage") == []
    assert life.unmute(b.campaign) is True
    assert life.sync(run).posted == [b.campaign]
    assert store.client.ttl(store.keys.alert_snooze(a.campaign)) > 3500


def test_slack_429_on_posting_is_retried_without_a_duplicate(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "missing_events")
    slack_api.fail_next("chat.postMessage")
    result = lifecycle().sync(collect_alerts(store, settings, ms(sim.now)))
    assert result.posted == [sim.campaign] and result.failed == []
    attempts = slack_api.calls_to("chat.postMessage", ok_only=False)
    assert [c.status for c in attempts] == [429, 200]
    assert len([m for m in slack_api.messages.values() if not m["thread_ts"]]) == 1


def test_a_refused_post_leaves_no_incident_and_is_retried_on_the_next_run(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "missing_events")
    slack_api.fail_next("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    run = collect_alerts(store, settings, ms(sim.now))
    first = lifecycle().sync(run)
    assert (first.posted, first.failed) == ([], [sim.campaign])
    assert lifecycle().incidents() == {}
    assert lifecycle().sync(run).posted == [sim.campaign]


def test_two_processes_syncing_at_the_same_moment_post_once(env, slack_api):
    store, settings, lifecycle = env
    sim = ingest_scenario(store, "missing_events")
    run = collect_alerts(store, settings, ms(sim.now))
    barrier = threading.Barrier(4)
    results = []

    def sync() -> None:
        life = lifecycle()
        barrier.wait()
        results.append(life.sync(run))

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r.posted) for r in results) == [0, 0, 0, 1]
    assert len(channel_posts(slack_api)) == 1


def test_check_post_through_the_command_line(redis_url, slack_api, monkeypatch, capsys):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "missing_events")
    for name, value in {"REDIS_URL": redis_url, "SLACK_API_URL": slack_api.url, "SLACK_BOT_TOKEN": "xoxb-cli",
                        "SESBOT_ALERT_CHANNEL": CHANNEL}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "SESBOT_ALERT_THRESHOLDS"):
        monkeypatch.delenv(name, raising=False)
    assert cli.run(["check", "--post", "--json", "--now", sim.now.isoformat()]) == 0
    assert "posted 1" in capsys.readouterr().err
    assert cli.run(["check", "--post", "--now", sim.now.isoformat()]) == 0
    assert "nothing to change" in capsys.readouterr().err
    assert len(channel_posts(slack_api)) == 1 and channel_posts(slack_api)[0].token == "xoxb-cli"


def test_alert_key_names_are_pinned_and_share_one_slot():
    from redis.crc import key_slot

    from bot.keys import KeySchema

    s = KeySchema("sb")
    names = [s.alert_incidents(), s.alert_claim("a{b}"), s.alert_snooze("spring"), s.alert_muted(),
             s.alert_thresholds()]
    assert names == ["sb:{a}:incidents", "sb:{a}:claim:a%7Bb%7D", "sb:{a}:snooze:spring", "sb:{a}:muted",
                     "sb:{a}:thresholds"]
    assert len({key_slot(n.encode()) for n in names}) == 1
    assert s.lock("job:alerts") == "sb:lock:job:alerts"
