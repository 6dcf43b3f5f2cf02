"""checks.suppression on plain data: the cohort against the list, before/after the send, sampling, history."""

from __future__ import annotations

from checks.findings import Status
from checks.suppression import CohortMember, HistoryHit, ListedEntry, SuppressionInputs, check_suppression

SEND = 1_772_442_000_000
DAY = 86_400_000


def cohort(n: int) -> list[CohortMember]:
    return [CohortMember(f"u{i}@x.test", SEND, "cs1") for i in range(n)]


def test_recipients_on_the_list_before_and_after_the_send() -> None:
    listed = {"u0@x.test": ListedEntry("BOUNCE", SEND - DAY), "u1@x.test": ListedEntry("COMPLAINT", SEND - 2 * DAY),
              "u2@x.test": ListedEntry("BOUNCE", SEND + 3000)}
    result = check_suppression(SuppressionInputs(10, cohort(10), listed, list_source="cache",
                                                 account_reasons=["BOUNCE", "COMPLAINT"],
                                                 config_set_reasons={"cs1": None}))
    assert result.status == Status.FINDING
    d = result.data
    counts = (d["on_list_sampled"], d["on_list_estimated"], d["listed_before_send"], d["listed_after_send"])
    assert counts == (3, 3, 2, 1)
    assert d["by_reason"] == {"BOUNCE": 2, "COMPLAINT": 1}
    assert d["effective_suppressed_reasons"] == {"cs1": ["BOUNCE", "COMPLAINT"]}
    assert [e["recipient"] for e in d["examples"]] == ["u0@x.test", "u1@x.test", "u2@x.test"]
    assert d["examples"][2]["listed_before_send"] is False
    assert "3 of 10 Send-only recipients (30%)" in result.summary


def test_a_sample_is_scaled_to_the_cohort_and_says_so() -> None:
    listed = {f"u{i}@x.test": ListedEntry("BOUNCE", SEND - DAY) for i in range(0, 100, 4)}
    result = check_suppression(SuppressionInputs(10_000, cohort(100), listed))
    assert result.data["on_list_estimated"] == 2_500 and not result.data["sample_is_complete"]
    assert "estimated from a sample of 100" in result.summary


def test_addresses_match_without_case() -> None:
    members = [CohortMember("Jane.Doe@X.test", SEND, None)]
    result = check_suppression(SuppressionInputs(1, members, {"jane.doe@x.test": ListedEntry("BOUNCE", 0)}))
    assert result.data["on_list_sampled"] == 1


def test_nobody_on_the_list_is_ok() -> None:
    result = check_suppression(SuppressionInputs(5, cohort(5), {}))
    assert result.status == Status.OK and "None of all 5" in result.summary
    assert check_suppression(SuppressionInputs(0, [], {})).status == Status.OK


def test_list_unreadable_is_skipped_or_error_with_why() -> None:
    skipped = check_suppression(SuppressionInputs(5, cohort(5), None, list_problem="no AWS credentials"))
    assert skipped.status == Status.SKIPPED and "no AWS credentials" in skipped.summary
    denied = check_suppression(SuppressionInputs(5, cohort(5), None, list_problem="AccessDeniedException",
                                                 list_problem_is_error=True, suppression_bounces_seen=7))
    assert denied.status == Status.ERROR
    assert "7 suppression bounces already seen" in denied.summary


def test_history_is_evidence_when_the_list_cannot_be_read() -> None:
    history = [HistoryHit("u1@x.test", "hard_bounce", "older-campaign", SEND - DAY),
               HistoryHit("u2@x.test", "complaint", "older-campaign", SEND - DAY)]
    result = check_suppression(SuppressionInputs(5, cohort(5), None, list_problem="throttled", history_checked=5,
                                                 history=history))
    assert result.status == Status.FINDING
    assert result.data["history_hits"] == 2
    assert "suppression list not checked: throttled" in result.summary
    earlier = next(f for f in result.findings if f.code == "earlier_bounces_or_complaints")
    assert earlier.data["by_kind"] == {"hard_bounce": 1, "complaint": 1}


def test_configuration_set_that_does_not_apply_the_list() -> None:
    result = check_suppression(SuppressionInputs(1, cohort(1), {}, account_reasons=["BOUNCE"],
                                                 config_set_reasons={"cs1": []}))
    assert [f.code for f in result.findings] == ["suppression_list_not_applied"]
    assert result.data["effective_suppressed_reasons"] == {"cs1": []}
