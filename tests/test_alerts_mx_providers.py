"""Provider-level domain spikes from MX: the mx_cache job resolves the pending domains through a real NSD into the
Redis cache `/ses why` uses, and the check tick groups them by provider from that cache without doing DNS."""

from __future__ import annotations

import re
import zlib
from typing import Any

import orjson
import pytest

from bot import cli
from bot.alert_providers import cached_providers, resolver_for, uncached_domains, warm_mx_cache
from bot.alert_run import collect_alerts
from bot.alert_summaries import AlertSummaryReader
from bot.alerts import AlertLifecycle, web_client
from bot.investigate import RedisDnsCache
from bot.scheduler import JOBS, JobContext, build_scheduler, enabled_jobs, run_guarded
from bot.simulate import simulate
from checks.alerts import CheckInput, Thresholds, check_campaigns
from checks.providers import KNOWN_DOMAINS
from tests.alerts_support import alert_settings, ingest_records, ms, open_store
from tests.dns_server import NsdServer

TENANTS = [f"tenant{i:02d}.test" for i in range(30)]
TENANT_ZONES = {d: f"@ MX 0 {d.replace('.', '-')}.mail.protection.outlook.com." for d in TENANTS}
MICROSOFT_ADDRESS = re.compile(r"([A-Za-z0-9._%+-]+)@(?:mail-outlook|mail-hotmail|corp-m365)\.test")


def readdressed(events: list[dict[str, Any]], domain_for) -> list[dict[str, Any]]:
    """The events with every Microsoft recipient's domain (the simulation's three) replaced by domain_for(local)."""
    text = orjson.dumps(events).decode()
    return orjson.loads(MICROSOFT_ADDRESS.sub(lambda m: f"{m.group(1)}@{domain_for(m.group(1))}", text))


def tenant_of(local: str) -> str:
    return TENANTS[zlib.crc32(local.encode()) % len(TENANTS)]


@pytest.fixture(scope="module")
def nameserver(dns_server: NsdServer) -> str:
    dns_server.add_zones({**simulate("provider_deferral", recipients=10).dns_zones, **TENANT_ZONES})
    return dns_server.nameserver


def ingest_spread(store, scenario: str, seed: int, domain_for=tenant_of):
    sim = simulate(scenario, recipients=1000, seed=seed)
    events = readdressed(sim.events, domain_for)
    ingest_records(store, events)
    return sim, events


def replica(redis_url: str, slack_api, now_ms: int, nameserver: str | None) -> JobContext:
    env = {"SESBOT_DNS_NAMESERVERS": nameserver} if nameserver else {}
    settings = alert_settings(redis_url, slack_api.url, **env)
    store = open_store(redis_url)
    lifecycle = AlertLifecycle(store, web_client(settings), "C0ALERTS", charts=False)
    return JobContext(settings, store, lifecycle, resolver=resolver_for(settings, store) if nameserver else None,
                      clock=lambda: now_ms / 1000)


def test_spread_deferrals_raise_a_provider_spike_only_after_the_mx_job(redis_url, slack_api, nameserver):
    store = open_store(redis_url)
    sim, events = ingest_spread(store, "provider_deferral", seed=7)
    healthy, _ = ingest_spread(store, "healthy", seed=8)
    recipients = {r.lower() for e in events if e["eventType"] == "Send" for r in e["mail"]["destination"]}
    per_tenant = {d: sum(1 for r in recipients if r.endswith("@" + d)) for d in TENANTS}
    # the premise: every tenant is used, and none is big enough for a spike of its own
    assert all(0 < n < Thresholds.domain_min_recipients for n in per_tenant.values()), per_tenant
    assert not KNOWN_DOMAINS.keys() & {r.split("@")[1] for r in recipients}

    before = collect_alerts(store, alert_settings(redis_url), ms(sim.now))
    assert [a for a in before.alerts if a.kind == "domain_spike"] == []
    assert uncached_domains(store, TENANTS) == TENANTS  # the tick did no DNS

    ctx = replica(redis_url, slack_api, ms(sim.now), nameserver)
    job = next(j for j in JOBS if j.id == "mx_cache")
    assert run_guarded(job, ctx) is True
    result = ctx.last_result["mx_cache"]
    assert result["looked_up"] >= len(TENANTS) and result["unresolved"] == 0 and result["left"] == 0
    assert cached_providers(store, TENANTS) == dict.fromkeys(TENANTS, "Microsoft")

    after = collect_alerts(store, alert_settings(redis_url), ms(sim.now))
    assert [(a.campaign, a.kind) for a in after.alerts] == [(sim.campaign, "domain_spike")]
    spike = after.alerts[0]
    top = spike.metrics["spikes"][0]
    assert (top["kind"], top["name"]) == ("provider", "Microsoft")
    pending = sum(after.summaries[sim.campaign].domains[d]["send_only"] for d in TENANTS
                  if d in after.summaries[sim.campaign].domains)
    assert top["pending"] == pending >= Thresholds.domain_min_pending
    assert top["recipients"] == sum(per_tenant.values())
    assert top["rate"] >= Thresholds.domain_rate and top["rate"] >= 3 * top["rest_rate"]
    assert spike.summary.startswith("Microsoft: ")
    assert healthy.campaign not in {a.campaign for a in after.alerts}


