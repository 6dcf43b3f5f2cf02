"""`sesbot simulate` (write a scenario's events, AWS state and DNS zones to a folder) and `sesbot demo` (one
scenario investigated end to end on this machine, no credentials, no network)."""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path
from typing import Any

from bot.cli import UsageError, command, extend_parser
from bot.settings import Settings

DEFAULT_SIM_RECIPIENTS = 2000
DEFAULT_OUT = Path("demo-output")  # bot.demo's defaults, repeated so that `sesbot --help` imports nothing heavy
DEFAULT_SCENARIO = "mixed"


def _scenario_names() -> list[str]:
    from bot.simulate import SCENARIOS

    return sorted(SCENARIOS)


def _check_scenario(name: str) -> str:
    names = _scenario_names()
    if name not in names:
        raise UsageError(f"unknown scenario {name!r}; valid scenarios: {', '.join(names)}")
    return name


@extend_parser("simulate")
def _simulate_parser(sub: Any, report: Any) -> None:
    p = sub.add_parser("simulate", help="write a simulated campaign (events, AWS state, DNS zones) to a folder",
                       description="Write one scenario's SES events (NDJSON), its AWS account state (JSON) and DNS "
                                   "zone files to a folder, ready for `sesbot ingest`.")
    p.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario name (see --list)")
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: ./simulated/SCENARIO)")
    p.add_argument("--recipients", type=int, default=DEFAULT_SIM_RECIPIENTS, metavar="N",
                   help=f"intended recipients (default {DEFAULT_SIM_RECIPIENTS})")
    p.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (same seed, same files)")
    p.add_argument("--gzip", action="store_true", help="write events.jsonl.gz instead of events.jsonl")
    p.add_argument("--list", action="store_true", help="list the scenarios and what each one shows")


@command("simulate")
def simulate_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.simulate import SCENARIOS, simulate, write_scenario

    if args.list:
        width = max(len(n) for n in SCENARIOS)
        for spec in SCENARIOS.values():
            print(f"{spec.name:{width}}  cause: {spec.expected_cause:17} {spec.description}")
        return 0
    if not args.scenario:
        raise UsageError(f"name a scenario: {', '.join(_scenario_names())} (or --list)")
    name = _check_scenario(args.scenario)
    if not 1 <= args.recipients <= 1_000_000:
        raise UsageError(f"--recipients must be between 1 and 1,000,000, not {args.recipients}")
    out: Path = args.out or Path("simulated") / name
    sim = simulate(name, recipients=args.recipients, seed=args.seed, campaign_tag=settings.campaign_tag)
    try:
        written = write_scenario(sim, out, gzip_events=args.gzip)
    except OSError as exc:
        raise UsageError(f"cannot write to {out}: {exc.strerror or exc}") from None
    zones = sorted(written["zones"].glob("*.zone"))
    print(f"scenario {name}: campaign {sim.campaign}, {sim.intended_recipients:,} recipients, "
          f"expected cause: {sim.expected_cause}")
    print(f"  {written['events']}  {len(sim.events):,} SES event records (NDJSON{', gzipped' if args.gzip else ''})")
    print(f"  {written['aws_state']}  AWS account state: {len(sim.aws.suppressed_destinations):,} suppressed "
          f"addresses, configuration set {sim.configuration_set}, SNS subscriptions, CloudWatch counts")
    print(f"  {written['zones']}/  {len(zones)} DNS zone files")
    print(f"  {written['scenario']}  the scenario and its expected totals")
    now = sim.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    print("Load it with:")
    print(f"  sesbot ingest {shlex.quote(str(written['events']))}")
    print(f"  sesbot why {shlex.quote(sim.campaign)} --now {now}")
    return 0


@extend_parser("demo")
def _demo_parser(sub: Any, report: Any) -> None:
    p = sub.add_parser("demo", help="investigate a simulated campaign end to end (no credentials, no network)",
                       description="Start local Redis, AWS and DNS, ingest a simulated campaign, run `why`, print "
                                   "the report and write the charts, why.json and the Slack message to a folder.")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default "
                   f"./{DEFAULT_OUT})")
    p.add_argument("--scenario", default=DEFAULT_SCENARIO, metavar="NAME",
                   help=f"scenario (default {DEFAULT_SCENARIO}; see `sesbot simulate --list`)")
    p.add_argument("--recipients", type=int, default=2000, metavar="N", help="recipients (default 2000)")
    p.add_argument("--dns", choices=("auto", "builtin"), default="auto",
                   help="auto: NSD when installed, else the in-process server; builtin: always the in-process one")


@command("demo")
def demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo
    from bot.demo_redis import DemoSetupError

    scenario = _check_scenario(args.scenario)
    if not getattr(args, "verbose", False):  # the demo says what it starts in its own progress lines
        logging.getLogger("bot.aws_emulator").setLevel(logging.WARNING)
    if not 1 <= args.recipients <= 200_000:
        raise UsageError(f"--recipients must be between 1 and 200,000, not {args.recipients}")
    try:
        run_demo(args.out, scenario, recipients=args.recipients, prefer_nsd=args.dns == "auto")
    except OSError as exc:
        raise UsageError(f"demo: {exc.strerror or exc}") from None
    except DemoSetupError as exc:  # a local server that could not start, said in one line
        raise UsageError(f"demo: {exc}") from None
    return 0
