"""The APScheduler job table and its run guard: replicas against one Redis post each alert once; the suppression
mirror job (AWS through boto3 to the local emulator) warms what the first `/ses why` reads."""

from __future__ import annotations

import time

from bot.alert_providers import MX_WARM_INTERVAL_S
from bot.alerts import AlertLifecycle, web_client
from bot.aws import SesAccount
from bot.investigate import Investigator
from bot.scheduler import (
    JOBS,
    Job,
    JobContext,
    alert_tick,
    build_scheduler,
    enabled_jobs,
    mx_cache_tick,
    run_guarded,
    suppression_mirror_tick,
)
from bot.simulate_aws import load_aws_state
from tests.alerts_support import alert_settings, ingest_scenario, ms, open_store

CHANNEL = "C0ALERTS"


def replica(redis_url, slack_api, now_ms: int) -> JobContext:
    """One process: its own Redis connection, Slack client and scheduler context."""
    settings = alert_settings(redis_url, slack_api.url)
    store = open_store(redis_url)
    lifecycle = AlertLifecycle(store, web_client(settings), CHANNEL, charts=False)
    return JobContext(settings, store, lifecycle, clock=lambda: now_ms / 1000)


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def channel_posts(slack_api):
    return [c for c in slack_api.calls_to("chat.postMessage") if not c.args.get("thread_ts")]


def test_jobs_are_declared_as_a_table():
    assert [(j.id, j.function) for j in JOBS] == [("alerts", alert_tick),
                                                  ("suppression_mirror", suppression_mirror_tick),
                                                  ("mx_cache", mx_cache_tick)]
    settings = alert_settings("redis://127.0.0.1:1/0", SESBOT_ALERT_INTERVAL_S="120",
                              SESBOT_SUPPRESSION_REFRESH_S="300")
    assert [j.interval_s(settings) for j in JOBS] == [120, 300, MX_WARM_INTERVAL_S]
    assert alert_settings("redis://127.0.0.1:1/0").suppression_refresh_s == 600


def test_without_aws_the_suppression_mirror_job_is_not_scheduled(redis_url, slack_api):
    ctx = replica(redis_url, slack_api, 0)
    assert ctx.aws is None
    assert [j.id for j in enabled_jobs(ctx)] == ["alerts"]
    assert [j.id for j in build_scheduler(ctx).get_jobs()] == ["alerts"]


def test_the_run_guard_lets_one_run_per_interval_and_is_never_released(redis_url, slack_api):
    calls = []
    job = Job("probe", lambda ctx: calls.append(ctx), lambda s: 3600)
    ctx = replica(redis_url, slack_api, 0)
    assert run_guarded(job, ctx) is True
    assert run_guarded(job, ctx) is False
    assert len(calls) == 1 and (ctx.runs["probe"], ctx.skipped["probe"]) == (1, 1)
    ttl_ms = ctx.store.client.pttl(ctx.store.keys.lock("job:probe"))
    assert 0.7 * 3_600_000 < ttl_ms <= 0.8 * 3_600_000


def test_two_scheduler_instances_against_the_same_redis_post_exactly_one_alert(redis_url, slack_api):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "missing_events")
    replicas = [replica(redis_url, slack_api, ms(sim.now)) for _ in range(2)]
    schedulers = [build_scheduler(ctx) for ctx in replicas]  # each with its own in-memory job store
    for scheduler in schedulers:
        scheduler.start()
    try:
        wait_until(lambda: sum(c.runs["alerts"] + c.skipped["alerts"] for c in replicas) >= 2)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    assert sorted((c.runs["alerts"], c.skipped["alerts"]) for c in replicas) == [(0, 1), (1, 0)]
    [post] = channel_posts(slack_api)
    assert sim.campaign in post.args["text"]


def test_a_restarted_scheduler_does_not_post_again(redis_url, slack_api):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "missing_events")
    first = replica(redis_url, slack_api, ms(sim.now))
    scheduler = build_scheduler(first)
    scheduler.start()
    try:
        wait_until(lambda: first.runs["alerts"] == 1)
    finally:
        scheduler.shutdown(wait=True)
    assert first.last_result["alerts"].posted == [sim.campaign]

    store.client.delete(store.keys.lock("job:alerts"))  # the interval has passed
    second = replica(redis_url, slack_api, ms(sim.now))
    scheduler = build_scheduler(second)
    scheduler.start()
    try:
        wait_until(lambda: second.runs["alerts"] == 1)
    finally:
        scheduler.shutdown(wait=True)
    assert second.last_result["alerts"].posted == []
    assert len(channel_posts(slack_api)) == 1


def test_a_failing_job_is_logged_and_the_next_interval_runs_again(redis_url, slack_api, caplog):
    def broken(ctx):
        raise RuntimeError("boom")

    job = Job("broken", broken, lambda s: 1)
    ctx = replica(redis_url, slack_api, 0)
    assert run_guarded(job, ctx) is True
    assert "scheduled job broken failed" in caplog.text
    wait_until(lambda: run_guarded(job, ctx))  # the guard expires after 0.8 s
    assert ctx.runs["broken"] == 2


def test_the_suppression_mirror_job_fills_the_mirror_the_first_why_reads(redis_url, slack_api, local_aws,
                                                                       aws_session):
    operations: list[str] = []
    aws_session.events.register("before-call.sesv2.*", lambda model, **_: operations.append(model.name))
    store = open_store(redis_url)
    sim = ingest_scenario(store, "suppression_no_bounce_events", recipients=1000)
    load_aws_state(sim.aws, local_aws)
    now_s = sim.now.timestamp()
    ses = SesAccount(aws_session)
    ctx = replica(redis_url, slack_api, ms(sim.now))
    ctx.aws = ses
    assert [j.id for j in build_scheduler(ctx).get_jobs()] == ["alerts", "suppression_mirror"]
    [job] = [j for j in enabled_jobs(ctx) if j.id == "suppression_mirror"]

    assert run_guarded(job, ctx) is True
    assert ctx.last_result["suppression_mirror"] == "full"
    assert set(operations) == {"ListSuppressedDestinations"}
    mirror = store.client.hgetall(store.keys.cache("suppression", ses.region or "default"))
    listed = {email.lower(): reason for email, reason, _ in sim.aws.suppressed_destinations}
    assert listed and {k.decode(): v.decode().partition("|")[0] for k, v in mirror.items()} == listed
    assert run_guarded(job, ctx) is False  # another run within the interval: the guard says no

    operations.clear()  # the first `why` after the job: its Send-only cohort is looked up in the warm mirror
    inv = Investigator(store, ses, None, clock=lambda: now_s).investigate(sim.campaign, ms(sim.now))
    suppression = inv.steps["suppression"]
    assert suppression.data["list_source"] == "ListSuppressedDestinations (recent refresh, cached)", suppression
    assert "ListSuppressedDestinations" not in operations and "GetSuppressedDestination" not in operations
    assert inv.causes[0].cause == "suppression"
