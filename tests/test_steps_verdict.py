"""checks.verdict on plain data: ranking, proportions, significance, and each cause's evidence."""

from __future__ import annotations

from checks.findings import Finding, Severity, Status, StepResult
from checks.send_only import SendOnly
from checks.verdict import CAUSES, Cause, rank_causes

NOW = 1_772_450_000_000
HOUR = 3_600_000


def so(count: int, sent: int, *, in_flight: int = 0, stuck: int | None = None) -> SendOnly:
    stuck = count - in_flight if stuck is None else stuck
    return SendOnly(count=count, rate=count / sent if sent else 0.0, stuck_count=stuck, in_flight_count=in_flight,
                    lost_count=0, oldest_age_s=3600.0 if count else None, sent=sent)


def step(name: str, status: Status = Status.OK, findings: tuple[Finding, ...] = (), **data: object) -> StepResult:
    return StepResult(name, status, f"{name} summary", findings, dict(data))


def finding(code: str, **data: object) -> Finding:
    return Finding(code, Severity.CRITICAL, f"{code} happened.", dict(data))


def rank(totals: dict[str, int], figures: SendOnly, *steps: StepResult, last_send_ms: int | None = NOW - HOUR
         ) -> list[Cause]:
    return rank_causes(totals, figures, {s.step: s for s in steps}, now_ms=NOW, last_send_ms=last_send_ms)


def test_nothing_significant_is_none() -> None:
    causes = rank({"delivered": 1000, "send_only": 2}, so(2, 1002))
    assert [c.cause for c in causes] == ["none"]
    assert causes[0].score >= 0.5
    assert causes[0].evidence["send_only"] == 2
    assert rank({"delivered": 10}, so(0, 10))[0].score == 1.0


def test_empty_campaign() -> None:
    causes = rank({}, so(0, 0), last_send_ms=None)
    assert [c.cause for c in causes] == ["none"]
    assert "nothing to explain" in causes[0].summary


def test_suppression_claims_its_share_and_names_the_unpublished_types() -> None:
    causes = rank(
        {"delivered": 900, "send_only": 100}, so(100, 1000),
        step("suppression", Status.FINDING, on_list_estimated=90, listed_before_send=80, listed_after_send=10,
             examples=[{"recipient": "jane@x.test"}], sampled=100),
        step("routing", Status.FINDING, (finding("event_types_not_published"),), missing_types=["BOUNCE", "COMPLAINT"],
             estimated_missing=100),
    )
    assert [c.cause for c in causes] == ["suppression", "missing_events"]
    top = causes[0]
    assert top.score == 0.9
    assert "publish BOUNCE and COMPLAINT" in top.summary
    assert top.evidence["examples"] == ["jane@x.test"] and top.evidence["step"] == "suppression"
    assert causes[1].score == 0.1  # what the list does not explain, and only that


def test_mixed_causes_in_proportion() -> None:
    causes = rank(
        {"delivered": 700, "send_only": 200, "delayed": 100}, so(200, 1000),
        step("suppression", Status.FINDING, on_list_estimated=200),
        step("temporary_failures", Status.FINDING, (finding("delivery_delays"),), expired=0),
    )
    assert [(c.cause, c.score) for c in causes] == [("suppression", 0.667), ("temporary_failure", 0.333)]


def test_young_send_only_is_in_flight_before_anything_else() -> None:
    causes = rank({"delivered": 500, "send_only": 400}, so(400, 900, in_flight=390),
                  step("routing", estimated_missing=0))
    assert causes[0].cause == "still_in_flight" and causes[0].score == 0.975
    assert causes[0].evidence["in_flight"] == 390


def test_unexplained_stuck_recipients_are_unknown_and_name_what_did_not_run() -> None:
    causes = rank({"delivered": 800, "send_only": 200}, so(200, 1000),
                  StepResult.skipped("suppression", "AWS is not configured"), step("routing", estimated_missing=0))
    assert causes[0].cause == "unknown" and causes[0].score == 1.0
    assert "suppression could not run" in causes[0].summary
    assert causes[0].evidence["unchecked"] == ["suppression"]


def test_missing_events_confidence_follows_the_evidence() -> None:
    totals, figures = {"delivered": 500, "send_only": 500}, so(500, 1000)
    inferred = rank(totals, figures, step("routing", Status.FINDING, (finding("outcome_events_stopped"),),
                                          estimated_missing=500))
    proven = rank(totals, figures, step("routing", Status.FINDING, (finding("cloudwatch_gap"),),
                                        estimated_missing=500))
    assert inferred[0].cause == proven[0].cause == "missing_events"
    assert inferred[0].score == 0.8 and proven[0].score == 1.0
    assert "cloudwatch_gap happened." in proven[0].summary


def test_history_stands_in_for_an_unreadable_suppression_list() -> None:
    causes = rank({"delivered": 900, "send_only": 100}, so(100, 1000),
                  step("suppression", Status.FINDING, history_hits=20, history_checked=25))
    assert causes[0].cause == "suppression" and causes[0].evidence["count"] == 80
    assert "could not be read" in causes[0].summary


def test_account_controls_rank_without_send_only() -> None:
    paused = step("account", Status.FINDING, (finding("config_set_paused", config_set="promo"),))
    causes = rank({"delivered": 700}, so(0, 700), paused)
    assert [c.cause for c in causes] == ["account_controls"]
    assert causes[0].score == 0.9 and causes[0].evidence["paused_config_sets"] == ["promo"]
    # a campaign that finished days ago is less likely to be the one the pause hurt
    old = rank({"delivered": 700}, so(0, 700), paused, last_send_ms=NOW - 72 * HOUR)
    assert old[0].score == 0.45


def test_scores_are_bounded_and_causes_from_the_vocabulary() -> None:
    causes = rank(
        {"delivered": 10, "send_only": 990, "delayed": 50}, so(990, 1050, in_flight=10),
        step("suppression", on_list_estimated=5000),
        step("routing", Status.FINDING, (finding("cloudwatch_gap"),), estimated_missing=10_000),
        step("account", Status.FINDING, (finding("account_shutdown"),)),
    )
    assert all(c.cause in CAUSES and 0 <= c.score <= 1 for c in causes)
    assert [c.score for c in causes] == sorted((c.score for c in causes), reverse=True)
    assert sum(c.score for c in causes if c.cause != "account_controls") <= 1.0 + 1e-9
    assert causes[0].to_dict()["cause"] == causes[0].cause
