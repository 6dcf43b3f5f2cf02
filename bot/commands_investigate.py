"""`sesbot why CAMPAIGN` and the single-step commands (`suppression`, `routing`, `domains`, `auth`, `account`):
the investigation engine (bot.investigate) on the command line, as text or --json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli import NotFound, UsageError, command, extend_parser, print_json
from bot.commands import _now_ms  # --now as epoch ms, a malformed one a UsageError
from bot.reports import age, iso
from bot.settings import Settings

if TYPE_CHECKING:  # the engine (boto3, dnspython) is imported when a command runs, so `sesbot --help` stays quick
    from bot.investigate import Investigation, Investigator
    from checks.findings import StepResult


def _campaign_arg(words: list[str]) -> str:
    """`why NAME` or, as in Slack, `why campaign NAME`."""
    if len(words) == 2 and words[0].lower() == "campaign":
        words = words[1:]
    if len(words) != 1 or not words[0].strip():
        raise UsageError("give one campaign name, e.g. `sesbot why spring-sendout-042`")
    return words[0].strip()


def _investigator(settings: Settings) -> Investigator:
    from bot.commands import open_store
    from bot.investigate import build_investigator

    return build_investigator(settings, open_store(settings))


# ---- parsers ---------------------------------------------------------------------------------------------------------


@extend_parser("why")
def _why_parser(sub: Any, report: Any) -> None:
    p = report("why", "why are this campaign's recipients Send-only? (every step, then a ranked verdict)")
    p.add_argument("campaign", nargs="+", metavar="CAMPAIGN",
                   help="the campaign tag's value (`why campaign NAME`, as in Slack, works too)")
    p.add_argument("--charts-dir", metavar="DIR", type=Path, help="write the charts (PNG) into DIR")


@extend_parser("suppression")
def _suppression_parser(sub: Any, report: Any) -> None:
    report("suppression", "Send-only recipients of a campaign (or one address) against the suppression list") \
        .add_argument("target", metavar="CAMPAIGN|EMAIL")


@extend_parser("routing")
def _routing_parser(sub: Any, report: Any) -> None:
    report("routing", "event destinations, SNS subscriptions and events received, per configuration set "
                      "(default: those of campaigns active in the last SESBOT_ACTIVE_HOURS)") \
        .add_argument("config_set", nargs="?", metavar="CONFIG_SET")


@extend_parser("domains")
def _domains_parser(sub: Any, report: Any) -> None:
    report("domains", "Send-only and delayed recipients by recipient domain and mailbox provider") \
        .add_argument("campaign", metavar="CAMPAIGN")


@extend_parser("auth")
def _auth_parser(sub: Any, report: Any) -> None:
    report("auth", "SPF, Easy DKIM, DMARC and custom MAIL FROM of a sending domain").add_argument(
        "domain", metavar="DOMAIN")


@extend_parser("account")
def _account_parser(sub: Any, report: Any) -> None:
    report("account", "SES account status, quota and the configuration sets of active campaigns")


# ---- why -------------------------------------------------------------------------------------------------------------


@command("why")
def why(args: argparse.Namespace, settings: Settings) -> int:
    campaign = _campaign_arg(args.campaign)
    now_ms = _now_ms(args)
    render = _chart_renderer() if args.charts_dir is not None else None
    from bot.investigate import CampaignNotFound

    try:
        investigation = _investigator(settings).investigate(campaign, now_ms)
    except CampaignNotFound as exc:
        raise NotFound(str(exc)) from None
    written: list[Path] = []
    if render is not None:
        written = _write_charts(render, investigation, args.charts_dir)
    if args.json:
        print_json(investigation.to_json())
    else:
        print_investigation(investigation)
    for path in written:
        print(f"chart: {path}", file=sys.stderr if args.json else sys.stdout)
    return 0


def _chart_renderer() -> Any:
    try:
        from bot.charts import render_charts
    except ImportError as exc:
        raise UsageError(f"--charts-dir: charts are not available in this build ({exc})") from None
    return render_charts


def _write_charts(render: Any, investigation: Investigation, folder: Path) -> list[Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--charts-dir {folder}: {exc.strerror or exc}") from None
    charts: dict[str, bytes] = render(investigation, investigation.delivery_window_s, investigation.retry_deadline_s)
    written = []
    for name, data in charts.items():
        path = folder / Path(name).name
        path.write_bytes(data)
        written.append(path)
    return written


def print_investigation(inv: Investigation) -> None:
    so = inv.send_only
    print(f"{inv.campaign} as of {iso(inv.now_ms)}: {inv.summary.recipients:,} recipients, {so.count:,} Send-only "
          f"({so.rate:.1%}), {so.stuck_count:,} stuck, oldest {age(so.oldest_age_s)}; "
          f"{inv.summary.totals.get('delayed', 0):,} delayed")
    print()
    print("Verdict")
    for rank, cause in enumerate(inv.causes, start=1):
        print(f"  {rank}. {cause.cause} (score {cause.score:.2f}): {cause.summary}")
    print()
    print("Steps")
    for name, step in inv.steps.items():
        print_step(name, step, indent="  ")
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in inv.timings.items())
    print()
    print(f"timings: {timing}")


def print_step(name: str, step: StepResult, indent: str = "") -> None:
    print(f"{indent}{name:19} {step.status!s:8} {step.summary}")
    for finding in step.findings:
        if finding.summary not in step.summary:  # the step's summary already says it
            print(f"{indent}  - [{finding.severity}] {finding.summary}")


# ---- single steps ----------------------------------------------------------------------------------------------------


def _print_step_result(args: argparse.Namespace, name: str, result: StepResult, subject: str, now_ms: int,
                       seconds: float) -> int:
    if args.json:
        print_json({"subject": subject, "now": iso(now_ms), "step": name, **result.to_dict(),
                    "timings": {name: round(seconds, 4)}})
    else:
        print_step(name, result)
    return 0


def _campaign_step(args: argparse.Namespace, settings: Settings, name: str, campaign: str) -> int:
    from bot.investigate import CampaignNotFound

    now_ms = _now_ms(args)
    try:
        result, _summary, seconds = _investigator(settings).run_step(name, campaign, now_ms)
    except CampaignNotFound as exc:
        raise NotFound(str(exc)) from None
    return _print_step_result(args, name, result, campaign, now_ms, seconds)


@command("suppression")
def suppression(args: argparse.Namespace, settings: Settings) -> int:
    target = args.target.strip()
    if "@" not in target:
        return _campaign_step(args, settings, "suppression", target)
    now_ms = _now_ms(args)
    result, seconds = _investigator(settings).suppression_for_address(target, now_ms)
    return _print_step_result(args, "suppression", result, target.lower(), now_ms, seconds)


@command("domains")
def domains(args: argparse.Namespace, settings: Settings) -> int:
    return _campaign_step(args, settings, "domains", args.campaign)


@command("routing")
def routing(args: argparse.Namespace, settings: Settings) -> int:
    now_ms = _now_ms(args)
    investigator = _investigator(settings)
    since = now_ms - settings.active_hours * 3_600_000
    result, seconds, sets = investigator.routing_for(args.config_set, now_ms, since)
    if not sets:
        raise NotFound(f"no campaign with a Send in the last {settings.active_hours} h: name a configuration set")
    return _print_step_result(args, "routing", result, ", ".join(sets), now_ms, seconds)


@command("auth")
def auth(args: argparse.Namespace, settings: Settings) -> int:
    domain = args.domain.strip().lower().rstrip(".")
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    if "." not in domain:
        raise UsageError(f"{args.domain!r} is not a domain name")
    now_ms = _now_ms(args)
    result, seconds = _investigator(settings).authentication_for(domain)
    return _print_step_result(args, "authentication", result, domain, now_ms, seconds)


@command("account")
def account(args: argparse.Namespace, settings: Settings) -> int:
    now_ms = _now_ms(args)
    since = now_ms - settings.active_hours * 3_600_000
    result, seconds, sets = _investigator(settings).account_for(now_ms, since)
    return _print_step_result(args, "account", result, ", ".join(sets) or "account", now_ms, seconds)
