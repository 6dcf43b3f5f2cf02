"""`/ses auth <domain>`: SPF, Easy DKIM, DMARC and custom MAIL FROM of a sending domain (the engine's
`authentication` step, `Investigator.authentication_for`, as `sesbot auth`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import one_argument, subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step

DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def domain_argument(command: dict[str, Any]) -> str:
    domain = one_argument(command, "domain", "example.com").strip().lower().rstrip(".")
    domain = domain.removeprefix("http://").removeprefix("https://").split("/")[0].rpartition("@")[2]
    if not DOMAIN.fullmatch(domain):
        raise UsageError(f"{domain[:80]} is not a domain name. Usage: {COMMAND} auth <domain>, e.g. "
                         f"{COMMAND} auth example.com")
    return domain


def auth(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
         deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    domain = domain_argument(command)
    result, _seconds = deps.investigator().authentication_for(domain)
    answer_step(respond, "authentication", result.to_dict(), domain, in_channel=True)


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.AUTH)])(auth)
