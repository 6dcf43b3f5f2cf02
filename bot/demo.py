"""`sesbot demo`: one simulated campaign investigated end to end on this machine, with no credentials and no network.

What runs, all on loopback and all stopped at the end:

* Redis: a temporary `redis-server` when one is on PATH, else fakeredis in-process (`bot.demo_redis`); it says which.
* AWS: `bot.aws_emulator.LocalAws` (moto's server plus sesbot's SESv2 layer) loaded with the scenario's account
  state (suppression list, configuration set and event destinations, SNS subscriptions, CloudWatch counts) through
  boto3 (`bot.simulate_aws`); the AWS SDK of this process points at it with throw-away credentials.
* DNS: the scenario's zones (From domain, recipient domains, amazonses.com, empty blocklists) served by NSD when
  installed, else by an in-process dnspython server (`bot.demo_dns`).

Then the campaign's events go through the real ingest path (`Ingestor.ingest_paths` on the written NDJSON file),
the real `why` code path runs (`build_investigator(...).investigate`), the report is printed, and the folder gets
the charts, `why.json` (`why --json`) and `slack-message.json` (the Block Kit message `/ses why` posts).
Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from bot.keys import KeySchema
from bot.settings import Settings
from bot.simulate import SCENARIOS, simulate, support_zones, write_scenario

DEFAULT_SCENARIO = "mixed"  # two causes at once: suppression (with BOUNCE unpublished) and a deferring provider
DEFAULT_RECIPIENTS = 2000
DEFAULT_OUT = Path("demo-output")  # (repeated in bot.commands_demo)
DEMO_KEY_PREFIX = "sbdemo"
# AWS SDK variables that would send the demo to a real account or make it read local profiles.
_SDK_OVERRIDES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


@dataclass
class DemoResult:
    scenario: str
    campaign: str
    expected_cause: str
    out: Path
    redis: str  # "redis-server" or "fakeredis"
    dns: str  # "nsd" or "dnspython"
    report: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    slack_renderer: str = ""  # where slack-message.json's blocks came from


class Progress:
    """`[demo] ...` lines on stderr, with the seconds since the start."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()

    def __call__(self, text: str) -> None:
        self.stream.write(f"[demo {time.perf_counter() - self.started:5.1f}s] {text}\n")
        self.stream.flush()


@contextlib.contextmanager
def local_aws_environment(endpoint_url: str, region: str) -> Iterator[None]:
    """Point this process's AWS SDK at `endpoint_url` with throw-away credentials; restore the environment after."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    try:
        for name in list(os.environ):
            if name in _SDK_OVERRIDES or name.startswith("AWS_ENDPOINT_URL_"):
                del os.environ[name]
        os.environ.update({
            "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
        })
        yield
    finally:
        for name in list(os.environ):
            if name.startswith("AWS_"):
                del os.environ[name]
        os.environ.update(saved)


def demo_now() -> datetime:
    """The demo evaluates the campaign as of now (whole minute): the simulated campaign is placed just before it,
    so CloudWatch windows and suppression dates are recent, as they would be in a real incident."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def run_demo(out: Path = DEFAULT_OUT, scenario: str = DEFAULT_SCENARIO, *, recipients: int = DEFAULT_RECIPIENTS,
             seed: int = 42, allow_redis_server: bool = True, prefer_nsd: bool = True,
             progress: Callable[[str], None] | None = None, report_stream: IO[str] | None = None) -> DemoResult:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of: {', '.join(sorted(SCENARIOS))}")
    say = progress or Progress()
    stream = report_stream or sys.stdout
    out.mkdir(parents=True, exist_ok=True)

    sim = simulate(scenario, recipients=recipients, seed=seed, now=demo_now())
    written = write_scenario(sim, out / "scenario", gzip_events=True)
    say(f"scenario {scenario}: campaign {sim.campaign}, {sim.intended_recipients:,} recipients, "
        f"{len(sim.events):,} SES event records -> {written['events']}")

    with contextlib.ExitStack() as stack:
        from bot.demo_redis import start_redis

        redis_ = start_redis(allow_server=allow_redis_server)
        stack.callback(redis_.stop)
        say(f"Redis: {redis_.description}")

        from bot.aws_emulator import LocalAws
        from bot.simulate_aws import load_aws_state, zones_with_tokens

        aws = LocalAws()
        endpoint = aws.start()
        stack.callback(aws.stop)
        stack.enter_context(local_aws_environment(endpoint, sim.aws.region))
        loaded = load_aws_state(sim.aws, aws)
        say(f"AWS: local emulator (moto + sesbot's SESv2 layer) on {endpoint}, loaded with the account state: "
            f"{len(sim.aws.suppressed_destinations):,} suppressed addresses, configuration set "
            f"{sim.configuration_set}, CloudWatch counts")

        from bot.demo_dns import start_local_dns

        zones = {**zones_with_tokens(sim.dns_zones, loaded.dkim_tokens),
                 **support_zones(dkim_tokens=loaded.dkim_tokens)}
        dns = start_local_dns(zones, prefer_nsd=prefer_nsd)
        stack.callback(dns.stop)
        why_builtin = "NSD not installed" if prefer_nsd else "as asked"
        server_name = "NSD" if dns.kind == "nsd" else f"in-process dnspython server ({why_builtin})"
        say(f"DNS: {server_name} on {dns.nameserver} serving {len(zones)} zones")

        settings = Settings(redis_url=redis_.url or Settings.redis_url, key_prefix=DEMO_KEY_PREFIX,
                            dns_nameservers=dns.nameserver, aws_region=sim.aws.region)
        from bot.store import Store

        store = Store(redis_.client, KeySchema(settings.key_prefix), retention_s=settings.retention_days * 86_400)
        summary = _ingest(store, settings, written["events"])
        say(f"ingested through the real path: {summary['read']:,} records, {summary['ingested']:,} events, "
            f"{summary['duplicates']:,} duplicates, {summary['rejected']:,} rejected")

        from bot.investigate import build_investigator

        now_ms = int(sim.now.timestamp() * 1000)
        say(f"investigating {sim.campaign} as of {sim.now:%Y-%m-%d %H:%M} UTC ...")
        inv = build_investigator(settings, store).investigate(
            sim.campaign, now_ms, on_step=lambda name, step: say(f"  step {name}: {step.status}"))
        report = inv.to_json()

        print_report(inv, stream)
        files = _write_outputs(out, inv, report, settings)
        slack_payload, renderer = slack_message(report, inv, settings)
        path = out / "slack-message.json"
        path.write_bytes(orjson.dumps(slack_payload, option=orjson.OPT_INDENT_2))
        files.append(path)
        say(f"Slack message blocks from {renderer}")

    top = report["causes"][0]["cause"] if report.get("causes") else "none"
    say(f"verdict: {top} (the scenario's cause: {sim.expected_cause})")
    say(f"wrote {len(files)} files to {out.resolve()}:")
    for f in files:
        say(f"  {f}")
    return DemoResult(scenario, sim.campaign, sim.expected_cause, out, redis_.kind, dns.kind, report, files, renderer)


