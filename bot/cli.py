"""The sesbot command line (DESIGN §5): the same engine as Slack, as text or --json."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import orjson
import redis

from bot.settings import ConfigError, Settings

log = logging.getLogger("sesbot")

EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFIG, EXIT_UNAVAILABLE = 2, 1, 2, 3


class UsageError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""


class NotFound(Exception):
    """An unknown campaign, message or recipient: one line on stderr, exit 1."""


def _version() -> str:
    try:
        return version("sesbot")
    except PackageNotFoundError:
        return "0+unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sesbot", description="Why are my SES recipients stuck in Send?")
    parser.add_argument("--version", action="version", version=f"sesbot {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def report(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output (keys in the README)")
        p.add_argument("--now", metavar="ISO-8601", help="evaluate ages as of this time (default: now)")
        return p

    p = sub.add_parser("ingest", help="read SES events from files, folders or s3://bucket/prefix")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".json, .jsonl/.ndjson, .gz, folders, s3://..., -")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress on stderr (default: on a terminal, for inputs over 5 MB)")
    report("campaigns", "campaigns with their recipients per state and Send-only figures")
    report("message", "one message and its recipients").add_argument("message_id", metavar="MESSAGE_ID")
    report("recipient", "every message to one address").add_argument("email", metavar="EMAIL")
    sub.add_parser("serve", help="run the web app: /slack/events, /sns, /healthz, /metrics (PORT)")
    sub.add_parser("worker", help="consume SES events from SQS (SESBOT_SQS_QUEUE_URL)")
    for _name, extra in _EXTENSIONS:
        extra(sub, report)
    return parser


# Commands added by later modules register here: (name, add_parser(sub, report_factory)).
_EXTENSIONS: list[tuple[str, Callable[[Any, Callable[[str, str], argparse.ArgumentParser]], None]]] = []
_HANDLERS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {}


def extend_parser(
    name: str,
) -> Callable[[Callable[[Any, Callable[[str, str], argparse.ArgumentParser]], None]], Any]:
    """Register `add(sub, report)` that adds the sub-parser of command `name` (report() adds --json and --now)."""

    def register(add: Callable[[Any, Callable[[str, str], argparse.ArgumentParser]], None]) -> Any:
        _EXTENSIONS.append((name, add))
        return add

    return register


def command(name: str) -> Callable[[Callable[[argparse.Namespace, Settings], int]], Any]:
    def register(fn: Callable[[argparse.Namespace, Settings], int]) -> Callable[[argparse.Namespace, Settings], int]:
        _HANDLERS[name] = fn
        return fn

    return register


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


def run(argv: list[str]) -> int:
    _load_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:  # the SDK's INFO lines ("Found credentials in environment variables") are noise here
        for noisy in ("botocore", "boto3", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        settings = Settings.from_env()
        return _HANDLERS[args.command](args, settings)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"sesbot: configuration: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except UsageError as exc:
        print(f"sesbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NotFound as exc:
        print(f"sesbot: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.InvalidResponse) as exc:
        from bot.redis_conn import redacted

        print(f"sesbot: Redis at {redacted(settings.redis_url)} is unreachable ({exc})", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print("sesbot: interrupted", file=sys.stderr)
        return 130


# Modules that register commands (and their parsers, through _EXTENSIONS) when imported. Each keeps heavy imports
# (matplotlib, boto3 clients) inside its handlers, so `sesbot --help` stays instant.
COMMAND_MODULES: tuple[str, ...] = ("bot.commands", "bot.commands_alerts", "bot.commands_investigate",
                                    "bot.commands_demo", "bot.commands_rebuild")


def _load_commands() -> None:
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name)
