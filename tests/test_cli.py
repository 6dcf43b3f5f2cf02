"""The sesbot command line as a user runs it: `python -m bot ...` in a subprocess, against the real redis-server
fixture (REDIS_URL) and, for s3://, moto's S3 over HTTP (LocalAws)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests import factory as f
from tests.cli_result import Result
from tests.http_server import serve_wsgi
from tests.redis_server import free_port

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_KEYS = {"read", "ingested", "duplicates", "ignored", "rejected", "reasons"}
M1, M2, M3 = f.message_id(101), f.message_id(102), f.message_id(103)



Sesbot = Callable[..., Result]


def run_sesbot(redis_url: str, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SESBOT_") and k != "REDIS_URL"}
    environment["REDIS_URL"] = redis_url
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=environment, input=stdin,
                          capture_output=True, timeout=120)
    return Result.of(done)


@pytest.fixture
def sesbot(redis_url: str) -> Sesbot:
    def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
        return run_sesbot(redis_url, *args, stdin=stdin, env=env)

    return run


@pytest.fixture
def closed_redis_url() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def sends(first: int, count: int, campaign: str = "backfill") -> list[dict[str, Any]]:
    return [f.send(f.message_id(n), [f"r{n}@bulk.test"], campaign=campaign) for n in range(first, first + count)]


def ok_json(result: Result) -> Any:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result.json()


def write_inputs(folder: Path) -> None:
    """One message (M1, two recipients) spread over every input format `ingest` reads."""
    folder.mkdir()
    people = ["a@x.test", "b@y.test"]
    (folder / "send.json").write_text(json.dumps(f.send(M1, people), indent=2))  # one pretty-printed document
    (folder / "delivery.jsonl").write_bytes(ndjson([f.delivery(M1, people[:1])]))
    (folder / "open.ndjson").write_bytes(ndjson([f.simple("Open", M1, people[:1])]))
    (folder / "bounce.json.gz").write_bytes(gzip.compress(ndjson([f.sns_envelope(f.bounce(M1, people[1:]))])))
    concatenated = json.dumps(f.delay(M1, people[1:])) + json.dumps(f.simple("Click", M1, people[:1]), indent=1)
    (folder / "concatenated.json").write_text(concatenated)  # JSON objects back to back, no separator
    (folder / "notes.md").write_text("# not an input: skipped by suffix\n")


# --------------------------------------------------------------------------- no connection needed


def test_help_and_version_exit_0_without_touching_redis(closed_redis_url: str) -> None:
    for args in (["--help"], ["ingest", "--help"], ["campaigns", "--help"], ["message", "--help"],
                 ["recipient", "--help"], ["worker", "--help"]):
        result = run_sesbot(closed_redis_url, *args)
        assert result.code == 0, result.err
        assert "usage: sesbot" in result.out and result.err == ""
    result = run_sesbot(closed_redis_url, "--version")
    assert (result.code, result.out.strip()) == (0, f"sesbot {version('sesbot')}")


# --------------------------------------------------------------------------- ingest


def test_ingest_reads_every_format_of_a_folder_and_prints_the_json_summary(sesbot: Sesbot, tmp_path: Path) -> None:
    write_inputs(tmp_path / "in")
    summary = ok_json(sesbot("ingest", str(tmp_path / "in"), "--json"))
    assert set(summary) >= SUMMARY_KEYS
    assert {k: summary[k] for k in SUMMARY_KEYS} == {"read": 6, "ingested": 7, "duplicates": 0, "ignored": 0,
                                                      "rejected": 0, "reasons": []}
    message = ok_json(sesbot("message", M1, "--json"))
    assert {r["recipient"]: r["state"] for r in message["recipients"]} == {"a@x.test": "delivered",
                                                                           "b@y.test": "bounced"}
    assert {r["recipient"]: sorted(e["type"] for e in r["events"]) for r in message["recipients"]} == {
        "a@x.test": ["Click", "Delivery", "Open", "Send"], "b@y.test": ["Bounce", "DeliveryDelay", "Send"]}


def test_ingest_takes_single_files_and_stdin(sesbot: Sesbot, tmp_path: Path) -> None:
    write_inputs(tmp_path / "in")
    first = ok_json(sesbot("ingest", str(tmp_path / "in" / "send.json"), str(tmp_path / "in" / "bounce.json.gz"),
                           "--json"))
    assert (first["read"], first["ingested"], first["rejected"]) == (2, 3, 0)
    piped = ok_json(sesbot("ingest", "-", "--json", stdin=(tmp_path / "in" / "delivery.jsonl").read_bytes()))
    assert (piped["read"], piped["ingested"], piped["rejected"]) == (1, 1, 0)
    message = ok_json(sesbot("message", M1, "--json"))
    assert {r["recipient"]: r["state"] for r in message["recipients"]} == {"a@x.test": "delivered",
                                                                           "b@y.test": "bounced"}


def test_truncated_gzip_and_malformed_lines_are_rejected_with_reasons_and_the_rest_ingested(
    sesbot: Sesbot, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = sends(1000, 3)
    lines = [json.dumps(good[0]), '{"eventType": "Send", "mail": {', json.dumps(good[1]),
             json.dumps({"eventType": "Send", "mail": {"messageId": "x", "timestamp": 5, "destination": ["a@b.c"]}}),
             "[1, 2", json.dumps(good[2])]
    (folder / "mixed.jsonl").write_text("\n".join(lines) + "\n")
    records = sends(2000, 400)
    packed = gzip.compress(ndjson(records))
    truncated = packed[: len(packed) // 2]
    (folder / "truncated.jsonl.gz").write_bytes(truncated)
    readable = zlib.decompressobj(wbits=31).decompress(truncated)  # what a reader can get before the damage
    complete = readable.count(b"\n")

    summary = ok_json(sesbot("ingest", str(folder), "--json"))
    assert summary["rejected"] == 4
    reasons = summary["reasons"]
    assert any(r.startswith(f"{folder / 'mixed.jsonl'}:2: not JSON") for r in reasons), reasons
    assert any(r.startswith(f"{folder / 'mixed.jsonl'}:4: timestamp 5") for r in reasons), reasons
    assert any(r.startswith(f"{folder / 'mixed.jsonl'}:5: not JSON") for r in reasons), reasons
    assert any("truncated.jsonl.gz after record" in r and "truncated or corrupt gzip" in r for r in reasons)
    assert 0 < summary["ingested"] - 3 <= complete < len(records)
    for record in good:
        assert sesbot("message", record["mail"]["messageId"], "--json").code == 0
    ingested = summary["ingested"] - 3
    assert sesbot("message", records[ingested - 1]["mail"]["messageId"]).code == 0
    assert sesbot("message", records[ingested]["mail"]["messageId"]).code == 1
    counters = ok_json(sesbot("campaigns", "--json"))["counters"]
    assert (counters["files:rejected"], counters["files:ingested"]) == (4, summary["ingested"])


def test_re_ingesting_the_same_files_counts_duplicates_and_changes_nothing(sesbot: Sesbot, tmp_path: Path) -> None:
    write_inputs(tmp_path / "in")
    first = ok_json(sesbot("ingest", str(tmp_path / "in"), "--json"))
    before = (ok_json(sesbot("message", M1, "--json")), ok_json(sesbot("campaigns", "--json", "--now", f.ts(f.T0))))
    second = ok_json(sesbot("ingest", str(tmp_path / "in"), "--json"))
    assert (second["read"], second["ingested"], second["duplicates"]) == (first["read"], 0, first["ingested"])
    after = (ok_json(sesbot("message", M1, "--json")), ok_json(sesbot("campaigns", "--json", "--now", f.ts(f.T0))))
    assert after[0] == before[0]
    assert after[1]["campaigns"] == before[1]["campaigns"]


def test_ingest_s3_prefix_of_firehose_output(local_aws: Any, sesbot: Sesbot) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="ses-firehose")
    batches = [sends(3000, 50), sends(3050, 50)]
    for n, batch in enumerate(batches):
        key = f"ses/2026/12/01/10/ses-stream-1-2026-12-01-10-0{n}-00-5c1c5b7e-0000-4000-8000-00000000000{n}.gz"
        s3.put_object(Bucket="ses-firehose", Key=key, Body=gzip.compress(ndjson(batch)))
    damaged = gzip.compress(ndjson(sends(4000, 9)))[:40]
    s3.put_object(Bucket="ses-firehose", Key="ses/2026/12/01/11/bad.gz", Body=damaged)
    s3.put_object(Bucket="ses-firehose", Key="other/outside-the-prefix.json", Body=json.dumps(sends(5000, 1)[0]))

    summary = ok_json(sesbot("ingest", "s3://ses-firehose/ses/", "s3://no-such-bucket/ses/", "--json"))
    assert (summary["read"], summary["ingested"], summary["rejected"]) == (100, 100, 2)
    assert any(r.startswith("s3://ses-firehose/ses/2026/12/01/11/bad.gz") and "gzip" in r for r in summary["reasons"])
    assert "s3://no-such-bucket/ses/: cannot list (NoSuchBucket" in " ".join(summary["reasons"])
    campaigns = ok_json(sesbot("campaigns", "--json"))["campaigns"]
    assert [(c["campaign"], c["recipients"]) for c in campaigns] == [("backfill", 100)]
    assert "Traceback" not in sesbot("ingest", "s3://ses-firehose/ses/").err


# --------------------------------------------------------------------------- reports


@pytest.fixture
def reported(sesbot: Sesbot, tmp_path: Path) -> Sesbot:
    """M1 (10:00) to a@ and b@: a delivered, b bounced; M2 (11:00) to a@: delayed; M3 (12:00) to a@: an identity
    notification only, waiting for its Send."""
    later, latest = f.T0.replace(hour=11), f.T0.replace(hour=12)
    records = [f.send(M1, ["a@x.test", "b@y.test"]), f.delivery(M1, ["a@x.test"]), f.bounce(M1, ["b@y.test"]),
               f.send(M2, ["a@x.test"], later, campaign="autumn-7", config_set="transactional"),
               f.delay(M2, ["a@x.test"], later, campaign="autumn-7", config_set="transactional"),
               f.identity_notification(f.delivery(M3, ["a@x.test"], latest))]
    (tmp_path / "events.jsonl").write_bytes(ndjson(records))
    assert ok_json(sesbot("ingest", str(tmp_path / "events.jsonl"), "--json"))["rejected"] == 0
    return sesbot


def test_recipient_json_lists_messages_newest_first(reported: Sesbot) -> None:
    report = ok_json(reported("recipient", "A@X.test", "--json"))
    assert set(report) == {"recipient", "messages"} and report["recipient"] == "a@x.test"
    summary = [(m["message_id"], m["campaign"], m["configuration_set"], m["send_time"], m["state"])
               for m in report["messages"]]
    assert summary == [(M3, None, None, "2026-12-01T12:00:00.000Z", "unknown"),
                       (M2, "autumn-7", "transactional", "2026-12-01T11:00:00.000Z", "delayed"),
                       (M1, "spring-042", "marketing", "2026-12-01T10:00:00.000Z", "delivered")]
    for m in report["messages"]:
        assert {"message_id", "campaign", "configuration_set", "send_time", "state", "events"} <= set(m)
        assert all({"type", "time"} <= set(e) for e in m["events"])
    delayed = report["messages"][1]["events"]
    assert [e["type"] for e in delayed] == ["Send", "DeliveryDelay"]
    assert delayed[1]["expires"] == "2026-12-02T01:00:00.000Z"
    assert "TransientCommunicationFailure" in delayed[1]["detail"]
    text = reported("recipient", "a@x.test")
    assert text.code == 0 and M2 in text.out and "autumn-7" in text.out


def test_message_json_has_the_message_and_each_recipient(reported: Sesbot) -> None:
    report = ok_json(reported("message", M1, "--json", "--now", "2026-12-01T10:30:00Z"))
    assert set(report) >= {"message_id", "campaign", "configuration_set", "send_time", "recipients"}
    assert (report["message_id"], report["campaign"], report["configuration_set"], report["send_time"]) == (
        M1, "spring-042", "marketing", "2026-12-01T10:00:00.000Z")
    assert [(r["recipient"], r["state"], [e["type"] for e in r["events"]]) for r in report["recipients"]] == [
        ("a@x.test", "delivered", ["Send", "Delivery"]), ("b@y.test", "bounced", ["Send", "Bounce"])]
    assert all(set(r) == {"recipient", "state", "events"} for r in report["recipients"])
    waiting = ok_json(reported("message", M3, "--json"))
    assert (waiting["campaign"], [r["state"] for r in waiting["recipients"]]) == (None, ["unknown"])
    text = reported("message", M1)
    assert text.code == 0 and "spring-042" in text.out and "b@y.test: bounced" in text.out


def test_campaigns_now_sets_the_clock_for_ages(reported: Sesbot) -> None:
    early = ok_json(reported("campaigns", "--json", "--now", "2026-12-01T11:05:00Z"))
    late = ok_json(reported("campaigns", "--json", "--now", "2026-12-01T13:00:00+00:00"))
    assert early["now"] == "2026-12-01T11:05:00.000Z" and late["now"] == "2026-12-01T13:00:00.000Z"
    names = [c["campaign"] for c in early["campaigns"]]
    assert names == ["autumn-7", "spring-042"], "most recent send first"
    spring = {c["campaign"]: c for c in late["campaigns"]}["spring-042"]
    assert spring["recipients"] == 2 and spring["totals"]["delivered"] == 1 and spring["totals"]["bounced"] == 1
    assert spring["send_only"]["count"] == 0
    text = reported("campaigns", "--now", "2026-12-01T13:00:00Z")
    assert text.code == 0 and "spring-042" in text.out and "autumn-7" in text.out


def test_send_only_age_follows_now(sesbot: Sesbot, tmp_path: Path) -> None:
    (tmp_path / "send.json").write_text(json.dumps(f.send(M1, ["a@x.test", "b@x.test", "c@x.test"])))
    (tmp_path / "delivery.json").write_text(json.dumps(f.delivery(M1, ["a@x.test"])))
    ok_json(sesbot("ingest", str(tmp_path), "--json"))
    fresh = ok_json(sesbot("campaigns", "--json", "--now", "2026-12-01T10:05:00Z"))["campaigns"][0]["send_only"]
    stuck = ok_json(sesbot("campaigns", "--json", "--now", "2026-12-01T11:00:00Z"))["campaigns"][0]["send_only"]
    assert (fresh["count"], fresh["stuck_count"], fresh["oldest_age_s"]) == (2, 0, 300)
    assert (stuck["count"], stuck["stuck_count"], stuck["oldest_age_s"]) == (2, 2, 3600)


@pytest.mark.parametrize(("args", "code", "needle"), [
    (("message", "0100019000000000-deadbeef-0000-0000-0000-000000000000-000000"), 1, "no message"),
    (("message", "nope", "--json"), 1, "no message"),
    (("recipient", "nobody@nowhere.test"), 1, "no messages to nobody@nowhere.test"),
    (("recipient", "nobody@nowhere.test", "--json"), 1, "no messages to"),
    (("recipient", "not-an-address"), 2, "is not an email address"),
    (("campaigns", "--now", "yesterday"), 2, "--now 'yesterday' is not an ISO-8601 time"),
    (("message", M1, "--now", "soon"), 2, "is not an ISO-8601 time"),
    (("recipient", "a@x.test", "--now", "soon"), 2, "is not an ISO-8601 time"),
])
def test_unknown_or_bad_arguments_give_one_line_on_stderr(reported: Sesbot, args: tuple[str, ...], code: int,
                                                          needle: str) -> None:
    result = reported(*args)
    assert (result.code, result.out) == (code, "")
    assert len(result.err_lines) == 1 and result.err_lines[0].startswith("sesbot: ") and needle in result.err


# --------------------------------------------------------------------------- configuration and Redis down


@pytest.mark.parametrize(("env", "needle"), [
    ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL must start with redis://"),
    ({"REDIS_URL": "redis://127.0.0.1:port/0"}, "REDIS_URL: the port is not a number"),
    ({"REDIS_URL": "redis://127.0.0.1:6379/zero"}, "REDIS_URL: the database 'zero' is not a number"),
    ({"SESBOT_RETENTION_DAYS": "two weeks"}, "SESBOT_RETENTION_DAYS='two weeks' is not a whole number"),
    ({"SESBOT_DELIVERY_WINDOW_S": "5"}, "SESBOT_DELIVERY_WINDOW_S=5 is outside"),
    ({"SESBOT_SNS_TOPIC_ARNS": "my-topic"}, "SESBOT_SNS_TOPIC_ARNS: 'my-topic' is not an SNS topic ARN"),
])
@pytest.mark.parametrize("command", [("campaigns",), ("ingest", "-"), ("recipient", "a@x.test")])
def test_bad_configuration_is_one_line_and_exit_2(redis_url: str, env: dict[str, str], needle: str,
                                                  command: tuple[str, ...]) -> None:
    result = run_sesbot(redis_url, *command, env=env, stdin=b"")
    assert result.code == 2 and result.out == ""
    assert len(result.err_lines) == 1 and result.err_lines[0].startswith("sesbot: configuration: ")
    assert needle in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("command", [("campaigns", "--json"), ("ingest", "-", "--json"), ("message", M1),
                                     ("recipient", "a@x.test", "--json")])
def test_redis_down_is_one_line_and_exit_3(closed_redis_url: str, command: tuple[str, ...]) -> None:
    secret = closed_redis_url.replace("redis://", "redis://:hunter2@")
    result = run_sesbot(secret, *command, stdin=ndjson([f.send(M1, ["a@x.test"])]))
    assert (result.code, result.out) == (3, "")
    assert len(result.err_lines) == 1 and "is unreachable" in result.err
    assert "hunter2" not in result.err and "Traceback" not in result.err


def test_a_server_that_is_not_redis_is_one_line_and_exit_3() -> None:
    def not_redis(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b"this is HTTP\n"]

    with serve_wsgi(not_redis) as url:
        result = run_sesbot(url.replace("http://", "redis://") + "/0", "campaigns")
    assert result.code == 3 and len(result.err_lines) == 1 and "unreachable" in result.err
    assert "Traceback" not in result.err
