"""`/ses suppression <campaign|email>`: the engine's `suppression` step for a campaign (in the channel), or for
one address (`Investigator.suppression_for_address`, as `sesbot suppression EMAIL`), answered only to the asker
with the full address only for SESBOT_PII_USERS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.command import one_argument
from handlers.ids import Subcommand
from handlers.single_step import answer_step, run_campaign_step
from handlers.subcommand import register_subcommand
from handlers.text import mask_email


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    subject = one_argument(command, "campaign|email", "spring-sendout-042").strip()
    if "@" not in subject:
        answer_step(respond, "suppression", run_campaign_step(deps, "suppression", subject), subject,
                    in_channel=True)
        return
    sees = deps.access.sees_addresses(command.get("user_id"), client)
    result, _seconds = deps.investigator().suppression_for_address(subject, deps.clock_ms())
    address = subject.lower() if sees else mask_email(subject.lower())
    answer_step(respond, "suppression", result.to_dict(), address, in_channel=False, show_addresses=sees)


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.SUPPRESSION, answer)
