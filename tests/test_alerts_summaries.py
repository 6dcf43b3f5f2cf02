"""The server-side reduced reads of a check tick (bot/alert_summaries.py, bot/lua/alert_*.lua) give exactly the
alerts the full `Store.campaign_summary` gives, and the totals pre-filter never hides one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.alert_summaries import AlertSummaryReader
from bot.simulate import SCENARIOS
from checks.alerts import CheckInput, ThresholdBook, Thresholds, check_campaigns, could_alert
from checks.providers import KNOWN_DOMAINS
from tests.alerts_support import ingest_records, ingest_scenario, ms, open_store

WINDOW = 900
# The simulator's domains stand for the big providers: grouping them exercises the provider expansion.
PROVIDERS = {**KNOWN_DOMAINS, "mail-outlook.test": "Microsoft", "mail-hotmail.test": "Microsoft",
             "corp-m365.test": "Microsoft", "mail-yahoo.test": "Yahoo", "mail-aol.test": "Yahoo"}


@pytest.fixture(scope="module")
def everything(redis_server):
    """Every scenario (twice, different sizes) in one Redis, so the sender baseline has campaigns to compare."""
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    store = open_store(redis_server.url)
    sims = [ingest_scenario(store, name, recipients=size, seed=seed, campaign=f"{name}-{size}")
            for name in sorted(SCENARIOS) for size, seed in ((700, 3), (1500, 4))]
    return store, sims


@pytest.mark.parametrize("hours_later", [0, 1, 3, 8])
@pytest.mark.parametrize("min_pending", [1, Thresholds.domain_min_pending])
def test_partial_and_full_summaries_give_the_same_alerts(everything, hours_later, min_pending):
    store, sims = everything
    now = ms(max(s.now for s in sims) + timedelta(hours=hours_later))
    campaigns = sorted(s.campaign for s in sims)
    given = CheckInput(now, WINDOW, ThresholdBook(), PROVIDERS)
    full = [store.campaign_summary(c) for c in campaigns]
    partial = AlertSummaryReader(store, PROVIDERS).read(campaigns, now, WINDOW, min_pending)
    expected = [a.to_dict() for a in check_campaigns(full, given)]
    assert expected  # the comparison means something only if alerts fire
    assert [a.to_dict() for a in check_campaigns(partial.values(), given)] == expected


def test_reduced_reads_match_the_store(everything):
    store, sims = everything
    reader = AlertSummaryReader(store, PROVIDERS)
    campaigns = [s.campaign for s in sims]
    totals = reader.totals(campaigns)
    partial = reader.read(campaigns, ms(sims[0].now), WINDOW)
    for sim in sims:
        full = store.campaign_summary(sim.campaign)
        part = partial[sim.campaign]
        assert totals[sim.campaign].states == full.totals == part.totals
        assert (part.send_only_by_minute, part.delayed_by_expiry_minute) == (full.send_only_by_minute,
                                                                            full.delayed_by_expiry_minute)
        assert (part.last_event_ms, part.config_sets) == (full.last_event_ms, full.config_sets)
        assert (part.first_send_ms, part.last_send_ms) == (full.first_send_ms, full.last_send_ms)
        pending = {d for d, states in full.domains.items() if states.get("send_only", 0) + states.get("delayed", 0)}
        assert pending <= set(part.domains) <= set(full.domains)
        for domain, states in part.domains.items():
            assert sum(states.values()) == sum(n for s, n in full.domains[domain].items() if s != "unknown")


def test_totals_say_which_configuration_sets_a_campaign_sent_through(everything):
    store, sims = everything
    names = {k.decode(): v.decode() for k, v in store.client.hgetall(store.keys.names("s")).items()}
    asked = sorted(names)[::2]  # some of the configuration sets, not all
    totals = AlertSummaryReader(store, PROVIDERS).totals([s.campaign for s in sims], asked)
    assert {ident for t in totals.values() for ident in t.config_set_ids}  # the comparison means something
    for sim in sims:
        full = store.campaign_summary(sim.campaign)
        assert {names[i] for i in totals[sim.campaign].config_set_ids} == set(full.config_sets) & {
            names[i] for i in asked}
        assert totals[sim.campaign].states == full.totals


def test_the_totals_prefilter_never_hides_an_alert(everything):
    store, sims = everything
    reader = AlertSummaryReader(store, PROVIDERS)
    book, _ = ThresholdBook.from_json({"campaigns": {"healthy-700": {"min_stuck": 1, "age_min_recipients": 1}}})
    campaigns = [s.campaign for s in sims]
    totals = reader.totals(campaigns)
    for hours in (0, 2, 6):
        now = ms(max(s.now for s in sims) + timedelta(hours=hours))
        alerts = check_campaigns([store.campaign_summary(c) for c in campaigns], CheckInput(now, WINDOW, book))
        assert {a.campaign for a in alerts} <= {c for c in campaigns if could_alert(totals[c].states, book)}
    assert not could_alert(totals["healthy-1500"].states, ThresholdBook())
    assert book.lowest("min_stuck") == 1


def test_cluster_mode_reads_the_full_summaries(redis_url):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "missing_events", recipients=300)
    reader = AlertSummaryReader(store, PROVIDERS, cluster=True)
    assert reader.totals([sim.campaign]) is None
    assert reader.read([sim.campaign], ms(sim.now), WINDOW)[sim.campaign] == store.campaign_summary(sim.campaign)


def test_a_campaign_without_aggregates_is_left_out(redis_url):
    store = open_store(redis_url)
    ingest_records(store, [])
    assert AlertSummaryReader(store).read(["nothing-here"], 0, WINDOW) == {}
