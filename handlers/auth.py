"""`/ses auth <domain>`: SPF, Easy DKIM, DMARC and custom MAIL FROM of a sending domain (the engine's
`authentication` step, `Investigator.authentication_for`, as `sesbot auth`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.command import one_argument
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step
from handlers.subcommand import register_subcommand

DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def domain_argument(command: dict[str, Any]) -> str:
    domain = one_argument(command, "domain", "example.com").strip().lower().rstrip(".")
    domain = domain.removeprefix("http://").removeprefix("https://").split("/")[0].rpartition("@")[2]
    if not DOMAIN.fullmatch(domain):
        raise UsageError(f"{domain[:80]} is not a domain name. Usage: {COMMAND} auth <domain>, e.g. "
                         f"{COMMAND} auth example.com")
    return domain


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    domain = domain_argument(command)
    result, _seconds = deps.investigator().authentication_for(domain)
    answer_step(respond, "authentication", result.to_dict(), domain, in_channel=True)


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.AUTH, answer)
