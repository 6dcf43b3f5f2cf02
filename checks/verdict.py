"""The verdict: which causes explain the campaign's recipients without a final outcome, ranked, with evidence.

Pure: step results and the campaign's figures in, `Cause`s out.

How the score works: the recipients without a final outcome (Send-only plus delayed) are attributed to causes in
order of how certain the evidence is, each cause claiming at most what is left:

1. `suppression`: Send-only recipients found on the account suppression list (per address, from the sample);
2. `still_in_flight`: Send-only recipients younger than the delivery window;
3. `missing_events`: outcomes SES produced that never reached sesbot (CloudWatch deficit, outcome events that
   stopped while sends went on, outcome types not published);
4. `temporary_failure`: delayed recipients (SES still retrying, or gave up after the retry deadline);
5. `unknown`: stuck Send-only recipients nothing above explains.

A cause's score is its share of that population, so mixed causes show side by side, in proportion.
`account_controls` (sending paused or disabled, shutdown, quota) is scored on its own: it explains recipients that
never got a Send at all, which no Send-only count shows. `none` is the verdict when no cause is significant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.findings import Status, StepResult
from checks.send_only import SendOnly

CAUSES = ("suppression", "missing_events", "temporary_failure", "account_controls", "still_in_flight", "unknown",
          "none")
MIN_SIGNIFICANT = 5  # recipients
MIN_SIGNIFICANT_SHARE = 0.005  # of recipients sent
MIN_SCORE = 0.02
ACTIVE_MS = 24 * 3_600_000
_CONTROL_SCORES = {"account_sending_disabled": 0.9, "account_shutdown": 0.95, "config_set_paused": 0.9,
                   "quota_nearly_used": 0.5, "account_probation": 0.15, "sandbox": 0.3}


@dataclass(frozen=True)
class Cause:
    cause: str  # one of CAUSES
    score: float  # [0, 1]
    summary: str  # what to do next
    evidence: dict[str, Any] = field(default_factory=dict)  # counts, examples, "step"

    def to_dict(self) -> dict[str, Any]:
        return {"cause": self.cause, "score": self.score, "summary": self.summary, "evidence": self.evidence}


def _data(steps: dict[str, StepResult], name: str) -> dict[str, Any]:
    step = steps.get(name)
    return step.data if step is not None and step.data else {}


def _finding(steps: dict[str, StepResult], name: str, code: str) -> Any:
    step = steps.get(name)
    if step is None:
        return None
    return next((f for f in step.findings if f.code == code), None)


def rank_causes(
    totals: dict[str, int],
    send_only: SendOnly,
    steps: dict[str, StepResult],
    *,
    now_ms: int,
    last_send_ms: int | None,
    delivery_window_s: int = 900,
) -> list[Cause]:
    sent = send_only.sent
    count = send_only.count
    delayed = totals.get("delayed", 0)
    population = count + delayed
    threshold = max(MIN_SIGNIFICANT, MIN_SIGNIFICANT_SHARE * sent)
    causes: list[Cause] = []

    control = _account_controls(steps, now_ms, last_send_ms)
    if control is not None:
        causes.append(control)

    if population >= threshold:
        remaining = count
        claims: list[tuple[str, int, Any]] = []
        supp = _suppression_claim(steps, count)
        if supp:
            take = min(remaining, supp)
            remaining -= take
            claims.append(("suppression", take, None))
        take = min(remaining, send_only.in_flight_count)
        if take:
            remaining -= take
            claims.append(("still_in_flight", take, None))
        missing = int(_data(steps, "routing").get("estimated_missing") or 0)
        take = min(remaining, missing)
        if take:
            remaining -= take
            claims.append(("missing_events", take, None))
        if delayed:
            claims.append(("temporary_failure", delayed, None))
        if remaining >= threshold:
            claims.append(("unknown", remaining, None))
        for name, claimed, _ in claims:
            score = round(min(1.0, claimed / population), 3)
            if name == "missing_events":
                score = round(score * _missing_confidence(steps), 3)
            if score < MIN_SCORE:
                continue
            causes.append(_BUILDERS[name](claimed, score, count, delayed, send_only, steps, delivery_window_s,
                                         now_ms))

    causes.sort(key=lambda c: -c.score)
    if not any(c.score >= MIN_SCORE for c in causes):
        causes = [_none(send_only, delayed, threshold), *causes]
    return causes


# ---- claims --------------------------------------------------------------------------------------------------------


def _suppression_claim(steps: dict[str, StepResult], count: int) -> int:
    data = _data(steps, "suppression")
    if "on_list_estimated" in data:
        return int(data["on_list_estimated"])
    hits, checked = data.get("history_hits") or 0, data.get("history_checked") or 0
    if hits and checked:
        return round(count * hits / checked)  # the list could not be read: sesbot's own history is the evidence
    return 0


def _missing_confidence(steps: dict[str, StepResult]) -> float:
    step = steps.get("routing")
    if step is None:
        return 0.0
    aws_backed = {"cloudwatch_gap", "sns_not_delivering", "event_types_not_published", "no_event_destination",
                  "destination_disabled"}
    if any(f.code in aws_backed for f in step.findings):
        return 1.0
    if any(f.code in ("outcome_events_stopped", "no_outcome_events") for f in step.findings):
        return 0.8
    return 0.5


# ---- builders ------------------------------------------------------------------------------------------------------


def _pct(n: int, of: int) -> str:
    return f"{n / of:.0%}" if of else "0%"


def _suppression(claimed: int, score: float, count: int, delayed: int, so: SendOnly,
                 steps: dict[str, StepResult], window_s: int, now_ms: int) -> Cause:
    data = _data(steps, "suppression")
    routing = _data(steps, "routing")
    unpublished = [t for t in ("BOUNCE", "COMPLAINT") if t in (routing.get("missing_types") or [])]
    if "on_list_estimated" in data:
        how = (f"{claimed:,} of {count:,} Send-only recipients ({_pct(claimed, count)}) are on the account "
               "suppression list")
        parts = []
        if data.get("listed_before_send"):
            parts.append(f"{data['listed_before_send']:,} were suppressed before the send")
        if data.get("listed_after_send"):
            parts.append(f"{data['listed_after_send']:,} were added by this campaign's own bounces/complaints")
        if parts:
            how += f" ({'; '.join(parts)})"
    else:
        how = (f"About {claimed:,} Send-only recipients hard-bounced or complained before in sesbot's history "
               "(the suppression list itself could not be read)")
    fix = "; SES never sends to them. Drop them from the audience"
    fix += (f", and publish {' and '.join(unpublished)} events so they show as suppressed instead of Send-only."
            if unpublished else ", and check that BOUNCE and COMPLAINT events reach sesbot.")
    return Cause("suppression", score, how + fix, {
        "step": "suppression",
        "count": claimed,
        "send_only": count,
        "listed_before_send": data.get("listed_before_send"),
        "listed_after_send": data.get("listed_after_send"),
        "by_reason": data.get("by_reason"),
        "sampled": data.get("sampled"),
        "examples": [e["recipient"] for e in data.get("examples", [])],
        "unpublished_types": unpublished,
    })


def _missing_events(claimed: int, score: float, count: int, delayed: int, so: SendOnly,
                    steps: dict[str, StepResult], window_s: int, now_ms: int) -> Cause:
    step = steps.get("routing")
    data = _data(steps, "routing")
    lead = next((f for f in (step.findings if step else ()) if f.code in (
        "sns_not_delivering", "outcome_events_stopped", "cloudwatch_gap", "event_types_not_published",
        "no_outcome_events", "no_event_destination", "destination_disabled")), None)
    summary = (f"About {claimed:,} Send-only recipients ({_pct(claimed, count)}) most likely have an outcome SES "
               "produced but sesbot never received")
    summary += f": {lead.summary}" if lead else "."
    return Cause("missing_events", score, summary, {
        "step": "routing",
        "count": claimed,
        "estimates": data.get("estimates"),
        "outcome_stop": data.get("outcome_stop"),
        "missing_types": data.get("missing_types"),
        "findings": [f.code for f in (step.findings if step else ())],
    })


def _temporary_failure(claimed: int, score: float, count: int, delayed: int, so: SendOnly,
                       steps: dict[str, StepResult], window_s: int, now_ms: int) -> Cause:
    data = _data(steps, "temporary_failures")
    finding = _finding(steps, "temporary_failures", "delivery_delays")
    summary = finding.summary if finding else f"{delayed:,} recipients are delayed: SES is still retrying."
    domains = _data(steps, "domains")
    outlier = _finding(steps, "domains", "provider_outlier")
    if outlier is not None:
        summary += f" {outlier.data.get('provider')} stands out."
    expired = data.get("expired") or 0
    if expired:
        summary += f" {expired:,} are past expiry: SES gave up on them."
    return Cause("temporary_failure", score, summary, {
        "step": "temporary_failures",
        "delayed": delayed,
        "by_type": data.get("by_type"),
        "by_domain": data.get("by_domain"),
        "expired": expired,
        "next_expiry": data.get("next_expiry"),
        "provider": outlier.data.get("provider") if outlier else None,
        "providers": (domains.get("providers") or [])[:3],
        "examples": [e["recipient"] for e in data.get("examples", [])],
    })


def _still_in_flight(claimed: int, score: float, count: int, delayed: int, so: SendOnly,
                     steps: dict[str, StepResult], window_s: int, now_ms: int) -> Cause:
    summary = (f"{claimed:,} Send-only recipients were sent less than {window_s // 60} minutes ago: SES is most "
               "likely still delivering them. Check again in a few minutes.")
    return Cause("still_in_flight", score, summary, {
        "step": "state", "count": claimed, "in_flight": so.in_flight_count, "delivery_window_s": window_s,
        "oldest_age_s": so.oldest_age_s,
    })


def _unknown(claimed: int, score: float, count: int, delayed: int, so: SendOnly,
             steps: dict[str, StepResult], window_s: int, now_ms: int) -> Cause:
    unchecked = [name for name, s in steps.items() if s.status in (Status.SKIPPED, Status.ERROR)]
    summary = (f"{claimed:,} stuck Send-only recipients are not explained by the checks that ran"
               + (f" ({', '.join(unchecked)} could not run: fix that first)" if unchecked else "")
               + ". Look at a few with `sesbot recipient EMAIL` and at the SES console's event destinations.")
    return Cause("unknown", score, summary, {
        "step": "verdict", "count": claimed, "stuck": so.stuck_count, "lost": so.lost_count, "unchecked": unchecked,
    })


_BUILDERS = {
    "suppression": _suppression,
    "missing_events": _missing_events,
    "temporary_failure": _temporary_failure,
    "still_in_flight": _still_in_flight,
    "unknown": _unknown,
}


def _account_controls(steps: dict[str, StepResult], now_ms: int, last_send_ms: int | None) -> Cause | None:
    step = steps.get("account")
    if step is None:
        return None
    hits = [f for f in step.findings if f.code in _CONTROL_SCORES]
    if not hits:
        return None
    active = last_send_ms is not None and now_ms - last_send_ms <= ACTIVE_MS
    best = max(hits, key=lambda f: _CONTROL_SCORES[f.code])
    score = _CONTROL_SCORES[best.code] * (1.0 if active else 0.5)
    summary = best.summary
    if best.code in ("account_sending_disabled", "config_set_paused", "account_shutdown"):
        summary += (" Sends after the pause never became SES messages (no Send event), so fewer recipients were "
                    "sent than planned.")
    return Cause("account_controls", round(score, 3), summary, {
        "step": "account",
        "findings": [f.code for f in hits],
        "paused_config_sets": [f.data.get("config_set") for f in hits if f.code == "config_set_paused"],
        "campaign_active": active,
    })


def _none(so: SendOnly, delayed: int, threshold: float) -> Cause:
    stuck = so.count + delayed
    summary = (f"Nothing significant: {so.count:,} Send-only and {delayed:,} delayed of {so.sent:,} recipients "
               f"sent (below {threshold:,.0f}).")
    if so.sent == 0:
        summary = "No recipients with a Send yet: nothing to explain."
    return Cause("none", 1.0 if stuck == 0 else round(max(0.5, 1 - stuck / max(threshold, 1)), 3), summary, {
        "step": "state", "send_only": so.count, "delayed": delayed, "sent": so.sent,
    })
