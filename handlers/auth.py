"""`/ses auth <domain>`: SPF, Easy DKIM, DMARC and custom MAIL FROM of a sending domain (checks.authentication,
the check the engine's `authentication` step runs, with the SES identity's DKIM tokens when AWS is configured)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bot.aws import AwsError
from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from checks.authentication import check_authentication
from checks.findings import StepResult
from handlers.background import after_ack
from handlers.command import one_argument, subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.single_step import answer_step

DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def authentication_of(deps: SlackDeps, domain: str) -> StepResult:
    inv = deps.investigator()
    if inv.resolver is None:
        return StepResult.skipped("authentication", f"{inv.dns_problem}: SPF, DKIM and DMARC not checked.")
    identity, problem = None, None
    if inv.ses is not None:
        try:
            identity = inv.ses.identity(domain)
        except AwsError as exc:
            problem = exc.reason
    tokens = identity.get("dkim_tokens") if identity and identity.get("dkim_origin") != "EXTERNAL" else None
    result = check_authentication(domain, inv.resolver, dkim_tokens=tokens or None,
                                  mail_from_domain=identity.get("mail_from_domain") if identity else None,
                                  region=(inv.ses.region if inv.ses is not None else None) or "us-east-1")
    if problem:
        return StepResult(result.step, result.status, f"{result.summary} (SES identity not read: {problem})",
                          result.findings, result.data)
    return result


def auth(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Callable[..., Any],
         deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    domain = one_argument(command, "domain", "example.com").strip().lower().rstrip(".")
    domain = domain.removeprefix("http://").removeprefix("https://").split("/")[0]
    if not DOMAIN.fullmatch(domain):
        raise UsageError(f"{domain[:80]} is not a domain name. Usage: {COMMAND} auth <domain>, e.g. "
                         f"{COMMAND} auth example.com")
    answer_step(respond, "authentication", authentication_of(deps, domain).to_dict(), domain, in_channel=True)


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.AUTH)])(auth)
