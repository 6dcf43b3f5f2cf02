"""The `suppression` step: are the Send-only recipients on the account suppression list?

SES accepts a send to a suppressed address, emits a Send, then at once a Permanent bounce (sub-type
`OnAccountSuppressionList`) instead of delivering. When the configuration set does not publish BOUNCE (or
COMPLAINT), those recipients look Send-only forever. The same holds for this campaign's own hard bounces and
complaints: SES puts the address on the list, the unpublished bounce never reaches sesbot.

Pure: the cohort (all Send-only recipients, or a uniform sample of a very large cohort), the suppression-list
entries found for them, the account and configuration-set settings and sesbot's own history are handed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.findings import Finding, Severity, Status, StepResult
from checks.severity import severity_rank
from checks.times import iso_seconds

STEP = "suppression"
EXAMPLES = 5


@dataclass(frozen=True)
class CohortMember:
    recipient: str
    send_ms: int
    config_set: str | None


@dataclass(frozen=True)
class ListedEntry:
    reason: str  # BOUNCE or COMPLAINT
    last_update_ms: int


@dataclass(frozen=True)
class HistoryHit:
    """An earlier outcome of the same address in sesbot's store (another message, before this send)."""

    recipient: str
    kind: str  # hard_bounce | complaint | suppressed
    campaign: str | None
    time_ms: int


@dataclass(frozen=True)
class SuppressionInputs:
    cohort_count: int  # Send-only recipients of the campaign
    sample: list[CohortMember]  # all of them, or a uniform sample
    listed: dict[str, ListedEntry] | None  # address (lower case) -> entry; None: the list could not be read
    list_problem: str | None = None  # why `listed` is None
    list_problem_is_error: bool = False
    list_source: str | None = None  # "cache" (ListSuppressedDestinations, cached) or "get" (per address)
    account_reasons: list[str] | None = None  # None: unknown
    config_set_reasons: dict[str, list[str] | None] = field(default_factory=dict)  # None: account applies
    suppression_bounces_seen: int = 0  # recipients already in state `suppressed`
    history_checked: int = 0
    history: list[HistoryHit] = field(default_factory=list)