def test_check_json_reports_the_provider_spike_with_the_contract_keys(redis_url, slack_api, nameserver,
                                                                      monkeypatch, capsys):
    store = open_store(redis_url)
    sim, _ = ingest_spread(store, "provider_deferral", seed=7)
    ctx = replica(redis_url, slack_api, ms(sim.now), nameserver)
    run_guarded(next(j for j in JOBS if j.id == "mx_cache"), ctx)
    monkeypatch.setenv("REDIS_URL", redis_url)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "SESBOT_ALERT_THRESHOLDS", "SESBOT_DNS_NAMESERVERS"):
        monkeypatch.delenv(name, raising=False)
    assert cli.run(["check", "--json", "--now", sim.now.isoformat()]) == 0
    alerts = orjson.loads(capsys.readouterr().out)["alerts"]
    assert [(a["campaign"], a["kind"]) for a in alerts] == [(sim.campaign, "domain_spike")]
    assert list(alerts[0]) == ["campaign", "kind", "severity", "summary", "metrics"]
    assert alerts[0]["metrics"]["spikes"][0]["name"] == "Microsoft"


def test_known_consumer_domains_need_no_mx_job(redis_url):
    store = open_store(redis_url)
    consumer = ("outlook.com", "hotmail.com", "live.com")
    sim, _ = ingest_spread(store, "provider_deferral", seed=7,
                           domain_for=lambda local: consumer[zlib.crc32(local.encode()) % 3])
    alerts = collect_alerts(store, alert_settings(redis_url), ms(sim.now)).alerts
    assert [(a.kind, a.metrics["spikes"][0]["kind"], a.metrics["spikes"][0]["name"]) for a in alerts] == [
        ("domain_spike", "provider", "Microsoft")]
    assert uncached_domains(store, consumer) == []  # known by name: never looked up


def test_the_job_is_bounded_per_run_and_resolves_the_most_pending_first(redis_url, nameserver):
    store = open_store(redis_url)
    settings = alert_settings(redis_url, SESBOT_DNS_NAMESERVERS=nameserver)
    resolver = resolver_for(settings, store)
    assert resolver is not None
    pending = {d: (100 - i, 200) for i, d in enumerate(TENANTS)}  # tenant00 has the most pending
    first = warm_mx_cache(store, resolver, pending, limit=10)
    assert first.to_dict() == {"looked_up": 10, "named": 10, "unresolved": 0, "left": 20}
    assert uncached_domains(store, TENANTS) == TENANTS[10:]
    second = warm_mx_cache(store, resolver, pending, limit=10)
    assert (second.looked_up, second.left) == (10, 10)
    assert uncached_domains(store, TENANTS) == TENANTS[20:]
    # the answers are the investigation's own cache entries, with the DNS TTL
    key = store.keys.cache("dns", "dns:MX:tenant00.test.")
    assert RedisDnsCache(store).get("dns:MX:tenant00.test.") is not None and store.client.ttl(key) > 0


def test_unanswered_domains_stay_uncached_for_the_next_run(redis_url, nameserver):
    from tests.dns_server import closed_port

    store = open_store(redis_url)
    settings = alert_settings(redis_url, SESBOT_DNS_NAMESERVERS=f"127.0.0.1:{closed_port()}")
    resolver = resolver_for(settings, store)
    assert resolver is not None
    result = warm_mx_cache(store, resolver, dict.fromkeys(TENANTS, (5, 5)), limit=500)
    assert result.to_dict() == {"looked_up": 30, "named": 0, "unresolved": 30, "left": 0}
    assert uncached_domains(store, TENANTS) == TENANTS  # retried by the next run


