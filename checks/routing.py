"""The `routing` step: do the campaign's events reach sesbot?

For each configuration set of the campaign: its event destinations (enabled, MatchingEventTypes, which outcome
types are not published), the SNS topic's subscription status, the event types actually received against those
enabled, the minute outcome events stopped while sends went on, and SES's CloudWatch counts (the exact
`ses:configuration-set` dimension) against the events captured over the same window.

Pure: the AWS answers and the campaign aggregates are handed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checks.findings import Finding, Severity, Status, StepResult
from checks.severity import severity_rank
from checks.times import iso_seconds

STEP = "routing"
MINUTE_MS = 60_000
# The event types sesbot needs to know every recipient's outcome (SESv2 MatchingEventTypes spelling).
NEEDED_TYPES = ("SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "DELIVERY_DELAY", "REJECT", "RENDERING_FAILURE")
OUTCOME_TYPES = ("DELIVERY", "BOUNCE", "COMPLAINT", "DELIVERY_DELAY", "REJECT", "RENDERING_FAILURE")
EVENT_NAME = {"SEND": "Send", "DELIVERY": "Delivery", "BOUNCE": "Bounce", "COMPLAINT": "Complaint",
              "DELIVERY_DELAY": "DeliveryDelay", "REJECT": "Reject", "RENDERING_FAILURE": "Rendering Failure"}
CLOUDWATCH_METRIC = {"Send": "Send", "Delivery": "Delivery", "Bounce": "Bounce", "Complaint": "Complaint",
                     "DeliveryDelay": "DeliveryDelay", "Reject": "Reject", "Rendering Failure": "RenderingFailure"}
# Outcomes that end a recipient's story: missing ones leave recipients Send-only.
FINAL_EVENTS = ("Delivery", "Bounce", "Complaint", "Reject", "Rendering Failure")
STOP_GAP_MIN = 5  # minutes of sends without any outcome before "outcome events stopped" is said


@dataclass(frozen=True)
class ConfigSetRouting:
    """AWS's view of one configuration set. `destinations` None: the configuration set does not exist."""

    name: str
    destinations: list[dict[str, Any]] | None
    subscriptions: dict[str, list[dict[str, Any]] | None] = field(default_factory=dict)  # topic -> subs (None: gone)
    cloudwatch: dict[str, int] | None = None  # SES metric -> sum over the window; None: not read
    cloudwatch_problem: str | None = None


@dataclass(frozen=True)
class RoutingInputs:
    config_sets: list[str]
    types_by_config_set: dict[str, dict[str, int]]
    events_by_minute: dict[str, dict[int, int]]
    send_only_by_minute: dict[int, int]
    now_ms: int
    delivery_window_s: int
    aws: dict[str, ConfigSetRouting] | None  # None: AWS could not be asked
    aws_problem: str | None = None
    aws_problem_is_error: bool = False
    window: tuple[int, int] | None = None  # the CloudWatch window [start, end) in epoch ms


def check_routing(inputs: RoutingInputs) -> StepResult:
    findings: list[Finding] = []
    sets_data: list[dict[str, Any]] = []
    missing_everywhere: set[str] | None = None
    cloudwatch_deficit = 0
    for name in sorted(inputs.config_sets):
        received = {t for t, n in inputs.types_by_config_set.get(name, {}).items() if n > 0}
        entry: dict[str, Any] = {"name": name, "received_types": sorted(received)}
        routing = inputs.aws.get(name) if inputs.aws is not None else None
        if routing is not None:
            missing, set_findings = _destinations(name, routing, received, entry)
            findings.extend(set_findings)
            missing_everywhere = missing if missing_everywhere is None else missing_everywhere & missing
            deficit, cw_findings = _cloudwatch(name, routing, inputs, entry)
            cloudwatch_deficit += deficit
            findings.extend(cw_findings)
        sets_data.append(entry)

    stop = _outcome_stop(inputs)
    if stop is not None:
        findings.append(stop[0])
    stuck = _stuck_send_only(inputs)
    estimates = {"cloudwatch_deficit": cloudwatch_deficit, "after_stop": stop[1]["send_only_after"] if stop else 0}
    if missing_everywhere and "DELIVERY" in missing_everywhere:
        estimates["delivery_not_published"] = stuck
    never = _never_received_outcomes(inputs)
    if never is not None:
        findings.append(never)
        estimates["no_outcome_events"] = stuck
    data: dict[str, Any] = {
        "config_sets": sets_data,
        "missing_types": sorted(missing_everywhere or ()),
        "outcome_stop": stop[1] if stop else None,
        "estimated_missing": max(estimates.values()) if estimates else 0,
        "estimates": estimates,
    }
    if inputs.window:
        data["window"] = {"start": iso_seconds(inputs.window[0]), "end": iso_seconds(inputs.window[1])}
    findings.sort(key=severity_rank)
    problems = [f for f in findings if f.severity != Severity.INFO]
    note = f" (AWS not checked: {inputs.aws_problem})" if inputs.aws is None else ""
    if problems:
        summary = problems[0].summary if len(problems) == 1 else (
            f"{len(problems)} event-routing problems; {problems[0].summary}")
        return StepResult(STEP, Status.FINDING, summary + note, tuple(findings), data)
    if inputs.aws is None:
        status = Status.ERROR if inputs.aws_problem_is_error else Status.SKIPPED
        received = sorted({t for types in inputs.types_by_config_set.values() for t, n in types.items() if n})
        return StepResult(STEP, status, f"Event destinations not checked: {inputs.aws_problem}; received so far: "
                          f"{', '.join(received) or 'nothing'}.", tuple(findings), data)
    names = ", ".join(sorted(inputs.config_sets)) or "none"
    return StepResult(STEP, Status.OK, f"Every outcome type is published and received for configuration set(s) "
                      f"{names}.", tuple(findings), data)


