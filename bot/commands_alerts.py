"""`sesbot check` (run the scheduled checks once), `sesbot thresholds` (per-campaign / configuration-set alert
thresholds kept in Redis) and `sesbot scheduler` (the jobs of bot/scheduler.py until stopped)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import orjson

from bot.cli import UsageError, command, extend_parser, print_json
from bot.commands import _now_ms, open_store
from bot.settings import Settings
from checks.alerts import THRESHOLD_FIELDS, Thresholds, parse_overrides
from handlers.alert_blocks import KIND_TITLES, label


@extend_parser("check")
def _check_parser(sub: Any, report: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = report("check", "run the alert checks once over the active campaigns and print what would be posted")
    p.add_argument("--post", action="store_true",
                   help="post the alerts to SESBOT_ALERT_CHANNEL (the scheduler's lifecycle: no duplicates)")


@extend_parser("thresholds")
def _thresholds_parser(sub: Any, report: Callable[[str, str], argparse.ArgumentParser]) -> None:
    p = sub.add_parser("thresholds", help="show or set alert thresholds (default, per campaign or configuration set)",
                       description="Without NAME=VALUE: print the thresholds in effect. Stored in Redis; they "
                                   "override SESBOT_ALERT_THRESHOLDS.")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--campaign", metavar="NAME")
    scope.add_argument("--configuration-set", metavar="NAME")
    p.add_argument("values", nargs="*", metavar="NAME=VALUE", help=f"one of: {', '.join(THRESHOLD_FIELDS)}")
    p.add_argument("--clear", action="store_true", help="remove the stored overrides of that scope")
    p.add_argument("--json", action="store_true", help="print as JSON")


@extend_parser("scheduler")
def _scheduler_parser(sub: Any, report: Callable[[str, str], argparse.ArgumentParser]) -> None:
    sub.add_parser("scheduler", help="run the scheduled checks and post channel alerts until stopped")


@command("check")
def check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.alert_run import aws_for, collect_alerts
    from bot.alerts import lifecycle_for

    if args.post:
        settings.require("slack_bot_token", "alert_channel")
    store = open_store(settings)
    run = collect_alerts(store, settings, _now_ms(args), aws_for(settings))
    posted = lifecycle_for(settings, store).sync(run) if args.post else None
    if args.json:
        print_json(run.to_json())
    else:
        if not run.alerts:
            print(f"No alerts: {len(run.active)} active campaign(s) checked.")
        for alert in run.alerts:
            print(f"{alert.severity:8} {label(alert.campaign)[:40]:40} {KIND_TITLES[alert.kind]}: {alert.summary}")
    if posted is not None:
        counts = ", ".join(f"{name} {len(items)}" for name, items in posted.to_dict().items() if items)
        print(f"sesbot: Slack: {counts or 'nothing to change'}", file=sys.stderr)
        if posted.failed:
            return 1
    return 0


@command("thresholds")
def thresholds(args: argparse.Namespace, settings: Settings) -> int:
    from bot.alert_run import load_thresholds, set_thresholds, stored_thresholds

    store = open_store(settings)
    scope = (f"campaign:{args.campaign}" if args.campaign is not None
             else f"configuration_set:{args.configuration_set}" if args.configuration_set is not None
             else "default")
    if args.clear:
        set_thresholds(store, scope, None)
    elif args.values:
        raw: dict[str, Any] = {}
        for item in args.values:
            name, sep, value = item.partition("=")
            if not sep:
                raise UsageError(f"{item!r} is not NAME=VALUE")
            try:
                raw[name.strip()] = orjson.loads(value)
            except orjson.JSONDecodeError:
                raise UsageError(f"{item!r}: {value!r} is not a number") from None
        values, problems = parse_overrides(raw, scope)
        if problems:
            raise UsageError("; ".join(problems))
        current = stored_thresholds(store).get(scope, {})
        set_thresholds(store, scope, {**current, **values})
    book = load_thresholds(settings, store)
    effective = (book.for_campaign(args.campaign) if args.campaign is not None
                 else book.for_campaign("", [args.configuration_set]) if args.configuration_set is not None
                 else book.base())
    report = {"scope": scope, "stored": stored_thresholds(store), "effective": effective.to_dict(),
              "defaults": Thresholds().to_dict()}
    if args.json:
        print_json(report)
    else:
        print(f"thresholds in effect for {scope} (stored overrides: {report['stored'].get(scope, {}) or 'none'})")
        for name, value in report["effective"].items():
            mark = "" if value == report["defaults"][name] else "   (default " + str(report["defaults"][name]) + ")"
            print(f"  {name:24} {value}{mark}")
    return 0


@command("scheduler")
def scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from bot.scheduler import run_until_stopped

    settings.require("slack_bot_token", "alert_channel")
    return run_until_stopped(settings, open_store(settings))
