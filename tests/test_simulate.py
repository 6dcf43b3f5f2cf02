"""The scenario simulator: well-formed SES records, deterministic, and each scenario shaped as documented."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import dns.rdatatype
import dns.zone
import orjson
import pytest

from bot.simulate import (
    CAUSES,
    DEFAULT_START,
    PROVIDERS,
    SCENARIOS,
    AwsState,
    SimulatedCampaign,
    event_timestamp,
    expected_state_counts,
    fast_campaign_name,
    iter_campaign_fast,
    iter_events_fast,
    simulate,
    write_ndjson,
    write_scenario,
)

MESSAGE_ID = re.compile(r"^0100([0-9a-f]{12})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$")
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
BODY = {"Send": "send", "Delivery": "delivery", "Bounce": "bounce", "Complaint": "complaint",
        "DeliveryDelay": "deliveryDelay", "Open": "open", "Click": "click", "Reject": "reject"}
MS = timedelta(milliseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OUTCOME_TYPES = {"Delivery", "Bounce", "Complaint", "DeliveryDelay", "Reject", "Rendering Failure"}


@cache
def sim_of(name: str) -> SimulatedCampaign:
    return simulate(name, recipients=1500, seed=11)


def ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def recipients_of(rec: dict) -> list[str]:
    """Recipients an outcome record is about."""
    et = rec["eventType"]
    if et == "Delivery":
        return rec["delivery"]["recipients"]
    if et == "Bounce":
        return [r["emailAddress"] for r in rec["bounce"]["bouncedRecipients"]]
    if et == "Complaint":
        return [r["emailAddress"] for r in rec["complaint"]["complainedRecipients"]]
    if et == "DeliveryDelay":
        return [r["emailAddress"] for r in rec["deliveryDelay"]["delayedRecipients"]]
    return list(rec["mail"]["destination"])


def send_only(sim: SimulatedCampaign) -> dict[tuple[str, str], datetime]:
    """(messageId, recipient) -> send time for recipients with a Send and no outcome event."""
    sent: dict[tuple[str, str], datetime] = {}
    done: set[tuple[str, str]] = set()
    for rec in sim.events:
        mid = rec["mail"]["messageId"]
        if rec["eventType"] == "Send":
            for r in rec["mail"]["destination"]:
                sent[(mid, r)] = ts(rec["mail"]["timestamp"])
        elif rec["eventType"] in OUTCOME_TYPES:
            done.update((mid, r) for r in recipients_of(rec))
    return {k: v for k, v in sent.items() if k not in done}


def cw_total(sim: SimulatedCampaign, metric: str, since: datetime | None = None) -> float:
    points = sim.aws.cloudwatch[sim.configuration_set].get(metric, [])
    return sum(v for t, v in points if since is None or t >= since)


# ----------------------------------------------------------------------------------------------------------
# Every scenario
# ----------------------------------------------------------------------------------------------------------


def test_required_scenarios_exist() -> None:
    required = {"healthy", "suppression_no_bounce_events", "missing_events", "provider_deferral",
                "still_in_flight", "mixed", "account_paused"}
    assert required <= set(SCENARIOS)
    for spec in SCENARIOS.values():
        assert spec.expected_cause in CAUSES
        assert set(spec.secondary_causes) <= set(CAUSES)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_records_are_well_formed(name: str) -> None:
    sim = sim_of(name)
    assert sim.scenario == name
    assert sim.expected_cause == SCENARIOS[name].expected_cause
    assert sim.events, "no records"
    assert sim.events and all(isinstance(e, dict) for e in sim.events)
    for rec in sim.events:
        et = rec["eventType"]
        assert et in BODY, et
        assert isinstance(rec[BODY[et]], dict)
        mail = rec["mail"]
        m = MESSAGE_ID.match(mail["messageId"])
        assert m, mail["messageId"]
        assert ISO_MS.match(mail["timestamp"])
        # SES message ids carry the send time in milliseconds.
        assert int(m.group(1), 16) == (ts(mail["timestamp"]) - EPOCH) // MS
        assert mail["destination"] and all("@" in d for d in mail["destination"])
        assert mail["commonHeaders"]["messageId"] == mail["messageId"]
        assert mail["headersTruncated"] is False and mail["headers"]
        tags = mail["tags"]
        assert tags["campaign"] == [sim.campaign]
        assert tags["ses:configuration-set"] == [sim.configuration_set]
        assert all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in tags.values())
        for k in ("ses:from-domain", "ses:source-ip", "ses:caller-identity"):
            assert k in tags
        if et in ("Send", "Open", "Click"):
            assert "ses:outgoing-ip" not in tags
        if et == "Delivery":
            assert tags["ses:outgoing-ip"]
            d = rec["delivery"]
            assert d["processingTimeMillis"] == (ts(d["timestamp"]) - ts(mail["timestamp"])) // MS
            assert d["smtpResponse"].startswith("250")
            assert set(d["recipients"]) <= set(mail["destination"])
        if et == "Bounce":
            b = rec["bounce"]
            assert b["bounceType"] in ("Permanent", "Transient")
            assert b["timestamp"].endswith(".000Z")
            if b["bounceSubType"] == "OnAccountSuppressionList":
                assert b["reportingMTA"] == "dns; amazonses.com"
                assert "ses:outgoing-ip" not in tags
        if et in OUTCOME_TYPES:
            assert set(recipients_of(rec)) <= set(mail["destination"])
        # Nothing arrives from the future.
        assert event_timestamp(rec) <= sim.now


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_duplicates_and_disorder(name: str) -> None:
    sim = sim_of(name)
    raw = [orjson.dumps(e) for e in sim.events]
    dup = len(raw) - len(set(raw))
    assert 0 < dup < 0.03 * len(raw)
    times = [event_timestamp(e) for e in sim.events]
    assert times != sorted(times), "arrival order should not be perfectly sorted by event time"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_expected_totals_match_events(name: str) -> None:
    sim = sim_of(name)
    totals = sim.expected_totals
    keys = {(e["mail"]["messageId"], r) for e in sim.events for r in e["mail"]["destination"]}
    assert sum(totals.values()) == len(keys)
    so = send_only(sim)
    assert totals["send_only"] == len(so) == sim.expected_send_only["count"]
    # Any order and duplicates give the same totals.
    rev = list(reversed(sim.events)) + sim.events[:50]
    assert expected_state_counts(rev, sim.now)[0] == totals


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cloudwatch_is_ground_truth(name: str) -> None:
    sim = sim_of(name)
    captured = Counter(e["eventType"] for e in {orjson.dumps(e): e for e in sim.events}.values())
    for et, n in captured.items():
        assert cw_total(sim, et) >= n, et
    last_send = max(ts(e["mail"]["timestamp"]) for e in sim.events if e["eventType"] == "Send")
    if sim.now - last_send > timedelta(minutes=10):
        assert cw_total(sim, "Send") == captured["Send"], "every Send SES made was published and arrived"


def test_deterministic_with_seed() -> None:
    a = simulate("mixed", recipients=300, seed=5)
    b = simulate("mixed", recipients=300, seed=5)
    c = simulate("mixed", recipients=300, seed=6)
    assert orjson.dumps(a.events) == orjson.dumps(b.events)
    assert a.aws == b.aws and a.expected_totals == b.expected_totals
    assert orjson.dumps(a.events) != orjson.dumps(c.events)


def test_parameters_are_honoured() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    sim = simulate("healthy", recipients=200, seed=2, campaign="cmp-x", now=now, campaign_tag="cid")
    assert sim.campaign == "cmp-x" and sim.now == now and sim.campaign_tag == "cid"
    assert sim.intended_recipients == 200
    assert all(e["mail"]["tags"]["cid"] == ["cmp-x"] and "campaign" not in e["mail"]["tags"] for e in sim.events)
    assert all(sim.start <= ts(e["mail"]["timestamp"]) and event_timestamp(e) <= now for e in sim.events)
    assert sum(len(e["mail"]["destination"]) for e in {e["mail"]["messageId"]: e for e in sim.events}.values()) \
        == 200


def test_unknown_scenario() -> None:
    with pytest.raises(ValueError, match="healthy") as err:
        simulate("nope")
    assert "suppression_no_bounce_events" in str(err.value)


# ----------------------------------------------------------------------------------------------------------
# Scenario shapes
# ----------------------------------------------------------------------------------------------------------


def test_healthy() -> None:
    sim = sim_of("healthy")
    assert sim.expected_cause == "none"
    assert send_only(sim) == {}
    t = sim.expected_totals
    assert t["delivered"] > 0.9 * sum(t.values())
    sup = [e for e in sim.events if e["eventType"] == "Bounce"
           and e["bounce"]["bounceSubType"] == "OnAccountSuppressionList"]
    assert sup and all(e["bounce"]["bounceType"] == "Permanent" for e in sup)
    listed = {e for e, _, _ in sim.aws.suppressed_destinations}
    assert {e["bounce"]["bouncedRecipients"][0]["emailAddress"] for e in sup} <= listed
    # Suppression bounces come at once (the second is truncated, so allow a second).
    assert all(event_timestamp(e) - ts(e["mail"]["timestamp"]) < timedelta(seconds=1) for e in sup)
    types = Counter(e["eventType"] for e in sim.events)
    assert types["Open"] > 0.15 * types["Delivery"] and types["DeliveryDelay"] > 0


def test_suppression_no_bounce_events() -> None:
    sim = sim_of("suppression_no_bounce_events")
    assert sim.expected_cause == "suppression"
    assert not [e for e in sim.events if e["eventType"] in ("Bounce", "Complaint")]
    (cs,) = sim.aws.configuration_sets.values()
    for dest in cs["event_destinations"]:
        assert "BOUNCE" not in dest["matching_types"] and "SEND" in dest["matching_types"]
    # Recipients already suppressed when the campaign started are all Send-only.
    before = {e for e, _, t in sim.aws.suppressed_destinations if t < sim.start}
    so = send_only(sim)
    so_rcpts = {r for _, r in so}
    in_campaign = {r for e in sim.events for r in e["mail"]["destination"]} & before
    assert in_campaign and in_campaign <= so_rcpts
    assert 0.09 < len(in_campaign) / sim.intended_recipients < 0.15
    # Nearly every Send-only recipient is on the list (old entries or this campaign's hard bounces); the rest
    # are soft (Transient) bounces, which SES does not suppress.
    listed = {e for e, _, _ in sim.aws.suppressed_destinations}
    assert len(so_rcpts - listed) <= 0.01 * sim.intended_recipients
    assert len(so_rcpts & listed) > 0.95 * len(so_rcpts)
    assert all((sim.now - t).total_seconds() > 15 * 60 for t in so.values())
    assert cw_total(sim, "Bounce") + cw_total(sim, "Complaint") >= len(in_campaign)


def test_missing_events() -> None:
    sim = sim_of("missing_events")
    spec = SCENARIOS["missing_events"]
    assert sim.expected_cause == "missing_events"
    cutoff = sim.start + timedelta(minutes=spec.outcome_cutoff_minute or 0)
    outcomes = [e for e in sim.events if e["eventType"] != "Send"]
    assert outcomes and all(event_timestamp(e) < cutoff for e in outcomes)
    sends_after = [e for e in sim.events if e["eventType"] == "Send" and ts(e["mail"]["timestamp"]) >= cutoff]
    assert len(sends_after) > 0.5 * sim.intended_recipients
    # CloudWatch shows the deliveries SES made after the cut-off.
    assert cw_total(sim, "Delivery", since=cutoff) > 0.9 * len(sends_after)
    assert sim.expected_send_only["stuck_count"] > 0.5 * sim.intended_recipients
    statuses = [s["status"] for t in sim.aws.sns_topics.values() for s in t["subscriptions"]]
    assert "PendingConfirmation" in statuses


def test_provider_deferral() -> None:
    sim = sim_of("provider_deferral")
    assert sim.expected_cause == "temporary_failure"
    delays = [e for e in sim.events if e["eventType"] == "DeliveryDelay"]
    assert len(delays) > 50
    delayed_domains = {r.split("@")[1] for e in delays for r in recipients_of(e)}
    assert {sim.recipient_domains[d] for d in delayed_domains} == {"microsoft"}
    for e in delays:
        exp = ts(e["deliveryDelay"]["expirationTime"])
        assert exp - ts(e["mail"]["timestamp"]) == timedelta(hours=14)
        assert e["deliveryDelay"]["delayType"] in ("IPFailure", "RecipientServerError",
                                                    "TransientCommunicationFailure")
    assert sim.expected_totals["delayed"] > 0.05 * sim.intended_recipients
    delivered_domains = Counter(sim.recipient_domains[r.split("@")[1]] for e in sim.events
                                if e["eventType"] == "Delivery" for r in e["delivery"]["recipients"])
    assert delivered_domains["google"] > 300 and delivered_domains["yahoo"] > 100
    # Some deferred recipients were delivered later, after a delay.
    delayed_keys = {(e["mail"]["messageId"], r) for e in delays for r in recipients_of(e)}
    late = [e for e in sim.events if e["eventType"] == "Delivery"
            and (e["mail"]["messageId"], e["delivery"]["recipients"][0]) in delayed_keys]
    assert late and all(e["delivery"]["processingTimeMillis"] > 20 * 60_000 for e in late)


def test_still_in_flight() -> None:
    sim = sim_of("still_in_flight")
    assert sim.expected_cause == "still_in_flight"
    so = send_only(sim)
    assert len(so) > 0.05 * sim.intended_recipients
    young = [t for t in so.values() if sim.now - t < timedelta(minutes=15)]
    assert len(young) >= 0.9 * len(so)
    assert sim.expected_send_only["in_flight_count"] >= 0.9 * len(so)


def test_mixed() -> None:
    sim = sim_of("mixed")
    assert sim.expected_causes[:2] == ("suppression", "temporary_failure")
    assert not [e for e in sim.events if e["eventType"] == "Bounce"]
    so_rcpts = {r for _, r in send_only(sim)}
    before = {e for e, _, t in sim.aws.suppressed_destinations if t < sim.start}
    delays = [e for e in sim.events if e["eventType"] == "DeliveryDelay"]
    assert {sim.recipient_domains[r.split("@")[1]] for e in delays for r in recipients_of(e)} == {"microsoft"}
    suppressed_so = so_rcpts & before
    assert len(suppressed_so) > sim.expected_totals["delayed"] > 0.02 * sim.intended_recipients
    # Some delayed recipients are past their 4 h expiration at now, others not yet.
    pending_exp = {ts(e["deliveryDelay"]["expirationTime"]) for e in delays}
    assert min(pending_exp) < sim.now < max(pending_exp)
    assert cw_total(sim, "Bounce") > 0  # the expired Transient bounces SES made, unpublished


@pytest.mark.parametrize("name", ["account_paused", "account_sending_disabled"])
def test_account_controls(name: str) -> None:
    sim = sim_of(name)
    spec = SCENARIOS[name]
    assert sim.expected_cause == "account_controls"
    pause = sim.start + timedelta(minutes=spec.pause_minute or 0)
    sends = [e for e in sim.events if e["eventType"] == "Send"]
    assert sends and all(ts(e["mail"]["timestamp"]) < pause for e in sends)
    assert cw_total(sim, "Send", since=pause) == 0
    sent = sum(len(e["mail"]["destination"]) for e in {e["mail"]["messageId"]: e for e in sends}.values())
    assert sent < 0.8 * sim.intended_recipients
    (cs,) = sim.aws.configuration_sets.values()
    if spec.pause_scope == "account":
        assert sim.aws.account["sending_enabled"] is False and cs["sending_enabled"] is True
    else:
        assert cs["sending_enabled"] is False and sim.aws.account["sending_enabled"] is True


# ----------------------------------------------------------------------------------------------------------
# AWS state, DNS zones, files
# ----------------------------------------------------------------------------------------------------------


def test_aws_state_round_trips() -> None:
    sim = sim_of("provider_deferral")
    data = orjson.loads(orjson.dumps(sim.aws.to_json()))
    assert AwsState.from_json(data) == sim.aws
    acct = sim.aws.account
    assert acct["enforcement_status"] == "HEALTHY" and acct["quota"]["max_send_rate"] > 0
    ident = sim.aws.identity
    assert len(ident["dkim_tokens"]) == 3 and ident["mail_from_domain"].endswith(ident["domain"])
    assert all(reason in ("BOUNCE", "COMPLAINT") for _, reason, _ in sim.aws.suppressed_destinations)


def test_dns_zones() -> None:
    sim = sim_of("healthy")
    ident = sim.aws.identity
    assert all(z.endswith((".test", ".example")) for z in sim.dns_zones)
    text = sim.dns_zones[ident["domain"]]
    assert 'IN\tTXT\t"v=spf1 include:amazonses.com' in text
    assert "_dmarc\tIN\tTXT\t\"v=DMARC1; p=" in text
    for tok in ident["dkim_tokens"]:
        assert f"{tok}._domainkey\tIN\tCNAME\t{tok}.dkim.amazonses.com." in text
    zone = dns.zone.from_text(text, origin=ident["domain"] + ".", relativize=False)
    mail_from = zone.get_rdataset(ident["mail_from_domain"] + ".", dns.rdatatype.MX)
    assert mail_from and str(next(iter(mail_from)).exchange) == "feedback-smtp.us-east-1.amazonses.com."
    assert zone.get_rdataset(ident["mail_from_domain"] + ".", dns.rdatatype.TXT)
    assert set(sim.recipient_domains.values()) <= set(PROVIDERS)
    assert {"google", "microsoft", "yahoo", "apple", "proofpoint", "mimecast"} <= set(sim.recipient_domains.values())
    for domain, provider in sim.recipient_domains.items():
        z = dns.zone.from_text(sim.dns_zones[domain], origin=domain + ".", relativize=False)
        mx = [str(r.exchange) for r in z.get_rdataset(domain + ".", dns.rdatatype.MX)]
        assert mx
        if provider == "google":
            assert "gmail-smtp-in.l.google.com." in mx
        if provider == "microsoft":
            assert all(h.endswith(".protection.outlook.com.") for h in mx)
    used = {r.split("@")[1] for e in sim.events for r in e["mail"]["destination"]}
    assert used <= set(sim.recipient_domains)


def test_write_scenario(tmp_path: Path) -> None:
    sim = simulate("missing_events", recipients=200, seed=3)
    write_scenario(sim, tmp_path / "out")
    out = tmp_path / "out"
    lines = (out / "events.jsonl").read_bytes().splitlines()
    assert [orjson.loads(x) for x in lines] == sim.events
    meta = orjson.loads((out / "scenario.json").read_bytes())
    assert meta["campaign"] == sim.campaign and meta["expected_cause"] == "missing_events"
    assert ts(meta["now"]) == sim.now
    assert AwsState.from_json(orjson.loads((out / "aws_state.json").read_bytes())) == sim.aws
    assert {p.name for p in (out / "zones").iterdir()} == {f"{z}.zone" for z in sim.dns_zones}


# ----------------------------------------------------------------------------------------------------------
# Fast generator
# ----------------------------------------------------------------------------------------------------------


def test_iter_events_fast_shape() -> None:
    lines = list(iter_events_fast(20_000, campaigns=5, seed=3))
    assert len(lines) == 20_000
    assert all(isinstance(x, bytes) and b"\n" not in x for x in lines)
    recs = [orjson.loads(x) for x in lines]
    types = Counter(r["eventType"] for r in recs)
    sends = types["Send"]
    recipients = sum(len(r["mail"]["destination"]) for r in recs if r["eventType"] == "Send")
    assert 0.70 < types["Delivery"] / recipients < 0.80
    assert 0.02 < types["Bounce"] / recipients < 0.04
    assert 0.02 < types["DeliveryDelay"] / recipients < 0.04
    assert 0.15 < types["Open"] / recipients < 0.25
    assert types["Click"] > 0
    assert 1.01 < recipients / sends < 1.1, "some multi-recipient messages"
    campaigns = {r["mail"]["tags"]["campaign"][0] for r in recs}
    assert len(campaigns) == 5
    for r in recs[:2000]:
        assert MESSAGE_ID.match(r["mail"]["messageId"]) and ISO_MS.match(r["mail"]["timestamp"])
        assert r["mail"]["tags"]["ses:configuration-set"]
        assert r[BODY[r["eventType"]]] is not None
        if r["eventType"] in ("Delivery", "Bounce", "DeliveryDelay") and \
                r.get("bounce", {}).get("bounceSubType") != "OnAccountSuppressionList":
            assert r["mail"]["tags"]["ses:outgoing-ip"]
    assert not [x for x in lines if re.search(rb"\{[A-Za-z]+\}|@@|##", x)], "unfilled template placeholder"
    dup = len(lines) - len(set(lines))
    assert 0.004 * len(lines) < dup < 0.02 * len(lines)
    avg = sum(map(len, lines)) / len(lines)
    assert 1000 < avg < 2100
    # Shuffled: some Delivery arrives before its Send.
    first_seen: dict[str, str] = {}
    for r in recs:
        first_seen.setdefault(r["mail"]["messageId"], r["eventType"])
    assert sum(1 for t in first_seen.values() if t != "Send") > 100


def test_iter_events_fast_deterministic_and_exact() -> None:
    assert list(iter_events_fast(3000, seed=4)) == list(iter_events_fast(3000, seed=4))
    assert list(iter_events_fast(3000, seed=4)) != list(iter_events_fast(3000, seed=5))
    for n in (0, 1, 7, 4095, 4097):
        assert sum(1 for _ in iter_events_fast(n)) == n


def test_write_ndjson_gzip(tmp_path: Path) -> None:
    path = tmp_path / "bench.jsonl.gz"
    assert write_ndjson(path, 5000, seed=2) == 5000
    with gzip.open(path, "rb") as fh:
        lines = fh.read().splitlines()
    assert len(lines) == 5000 and lines == list(iter_events_fast(5000, seed=2))
    plain = tmp_path / "bench.jsonl"
    write_ndjson(plain, 100)
    assert plain.read_bytes()[:1] == b"{"


# ----------------------------------------------------------------------------------------------------------
# `sesbot simulate`
# ----------------------------------------------------------------------------------------------------------


def sesbot(args: list[str], cwd: Path, redis_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_URL", "SESBOT_"))}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_simulate_command_writes_a_folder_sesbot_ingest_loads(tmp_path: Path, redis_url: str) -> None:
    result = sesbot(["simulate", "provider_deferral", "--out", "sim", "--recipients", "400", "--seed", "3"],
                    tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "sim"
    sim = simulate("provider_deferral", recipients=400, seed=3)
    assert [orjson.loads(x) for x in (out / "events.jsonl").read_bytes().splitlines()] == sim.events
    assert AwsState.from_json(orjson.loads((out / "aws_state.json").read_bytes())) == sim.aws
    assert {p.name for p in (out / "zones").iterdir()} == {f"{z}.zone" for z in sim.dns_zones}
    assert f"campaign {sim.campaign}" in result.stdout and "expected cause: temporary_failure" in result.stdout
    for path in ("sim/events.jsonl", "sim/aws_state.json", "sim/zones", "sim/scenario.json"):
        assert path in result.stdout
    ingest_line = next(line.strip() for line in result.stdout.splitlines()
                       if line.strip().startswith("sesbot ingest "))
    assert ingest_line == "sesbot ingest sim/events.jsonl"
    assert f"sesbot why {sim.campaign} --now {sim.now:%Y-%m-%dT%H:%M:%SZ}" in result.stdout

    loaded = sesbot([*ingest_line.split()[1:], "--json"], tmp_path, redis_url)
    assert loaded.returncode == 0, loaded.stderr
    assert orjson.loads(loaded.stdout)["rejected"] == 0
    campaigns = sesbot(["campaigns", "--json", "--now", f"{sim.now:%Y-%m-%dT%H:%M:%SZ}"], tmp_path, redis_url)
    row = next(r for r in orjson.loads(campaigns.stdout)["campaigns"] if r["campaign"] == sim.campaign)
    assert row["recipients"] == sum(sim.expected_totals.values())


def test_simulate_command_gzip_and_list(tmp_path: Path) -> None:
    result = sesbot(["simulate", "healthy", "--out", "h", "--recipients", "50", "--gzip"], tmp_path)
    assert result.returncode == 0, result.stderr
    with gzip.open(tmp_path / "h" / "events.jsonl.gz", "rb") as fh:
        assert [orjson.loads(x) for x in fh.read().splitlines()] == simulate("healthy", recipients=50).events
    assert not (tmp_path / "h" / "events.jsonl").exists()
    listed = sesbot(["simulate", "--list"], tmp_path)
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == list(SCENARIOS)


@pytest.mark.parametrize("args", [["simulate", "nope"], ["simulate"]])
def test_simulate_command_bad_scenario_names_the_valid_ones(tmp_path: Path, args: list[str]) -> None:
    result = sesbot(args, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and all(name in lines[0] for name in SCENARIOS), lines
    assert list(tmp_path.iterdir()) == []


def test_iter_campaign_fast_has_exactly_the_send_only_asked_for() -> None:
    lines = list(iter_campaign_fast(6000, 1200, seed=3))
    assert lines == list(iter_campaign_fast(6000, 1200, seed=3))
    recs = [orjson.loads(x) for x in lines]
    totals, so = expected_state_counts(recs, DEFAULT_START + timedelta(hours=3))
    assert sum(totals.values()) == 6000
    assert totals["send_only"] == so["count"] == so["stuck_count"] == 1200
    assert 0.01 < totals["delayed"] / 6000 < 0.05 and totals["suppressed"] > 0 and totals["bounced"] > 0
    assert {r["mail"]["tags"]["campaign"][0] for r in recs} == {fast_campaign_name(3)}
    first_seen: dict[str, str] = {}
    for r in recs:
        first_seen.setdefault(r["mail"]["messageId"], r["eventType"])
    assert any(t != "Send" for t in first_seen.values()), "out of order, as SNS delivers"
    assert len(lines) > len(set(lines)), "some duplicates"
    with pytest.raises(ValueError):
        next(iter_campaign_fast(10, 11))