def _destinations(
    name: str, routing: ConfigSetRouting, received: set[str], entry: dict[str, Any]
) -> tuple[set[str], list[Finding]]:
    """Findings about one configuration set's destinations; returns the needed types that reach no subscriber."""
    findings: list[Finding] = []
    if routing.destinations is None:
        entry["exists"] = False
        findings.append(Finding(
            "config_set_missing", Severity.WARNING,
            f"Configuration set {name} does not exist in this AWS account/region, so its event destinations "
            "cannot be checked.", {"config_set": name},
        ))
        return set(), findings
    entry["exists"] = True
    delivered: set[str] = set()
    destinations = []
    for dest in routing.destinations:
        types = [t for t in dest.get("matching_types", [])]
        item: dict[str, Any] = {"name": dest["name"], "enabled": dest.get("enabled", False), "kind": dest.get("kind"),
                                "matching_types": types, "sns_topic_arn": dest.get("sns_topic_arn")}
        reaches = bool(dest.get("enabled"))
        if not dest.get("enabled"):
            findings.append(Finding(
                "destination_disabled", Severity.WARNING,
                f"Event destination {dest['name']} of {name} is disabled: {', '.join(types) or 'no types'} "
                "are not published.", {"config_set": name, "destination": dest["name"], "types": types},
            ))
        topic = dest.get("sns_topic_arn")
        if topic and reaches:
            subs = routing.subscriptions.get(topic)
            confirmed = [s for s in subs or [] if s.get("confirmed")]
            pending = [s for s in subs or [] if not s.get("confirmed")]
            item["subscriptions"] = {"confirmed": len(confirmed), "pending": len(pending),
                                     "topic_exists": subs is not None,
                                     "endpoints": [s.get("endpoint") for s in subs or []][:5]}
            if subs is None or not confirmed:
                reaches = False
                state = "does not exist" if subs is None else (
                    "has only unconfirmed subscriptions" if pending else "has no subscriptions")
                outcome = [t for t in types if t in OUTCOME_TYPES]
                findings.append(Finding(
                    "sns_not_delivering", Severity.CRITICAL if outcome or "SEND" in types else Severity.WARNING,
                    f"SNS topic {topic} of destination {dest['name']} ({name}) {state}: its "
                    f"{', '.join(types) or 'events'} reach nobody"
                    + ("; confirm sesbot's subscription (SubscribeURL) or re-subscribe." if pending else
                       "; subscribe sesbot's /sns endpoint or SQS queue."),
                    {"config_set": name, "destination": dest["name"], "topic": topic, "types": types,
                     "pending": [s.get("endpoint") for s in pending][:5]},
                ))
        elif dest.get("kind") == "cloudwatch" and reaches:
            reaches = False  # CloudWatch destinations keep counts, not events sesbot could read
        if reaches:
            delivered.update(types)
        destinations.append(item)
    missing = {t for t in NEEDED_TYPES if t not in delivered}
    entry["destinations"] = destinations
    entry["delivered_types"] = sorted(delivered)
    entry["missing_types"] = sorted(missing)
    received_needed = {t for t in NEEDED_TYPES if EVENT_NAME[t] in received}
    entry["enabled_not_received"] = sorted(t for t in delivered & set(NEEDED_TYPES) - received_needed)
    if not routing.destinations:
        findings.append(Finding(
            "no_event_destination", Severity.CRITICAL,
            f"Configuration set {name} has no event destination: SES publishes none of its events.",
            {"config_set": name},
        ))
    elif missing:
        critical = missing & {"DELIVERY", "BOUNCE", "COMPLAINT", "SEND"}
        findings.append(Finding(
            "event_types_not_published", Severity.CRITICAL if critical else Severity.WARNING,
            f"Configuration set {name} does not publish {', '.join(sorted(missing))} to a subscribed destination: "
            "recipients whose outcome is one of those stay Send-only in sesbot; add them to the destination's "
            "MatchingEventTypes.",
            {"config_set": name, "missing": sorted(missing)},
        ))
    return missing, findings