def test_the_mx_job_is_scheduled_only_with_usable_dns(redis_url, slack_api, nameserver):
    with_dns = replica(redis_url, slack_api, 0, nameserver)
    assert with_dns.resolver is not None
    assert [j.id for j in enabled_jobs(with_dns)] == ["alerts", "mx_cache"]
    assert [j.id for j in build_scheduler(with_dns).get_jobs()] == ["alerts", "mx_cache"]
    without = replica(redis_url, slack_api, 0, None)
    assert [j.id for j in enabled_jobs(without)] == ["alerts"]


@pytest.mark.parametrize("min_pending", [1, 20, 60])
def test_regrouped_partial_summaries_give_the_alerts_of_the_full_ones(redis_url, nameserver, min_pending):
    """Microsoft recipients split between hotmail.com (known by name) and the tenants (known from the MX cache):
    the tick's reduced read, completed with the cached providers, alerts exactly as the full summaries do."""
    store = open_store(redis_url)

    def mixed(local: str) -> str:
        return "hotmail.com" if zlib.crc32(local.encode()) % 4 == 0 else tenant_of(local)

    sims = [ingest_spread(store, "provider_deferral", seed=7, domain_for=mixed)[0],
            ingest_spread(store, "healthy", seed=8)[0]]
    settings = alert_settings(redis_url, SESBOT_DNS_NAMESERVERS=nameserver)
    now_ms = ms(sims[0].now)
    campaigns = [s.campaign for s in sims]
    reader = AlertSummaryReader(store, KNOWN_DOMAINS, mx_cache=True)
    assert reader.read(campaigns, now_ms, settings.delivery_window_s, min_pending) and reader.resolved == {}
    warm_mx_cache(store, resolver_for(settings, store), reader.domain_counts(campaigns))
    partial = reader.read(campaigns, now_ms, settings.delivery_window_s, min_pending)
    full = [store.campaign_summary(c) for c in campaigns]
    # every tenant of the campaign, with those whose recipients were all delivered
    assert set(reader.resolved) == set(TENANTS) & set(full[0].domains)
    assert any(full[0].domains[d].get("delivered") == sum(full[0].domains[d].values()) for d in reader.resolved)
    assert set(reader.resolved.values()) == {"Microsoft"}
    given = CheckInput(now_ms, settings.delivery_window_s, providers={**KNOWN_DOMAINS, **reader.resolved})
    expected = check_campaigns(full, given)
    assert [a.to_dict() for a in check_campaigns(partial.values(), given)] == [a.to_dict() for a in expected]
    spike = next(a for a in expected if a.kind == "domain_spike")
    assert spike.metrics["spikes"][0]["name"] == "Microsoft"
    microsoft = [d for d in full[0].domains if d in TENANTS or d == "hotmail.com"]
    assert spike.metrics["spikes"][0]["recipients"] == sum(
        n for d in microsoft for state, n in full[0].domains[d].items() if state != "unknown")


def test_a_campaign_is_grouped_by_mx_only_once_all_its_domains_are_cached(redis_url, slack_api, nameserver):
    """A provider with part of its domains would have too high a rate: until the job has cached every domain of
    the campaign, its domains stay ungrouped."""
    store = open_store(redis_url)
    sim, _ = ingest_spread(store, "provider_deferral", seed=7)
    ctx = replica(redis_url, slack_api, ms(sim.now), nameserver)
    run_guarded(next(j for j in JOBS if j.id == "mx_cache"), ctx)
    store.client.delete(store.keys.cache("dns", "dns:MX:mail-google.test."))  # expired, say
    assert collect_alerts(store, alert_settings(redis_url), ms(sim.now)).alerts == []
    warm_mx_cache(store, ctx.resolver, {"mail-google.test": (0, 1)})
    assert [a.kind for a in collect_alerts(store, alert_settings(redis_url), ms(sim.now)).alerts] == ["domain_spike"]


def test_cluster_mode_groups_the_full_summaries_by_the_cached_mx(redis_url, slack_api, nameserver):
    store = open_store(redis_url)
    sim, _ = ingest_spread(store, "provider_deferral", seed=7)
    ctx = replica(redis_url, slack_api, ms(sim.now), nameserver)
    reader = AlertSummaryReader(store, KNOWN_DOMAINS, cluster=True, mx_cache=True)
    reader.read([sim.campaign], ms(sim.now), ctx.settings.delivery_window_s)
    assert reader.resolved == {}
    run_guarded(next(j for j in JOBS if j.id == "mx_cache"), ctx)
    summaries = reader.read([sim.campaign], ms(sim.now), ctx.settings.delivery_window_s)
    tenants = set(TENANTS) & set(summaries[sim.campaign].domains)
    assert tenants and {d: p for d, p in reader.resolved.items() if p == "Microsoft"} == dict.fromkeys(tenants,
                                                                                                    "Microsoft")
