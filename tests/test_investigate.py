"""`sesbot why` end to end: for every simulator scenario, the events in a real Redis, the AWS state behind the
local AWS endpoint (boto3 over HTTP), the DNS zones in a real NSD, and the CLI run as a subprocess."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from bot.aws import SesAccount
from bot.aws_emulator import LocalAws
from bot.investigate import STEPS, CampaignNotFound, Investigator
from bot.reports import iso
from bot.simulate import SCENARIOS, SimulatedCampaign
from bot.store import Store
from checks.findings import StepResult
from tests.dns_server import NsdServer
from tests.scenario_env import sesbot, sesbot_json, stage


def now_arg(sim: SimulatedCampaign) -> str:
    """`--now` for a simulated campaign: the moment its scenario is set at."""
    return iso(int(sim.now.timestamp() * 1000)) or ""


@pytest.fixture
def env(redis_url: str, local_aws: LocalAws, dns_server: NsdServer) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "AWS_ENDPOINT_URL": local_aws.endpoint_url,
            "SESBOT_DNS_NAMESERVERS": dns_server.nameserver}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_why_ranks_the_scenario_cause_first(scenario: str, env: dict[str, str], redis_url: str,
                                            local_aws: LocalAws, dns_server: NsdServer) -> None:
    sim = stage(scenario, redis_url, local_aws, dns_server)
    report = sesbot_json("why", sim.campaign, "--now", now_arg(sim), env=env)

    causes = [c["cause"] for c in report["causes"]]
    assert causes[0] == sim.expected_cause, report["causes"]
    for secondary in sim.expected_causes[1:]:
        assert secondary in causes, report["causes"]
    assert report["campaign"] == sim.campaign
    assert report["totals"] == {k: v for k, v in sorted(sim.expected_totals.items())}
    assert report["send_only"]["count"] == sim.expected_send_only["count"]
    assert set(report["steps"]) == set(STEPS)
    for name, step in report["steps"].items():
        assert step["status"] in ("ok", "finding", "skipped", "error"), name
        assert step["summary"], name
    # AWS and DNS are all there: every step ran (reputation's public blocklists are refused by the test NSD)
    for name in ("suppression", "routing", "domains", "temporary_failures", "account", "authentication"):
        assert report["steps"][name]["status"] in ("ok", "finding"), (name, report["steps"][name])
    assert set(report["timings"]) >= {"state", *STEPS}
    for cause in report["causes"]:
        assert 0 <= cause["score"] <= 1
        assert cause["summary"] and cause["evidence"]["step"]
    scores = [c["score"] for c in report["causes"]]
    assert scores == sorted(scores, reverse=True)


def test_mixed_causes_show_in_proportion(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                                         dns_server: NsdServer) -> None:
    sim = stage("mixed", redis_url, local_aws, dns_server)
    report = sesbot_json("why", sim.campaign, "--now", now_arg(sim), env=env)
    by_cause = {c["cause"]: c for c in report["causes"]}
    totals = report["totals"]
    stuck = totals["send_only"] + totals["delayed"]
    assert by_cause["suppression"]["score"] == pytest.approx(by_cause["suppression"]["evidence"]["count"] / stuck,
                                                             abs=0.01)
    assert by_cause["temporary_failure"]["score"] == pytest.approx(totals["delayed"] / stuck, abs=0.01)
    # the deferring provider is named from its MX records (the .test domains are not known consumer domains)
    providers = report["steps"]["domains"]["data"]["providers"]
    assert providers[0]["provider"] in ("Microsoft", "Yahoo", "Google") or providers[0]["send_only"] == 0
    outlook = next(d for d in report["steps"]["domains"]["data"]["domains"] if d["domain"] == "mail-outlook.test")
    assert outlook["provider"] == "Microsoft"
    assert report["retry_deadline_s"] == 4 * 3600


def test_suppression_scenario_evidence(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                                       dns_server: NsdServer) -> None:
    sim = stage("suppression_no_bounce_events", redis_url, local_aws, dns_server)
    now = now_arg(sim)
    report = sesbot_json("why", sim.campaign, "--now", now, env=env)
    suppressed = {e for e, _, _ in sim.aws.suppressed_destinations}
    step = report["steps"]["suppression"]
    assert step["status"] == "finding"
    assert step["data"]["sampled"] == report["send_only"]["count"]  # a small cohort is checked whole
    for example in step["data"]["examples"]:
        assert example["recipient"] in suppressed
    routing = report["steps"]["routing"]["data"]
    assert {"BOUNCE", "COMPLAINT"} <= set(routing["missing_types"])
    top = report["causes"][0]
    assert "BOUNCE" in top["summary"] and top["evidence"]["examples"]

    # the same step alone, and one address
    alone = sesbot_json("suppression", sim.campaign, "--now", now, env=env)
    assert alone["step"] == "suppression" and alone["status"] == "finding"
    address = step["data"]["examples"][0]["recipient"]
    one = sesbot_json("suppression", address, env=env)
    assert address in one["summary"] and "is on the account suppression list" in one["summary"]


def test_missing_events_scenario_evidence(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                                          dns_server: NsdServer) -> None:
    sim = stage("missing_events", redis_url, local_aws, dns_server)
    report = sesbot_json("why", sim.campaign, "--now", now_arg(sim), env=env)
    routing = report["steps"]["routing"]
    codes = {f["code"] for f in routing["findings"]}
    assert {"sns_not_delivering", "outcome_events_stopped", "cloudwatch_gap"} <= codes
    stop = routing["data"]["outcome_stop"]
    assert stop["last_outcome"] < stop["last_send"]
    metrics = routing["data"]["config_sets"][0]["cloudwatch"]["metrics"]
    assert metrics["Delivery"]["cloudwatch"] > metrics["Delivery"]["captured"]


def test_text_report_puts_the_verdict_first(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                                            dns_server: NsdServer) -> None:
    sim = stage("provider_deferral", redis_url, local_aws, dns_server)
    done = sesbot("why", "campaign", sim.campaign, "--now", now_arg(sim), env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(sim.campaign)
    verdict = lines.index("Verdict")
    assert lines[verdict + 1].strip().startswith("1. temporary_failure")
    assert lines.index("Steps") > verdict


def test_unknown_campaign_lists_close_matches(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                                              dns_server: NsdServer) -> None:
    sim = stage("healthy", redis_url, local_aws, None, recipients=50)
    done = sesbot("why", sim.campaign[:-1] + "9", env=env)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "Unknown campaign" in done.stderr and sim.campaign in done.stderr
    nothing = sesbot("why", "zzzz-qqqq", env=env)
    assert nothing.returncode == 1 and "sesbot campaigns" in nothing.stderr


def test_bad_now_is_a_usage_error(env: dict[str, str]) -> None:
    done = sesbot("why", "x", "--now", "yesterday", env=env)
    assert done.returncode == 2 and "ISO-8601" in done.stderr and "Traceback" not in done.stderr


def test_single_step_commands(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                              dns_server: NsdServer) -> None:
    sim = stage("account_paused", redis_url, local_aws, dns_server, recipients=300)
    now = now_arg(sim)
    account = sesbot_json("account", "--now", now, env=env)
    assert account["status"] == "finding"
    assert any(f["code"] == "config_set_paused" for f in account["findings"])
    routing = sesbot_json("routing", sim.configuration_set, "--now", now, env=env)
    assert routing["status"] == "ok", routing
    assert routing["data"]["config_sets"][0]["delivered_types"]
    active = sesbot_json("routing", "--now", now, env=env)  # the sets of campaigns active at --now
    assert active["subject"] == sim.configuration_set
    assert "Delivery" in active["data"]["config_sets"][0]["received_types"]
    idle = sesbot("routing", "--now", "2030-01-01T00:00:00Z", env=env)
    assert idle.returncode == 1 and "name a configuration set" in idle.stderr
    domains = sesbot_json("domains", sim.campaign, "--now", now, env=env)
    assert {d["domain"] for d in domains["data"]["domains"]} >= {"mail-google.test"}
    google = next(p for p in domains["data"]["providers"] if p["provider"] == "Google")
    assert google["recipients"] > 0
    auth = sesbot_json("auth", sim.aws.identity["domain"], env=env)
    assert auth["status"] == "ok", auth
    text = sesbot("auth", sim.aws.identity["domain"], env=env)
    assert text.returncode == 0 and text.stdout.startswith("authentication")


# ---- in-process: the engine's own contract --------------------------------------------------------------------------


def _investigator(redis_url: str, ses: SesAccount | None, **kwargs: Any) -> Investigator:
    return Investigator(Store(redis.Redis.from_url(redis_url)), ses, None, **kwargs)


def test_on_step_reports_every_step_and_not_found(redis_url: str, local_aws: LocalAws, ses_account: SesAccount) -> None:
    sim = stage("still_in_flight", redis_url, local_aws, None, recipients=200)
    seen: list[tuple[str, StepResult]] = []
    inv = _investigator(redis_url, ses_account).investigate(
        sim.campaign, int(sim.now.timestamp() * 1000), on_step=lambda name, result: seen.append((name, result)))
    assert sorted(name for name, _ in seen) == sorted(STEPS)
    assert all(isinstance(r, StepResult) for _, r in seen)
    assert inv.causes[0].cause == "still_in_flight"
    assert list(inv.to_json()["steps"]) == list(STEPS)
    with pytest.raises(CampaignNotFound) as caught:
        _investigator(redis_url, ses_account).investigate(sim.campaign.upper(), 0)
    assert caught.value.close_matches == [sim.campaign]


def test_charts_dir_writes_the_pngs(env: dict[str, str], redis_url: str, local_aws: LocalAws,
                                    dns_server: NsdServer, tmp_path: Any) -> None:
    pytest.importorskip("bot.charts", reason="bot/charts.py (the charts module) is not in this tree yet")
    sim = stage("mixed", redis_url, local_aws, None, recipients=400)
    out = tmp_path / "charts"
    done = sesbot("why", sim.campaign, "--now", now_arg(sim), "--json",
                  "--charts-dir", str(out), env=env)
    assert done.returncode == 0, done.stderr
    pngs = sorted(out.glob("*.png"))
    assert pngs, done.stderr
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"chart: {png}" in done.stderr  # the JSON on stdout stays clean