def _cloudwatch(
    name: str, routing: ConfigSetRouting, inputs: RoutingInputs, entry: dict[str, Any]
) -> tuple[int, list[Finding]]:
    """CloudWatch counts against captured events over the window; returns the outcome events not captured."""
    if routing.cloudwatch is None:
        if routing.cloudwatch_problem:
            entry["cloudwatch"] = {"unchecked": routing.cloudwatch_problem}
        return 0, []
    if inputs.window is None:
        return 0, []
    start_min, end_min = inputs.window[0] // MINUTE_MS, inputs.window[1] // MINUTE_MS
    captured = {
        event: sum(n for m, n in inputs.events_by_minute.get(event, {}).items() if start_min <= m <= end_min)
        for event in CLOUDWATCH_METRIC
    }
    cw = routing.cloudwatch
    cw_send = cw.get("Send", 0)
    # The configuration set may carry other campaigns too: compare against this campaign's share of its sends.
    share = min(1.0, captured["Send"] / cw_send) if cw_send else 1.0
    rows: dict[str, dict[str, Any]] = {}
    deficit_total = 0
    gaps = []
    for event, metric in CLOUDWATCH_METRIC.items():
        expected = round(cw.get(metric, 0) * share)
        got = captured[event]
        rows[metric] = {"cloudwatch": cw.get(metric, 0), "expected_for_campaign": expected, "captured": got}
        deficit = expected - got
        if event in FINAL_EVENTS and deficit >= max(5, 0.05 * expected):
            deficit_total += deficit
            gaps.append((metric, expected, got))
    entry["cloudwatch"] = {"campaign_share": round(share, 4), "metrics": rows}
    if not gaps:
        return 0, []
    what = "; ".join(f"{metric}: CloudWatch {expected:,}, captured {got:,}" for metric, expected, got in gaps)
    return deficit_total, [Finding(
        "cloudwatch_gap", Severity.CRITICAL,
        f"SES produced {deficit_total:,} outcome events for this campaign on {name} that sesbot never received "
        f"({what}).",
        {"config_set": name, "deficit": deficit_total, "gaps": [list(g) for g in gaps]},
    )]


def _outcome_stop(inputs: RoutingInputs) -> tuple[Finding, dict[str, Any]] | None:
    sends = inputs.events_by_minute.get("Send", {})
    outcome_minutes = [m for event in ("Delivery", "Bounce", "Complaint", "DeliveryDelay", "Reject",
                                       "Rendering Failure") for m, n in inputs.events_by_minute.get(event, {}).items()
                       if n > 0]
    if not sends or not outcome_minutes:
        return None
    last_outcome = max(outcome_minutes)
    last_send = max(m for m, n in sends.items() if n > 0) if any(sends.values()) else None
    now_min = inputs.now_ms // MINUTE_MS
    if last_send is None or last_send - last_outcome < STOP_GAP_MIN:
        return None
    if (now_min - last_outcome) * 60 < inputs.delivery_window_s:
        return None
    sent_after = sum(n for m, n in sends.items() if m > last_outcome)
    send_only_after = sum(n for m, n in inputs.send_only_by_minute.items() if m > last_outcome)
    if sent_after < 5 or send_only_after < 0.8 * sent_after:
        return None
    data = {"last_outcome": iso_seconds(last_outcome * MINUTE_MS), "last_send": iso_seconds(last_send * MINUTE_MS),
            "sent_after": sent_after, "send_only_after": send_only_after}
    return Finding(
        "outcome_events_stopped", Severity.CRITICAL,
        f"Outcome events stopped at {data['last_outcome']} while sends went on until {data['last_send']}: "
        f"{send_only_after:,} of the {sent_after:,} recipients sent after that are Send-only. Check the event "
        "destination's SNS subscription and sesbot's intake (/sns, SQS) from that minute.",
        data,
    ), data


def _stuck_send_only(inputs: RoutingInputs) -> int:
    cutoff = inputs.now_ms - inputs.delivery_window_s * 1000
    return sum(n for m, n in inputs.send_only_by_minute.items() if (m + 1) * MINUTE_MS <= cutoff and n > 0)


def _never_received_outcomes(inputs: RoutingInputs) -> Finding | None:
    received = {t for types in inputs.types_by_config_set.values() for t, n in types.items() if n > 0}
    if "Send" not in received or received & set(FINAL_EVENTS) or received & {"DeliveryDelay"}:
        return None
    stuck = _stuck_send_only(inputs)
    if stuck == 0:
        return None
    return Finding(
        "no_outcome_events", Severity.CRITICAL,
        f"Only Send events were ever received for this campaign ({stuck:,} Send-only recipients past the "
        "delivery window): no Delivery, Bounce or Complaint reached sesbot. Check that the configuration set "
        "publishes outcome events to the topic sesbot subscribes to.",
        {"received": sorted(received), "stuck": stuck},
    )