def check_suppression(inputs: SuppressionInputs) -> StepResult:
    findings: list[Finding] = []
    sample = inputs.sample
    scale = (inputs.cohort_count / len(sample)) if sample else 0.0
    data: dict[str, Any] = {
        "cohort": inputs.cohort_count,
        "sampled": len(sample),
        "sample_is_complete": len(sample) >= inputs.cohort_count,
        "list_source": inputs.list_source,
        "suppression_bounces_seen": inputs.suppression_bounces_seen,
        "account_suppressed_reasons": inputs.account_reasons,
        "config_set_suppressed_reasons": dict(inputs.config_set_reasons),
        "history_checked": inputs.history_checked,
    }
    effective = _effective_reasons(inputs)
    data["effective_suppressed_reasons"] = effective
    for name, reasons in effective.items():
        if reasons is not None and not reasons:
            findings.append(Finding(
                "suppression_list_not_applied", Severity.INFO,
                f"Configuration set {name} does not apply the account suppression list (no suppressed reasons).",
                {"config_set": name},
            ))

    if inputs.listed is not None:
        on_list = [(m, inputs.listed[m.recipient.lower()]) for m in sample if m.recipient.lower() in inputs.listed]
        before = [(m, e) for m, e in on_list if e.last_update_ms <= m.send_ms]
        after = [(m, e) for m, e in on_list if e.last_update_ms > m.send_ms]
        by_reason: dict[str, int] = {}
        for _, entry in on_list:
            by_reason[entry.reason] = by_reason.get(entry.reason, 0) + 1
        estimate = round(len(on_list) * scale)
        data.update({
            "on_list_sampled": len(on_list),
            "on_list_estimated": estimate,
            "listed_before_send": round(len(before) * scale),
            "listed_after_send": round(len(after) * scale),
            "by_reason": {k: round(v * scale) for k, v in sorted(by_reason.items())},
            "examples": [
                {"recipient": m.recipient, "reason": e.reason, "last_update": iso_seconds(e.last_update_ms),
                 "listed_before_send": e.last_update_ms <= m.send_ms}
                for m, e in on_list[:EXAMPLES]
            ],
        })
        if on_list:
            share = estimate / inputs.cohort_count if inputs.cohort_count else 0.0
            sampled_note = "" if data["sample_is_complete"] else f" (estimated from a sample of {len(sample):,})"
            parts = []
            if before:
                parts.append(f"{round(len(before) * scale):,} were already suppressed when sent")
            if after:
                parts.append(f"{round(len(after) * scale):,} were added by this campaign's own unpublished "
                             "bounces or complaints")
            findings.append(Finding(
                "send_only_on_suppression_list", Severity.CRITICAL,
                f"{estimate:,} of {inputs.cohort_count:,} Send-only recipients ({share:.0%}) are on the account "
                f"suppression list{sampled_note}: {'; '.join(parts)}. SES never delivers to them; remove invalid "
                "addresses from the list you send to, and publish BOUNCE and COMPLAINT events so they show as "
                "suppressed.",
                {"count": estimate, "share": round(share, 4), "examples": data["examples"]},
            ))
    else:
        data["unchecked"] = inputs.list_problem

    if inputs.suppression_bounces_seen:
        findings.append(Finding(
            "suppression_bounces_seen", Severity.INFO,
            f"{inputs.suppression_bounces_seen:,} recipients of this campaign already bounced as suppressed "
            "(OnAccountSuppressionList / Suppressed): SES did not send to them.",
            {"count": inputs.suppression_bounces_seen},
        ))
    if inputs.history:
        kinds: dict[str, int] = {}
        for hit in inputs.history:
            kinds[hit.kind] = kinds.get(hit.kind, 0) + 1
        people = len({h.recipient for h in inputs.history})
        kinds_text = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(kinds.items()))
        findings.append(Finding(
            "earlier_bounces_or_complaints", Severity.WARNING,
            f"{people} of {inputs.history_checked} Send-only recipients checked in sesbot's history hard-bounced "
            f"or complained before ({kinds_text}): SES has most likely suppressed them.",
            {"recipients": people, "checked": inputs.history_checked, "by_kind": kinds,
             "examples": [{"recipient": h.recipient, "kind": h.kind, "campaign": h.campaign,
                           "time": iso_seconds(h.time_ms)} for h in inputs.history[:EXAMPLES]]},
        ))
        data["history_hits"] = people

    findings.sort(key=severity_rank)
    problems = [f for f in findings if f.severity != Severity.INFO]
    unchecked_note = f" (suppression list not checked: {inputs.list_problem})" if inputs.listed is None else ""
    if problems:
        return StepResult(STEP, Status.FINDING, problems[0].summary + unchecked_note, tuple(findings), data)
    if inputs.listed is None:
        status = Status.ERROR if inputs.list_problem_is_error else Status.SKIPPED
        seen = (f"; {inputs.suppression_bounces_seen:,} suppression bounces already seen"
                if inputs.suppression_bounces_seen else "")
        return StepResult(STEP, status, f"Suppression list not checked: {inputs.list_problem}{seen}.",
                          tuple(findings), data)
    if not inputs.cohort_count:
        return StepResult(STEP, Status.OK, "No Send-only recipients to look up on the suppression list.",
                          tuple(findings), data)
    checked = "all" if data["sample_is_complete"] else f"a sample of {len(sample):,} of the"
    return StepResult(STEP, Status.OK,
                      f"None of {checked} {inputs.cohort_count:,} Send-only recipients is on the suppression list.",
                      tuple(findings), data)


def _effective_reasons(inputs: SuppressionInputs) -> dict[str, list[str] | None]:
    """Per configuration set, the reasons the suppression list is applied for (None: unknown)."""
    out: dict[str, list[str] | None] = {}
    for name, reasons in inputs.config_set_reasons.items():
        out[name] = list(reasons) if reasons is not None else (
            list(inputs.account_reasons) if inputs.account_reasons is not None else None)
    return out
