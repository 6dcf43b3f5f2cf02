"""The investigation engine's wiring on edge data, against the real components: Redis, the local AWS endpoint
(boto3 over HTTP, responses validated against botocore's shapes) and NSD.

Covers: an empty campaign, all recipients Send-only, AWS calls throttled or denied (a skipped/error step, never a
crash), no AWS configured, a step that does not finish in time, the authentication step fed with the identity's
DKIM tokens (SPF with 11 lookups, no DMARC, a DKIM CNAME pointing elsewhere), and the reputation step with a
listed sending IP in a test blocklist zone and a refused-query answer (127.255.255.254).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import redis

from bot.aws import SesAccount
from bot.aws_emulator import LocalAws
from bot.dns_resolver import DnsResolver
from bot.investigate import STEPS, Investigator, RedisDnsCache, SuppressionListCache
from bot.reports import iso
from bot.simulate import simulate
from bot.simulate_aws import load_aws_state
from bot.store import Store
from checks.findings import Status
from checks.reputation import SPAMHAUS_ZEN
from tests.dns_server import NsdServer, closed_port
from tests.scenario_env import ingest, sesbot_json, stage

TEST_ZEN = dataclasses.replace(SPAMHAUS_ZEN, name="Test ZEN", zone="zen.bl.test")
REFUSED_ZEN = dataclasses.replace(SPAMHAUS_ZEN, name="Refused ZEN", zone="refused.bl.test")

# Eleven includes, split over two character-strings (each at most 255 characters; receivers join them).
FIRST_INCLUDES = " ".join(f"include:s{i}.bad-auth.test" for i in range(6))
MORE_INCLUDES = " ".join(f"include:s{i}.bad-auth.test" for i in range(6, 11))
BAD_AUTH_ZONE = "\n".join([
    f'@ IN TXT "v=spf1 {FIRST_INCLUDES}" " {MORE_INCLUDES} ~all"',
    *(f's{i} IN TXT "v=spf1 ip4:192.0.2.{i} -all"' for i in range(11)),
])


def _store(redis_url: str) -> Store:
    return Store(redis.Redis.from_url(redis_url))


def _now_ms(sim: Any) -> int:
    return int(sim.now.timestamp() * 1000)


def test_empty_campaign_has_nothing_to_explain(redis_url: str, ses_account: SesAccount) -> None:
    # Outcome events whose Send never arrived: the campaign exists, but no recipient has a known Send.
    sim = simulate("healthy", recipients=40)
    store = _store(redis_url)
    ingest(store, [r for r in sim.events if r["eventType"] == "Delivery"])
    inv = Investigator(store, ses_account, None).investigate(sim.campaign, _now_ms(sim))
    assert inv.summary.totals["unknown"] > 0 and inv.send_only.sent == 0
    assert [c.cause for c in inv.causes] == ["none"]
    assert "nothing to explain" in inv.causes[0].summary
    assert set(inv.steps) == set(STEPS)


def test_all_send_only_without_aws_points_at_missing_events(redis_url: str) -> None:
    sim = simulate("healthy", recipients=300)
    store = _store(redis_url)
    ingest(store, [r for r in sim.events if r["eventType"] == "Send"])
    inv = Investigator(store, None, None).investigate(sim.campaign, _now_ms(sim))
    assert inv.send_only.rate == 1.0
    for name in ("suppression", "account"):
        assert inv.steps[name].status == Status.SKIPPED, inv.steps[name]
        assert "AWS is not configured" in inv.steps[name].summary
    assert inv.steps["routing"].status == Status.FINDING
    assert [f.code for f in inv.steps["routing"].findings] == ["no_outcome_events"]
    assert inv.steps["authentication"].status == Status.SKIPPED
    assert inv.causes[0].cause == "missing_events"
    assert inv.causes[0].score == pytest.approx(0.8, abs=0.01)  # inferred from the events alone


def test_all_send_only_with_aws_sees_the_cloudwatch_gap(redis_url: str, local_aws: LocalAws,
                                                        ses_account: SesAccount) -> None:
    sim = simulate("healthy", recipients=300)
    store = _store(redis_url)
    ingest(store, [r for r in sim.events if r["eventType"] == "Send"])
    load_aws_state(sim.aws, local_aws)
    inv = Investigator(store, ses_account, None).investigate(sim.campaign, _now_ms(sim))
    codes = {f.code for f in inv.steps["routing"].findings}
    assert "cloudwatch_gap" in codes
    assert inv.causes[0].cause == "missing_events" and inv.causes[0].score > 0.9


@pytest.mark.parametrize(("operation", "code", "step"), [
    ("GetAccount", "ThrottlingException", "account"),
    ("GetAccount", "AccessDeniedException", "account"),
    ("ListSuppressedDestinations", "AccessDeniedException", "suppression"),
    ("GetConfigurationSetEventDestinations", "AccessDeniedException", "routing"),
])
def test_failing_aws_calls_make_one_step_error(operation: str, code: str, step: str, redis_url: str,
                                                local_aws: LocalAws, ses_account: SesAccount) -> None:
    sim = stage("suppression_no_bounce_events", redis_url, local_aws, None, recipients=600)
    local_aws.fail_next(operation, code, times=5)  # outlasts botocore's retry of throttling
    inv = Investigator(_store(redis_url), ses_account, None).investigate(sim.campaign, _now_ms(sim))
    result = inv.steps[step]
    assert result.status == Status.ERROR, result
    assert code in result.summary
    others = {n: s.status for n, s in inv.steps.items() if n not in (step, "authentication", "reputation")}
    assert all(status in (Status.OK, Status.FINDING) for status in others.values()), others
    assert inv.causes  # the verdict still comes


def test_denied_suppression_list_falls_back_on_routing(redis_url: str, local_aws: LocalAws,
                                                      ses_account: SesAccount) -> None:
    sim = stage("suppression_no_bounce_events", redis_url, local_aws, None, recipients=600)
    local_aws.fail_next("ListSuppressedDestinations", "AccessDeniedException", times=5)
    inv = Investigator(_store(redis_url), ses_account, None).investigate(sim.campaign, _now_ms(sim))
    # Without the list, the unpublished BOUNCE type still explains the Send-only recipients.
    assert inv.causes[0].cause == "missing_events"
    assert "BOUNCE" in inv.causes[0].summary


def test_no_aws_configured_skips_aws_steps(redis_url: str, tmp_path: Any) -> None:
    sim = simulate("healthy", recipients=100)
    ingest(_store(redis_url), sim.events)
    env = {"REDIS_URL": redis_url, "AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_ENDPOINT_URL": "",
           "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "SESBOT_DNS_NAMESERVERS": f"127.0.0.1:{closed_port()}"}
    report = sesbot_json("why", sim.campaign, "--now", iso(_now_ms(sim)) or "", env=env)
    for name in ("suppression", "account"):
        assert report["steps"][name]["status"] == "skipped"
        assert "AWS is not configured" in report["steps"][name]["summary"]
    assert report["steps"]["routing"]["status"] == "skipped"
    assert report["causes"][0]["cause"] == "none"


def test_step_that_does_not_finish_in_time_is_an_error(redis_url: str) -> None:
    sim = simulate("healthy", recipients=50)
    store = _store(redis_url)
    ingest(store, sim.events)
    silent = DnsResolver([("127.0.0.1", closed_port())], timeout=5.0, lifetime=5.0)
    seen: list[str] = []
    inv = Investigator(store, None, silent, step_timeout_s=0.5).investigate(
        sim.campaign, _now_ms(sim), on_step=lambda name, _result: seen.append(name))
    assert inv.steps["authentication"].status == Status.ERROR
    assert "did not finish within 0.5 s" in inv.steps["authentication"].summary
    assert sorted(seen) == sorted(STEPS)
    assert inv.steps["temporary_failures"].status == Status.OK


# ---- authentication and reputation through the engine ----------------------------------------------------------


def test_authentication_uses_the_identity_tokens(redis_url: str, local_aws: LocalAws, aws_session: boto3.Session,
                                                 dns_server: NsdServer) -> None:
    sesv2 = aws_session.client("sesv2")
    sesv2.create_email_identity(EmailIdentity="bad-auth.test")
    tokens = sesv2.get_email_identity(EmailIdentity="bad-auth.test")["DkimAttributes"]["Tokens"]
    zone = BAD_AUTH_ZONE + "\n" + "\n".join([
        f"{tokens[0]}._domainkey IN CNAME {tokens[0]}.dkim.amazonses.com.",
        f"{tokens[1]}._domainkey IN CNAME {tokens[1]}.dkim.elsewhere.test.",
        f"{tokens[2]}._domainkey IN CNAME {tokens[2]}.dkim.amazonses.com.",
    ])
    dns_server.add_zones({"bad-auth.test": zone})
    investigator = Investigator(_store(redis_url), SesAccount(aws_session), dns_server.resolver())
    result, _seconds = investigator.authentication_for("bad-auth.test")
    codes = {f.code for f in result.findings}
    assert result.status == Status.FINDING
    assert {"spf_too_many_lookups", "dmarc_missing", "dkim_cname_wrong"} <= codes
    wrong = next(f for f in result.findings if f.code == "dkim_cname_wrong")
    assert wrong.data["token"] == tokens[1] and wrong.data["target"].endswith("elsewhere.test")
    assert result.data["spf"]["lookups"] == 11
    assert result.data["identity"]["dkim_status"] == "SUCCESS"


def test_reputation_listed_ip_and_refused_list(redis_url: str, dns_server: NsdServer) -> None:
    sim = simulate("healthy", recipients=60)
    store = _store(redis_url)
    ingest(store, sim.events)
    ip = sorted(store.campaign_summary(sim.campaign).outgoing_ips)[0]  # type: ignore[union-attr]
    reversed_ip = ".".join(reversed(ip.split(".")))
    dns_server.add_zones({"bl.test": f"{reversed_ip}.zen IN A 127.0.0.2\n*.refused IN A 127.255.255.254"})
    investigator = Investigator(store, None, dns_server.resolver(), ip_blocklists=(TEST_ZEN, REFUSED_ZEN),
                                domain_blocklists=())
    inv = investigator.investigate(sim.campaign, _now_ms(sim))
    result = inv.steps["reputation"]
    assert result.status == Status.FINDING, result
    listed = next(f for f in result.findings if f.code == "ip_listed")
    assert listed.data["target"] == ip and listed.data["codes"] == ["127.0.0.2"]
    assert listed.data["ip_role"] in ("SES IP", "shared SES IP")
    assert "Refused ZEN" in result.data["skipped_lists"]
    assert "public/open resolver" in result.data["skipped_lists"]["Refused ZEN"]
    assert not any(item["blocklist"] == "Refused ZEN" for item in result.data["listings"])


# ---- the Redis caches ----------------------------------------------------------------------------------------------


def test_mx_answers_are_cached_in_redis(redis_url: str, dns_server: NsdServer) -> None:
    dns_server.add_zones({"cached-mx.test": "@ IN MX 10 mx0a-001.pphosted.com."})
    store = _store(redis_url)
    resolver = dns_server.resolver(cache=RedisDnsCache(store))
    assert resolver.mx("cached-mx.test") == [(10, "mx0a-001.pphosted.com")]
    keys = [k.decode() for k in store.client.keys("sb:cache:dns:*")]
    assert any("MX" in k and "cached-mx.test" in k for k in keys)
    # answered from Redis even when the nameserver is gone
    offline = DnsResolver([("127.0.0.1", closed_port())], timeout=0.3, cache=RedisDnsCache(store))
    assert offline.mx("cached-mx.test") == [(10, "mx0a-001.pphosted.com")]


def test_suppression_list_cache_refreshes_incrementally(redis_url: str, local_aws: LocalAws,
                                                        aws_session: boto3.Session) -> None:
    calls: list[dict[str, Any]] = []
    aws_session.events.register("provide-client-params.sesv2.ListSuppressedDestinations",
                                lambda params, **_: calls.append(dict(params)))
    now = datetime.now(UTC)
    local_aws.suppress("old@x.test", "BOUNCE", last_update=now - timedelta(days=30))
    clock = [now.timestamp()]
    store = _store(redis_url)
    cache = SuppressionListCache(store, SesAccount(aws_session), "us-east-1", clock=lambda: clock[0])
    assert not cache.is_warm()
    assert cache.refresh() == "full"
    assert "StartDate" not in calls[-1]
    assert cache.is_warm()
    assert set(cache.lookup(["old@x.test", "new@x.test"])) == {"old@x.test"}

    local_aws.suppress("new@x.test", "COMPLAINT", last_update=now + timedelta(minutes=5))
    clock[0] += 600
    assert cache.refresh() == "incremental"
    assert calls[-1]["StartDate"] <= now + timedelta(minutes=5)
    found = cache.lookup(["old@x.test", "NEW@x.test"])
    assert found["new@x.test"].reason == "COMPLAINT"
    clock[0] += 5
    assert cache.refresh() == "recent"  # refreshed moments ago: no AWS call
    clock[0] += 7 * 3600  # past the full-refresh period: re-read whole (removals show)
    assert cache.refresh() == "full"
    # a warm mirror is refreshed by one process at a time
    store.client.set(store.keys.lock("suppression-refresh:us-east-1"), "other", px=60_000)
    clock[0] += 600
    assert cache.refresh() == "in progress elsewhere"


def test_small_cohort_uses_get_suppressed_destination(redis_url: str, local_aws: LocalAws,
                                                      aws_session: boto3.Session) -> None:
    operations: list[str] = []
    aws_session.events.register("before-call.sesv2.*", lambda model, **_: operations.append(model.name))
    sim = simulate("suppression_no_bounce_events", recipients=150)
    ingest(_store(redis_url), sim.events)
    load_aws_state(sim.aws, local_aws)
    inv = Investigator(_store(redis_url), SesAccount(aws_session), None).investigate(sim.campaign, _now_ms(sim))
    assert 0 < inv.summary.totals["send_only"] <= 50
    assert "GetSuppressedDestination" in operations and "ListSuppressedDestinations" not in operations
    assert inv.steps["suppression"].data["list_source"] == "GetSuppressedDestination"
    assert inv.causes[0].cause == "suppression"
