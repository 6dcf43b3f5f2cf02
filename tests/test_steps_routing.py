"""checks.routing on plain data: destinations, SNS subscriptions, received types, outcome stop, CloudWatch."""

from __future__ import annotations

from typing import Any

from checks.findings import Status
from checks.routing import NEEDED_TYPES, ConfigSetRouting, RoutingInputs, check_routing

MINUTE = 60_000
START_MIN = 29_540_700  # 2026-03-02T09:00Z in minutes
NOW_MS = (START_MIN + 120) * MINUTE
TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
CONFIRMED = [{"subscription_arn": TOPIC + ":1", "protocol": "https", "endpoint": "https://x/sns", "confirmed": True}]
PENDING = [{"subscription_arn": None, "protocol": "https", "endpoint": "https://x/sns", "confirmed": False}]


def destination(types: tuple[str, ...] = NEEDED_TYPES, *, enabled: bool = True, topic: str | None = TOPIC,
                kind: str = "sns", name: str = "sesbot") -> dict[str, Any]:
    return {"name": name, "enabled": enabled, "matching_types": list(types), "kind": kind, "sns_topic_arn": topic,
            "target": topic}


def steady(minutes: int = 45, per_minute: int = 10) -> dict[str, dict[int, int]]:
    return {t: {START_MIN + m: per_minute for m in range(minutes)} for t in ("Send", "Delivery")}


def inputs(aws: dict[str, ConfigSetRouting] | None, *, events: dict[str, dict[int, int]] | None = None,
           send_only: dict[int, int] | None = None, received: dict[str, int] | None = None,
           window: bool = True, problem: str | None = None) -> RoutingInputs:
    return RoutingInputs(
        config_sets=["cs1"], types_by_config_set={"cs1": received or {"Send": 450, "Delivery": 450}},
        events_by_minute=events if events is not None else steady(), send_only_by_minute=send_only or {},
        now_ms=NOW_MS, delivery_window_s=900, aws=aws, aws_problem=problem,
        window=(START_MIN * MINUTE, NOW_MS) if window else None,
    )


def test_everything_published_and_received_is_ok() -> None:
    routing = ConfigSetRouting("cs1", [destination()], {TOPIC: CONFIRMED}, {"Send": 450, "Delivery": 450})
    result = check_routing(inputs({"cs1": routing}))
    assert result.status == Status.OK, result.summary
    entry = result.data["config_sets"][0]
    assert entry["missing_types"] == [] and entry["delivered_types"] == sorted(NEEDED_TYPES)
    assert entry["cloudwatch"]["metrics"]["Delivery"] == {"cloudwatch": 450, "expected_for_campaign": 450,
                                                          "captured": 450}
    assert result.data["estimated_missing"] == 0


def test_missing_types_disabled_destination_and_pending_subscription() -> None:
    routing = ConfigSetRouting("cs1", [
        destination(("SEND", "DELIVERY")),
        destination(("BOUNCE",), enabled=False, name="bounces"),
        destination(("COMPLAINT", "DELIVERY_DELAY"), topic=TOPIC + "-2", name="other"),
    ], {TOPIC: CONFIRMED, TOPIC + "-2": PENDING})
    result = check_routing(inputs({"cs1": routing}, window=False))
    codes = [f.code for f in result.findings]
    assert result.status == Status.FINDING
    assert {"event_types_not_published", "destination_disabled", "sns_not_delivering"} <= set(codes)
    assert result.data["missing_types"] == ["BOUNCE", "COMPLAINT", "DELIVERY_DELAY", "REJECT", "RENDERING_FAILURE"]
    pending = next(f for f in result.findings if f.code == "sns_not_delivering")
    assert "confirm" in pending.summary and pending.data["topic"] == TOPIC + "-2"


def test_no_destination_and_missing_config_set() -> None:
    empty = check_routing(inputs({"cs1": ConfigSetRouting("cs1", [])}, window=False))
    assert next(f.code for f in empty.findings) == "no_event_destination"
    gone = check_routing(inputs({"cs1": ConfigSetRouting("cs1", None)}, window=False))
    assert [f.code for f in gone.findings] == ["config_set_missing"]


def test_cloudwatch_destination_does_not_reach_sesbot() -> None:
    routing = ConfigSetRouting("cs1", [destination(kind="cloudwatch", topic=None)])
    result = check_routing(inputs({"cs1": routing}, window=False))
    assert "DELIVERY" in result.data["missing_types"]


def test_outcome_events_stopping_while_sends_go_on() -> None:
    events = steady()
    events["Delivery"] = {m: n for m, n in events["Delivery"].items() if m < START_MIN + 15}
    send_only = {START_MIN + m: 10 for m in range(15, 45)}
    result = check_routing(inputs(None, events=events, send_only=send_only, problem="no AWS credentials"))
    assert result.status == Status.FINDING
    stop = result.data["outcome_stop"]
    assert stop["send_only_after"] == 300 and stop["sent_after"] == 300
    assert stop["last_outcome"] < stop["last_send"]
    assert result.data["estimated_missing"] == 300
    assert "AWS not checked: no AWS credentials" in result.summary


def test_campaign_that_simply_ended_is_not_a_stop() -> None:
    assert check_routing(inputs(None, problem="x")).data["outcome_stop"] is None
    assert check_routing(inputs(None, problem="x")).status == Status.SKIPPED


def test_cloudwatch_gap_scaled_to_the_campaign_share() -> None:
    # The configuration set carried twice this campaign's sends: only half its deliveries are this campaign's.
    routing = ConfigSetRouting("cs1", [destination()], {TOPIC: CONFIRMED},
                               {"Send": 900, "Delivery": 880, "Bounce": 20})
    events = steady()
    events["Delivery"] = {m: n for m, n in events["Delivery"].items() if m < START_MIN + 30}  # 300 of 450 captured
    result = check_routing(inputs({"cs1": routing}, events=events))
    gap = next(f for f in result.findings if f.code == "cloudwatch_gap")
    metrics = result.data["config_sets"][0]["cloudwatch"]
    assert metrics["campaign_share"] == 0.5
    assert metrics["metrics"]["Delivery"]["expected_for_campaign"] == 440
    assert gap.data["deficit"] == 140 + 10  # deliveries, and the bounces never captured
    assert result.data["estimated_missing"] == 150


def test_only_sends_ever_received() -> None:
    events = {"Send": {START_MIN + m: 10 for m in range(45)}}
    send_only = {START_MIN + m: 10 for m in range(45)}
    result = check_routing(inputs(None, events=events, send_only=send_only, received={"Send": 450}, problem="x"))
    assert [f.code for f in result.findings] == ["no_outcome_events"]
    assert result.data["estimated_missing"] == 450
