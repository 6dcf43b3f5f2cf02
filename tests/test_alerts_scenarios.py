"""Alert checks over simulated campaigns ingested into a real Redis, and `sesbot check` end to end."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from bot import cli
from bot.alert_run import collect_alerts, set_thresholds
from bot.aws import SesAccount
from bot.reports import iso
from bot.simulate import simulate
from checks.alerts import CheckInput, ThresholdBook, check_campaigns
from checks.providers import KNOWN_DOMAINS
from tests.alerts_support import alert_settings, deliveries_for, ingest_records, ingest_scenario, ms, open_store

EXPECTED_KINDS = {
    "healthy": set(),
    "still_in_flight": set(),
    "account_paused": set(),
    "suppression_no_bounce_events": {"send_only_rate", "send_only_age"},
    "missing_events": {"send_only_rate", "send_only_age", "ingestion_gap"},
    "provider_deferral": {"domain_spike"},
    "mixed": {"send_only_rate", "send_only_age"},
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED_KINDS))
def test_each_alert_kind_fires_on_its_scenario_and_healthy_ones_stay_silent(redis_url, scenario):
    store = open_store(redis_url)
    sim = ingest_scenario(store, scenario)
    run = collect_alerts(store, alert_settings(redis_url), ms(sim.now))
    assert run.active == [sim.campaign]
    assert {a.kind for a in run.alerts} == EXPECTED_KINDS[scenario]
    assert all(a.campaign == sim.campaign for a in run.alerts)


def test_figures_of_the_alerts_match_the_simulation(redis_url):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "missing_events")
    alerts = {a.kind: a for a in collect_alerts(store, alert_settings(redis_url), ms(sim.now)).alerts}
    assert alerts["send_only_rate"].metrics["stuck"] == sim.expected_send_only["stuck_count"]
    assert alerts["send_only_rate"].metrics["send_only"] == sim.expected_totals["send_only"]
    gap = alerts["ingestion_gap"]
    assert str(gap.severity) == "critical" and gap.metrics["configuration_sets"] == ["newsletter"]
    assert gap.metrics["gap_s"] >= 100 * 60  # outcomes stopped at minute 15, now is minute 120


def test_deferral_spike_names_the_deferring_provider_s_domains(redis_url):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "provider_deferral")
    spike = next(a for a in collect_alerts(store, alert_settings(redis_url), ms(sim.now)).alerts)
    names = {s["name"] for s in spike.metrics["spikes"]}
    microsoft = {d for d, provider in sim.recipient_domains.items() if provider == "microsoft"}
    assert names and names <= microsoft


def test_inactive_campaigns_are_not_checked(redis_url):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "suppression_no_bounce_events")
    later = ms(sim.now + timedelta(hours=30))
    assert collect_alerts(store, alert_settings(redis_url), later).active == []
    longer = alert_settings(redis_url, SESBOT_ACTIVE_HOURS="48")
    assert {a.kind for a in collect_alerts(store, longer, later).alerts} >= {"send_only_rate"}


def test_outcomes_arriving_clear_the_alerts(redis_url):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "missing_events")
    settings = alert_settings(redis_url)
    assert collect_alerts(store, settings, ms(sim.now)).alerts
    ingest_records(store, deliveries_for(sim, sim.now - timedelta(minutes=1)))
    assert collect_alerts(store, settings, ms(sim.now)).alerts == []


def test_thresholds_stored_in_redis_override_the_environment(redis_url):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "suppression_no_bounce_events")
    settings = alert_settings(redis_url, SESBOT_ALERT_THRESHOLDS=orjson.dumps(
        {"configuration_sets": {sim.configuration_set: {"rate_warning": 0.5, "age_warning_s": 86_400,
                                                        "age_critical_s": 86_400}}}).decode())
    assert collect_alerts(store, settings, ms(sim.now)).alerts == []
    set_thresholds(store, f"campaign:{sim.campaign}", {"rate_warning": 0.1})
    assert [a.kind for a in collect_alerts(store, settings, ms(sim.now)).alerts] == ["send_only_rate"]


def test_unconfirmed_sns_subscription_from_aws_is_an_ingestion_gap(redis_url, aws_session, local_aws):
    store = open_store(redis_url)
    sim = ingest_scenario(store, "healthy", recipients=300)
    sns = aws_session.client("sns")
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://sesbot.example/sns")
    sesv2 = aws_session.client("sesv2")
    sesv2.create_configuration_set(ConfigurationSetName=sim.configuration_set)
    sesv2.create_configuration_set_event_destination(
        ConfigurationSetName=sim.configuration_set, EventDestinationName="sesbot",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE"],
                          "SnsDestination": {"TopicArn": topic}})
    settings = alert_settings(redis_url)
    run = collect_alerts(store, settings, ms(sim.now), SesAccount(aws_session))
    assert [(a.kind, a.metrics["unconfirmed_topics"]) for a in run.alerts] == [("ingestion_gap", [topic])]

    local_aws.confirm_subscription(topic, "https://sesbot.example/sns")
    store.client.delete(store.keys.cache("alert-sns", sim.configuration_set))  # the answer is cached 10 min
    assert collect_alerts(store, settings, ms(sim.now), SesAccount(aws_session)).alerts == []


def unconfirmed_destination(aws_session, config_set: str) -> str:
    """An SNS event destination of `config_set` whose topic's only subscription is still pending."""
    sns = aws_session.client("sns")
    topic = sns.create_topic(Name=f"ses-events-{config_set}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://sesbot.example/sns")
    sesv2 = aws_session.client("sesv2")
    sesv2.create_configuration_set(ConfigurationSetName=config_set)
    sesv2.create_configuration_set_event_destination(
        ConfigurationSetName=config_set, EventDestinationName="sesbot",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE"],
                          "SnsDestination": {"TopicArn": topic}})
    return topic


