"""`/ses suppression <campaign|email>`: the engine's `suppression` step for a campaign, or whether one address is
on the account suppression list (answered only to the asker; the full address only for SESBOT_PII_USERS)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.aws import AwsError
from bot.cli import UsageError
from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import one_argument, subcommand_is
from handlers.ids import COMMAND, Subcommand
from handlers.render import section, shown, when
from handlers.single_step import answer_step, run_campaign_step
from handlers.text import escape


def suppression(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any],
                respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(command, respond, client, deps))


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    subject = one_argument(command, "campaign|email", "spring-sendout-042")
    if "@" not in subject:
        answer_step(respond, "suppression", run_campaign_step(deps, "suppression", subject), subject,
                    in_channel=True)
        return
    sees = deps.access.sees_addresses(command.get("user_id"), client)
    ses = deps.investigator().ses
    if ses is None:
        raise UsageError("AWS is not configured for sesbot (AWS_REGION and credentials), so the suppression list "
                         "cannot be read.")
    try:
        entry = ses.suppressed_destination(subject)
    except AwsError as exc:
        raise UsageError(f"Could not read the suppression list: {exc.reason}") from None
    address = shown(subject.strip().lower(), sees)
    if entry is None:
        text = f":white_check_mark: {address} is not on the account suppression list."
    else:
        text = (f":no_entry: {address} is on the account suppression list: *{escape(entry['reason'])}* since "
                f"{when(str(entry['last_update']))}. SES will not send to it until it is removed "
                "(`aws sesv2 delete-suppressed-destination`).")
    respond(response_type="ephemeral", text=text, blocks=[section(text).to_dict()])


def register(app: Any) -> None:
    app.command(COMMAND, matchers=[subcommand_is(Subcommand.SUPPRESSION)])(suppression)
