"""DESIGN §5 from the outside: the installed `sesbot` console script in a subprocess, as an outside checker runs it.

Real components only: a redis-server of this module (REDIS_URL), the local AWS endpoint (AWS_ENDPOINT_URL) with a
simulated campaign's account state, the NSD fixture serving its zones (SESBOT_DNS_NAMESERVERS), the Slack Web API
stub (SLACK_API_URL), and the public samples in ../shared/samples/ses-events (skipped with a reason when absent).
Each promise of §5 is asserted to the letter: command names, --json keys and types, --now, --charts-dir, exit codes
and one-line errors, the HTTP endpoints of `serve`, and that each environment variable named there is the one read
(by its effect, not by reading bot/settings.py).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.aws_emulator import LocalAws
from bot.simulate import SimulatedCampaign, simulate, write_scenario
from bot.simulate_aws import load_aws_state, zones_with_tokens
from tests import factory as f
from tests.cli_result import Result
from tests.dns_server import NsdServer, closed_port
from tests.redis_server import RedisServer, free_port
from tests.slack_api import SlackApi, serve_slack_api
from tests.slack_signing import post_signed, slash_command_body
from tests.sns_signer import SnsSigner, notification

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "ses-events"
NO_SAMPLES = f"sample folder {SAMPLES} is absent (the public SES/SNS samples live beside the repository)"

COMMANDS = ("ingest", "campaigns", "why", "recipient", "message", "check", "serve", "worker", "demo")
STATES = {"send_only", "delayed", "delivered", "bounced", "suppressed", "complained", "rejected", "rendering_failed",
          "unknown"}
STEPS = ("suppression", "routing", "domains", "temporary_failures", "account", "authentication", "reputation")
STATUSES = {"ok", "finding", "skipped", "error"}
CAUSES = {"suppression", "missing_events", "temporary_failure", "account_controls", "still_in_flight", "unknown",
          "none"}
ALERT_KINDS = {"send_only_rate", "send_only_age", "domain_spike", "ingestion_gap"}
INGEST_KEYS = ("read", "ingested", "duplicates", "ignored", "rejected")
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "SYSTEMROOT")
SLACK_SECRET = "contract-signing-secret"
SIGNED_SES_SAMPLE = "django-ses__sns-http-Notification-eventpub-Complaint-signed__1.json"  # real AWS signature
SIGNED_OTHER_TOPIC = "aws-php-sns-message-validator__sns-http-Notification-sigv1-no-subject-2022__1.json"
OWN_TOPIC = "arn:aws:sns:us-east-1:123456789012:contract-ses-events"
SNS_HEADERS = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "Notification"}


def sesbot_command() -> list[str]:
    """The console script installed beside this interpreter (what a user types), else `python -m bot`."""
    script = Path(sys.executable).parent / "sesbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]



def ok(result: Result) -> Result:
    assert result.code == 0, f"exit {result.code}\nstdout: {result.out[-2000:]}\nstderr: {result.err[-3000:]}"
    assert "Traceback" not in result.err, result.err
    return result


def one_line_error(result: Result, code: int, *needles: str) -> str:
    assert result.code == code, f"exit {result.code} (wanted {code})\nstdout: {result.out}\nstderr: {result.err}"
    assert "Traceback" not in result.err + result.out, result.err
    assert len(result.err_lines) == 1, f"wanted exactly one line on stderr, got:\n{result.err}"
    for needle in needles:
        assert needle in result.err_lines[0], result.err
    return result.err_lines[0]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class World:
    """The real components this module runs `sesbot` against, and the campaigns put into them."""

    tmp: Path
    redis: RedisServer
    aws: LocalAws
    dns: NsdServer
    primary: SimulatedCampaign  # suppression_no_bounce_events, with its AWS state and DNS zones loaded
    others: dict[str, SimulatedCampaign]
    event_files: dict[str, Path]
    ingest_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def env(self, **overrides: str | None) -> dict[str, str]:
        """A clean environment with only what §5 names (plus the AWS SDK's own variables); None removes one."""
        env = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
        env.update({
            "REDIS_URL": self.redis.url,
            "AWS_ENDPOINT_URL": self.aws.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.primary.aws.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "SESBOT_DNS_NAMESERVERS": self.dns.nameserver,
        })
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
        done = subprocess.run([*sesbot_command(), *args], cwd=self.tmp, env=env or self.env(), capture_output=True,
                              timeout=timeout, check=False)
        return Result.of(done)

    def json(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return ok(self.run(*args, "--json", env=env)).json()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, dns_server: NsdServer) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("contract")
    (tmp / "redis").mkdir()
    server = RedisServer(tmp / "redis")
    server.start()
    aws = LocalAws()
    aws.start()
    try:
        primary = simulate("suppression_no_bounce_events", recipients=400, seed=21)
        loaded = load_aws_state(primary.aws, aws)
        dns_server.add_zones(zones_with_tokens(primary.dns_zones, loaded.dkim_tokens))
        others = {name: simulate(name, recipients=n, seed=22)
                  for name, n in (("healthy", 150), ("provider_deferral", 1200), ("missing_events", 300))}
        files = {}
        for sim in (primary, *others.values()):
            files[sim.scenario] = write_scenario(sim, tmp / "scenarios" / sim.scenario,
                                                 gzip_events=sim.scenario == "healthy")["events"]
        w = World(tmp, server, aws, dns_server, primary, others, files)
        for name, path in files.items():
            w.ingest_summaries[name] = w.json("ingest", str(path))
        yield w
    finally:
        aws.stop()
        server.stop()


def sim_now(sim: SimulatedCampaign) -> str:
    return iso(sim.now)


# --------------------------------------------------------------------------- every command, --help, --version


@pytest.fixture(scope="module")
def helps(world: World) -> dict[str, Result]:
    """`sesbot --help`, `--version` and `sesbot COMMAND --help` with Redis pointing nowhere (run side by side)."""
    env = world.env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    runs = {"--help": ("--help",), "--version": ("--version",), **{name: (name, "--help") for name in COMMANDS}}
    with ThreadPoolExecutor(4) as pool:
        futures = {key: pool.submit(world.run, *args, env=env) for key, args in runs.items()}
        futures["bad-env"] = pool.submit(world.run, "--help", env=world.env(REDIS_URL="http://x", PORT="abc"))
        return {key: future.result() for key, future in futures.items()}


def test_help_and_version_exit_0_at_once_with_redis_pointing_nowhere(helps: dict[str, Result]) -> None:
    top = ok(helps["--help"])
    assert top.out.startswith("usage: sesbot") and top.err == ""
    assert ok(helps["bad-env"]).out == top.out  # no configuration is read for --help
    for name in COMMANDS:
        assert name in top.out, f"`sesbot --help` does not list {name}"
        assert ok(helps[name]).out.startswith(f"usage: sesbot {name}"), helps[name].out
    version = ok(helps["--version"])
    assert version.out.startswith("sesbot ") and len(version.out.split()) == 2 and version.err == ""


@pytest.mark.parametrize("name", ["campaigns", "why", "recipient", "message", "check"])
def test_reports_take_json_and_now(helps: dict[str, Result], name: str) -> None:
    usage = helps[name].out
    assert "--json" in usage and "--now ISO-8601" in usage, usage


def test_why_takes_charts_dir_and_ingest_takes_paths(helps: dict[str, Result]) -> None:
    assert "--charts-dir DIR" in helps["why"].out
    assert "PATH" in helps["ingest"].out


# --------------------------------------------------------------------------- ingest


def test_ingest_json_summary_has_the_counts_and_reasons(world: World) -> None:
    for name, summary in world.ingest_summaries.items():
        assert set(INGEST_KEYS) | {"reasons"} <= set(summary), summary
        for key in INGEST_KEYS:
            assert type(summary[key]) is int and summary[key] >= 0, (key, summary)
        assert isinstance(summary["reasons"], list), summary
        sim = world.primary if name == world.primary.scenario else world.others[name]
        assert summary["read"] == len(sim.events), (name, summary)
        assert summary["rejected"] == 0 and summary["reasons"] == [], summary


def test_ingest_reads_json_jsonl_ndjson_gz_and_folders_and_counts_duplicates_and_rejections(world: World) -> None:
    folder = world.tmp / "formats"
    (folder / "nested").mkdir(parents=True)
    mid = f.message_id(501)
    people = ["a@formats.test", "b@formats.test"]
    (folder / "send.json").write_text(json.dumps(f.send(mid, people, campaign="formats"), indent=2))
    (folder / "delivery.jsonl").write_text(json.dumps(f.delivery(mid, people[:1], campaign="formats")) + "\n")
    (folder / "nested" / "bounce.ndjson").write_text(
        json.dumps(f.sns_envelope(f.bounce(mid, people[1:], campaign="formats"))) + "\n")
    (folder / "open.json.gz").write_bytes(gzip.compress(
        (json.dumps(f.simple("Open", mid, people[:1], campaign="formats")) + "\n{not json\n").encode()))
    env = world.env(SESBOT_KEY_PREFIX="contract-formats")
    first = world.json("ingest", str(folder), env=env)
    assert (first["read"], first["ingested"], first["rejected"]) == (5, 5, 1), first  # 4 records + 1 bad line
    assert len(first["reasons"]) == 1 and isinstance(first["reasons"][0], str) and first["reasons"][0], first
    again = world.json("ingest", str(folder / "send.json"), str(folder / "nested"), env=env)
    # counts of events, per recipient: the Send names two recipients, the bounce one
    assert (again["read"], again["ingested"], again["duplicates"]) == (2, 0, 3), again
    report = world.json("message", mid, env=env)
    assert {r["recipient"]: r["state"] for r in report["recipients"]} == {people[0]: "delivered",
                                                                          people[1]: "bounced"}


def test_a_malformed_first_line_does_not_lose_the_rest_of_the_file(world: World) -> None:
    """A record that does not parse is rejected with its reason and never stops the rest (issue 2), wherever it is:
    also as the first line of an NDJSON file, or between documents written back to back."""
    good = [f.send(f.message_id(520 + n), [f"g{n}@firstline.test"], campaign="firstline") for n in range(6)]
    folder = world.tmp / "first-line"
    folder.mkdir()
    (folder / "torn.jsonl").write_text('{"eventType": "Send", "mail": {"timesta\n'
                                       + "".join(json.dumps(r) + "\n" for r in good[:3]))
    (folder / "torn.json").write_text("{not json at all\n"
                                      + "\n".join(json.dumps(r, indent=2) for r in good[3:]) + "\n")
    summary = world.json("ingest", str(folder), env=world.env(SESBOT_KEY_PREFIX="contract-first-line"))
    assert (summary["ingested"], summary["rejected"]) == (6, 2), summary
    assert all(":1: " in reason for reason in summary["reasons"]), summary


# --------------------------------------------------------------------------- campaigns


def test_campaigns_lists_every_ingested_campaign(world: World) -> None:
    report = world.json("campaigns", "--now", sim_now(world.primary))
    names = {row["campaign"] for row in report["campaigns"]}
    assert {world.primary.campaign, *(s.campaign for s in world.others.values())} <= names
    text = ok(world.run("campaigns", "--now", sim_now(world.primary))).out
    assert world.primary.campaign in text


# --------------------------------------------------------------------------- why


@pytest.fixture(scope="module")
def why_report(world: World) -> dict[str, Any]:
    return world.json("why", world.primary.campaign, "--now", sim_now(world.primary))


def test_why_json_has_every_key_of_the_contract(world: World, why_report: dict[str, Any]) -> None:
    r, sim = why_report, world.primary
    assert {"campaign", "now", "totals", "send_only", "steps", "causes", "timings"} <= set(r), sorted(r)
    assert r["campaign"] == sim.campaign
    assert r["now"] == sim_now(sim)
    assert set(r["totals"]) == STATES, f"totals must give all nine states: {sorted(r['totals'])}"
    assert all(type(n) is int for n in r["totals"].values())
    assert {k: v for k, v in r["totals"].items() if v} == {k: v for k, v in sim.expected_totals.items() if v}

    so = r["send_only"]
    assert {"count", "rate", "stuck_count", "oldest_age_s"} <= set(so), so
    assert so["count"] == r["totals"]["send_only"] == sim.expected_send_only["count"]
    assert so["stuck_count"] == sim.expected_send_only["stuck_count"]
    assert so["rate"] == pytest.approx(so["count"] / sum(r["totals"].values()), abs=1e-3)
    # ages come from per-minute counters (DESIGN §6): exact to the send minute
    assert so["oldest_age_s"] == pytest.approx(sim.expected_send_only["oldest_age_s"], abs=60.0)

    assert set(r["steps"]) == set(STEPS), sorted(r["steps"])
    for name, step in r["steps"].items():
        assert step["status"] in STATUSES, (name, step)
        assert isinstance(step["summary"], str) and step["summary"].strip(), (name, step)

    causes = r["causes"]
    assert causes, "the verdict is a non-empty ranked list"
    for cause in causes:
        assert set(cause) >= {"cause", "score", "summary", "evidence"}, cause
        assert cause["cause"] in CAUSES, cause
        assert isinstance(cause["score"], int | float) and 0 <= cause["score"] <= 1, cause
        assert isinstance(cause["summary"], str) and cause["summary"].strip(), cause
        assert isinstance(cause["evidence"], dict), cause
    scores = [c["score"] for c in causes]
    assert scores == sorted(scores, reverse=True), scores
    assert causes[0]["cause"] == sim.expected_cause, causes

    assert {"state", *STEPS} <= set(r["timings"]), sorted(r["timings"])  # extra entries (total, verdict) allowed
    assert all(isinstance(v, int | float) and v >= 0 for v in r["timings"].values()), r["timings"]


def test_why_steps_reach_aws_and_dns_through_the_environment(why_report: dict[str, Any]) -> None:
    """AWS_ENDPOINT_URL and SESBOT_DNS_NAMESERVERS are the ones read: the steps that need them ran."""
    steps = why_report["steps"]
    assert steps["suppression"]["status"] == "finding", steps["suppression"]
    for name in ("routing", "account", "domains"):
        assert steps[name]["status"] in {"ok", "finding"}, (name, steps[name])
    # the simulated From domain exists only in the NSD zones: SPF, DKIM and DMARC found there
    assert steps["authentication"]["status"] == "ok", steps["authentication"]


def test_why_with_aws_and_dns_unreachable_skips_those_steps_and_still_answers(world: World) -> None:
    env = world.env(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
                    SESBOT_DNS_NAMESERVERS=f"127.0.0.1:{closed_port()}", SESBOT_KEY_PREFIX="contract-offline")
    world.json("ingest", str(world.event_files[world.primary.scenario]), env=env)  # no cached AWS or DNS answers
    r = world.json("why", world.primary.campaign, "--now", sim_now(world.primary), env=env)
    assert set(r["steps"]) == set(STEPS)
    for name in ("suppression", "account", "authentication"):
        assert r["steps"][name]["status"] in {"skipped", "error"}, (name, r["steps"][name])
    assert r["totals"]["send_only"] == world.primary.expected_send_only["count"]


def test_why_campaign_form_is_the_same_investigation(world: World, why_report: dict[str, Any]) -> None:
    r = world.json("why", "campaign", world.primary.campaign, "--now", sim_now(world.primary))
    assert r["campaign"] == why_report["campaign"] and r["totals"] == why_report["totals"]
    assert [c["cause"] for c in r["causes"]] == [c["cause"] for c in why_report["causes"]]


def test_why_now_moves_the_ages(world: World, why_report: dict[str, Any]) -> None:
    later = world.primary.now + timedelta(hours=2)
    r = world.json("why", world.primary.campaign, "--now", iso(later))
    assert r["now"] == iso(later)
    assert r["send_only"]["oldest_age_s"] == pytest.approx(why_report["send_only"]["oldest_age_s"] + 7200, abs=1.0)
    bad = world.run("why", world.primary.campaign, "--now", "yesterday-ish")
    one_line_error(bad, 2, "yesterday-ish")


def test_why_text_report_leads_with_the_verdict(world: World) -> None:
    out = ok(world.run("why", world.primary.campaign, "--now", sim_now(world.primary))).out
    assert world.primary.campaign in out and world.primary.expected_cause in out
    assert out.index(world.primary.expected_cause) < out.index("authentication"), out


def test_why_charts_dir_writes_pngs_and_json_stays_on_stdout(world: World) -> None:
    charts = world.tmp / "charts"
    result = ok(world.run("why", world.primary.campaign, "--json", "--now", sim_now(world.primary), "--charts-dir",
                          str(charts)))
    assert result.json()["campaign"] == world.primary.campaign  # stdout is the JSON document alone
    pngs = sorted(charts.glob("*.png"))
    assert pngs, f"no PNG in {charts}: {list(charts.iterdir()) if charts.exists() else 'folder missing'}"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


def test_why_unknown_campaign_exits_1_with_one_line(world: World) -> None:
    one_line_error(world.run("why", "no-such-campaign-xyz", "--json"), 1, "no-such-campaign-xyz")


# --------------------------------------------------------------------------- recipient and message


@pytest.fixture(scope="module")
def history(world: World) -> dict[str, Any]:
    """One address in three messages of two campaigns at different times, ingested through `sesbot ingest`."""
    person = "Jane.Doe@History.test"
    t0 = f.T0
    m_old, m_mid, m_new = f.message_id(601), f.message_id(602), f.message_id(603)
    records = [
        f.send(m_new, [person, "other@history.test"], t0 + timedelta(hours=5), campaign="hist-b"),
        f.delivery(m_new, [person], t0 + timedelta(hours=5), campaign="hist-b"),
        f.send(m_old, [person], t0, campaign="hist-a"),
        f.bounce(m_old, [person], t0, campaign="hist-a"),
        f.send(m_mid, [person], t0 + timedelta(hours=1), campaign="hist-a"),
    ]
    path = world.tmp / "history.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    world.json("ingest", str(path))
    return {"person": person, "order": [m_new, m_mid, m_old], "states": {m_new: "delivered", m_mid: "send_only",
                                                                         m_old: "bounced"}}


def _check_events(events: list[dict[str, Any]]) -> None:
    assert isinstance(events, list) and events
    for event in events:
        assert isinstance(event["type"], str) and isinstance(event["time"], str), event
        datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def test_recipient_json_shape_newest_first(world: World, history: dict[str, Any]) -> None:
    r = world.json("recipient", history["person"])
    assert set(r) == {"recipient", "messages"}, sorted(r)
    assert r["recipient"] == history["person"].lower()
    assert [m["message_id"] for m in r["messages"]] == history["order"]
    for m in r["messages"]:
        assert {"message_id", "campaign", "configuration_set", "send_time", "state", "events"} <= set(m), m
        assert m["state"] == history["states"][m["message_id"]]
        assert m["configuration_set"] == "marketing"
        _check_events(m["events"])
    times = [m["send_time"] for m in r["messages"]]
    assert times == sorted(times, reverse=True)
    assert [m["campaign"] for m in r["messages"]] == ["hist-b", "hist-a", "hist-a"]


def test_message_json_shape(world: World, history: dict[str, Any]) -> None:
    newest = history["order"][0]
    r = world.json("message", newest)
    assert {"message_id", "campaign", "configuration_set", "send_time", "recipients"} <= set(r), sorted(r)
    assert (r["message_id"], r["campaign"], r["configuration_set"]) == (newest, "hist-b", "marketing")
    assert r["send_time"] == iso(f.T0 + timedelta(hours=5))
    states = {}
    for rec in r["recipients"]:
        assert {"recipient", "state", "events"} <= set(rec), rec
        _check_events(rec["events"])
        states[rec["recipient"]] = rec["state"]
    assert states == {"jane.doe@history.test": "delivered", "other@history.test": "send_only"}


@pytest.mark.parametrize("args", [("recipient", "nobody@nowhere.test"), ("message", "0100000000000000-nope-000000")])
def test_unknown_recipient_or_message_exits_1_with_one_stderr_line(world: World, args: tuple[str, str]) -> None:
    for extra in ((), ("--json",)):
        result = world.run(*args, *extra)
        one_line_error(result, 1, args[1])
        assert result.out == ""


# --------------------------------------------------------------------------- check


def test_check_json_lists_alerts_with_the_contract_keys(world: World) -> None:
    now = max([world.primary.now, *(s.now for s in world.others.values())])
    r = world.json("check", "--now", iso(now))
    assert set(r) == {"now", "alerts"}, sorted(r)
    assert r["now"] == iso(now)
    assert isinstance(r["alerts"], list) and r["alerts"], r
    for alert in r["alerts"]:
        assert {"campaign", "kind", "severity", "summary", "metrics"} <= set(alert), alert
        assert alert["kind"] in ALERT_KINDS, alert
        assert isinstance(alert["severity"], str) and alert["severity"], alert
        assert isinstance(alert["summary"], str) and alert["summary"], alert
        assert isinstance(alert["metrics"], dict), alert
    by_campaign = {(a["campaign"], a["kind"]) for a in r["alerts"]}
    assert (world.primary.campaign, "send_only_rate") in by_campaign, by_campaign
    assert (world.others["missing_events"].campaign, "ingestion_gap") in by_campaign, by_campaign
    assert (world.others["provider_deferral"].campaign, "domain_spike") in by_campaign, by_campaign
    assert world.others["healthy"].campaign not in {a["campaign"] for a in r["alerts"]}, by_campaign


def test_check_only_looks_at_campaigns_active_in_the_last_24_hours_or_as_configured(world: World) -> None:
    later = iso(world.primary.now + timedelta(hours=30))
    assert world.json("check", "--now", later)["alerts"] == []
    longer = world.json("check", "--now", later, env=world.env(SESBOT_ACTIVE_HOURS="48"))["alerts"]
    assert world.primary.campaign in {a["campaign"] for a in longer}, longer


# --------------------------------------------------------------------------- environment variables by their effect


def test_campaign_tag_names_the_tag_that_holds_the_campaign(world: World) -> None:
    sim = simulate("healthy", recipients=20, seed=31, campaign="tagged-by-cid", campaign_tag="cid")
    path = world.tmp / "cid.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in sim.events))
    now = sim_now(sim)
    with_cid = world.env(SESBOT_KEY_PREFIX="contract-cid", SESBOT_CAMPAIGN_TAG="cid")
    world.json("ingest", str(path), env=with_cid)
    assert "tagged-by-cid" in {c["campaign"] for c in world.json("campaigns", "--now", now, env=with_cid)["campaigns"]}
    default_tag = world.env(SESBOT_KEY_PREFIX="contract-default-tag")
    world.json("ingest", str(path), env=default_tag)
    names = {c["campaign"] for c in world.json("campaigns", "--now", now, env=default_tag)["campaigns"]}
    assert "tagged-by-cid" not in names, names


@pytest.mark.parametrize(("name", "value"), [
    ("REDIS_URL", "http://x"),
    ("PORT", "abc"),
    ("SLACK_APP_TOKEN", "bad"),
    ("SLACK_BOT_TOKEN", "bad"),
    ("SLACK_API_URL", "ftp://slack.invalid"),
    ("SESBOT_DNS_NAMESERVERS", "not a nameserver:99999"),
    ("SESBOT_SNS_TOPIC_ARNS", "not-an-arn"),
    ("SESBOT_SNS_CERTS", "/nonexistent/sesbot-certs"),
])
def test_a_wrong_value_is_named_in_one_line_at_start_up(world: World, name: str, value: str) -> None:
    others = {"SLACK_SIGNING_SECRET": "a-secret"} if name == "SLACK_BOT_TOKEN" else {}  # only one thing wrong
    env = world.env(**{**others, name: value, "PORT": value if name == "PORT" else str(free_port())})
    result = world.run("serve", env=env, timeout=60)
    assert result.code != 0
    line = one_line_error(result, result.code, name)
    assert "configuration" in line or name in line


def test_half_a_slack_configuration_is_named_in_one_line(world: World) -> None:
    result = world.run("serve", env=world.env(PORT=str(free_port()), SLACK_BOT_TOKEN="xoxb-contract-half"),
                       timeout=60)
    line = one_line_error(result, result.code, "SLACK_SIGNING_SECRET")
    assert result.code != 0 and "xoxb-contract-half" not in line


def test_worker_without_a_queue_names_it(world: World) -> None:
    assert one_line_error(world.run("worker"), 2, "SESBOT_SQS_QUEUE_URL")


def test_check_post_needs_the_slack_token_and_alert_channel(world: World) -> None:
    result = world.run("check", "--post", "--now", sim_now(world.primary))
    assert result.code == 2 and "Traceback" not in result.err, result.err
    assert "SLACK_BOT_TOKEN" in result.err and "SESBOT_ALERT_CHANNEL" in result.err
    assert len(result.err_lines) == 2, result.err  # one line per missing variable


@pytest.fixture(scope="module")
def slack_api() -> Iterator[SlackApi]:
    with serve_slack_api() as api:
        yield api


def test_check_post_sends_to_slack_api_url_with_the_bot_token_to_the_alert_channel(world: World,
                                                                                 slack_api: SlackApi) -> None:
    env = world.env(SLACK_BOT_TOKEN="xoxb-contract-check", SLACK_API_URL=slack_api.url,
                    SESBOT_ALERT_CHANNEL="C0ALERTS", SESBOT_KEY_PREFIX="contract-post")
    ok(world.run("ingest", str(world.event_files[world.primary.scenario]), env=env))
    ok(world.run("check", "--post", "--now", sim_now(world.primary), env=env))
    posts = slack_api.calls_to("chat.postMessage")
    assert posts, [c.method for c in slack_api.calls]
    assert all(c.args.get("channel") == "C0ALERTS" for c in posts), [c.args for c in posts]
    assert world.primary.campaign in json.dumps([c.args for c in posts])


# --------------------------------------------------------------------------- serve


def _http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@dataclass
class Served:
    base: str
    process: subprocess.Popen[bytes]
    signed_message_id: str  # of the real AWS-signed SES sample ("" when the samples are absent)
    signer: SnsSigner


@pytest.fixture(scope="module")
def served(world: World, slack_api: SlackApi) -> Iterator[Served]:
    certs = world.tmp / "sns-certs"  # pre-fetched certificates, named as in their URL (SESBOT_SNS_CERTS)
    certs.mkdir()
    signer = SnsSigner.create(certs)  # a sender of our own, its certificate beside AWS's
    topics, sample_message_id = [OWN_TOPIC], ""
    if SAMPLES.is_dir():  # and the real AWS-signed SES sample, with AWS's certificates
        sample = json.loads((SAMPLES / SIGNED_SES_SAMPLE).read_text())
        topics.append(sample["TopicArn"])
        sample_message_id = json.loads(sample["Message"])["mail"]["messageId"]
        for pem in SAMPLES.glob("*__sns-signing-cert-*.pem"):
            shutil.copy(pem, certs / f"SimpleNotificationService-{pem.stem.rpartition('-')[2]}.pem")
    port = free_port()
    env = world.env(PORT=str(port), SLACK_BOT_TOKEN="xoxb-contract-serve", SLACK_SIGNING_SECRET=SLACK_SECRET,
                    SLACK_API_URL=slack_api.url, SESBOT_SNS_TOPIC_ARNS=", ".join(topics),
                    SESBOT_SNS_CERTS=str(certs), SESBOT_KEY_PREFIX="contract-serve")
    process = subprocess.Popen([*sesbot_command(), "serve"], cwd=world.tmp, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"sesbot serve exited {process.returncode}: {process.communicate()[1][-3000:]!r}")
            try:
                if _http("GET", base + "/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("sesbot serve did not answer /healthz")
            time.sleep(0.1)
        yield Served(base, process, sample_message_id, signer)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            _out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _out, err = process.communicate()
        assert b"Traceback" not in err, err.decode()[-3000:]
        assert b"xoxb-contract-serve" not in err
        assert process.returncode == 0, f"sesbot serve exited {process.returncode} on SIGTERM"


def test_serve_answers_healthz_and_metrics(served: Served) -> None:
    status, body = _http("GET", served.base + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, body = _http("GET", served.base + "/metrics")
    assert status == 200 and "sesbot_" in body


def test_serve_sns_accepts_only_the_listed_topics_and_verifies_real_aws_signatures(world: World,
                                                                                  served: Served) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(NO_SAMPLES)
    headers = SNS_HEADERS
    other = (SAMPLES / SIGNED_OTHER_TOPIC).read_bytes()
    status, body = _http("POST", served.base + "/sns", other, headers)
    assert status == 403 and "SESBOT_SNS_TOPIC_ARNS" in body, (status, body)
    subscribe = (SAMPLES / "aws-sdk-java-v2__sns-http-SubscriptionConfirmation-sigv1__1.json").read_bytes()
    status, body = _http("POST", served.base + "/sns", subscribe,
                         {**headers, "x-amz-sns-message-type": "SubscriptionConfirmation"})
    assert status == 403 and "SESBOT_SNS_TOPIC_ARNS" in body, (status, body)  # not confirmed: topic not listed
    status, body = _http("POST", served.base + "/sns", (SAMPLES / SIGNED_SES_SAMPLE).read_bytes(), headers)
    assert status == 200, (status, body)
    tampered = (SAMPLES / SIGNED_SES_SAMPLE).read_text().replace("complaint@simulator", "complainx@simulator", 1)
    assert _http("POST", served.base + "/sns", tampered.encode(), headers)[0] == 403
    report = world.json("message", served.signed_message_id, env=world.env(SESBOT_KEY_PREFIX="contract-serve"))
    # a Complaint whose Send sesbot has not seen: outcome known, Send not -> unknown (DESIGN §3)
    assert [(r["recipient"], r["state"]) for r in report["recipients"]] == [
        ("complaint@simulator.amazonses.com", "unknown")]
    assert [e["type"] for e in report["recipients"][0]["events"]] == ["Complaint"]
    assert _http("GET", served.base + "/sns")[0] == 405


def test_serve_sns_ignores_the_ses_validation_text_and_counts_sns_retries_as_duplicates(world: World,
                                                                                     served: Served) -> None:
    validation = served.signer.sign(notification(
        OWN_TOPIC, "Successfully validated SNS topic for Amazon SES event publishing."))
    status, body = _http("POST", served.base + "/sns", json.dumps(validation).encode(), SNS_HEADERS)
    assert status == 200 and json.loads(body)["ignored"] == 1, body
    mid = f.message_id(901)
    signed = served.signer.sign(notification(OWN_TOPIC, json.dumps(f.send(mid, ["s1@sns.test", "s2@sns.test"]))),
                                version=2)
    replies = [_http("POST", served.base + "/sns", json.dumps(signed).encode(), SNS_HEADERS) for _ in range(2)]
    assert [status for status, _ in replies] == [200, 200], replies
    first, retry = (json.loads(body) for _, body in replies)
    assert (first["ingested"], retry["ingested"], retry["duplicates"]) == (2, 0, 2), replies
    report = world.json("message", mid, env=world.env(SESBOT_KEY_PREFIX="contract-serve"))
    assert {r["recipient"]: r["state"] for r in report["recipients"]} == {"s1@sns.test": "send_only",
                                                                         "s2@sns.test": "send_only"}
    forged = {**signed, "Message": signed["Message"].replace("s1@", "x1@")}
    assert _http("POST", served.base + "/sns", json.dumps(forged).encode(), SNS_HEADERS)[0] == 403


def test_serve_slack_events_checks_the_signing_secret(served: Served, slack_api: SlackApi) -> None:
    body = slash_command_body("help", response_url=slack_api.response_url("contract"))
    assert post_signed(served.base + "/slack/events", body, SLACK_SECRET).status == 200
    assert post_signed(served.base + "/slack/events", body, "not-the-secret").status == 401


# --------------------------------------------------------------------------- worker and demo


def test_worker_consumes_sqs_into_the_store_and_stops_on_sigterm(world: World) -> None:
    import boto3

    sqs = boto3.client("sqs", endpoint_url=world.aws.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    queue = sqs.create_queue(QueueName="contract-events")["QueueUrl"]
    mid = f.message_id(701)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(f.sns_envelope(f.send(mid, ["w@worker.test"]))))
    env = world.env(SESBOT_SQS_QUEUE_URL=queue, SESBOT_SQS_WAIT_S="1", SESBOT_KEY_PREFIX="contract-worker",
                    AWS_REGION="us-east-1")
    process = subprocess.Popen([*sesbot_command(), "worker"], cwd=world.tmp, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while world.run("message", mid, env=env).code != 0:
            assert process.poll() is None, process.communicate()[1].decode()[-3000:]
            assert time.monotonic() < deadline, "the worker did not ingest the SQS message"
            time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and b"Traceback" not in err, err.decode()[-3000:]
    assert world.json("message", mid, env=env)["recipients"][0]["state"] == "send_only"


def test_demo_runs_without_credentials_and_writes_its_folder(world: World) -> None:
    out = world.tmp / "demo-out"
    env = {k: v for k, v in world.env().items() if not k.startswith(("AWS_", "SESBOT_", "REDIS_"))}
    result = ok(world.run("demo", "--out", str(out), "--recipients", "200", env=env, timeout=180))
    assert result.out.strip()
    written = {p.suffix for p in out.rglob("*") if p.is_file()}
    assert ".png" in written and ".json" in written, sorted(out.rglob("*"))


# --------------------------------------------------------------------------- the real samples


@pytest.fixture(scope="module")
def samples_env(world: World) -> dict[str, str]:
    if not SAMPLES.is_dir():
        pytest.skip(NO_SAMPLES)
    return world.env(SESBOT_KEY_PREFIX="contract-samples", SESBOT_CAMPAIGN_TAG="myCustomTag1")


def test_ingest_of_the_whole_sample_folder_never_crashes_and_accounts_for_every_record(world: World,
                                                                                    samples_env: dict[str, str]
                                                                                    ) -> None:
    r = world.json("ingest", str(SAMPLES), env=samples_env)
    readable = [p for p in SAMPLES.iterdir() if p.suffix in (".json", ".jsonl", ".ndjson", ".gz")]
    assert r["read"] >= len(readable), r
    assert r["ingested"] > 0 and r["rejected"] > 0 and r["reasons"], r  # docs fragments are rejected with reasons
    again = world.json("ingest", str(SAMPLES), env=samples_env)
    assert again["ingested"] == 0 and again["duplicates"] >= r["ingested"], again
    campaigns = world.json("campaigns", env=samples_env)["campaigns"]
    assert "myCustomTagValue1" in {c["campaign"] for c in campaigns}, campaigns
    for address in ("recipient@example.com", "jane@example.com", "complaint@simulator.amazonses.com"):
        report = world.json("recipient", address, env=samples_env)
        assert report["messages"] and all(m["state"] in STATES for m in report["messages"]), report


# The developer guide's event records, made one message (each record's `mail` replaced by that of the Send sample:
# the guide's examples carry different timestamps and tags), and the state after each prefix of them: it only rises.
PROGRESSION = (
    ("aws-ses-docs__Send__1.json", "send_only"),
    ("aws-ses-docs__Open__1.json", "send_only"),
    ("aws-ses-docs__DeliveryDelay__1.json", "delayed"),
    ("aws-ses-docs__Delivery__1.json", "delivered"),
    ("aws-ses-docs__RenderingFailure__1.json", "rendering_failed"),
    ("aws-ses-docs__Bounce__1.json", "bounced"),
    ("aws-ses-docs__Delivery__1.json", "bounced"),
    ("aws-ses-docs__Complaint__1.json", "complained"),
)


def test_sample_events_one_by_one_give_the_state_order_of_the_design(world: World) -> None:
    """After the first k events (ingested newest first, in one call) the state is the highest of them."""
    if not SAMPLES.is_dir():
        pytest.skip(NO_SAMPLES)
    mail = json.loads((SAMPLES / "aws-ses-docs__Send__1.json").read_text())["mail"]
    folder = world.tmp / "progression"
    folder.mkdir()
    paths = []
    for step, (name, _state) in enumerate(PROGRESSION):
        paths.append(folder / f"{step}-{name}")
        paths[-1].write_text(json.dumps({**json.loads((SAMPLES / name).read_text()), "mail": mail}))

    def state_after(step: int) -> str:
        env = world.env(SESBOT_KEY_PREFIX=f"contract-progression-{step}", SESBOT_CAMPAIGN_TAG="myCustomTag1")
        ok(world.run("ingest", *(str(p) for p in reversed(paths[: step + 1])), env=env))
        report = world.json("recipient", "recipient@example.com", env=env)
        assert len(report["messages"]) == 1 and report["messages"][0]["campaign"] == "myCustomTagValue1", report
        return str(report["messages"][0]["state"])

    with ThreadPoolExecutor(4) as pool:
        states = list(pool.map(state_after, range(len(PROGRESSION))))
    assert list(zip([name for name, _ in PROGRESSION], states, strict=True)) == list(PROGRESSION)


def test_identity_notification_samples_give_their_states(world: World) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(NO_SAMPLES)
    env = world.env(SESBOT_KEY_PREFIX="contract-identity")
    ok(world.run("ingest", *(str(SAMPLES / n) for n in (
        "fx-private-relay__notification-Bounce-simulator-suppressionlist__1.json",
        "fx-private-relay__notification-Delivery-simulator-success__1.json",
        "fx-private-relay__notification-Delivery-simulator-ooto__1.json",
        "fx-private-relay__notification-Bounce-simulator-ooto-transient__1.json",
    )), env=env))
    # identity notifications carry no Send: outcomes known, Send not -> unknown (DESIGN §3)
    for address in ("suppressionlist@simulator.amazonses.com", "success@simulator.amazonses.com",
                    "ooto@simulator.amazonses.com"):
        messages = world.json("recipient", address, env=env)["messages"]
        assert [m["state"] for m in messages] == ["unknown"], (address, messages)


# --------------------------------------------------------------------------- states through every envelope


def _sns_http(record: dict[str, Any], n: int) -> dict[str, Any]:
    return {**f.sns_envelope(record), "MessageId": f"00000000-0000-4000-8000-{n:012d}"}


def _sns_lambda(record: dict[str, Any], n: int) -> dict[str, Any]:
    sns = _sns_http(record, n)
    sns["SigningCertUrl"] = sns.pop("SigningCertURL")
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "EventSubscriptionArn": sns["TopicArn"] + ":sub", "Sns": {**sns, "Subject": None}}]}


def _sqs_lambda(record: dict[str, Any], n: int) -> dict[str, Any]:
    return {"Records": [{"messageId": f"sqs-{n}", "eventSource": "aws:sqs", "body": json.dumps(_sns_http(record, n)),
                         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:ses-events"}]}


DETAIL_TYPES = {"Send": "Email Sent", "Delivery": "Email Delivered", "Bounce": "Email Bounced",
                "Complaint": "Email Complaint Received", "DeliveryDelay": "Email Delivery Delayed",
                "Reject": "Email Rejected", "Rendering Failure": "Email Rendering Failed", "Open": "Email Opened",
                "Click": "Email Clicked"}


def _eventbridge(record: dict[str, Any], n: int) -> dict[str, Any]:
    kind = record.get("eventType") or record.get("notificationType")
    return {"version": "0", "id": f"eb-{n}", "detail-type": DETAIL_TYPES.get(kind, f"Email {kind}"),
            "source": "aws.ses", "account": "123456789012", "time": "2026-12-01T10:00:00Z", "region": "us-east-1",
            "resources": [], "detail": record}


ENVELOPES = (lambda r, n: r, _sns_http, _sns_lambda, _sqs_lambda, _eventbridge)


def _state_cases() -> dict[str, tuple[list[dict[str, Any]], dict[str, str]]]:
    """campaign -> (records, recipient -> state DESIGN §3 says), one message per campaign."""
    cases: dict[str, tuple[list[dict[str, Any]], dict[str, str]]] = {}

    def case(name: str, build: Any, expect: dict[str, str]) -> None:
        mid = f.message_id(800 + len(cases))
        people = list(expect)
        kw = {"campaign": f"st-{name}"}
        cases[f"st-{name}"] = (build(mid, people, kw), {p: s for p, s in expect.items() if s})

    case("delivered", lambda m, p, kw: [f.send(m, p, **kw), f.delivery(m, p, **kw)], {"a@states.test": "delivered"})
    case("ooto-after-delivery", lambda m, p, kw: [f.send(m, p, **kw), f.delivery(m, p, **kw),
                                                  f.bounce(m, p, after=30, bounce_type="Transient",
                                                           sub_type="General", **kw)],
         {"b@states.test": "bounced"})
    case("account-suppressed", lambda m, p, kw: [f.send(m, p, **kw),
                                                 f.bounce(m, p, sub_type="OnAccountSuppressionList", **kw)],
         {"c@states.test": "suppressed"})
    case("global-suppressed", lambda m, p, kw: [f.send(m, p, **kw), f.bounce(m, p, sub_type="Suppressed", **kw)],
         {"d@states.test": "suppressed"})
    case("complaint-suppressed", lambda m, p, kw: [f.send(m, p, **kw),
                                                   f.complaint(m, p, sub_type="OnAccountSuppressionList", **kw)],
         {"e@states.test": "suppressed"})
    case("complained", lambda m, p, kw: [f.send(m, p, **kw), f.delivery(m, p, **kw), f.complaint(m, p, **kw)],
         {"f@states.test": "complained"})
    case("complained-over-suppressed", lambda m, p, kw: [
        f.send(m, p, **kw), f.bounce(m, p, sub_type="OnAccountSuppressionList", **kw), f.complaint(m, p, **kw)],
         {"g@states.test": "complained"})
    case("rejected", lambda m, p, kw: [f.send(m, p, **kw), f.simple("Reject", m, p, **kw)],
         {"h1@states.test": "rejected", "h2@states.test": "rejected"})
    case("rendering", lambda m, p, kw: [f.send(m, p, **kw), f.simple("Rendering Failure", m, p, **kw)],
         {"i@states.test": "rendering_failed"})
    case("delayed", lambda m, p, kw: [f.send(m, p, **kw), f.delay(m, p, **kw)], {"j@states.test": "delayed"})
    case("delayed-then-delivered", lambda m, p, kw: [f.send(m, p, **kw), f.delay(m, p, **kw),
                                                     f.delivery(m, p, after=900, **kw)],
         {"k@states.test": "delivered"})
    case("delayed-then-expired", lambda m, p, kw: [f.send(m, p, **kw), f.delay(m, p, **kw),
                                                   f.bounce(m, p, after=50_400, bounce_type="Transient", **kw)],
         {"l@states.test": "bounced"})
    case("send-only", lambda m, p, kw: [f.send(m, p, **kw), f.simple("Open", m, p, **kw),
                                        f.simple("Click", m, p, **kw), f.simple("FutureEventType", m, p, **kw)],
         {"m@states.test": "send_only"})
    case("partial", lambda m, p, kw: [f.send(m, p, **kw), f.delivery(m, p[:1], **kw), f.delay(m, p[1:2], **kw)],
         {"n1@states.test": "delivered", "n2@states.test": "delayed", "n3@states.test": "send_only"})
    case("bounce-then-delivery", lambda m, p, kw: [f.send(m, p, **kw), f.bounce(m, p, **kw), f.delivery(m, p, **kw)],
         {"o@states.test": "bounced"})
    case("identity-bounce", lambda m, p, kw: [f.send(m, p, **kw), f.identity_notification(f.bounce(m, p, **kw))],
         {"q@states.test": "bounced"})
    case("identity-suppressed", lambda m, p, kw: [
        f.send(m, p, **kw), f.identity_notification(f.bounce(m, p, sub_type="OnAccountSuppressionList", **kw))],
         {"r@states.test": "suppressed"})
    return cases


def test_every_state_of_the_design_through_every_envelope_in_any_order(world: World) -> None:
    cases = _state_cases()
    records = [r for rs, _ in cases.values() for r in rs]
    wrapped = [ENVELOPES[n % len(ENVELOPES)](record, n) for n, record in enumerate(records)]
    folder = world.tmp / "states"
    folder.mkdir()
    # newest records first, spread over the file kinds ingest reads, each record also sent twice (at-least-once)
    backwards = list(reversed(wrapped))
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in backwards[0::3]))
    (folder / "b.ndjson.gz").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in backwards[1::3]).encode()))
    (folder / "c.json").write_text("\n".join(json.dumps(r, indent=2) for r in backwards[2::3]))  # pretty, back to back
    (folder / "again.jsonl").write_text("".join(json.dumps(r) + "\n" for r in wrapped))
    env = world.env(SESBOT_KEY_PREFIX="contract-states")
    summary = world.json("ingest", str(folder), env=env)
    assert summary["rejected"] == 0, summary
    assert summary["read"] == 2 * len(records), summary
    rows = {row["campaign"]: row["totals"] for row in world.json("campaigns", env=env)["campaigns"]}
    for campaign, (_records, expect) in cases.items():
        want = {state: sum(1 for s in expect.values() if s == state) for state in STATES}
        got = {state: rows.get(campaign, {}).get(state, 0) for state in STATES}
        assert got == want, (campaign, got, want)


DOCS_MESSAGE = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
DOCS_EVENTS = ("Send", "Delivery", "Open", "Click", "Bounce", "Complaint", "DeliveryDelay", "RenderingFailure")


def test_the_developer_guide_events_of_one_message_id_are_joined(world: World) -> None:
    if not SAMPLES.is_dir():
        pytest.skip(NO_SAMPLES)
    env = world.env(SESBOT_KEY_PREFIX="contract-docs-join", SESBOT_CAMPAIGN_TAG="myCustomTag1")
    ok(world.run("ingest", *(str(SAMPLES / f"aws-ses-docs__{kind}__1.json") for kind in DOCS_EVENTS), env=env))
    report = world.json("message", DOCS_MESSAGE, env=env)
    [recipient] = [r for r in report["recipients"] if r["recipient"] == "recipient@example.com"]
    assert {"Send", "Delivery", "Complaint"} <= {e["type"] for e in recipient["events"]}, recipient
    assert recipient["state"] == "complained", recipient