def test_an_unconfirmed_subscription_keeps_the_prefilter_for_other_configuration_sets(redis_url, aws_session,
                                                                                         local_aws):
    """Only the campaigns that sent through the unconfirmed configuration set, or whose counts could alert, are
    read in detail; the alerts are those of reading every campaign in detail."""
    store = open_store(redis_url)
    now = ingest_scenario(store, "healthy", recipients=400, campaign="quiet-unconfirmed").now
    quiet_elsewhere = simulate("healthy", recipients=400, campaign="quiet-elsewhere", now=now)
    ingest_records(store, [orjson.loads(orjson.dumps(r).replace(b'"marketing-main"', b'"transactional"'))
                           for r in quiet_elsewhere.events])
    stuck = ingest_scenario(store, "missing_events", recipients=400, campaign="stuck-elsewhere", now=now)
    topic = unconfirmed_destination(aws_session, "marketing-main")
    settings = alert_settings(redis_url)

    run = collect_alerts(store, settings, ms(now), SesAccount(aws_session))
    assert sorted(run.summaries) == ["quiet-unconfirmed", "stuck-elsewhere"]  # not quiet-elsewhere
    assert [a.kind for a in run.alerts if a.campaign == "quiet-unconfirmed"] == ["ingestion_gap"]
    assert run.alerts[0].metrics["unconfirmed_topics"] == [topic]
    every = [s for s in (store.campaign_summary(c) for c in sorted(run.active)) if s is not None]
    given = CheckInput(ms(now), settings.delivery_window_s, ThresholdBook(), KNOWN_DOMAINS,
                       {"marketing-main": [topic]})
    assert [a.to_dict() for a in run.alerts] == [a.to_dict() for a in check_campaigns(every, given)]
    assert {a.campaign for a in run.alerts} == {"quiet-unconfirmed", stuck.campaign}


def test_check_json_prints_exactly_the_contract(redis_url, monkeypatch, capsys):
    store = open_store(redis_url)
    sims = [ingest_scenario(store, "missing_events"), ingest_scenario(store, "healthy", seed=8)]
    monkeypatch.setenv("REDIS_URL", redis_url)
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "SESBOT_ALERT_THRESHOLDS"):
        monkeypatch.delenv(name, raising=False)
    now = sims[0].now
    assert cli.run(["check", "--json", "--now", now.isoformat()]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert list(out) == ["now", "alerts"] and out["now"] == iso(ms(now))
    assert [(a["campaign"], a["kind"]) for a in out["alerts"]] == [
        (sims[0].campaign, "send_only_rate"), (sims[0].campaign, "send_only_age"),
        (sims[0].campaign, "ingestion_gap")]
    for alert in out["alerts"]:
        assert list(alert) == ["campaign", "kind", "severity", "summary", "metrics"]
        assert alert["severity"] in ("warning", "critical") and "@" not in alert["summary"]

    assert cli.run(["check", "--now", now.isoformat()]) == 0
    text = capsys.readouterr().out
    assert sims[0].campaign in text and sims[1].campaign not in text

    assert cli.run(["check", "--now", "yesterday"]) == cli.EXIT_USAGE
    assert "--now 'yesterday' is not an ISO-8601 time" in capsys.readouterr().err
    assert cli.run(["check", "--post", "--now", now.isoformat()]) == cli.EXIT_CONFIG
    assert "SESBOT_ALERT_CHANNEL is not set" in capsys.readouterr().err


def test_thresholds_command_sets_shows_and_clears(redis_url, monkeypatch, capsys):
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("SESBOT_ALERT_THRESHOLDS", raising=False)
    assert cli.run(["thresholds", "--configuration-set", "newsletter", "min_stuck=5", "rate_warning=0.2",
                    "--json"]) == 0
    out = orjson.loads(capsys.readouterr().out)
    assert out["stored"] == {"configuration_set:newsletter": {"min_stuck": 5, "rate_warning": 0.2}}
    assert (out["effective"]["min_stuck"], out["effective"]["rate_warning"]) == (5, 0.2)
    assert cli.run(["thresholds", "--configuration-set", "newsletter", "min_stuck=2.5"]) == cli.EXIT_USAGE
    assert "min_stuck must be a whole number" in capsys.readouterr().err
    assert cli.run(["thresholds", "--configuration-set", "newsletter", "--clear", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["stored"] == {}