def _ingest(store: Any, settings: Settings, events: Path) -> dict[str, Any]:
    from bot.ingest import Ingestor

    result = Ingestor(store, settings.campaign_tag).ingest_paths([str(events)], progress=False)
    store.count("files", read=result.read, ingested=result.ingested, duplicates=result.duplicates,
                ignored=result.ignored, rejected=result.rejected)
    return result.to_dict()


def _write_outputs(out: Path, inv: Any, report: Mapping[str, Any], settings: Settings) -> list[Path]:
    from bot.charts import render_charts

    files = []
    deadline = int(getattr(inv, "retry_deadline_s", 0) or 14 * 3600)
    window = int(getattr(inv, "delivery_window_s", 0) or settings.delivery_window_s)
    for name, data in render_charts(inv, window, deadline).items():
        path = out / name
        path.write_bytes(data)
        files.append(path)
    path = out / "why.json"
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    files.append(path)
    return files


# ---------------------------------------------------------------------------------------------------- report


def print_report(inv: Any, stream: IO[str]) -> None:
    """The terminal report of `sesbot why` (the investigation engineer's renderer when present)."""
    try:
        from bot.commands_investigate import print_investigation
    except ImportError:
        print_investigation = None
    if print_investigation is not None:
        with contextlib.redirect_stdout(stream):
            print_investigation(inv)
        return
    report = inv.to_json()
    so = report["send_only"]
    stream.write(f"{report['campaign']} as of {report['now']}: {so['count']:,} Send-only ({so['rate']:.1%}), "
                 f"{so['stuck_count']:,} stuck\n\nVerdict\n")
    for rank, cause in enumerate(report["causes"], start=1):
        stream.write(f"  {rank}. {cause['cause']} (score {cause['score']:.2f}): {cause['summary']}\n")
    stream.write("\nSteps\n")
    for name, step in report["steps"].items():
        stream.write(f"  {name:19} {step['status']:8} {step['summary']}\n")


# ----------------------------------------------------------------------------------------------------- Slack


def slack_message(report: Mapping[str, Any], inv: Any, settings: Settings) -> tuple[dict[str, Any], str]:
    """The `chat.postMessage` arguments `/ses why` would send (text + Block Kit blocks), and where the blocks came
    from: the Slack engineer's `handlers.render.verdict_blocks` when present, else a fallback built here."""
    summary = inv.summary
    try:
        from bot.investigate import STEPS
        from handlers.render import as_dicts, verdict_blocks, verdict_text
    except ImportError:
        return _fallback_message(report), "bot.demo (handlers.render is not available)"
    blocks = verdict_blocks(report, steps=tuple(STEPS), delivery_window_s=settings.delivery_window_s,
                            first_send_ms=summary.first_send_ms, last_send_ms=summary.last_send_ms)
    return {"text": verdict_text(report), "blocks": as_dicts(blocks)}, "handlers.render.verdict_blocks"


def _fallback_message(report: Mapping[str, Any]) -> dict[str, Any]:
    from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

    def clip(text: str, limit: int = 2900) -> str:
        return text if len(text) <= limit else text[: limit - 1] + "…"

    so = report.get("send_only") or {}
    causes = list(report.get("causes") or [])
    blocks: list[Any] = [
        HeaderBlock(text=clip(f"Why {report.get('campaign', '')} is stuck in Send", 150)),
        SectionBlock(text=MarkdownTextObject(text=clip(
            f"*{float(so.get('rate') or 0):.1%}* Send-only: {int(so.get('count') or 0):,} recipients, "
            f"{int(so.get('stuck_count') or 0):,} past the delivery window"))),
    ]
    for rank, cause in enumerate(causes[:5], start=1):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(
            f"*{rank}. {cause.get('cause')}*  (score {float(cause.get('score') or 0):.2f})\n{cause.get('summary', '')}"
        ))))
    blocks.append(DividerBlock())
    lines = [f"*{name}*: {step.get('status')} — {step.get('summary', '')}"
             for name, step in (report.get("steps") or {}).items()]
    blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines) or "-"))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"evaluated at {report.get('now')}")]))
    top = causes[0].get("cause") if causes else "no clear cause"
    return {"text": f"{report.get('campaign', '')}: {top}", "blocks": [b.to_dict() for b in blocks[:50]]}
