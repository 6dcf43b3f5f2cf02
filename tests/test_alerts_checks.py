"""The pure alert checks on plain aggregates (checks/alerts.py): no Redis, no clock."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, Settings
from bot.store import CampaignSummary
from checks.alerts import (
    ALERT_KINDS,
    CheckInput,
    ThresholdBook,
    Thresholds,
    check_campaigns,
    rate_figures,
    sender_baseline,
)

MIN = 60_000
NOW_MIN = 29_500_000  # a minute number (epoch minutes)
NOW = NOW_MIN * MIN
WINDOW = 900


def summary(campaign: str = "spring-042", *, sends: dict[int, int], send_only: dict[int, int] | None = None,
            domains: dict[str, dict[str, int]] | None = None, last_outcome_min: int | None = None,
            delayed_expiry: dict[int, int] | None = None, config_set: str = "marketing") -> CampaignSummary:
    """`sends` / `send_only`: minutes before now -> recipients."""
    send_only = send_only or {}
    sent = sum(sends.values())
    stuck = sum(send_only.values())
    delayed = sum((delayed_expiry or {}).values())
    first = NOW_MIN - max(sends)
    last = NOW_MIN - min(sends)
    last_outcome = last if last_outcome_min is None else NOW_MIN - last_outcome_min
    totals = {"send_only": stuck, "delayed": delayed, "delivered": sent - stuck - delayed}
    if domains:  # the campaign's totals are its domains' sums, as in the store
        totals = {state: sum(d.get(state, 0) for d in domains.values()) for state in ("send_only", "delayed",
                                                                                       "delivered")}
    return CampaignSummary(
        campaign=campaign,
        totals=totals,
        domains=domains or {"example.test": {"send_only": stuck, "delayed": delayed,
                                             "delivered": sent - stuck - delayed}},
        types={"Send": sent},
        config_sets={config_set: last * MIN},
        last_event_ms={"Send": last * MIN, "Delivery": last_outcome * MIN + 5_000},
        send_only_by_minute={NOW_MIN - ago: n for ago, n in send_only.items()},
        delayed_by_expiry_minute={NOW_MIN + ahead: n for ahead, n in (delayed_expiry or {}).items()},
        events_by_minute={"Send": {NOW_MIN - ago: n for ago, n in sends.items()}},
        first_send_ms=first * MIN,
        last_send_ms=last * MIN,
    )


def run(*summaries: CampaignSummary, book: ThresholdBook | None = None, providers: dict[str, str] | None = None,
        unconfirmed: dict[str, list[str]] | None = None) -> list:
    return check_campaigns(summaries, CheckInput(NOW, WINDOW, book or ThresholdBook(), providers or {},
                                                 unconfirmed or {}))


def kinds(alerts: list) -> dict[str, str]:
    return {a.kind: str(a.severity) for a in alerts}


def test_a_three_recipient_test_send_never_pages_even_when_all_are_stuck_for_hours():
    tiny = summary(sends={300: 3}, send_only={300: 3}, last_outcome_min=10_000)
    tiny.last_event_ms = {"Send": tiny.last_send_ms}  # no outcome event at all
    assert run(tiny) == []


def test_a_healthy_campaign_is_silent():
    assert run(summary(sends={120: 500, 90: 500, 60: 500})) == []


def test_send_only_rate_fires_above_the_absolute_threshold_with_the_default_baseline():
    alerts = run(summary(sends={120: 1000}, send_only={120: 100}))
    rate = next(a for a in alerts if a.kind == "send_only_rate")
    assert str(rate.severity) == "warning"
    assert rate.metrics["rate"] == 0.1 and rate.metrics["stuck"] == 100 and rate.metrics["settled_sent"] == 1000
    assert rate.metrics["baseline_source"] == "default"
    assert "send_only_rate" not in kinds(run(summary(sends={120: 1000}, send_only={120: 40})))
    assert kinds(run(summary(sends={120: 1000}, send_only={120: 300})))["send_only_rate"] == "critical"


def test_recipients_still_inside_the_delivery_window_are_in_flight_not_stuck():
    fresh = summary(sends={5: 1000}, send_only={5: 900})
    assert rate_figures(fresh, NOW, WINDOW).stuck == 0
    assert run(fresh) == []


def test_the_sender_baseline_keeps_a_sender_s_normal_rate_from_paging():
    usual = [summary(f"c{i}", sends={120: 1000}, send_only={120: 80}) for i in range(5)]
    assert sender_baseline(rate_figures(s, NOW, WINDOW) for s in usual) == pytest.approx(0.08)
    assert "send_only_rate" not in kinds(run(*usual))
    quiet = [summary(f"q{i}", sends={120: 1000}, send_only={120: 5}) for i in range(4)]
    spiking = summary("spike", sends={120: 1000}, send_only={120: 400})
    alerts = run(*quiet, spiking)
    assert [(a.campaign, a.kind) for a in alerts if a.kind == "send_only_rate"] == [("spike", "send_only_rate")]
    rate = next(a for a in alerts if a.kind == "send_only_rate")
    assert rate.metrics["baseline_source"] == "sender_campaigns" and rate.metrics["baseline"] == 0.005


def test_the_campaign_s_earlier_hours_are_a_baseline():
    steady = summary(sends={200: 1000, 30: 1000}, send_only={200: 70, 30: 90})
    assert rate_figures(steady, NOW, WINDOW).earlier_sent == 1000
    assert "send_only_rate" not in kinds(run(steady))  # 8 % now against 7 % an hour ago: not "far above"
    sudden = summary(sends={200: 1000, 30: 1000}, send_only={200: 2, 30: 600})
    rate = next(a for a in run(sudden) if a.kind == "send_only_rate")
    assert rate.metrics["baseline_source"] == "earlier_hours" and str(rate.severity) == "critical"


def test_send_only_age_by_age_and_by_retry_deadline():
    assert kinds(run(summary(sends={90: 2000}, send_only={90: 25})))["send_only_age"] == "warning"
    assert kinds(run(summary(sends={300: 2000}, send_only={300: 25})))["send_only_age"] == "critical"
    assert "send_only_age" not in kinds(run(summary(sends={90: 2000}, send_only={90: 5})))  # < age_min_recipients
    assert "send_only_age" not in kinds(run(summary(sends={90: 20_000}, send_only={90: 150})))  # < 1 %: a trickle
    near = run(summary(sends={600: 2000}, delayed_expiry={30: 40}))
    age = next(a for a in near if a.kind == "send_only_age")
    assert (str(age.severity), age.metrics["pending_near_deadline"]) == ("warning", 40)
    past = next(a for a in run(summary(sends={600: 2000}, delayed_expiry={-20: 40})) if a.kind == "send_only_age")
    assert (str(past.severity), past.metrics["pending_past_deadline"]) == ("critical", 40)
    assert "send_only_age" not in kinds(run(summary(sends={600: 2000}, delayed_expiry={300: 40})))


def test_domain_spike_names_the_domain_far_above_the_rest_and_groups_providers():
    domains = {
        "gmail.test": {"delivered": 900, "send_only": 10},
        "outlook-a.test": {"delivered": 40, "delayed": 60},
        "outlook-b.test": {"delivered": 45, "delayed": 15},
    }
    s = summary(sends={120: 1070}, send_only={120: 10}, domains=domains)
    spike = next(a for a in run(s) if a.kind == "domain_spike")
    assert spike.metrics["spikes"][0] == {"kind": "domain", "name": "outlook-a.test", "recipients": 100,
                                          "pending": 60, "rate": 0.6, "rest_rate": 0.0258}  # 25 of 970
    assert str(spike.severity) == "critical"
    grouped = next(a for a in run(s, providers={"outlook-a.test": "Microsoft", "outlook-b.test": "Microsoft"})
                   if a.kind == "domain_spike")
    assert grouped.metrics["spikes"][0]["name"] == "Microsoft"
    assert (grouped.metrics["spikes"][0]["recipients"], grouped.metrics["spikes"][0]["pending"]) == (160, 75)
    even = {"a.test": {"delivered": 500, "send_only": 30}, "b.test": {"delivered": 500, "send_only": 30}}
    assert "domain_spike" not in kinds(run(summary(sends={120: 1060}, send_only={120: 60}, domains=even)))


def test_ingestion_gap_when_sends_continue_without_outcomes():
    gap = summary(sends={150: 500, 100: 500, 20: 500}, send_only={100: 500, 20: 500}, last_outcome_min=140)
    alert = next(a for a in run(gap) if a.kind == "ingestion_gap")
    assert str(alert.severity) == "critical" and alert.metrics["sends_after_last_outcome"] == 1000
    assert alert.metrics["configuration_sets"] == ["marketing"]
    recent = summary(sends={40: 500, 25: 500}, send_only={25: 500}, last_outcome_min=38)
    assert kinds(run(recent))["ingestion_gap"] == "warning"
    finished = summary(sends={300: 1000}, last_outcome_min=200)  # outcomes after the last Send
    assert "ingestion_gap" not in kinds(run(finished))


def test_an_unconfirmed_subscription_is_an_ingestion_gap_on_its_own():
    s = summary(sends={120: 1000})
    topic = "arn:aws:sns:us-east-1:111122223333:ses-events"
    alert = next(a for a in run(s, unconfirmed={"marketing": [topic]}) if a.kind == "ingestion_gap")
    assert alert.metrics["unconfirmed_topics"] == [topic] and topic in alert.summary
    assert run(s, unconfirmed={"other-set": [topic]}) == []


def test_thresholds_per_campaign_beat_configuration_set_beat_default():
    book, problems = ThresholdBook.from_json({
        "default": {"min_recipients": 500},
        "configuration_sets": {"transactional": {"rate_warning": 0.5, "min_stuck": 5}},
        "campaigns": {"vip": {"rate_warning": 0.02}},
    })
    assert problems == []
    assert book.for_campaign("x").min_recipients == 500
    assert book.for_campaign("x", ["transactional"]).rate_warning == 0.5
    assert book.for_campaign("vip", ["transactional"]) == Thresholds(min_recipients=500, rate_warning=0.02,
                                                                      min_stuck=5)
    small = summary("small", sends={120: 200}, send_only={120: 30})
    assert "send_only_rate" in kinds(run(small))
    assert "send_only_rate" not in kinds(run(small, book=book))  # 200 < min_recipients 500


def test_bad_thresholds_are_named_one_line_each():
    _, problems = ThresholdBook.from_json({"default": {"min_stuck": -1, "nope": 2, "min_recipients": 1.5},
                                           "campaigns": {"x": 3}, "extra": {}})
    assert len(problems) == 5
    assert any("unknown threshold 'nope'" in p for p in problems)
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"SESBOT_ALERT_THRESHOLDS": "{not json"})
    assert err.value.problems == ["SESBOT_ALERT_THRESHOLDS is not valid JSON"]
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"SESBOT_ALERT_THRESHOLDS": '{"default": {"rate_warnin": 0.1}}'})
    assert len(err.value.problems) == 1 and "rate_warnin" in err.value.problems[0]
    assert Settings.from_env({"SESBOT_ALERT_THRESHOLDS": '{"default": {"rate_warning": 0.1}}'}).alert_thresholds


def test_alert_json_has_exactly_the_contract_keys_and_sorted_kinds():
    gap = summary(sends={150: 500, 100: 500}, send_only={150: 300, 100: 500}, last_outcome_min=149)
    alerts = run(gap)
    assert [a.kind for a in alerts] == sorted((a.kind for a in alerts), key=ALERT_KINDS.index)
    assert {tuple(a.to_dict()) for a in alerts} == {("campaign", "kind", "severity", "summary", "metrics")}
