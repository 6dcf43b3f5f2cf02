"""How every `/ses <word>` subcommand is wired: acknowledge at once, then, on the app's workers, check the channel
and answer.

A subcommand module writes only its answer, `answer(command, respond, client, deps)`, and registers it with
`register_subcommand(app, Subcommand.X, answer)`: no subcommand can answer before `ack()` or skip the
SESBOT_SLACK_CHANNELS check, and its errors reach the one error handler (handlers.background.after_ack).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.command import subcommand_is
from handlers.ids import COMMAND, Subcommand

Respond = Callable[..., Any]
Answer = Callable[[dict[str, Any], Respond, Any, SlackDeps], None]


def answer_in_allowed_channel(answer: Answer, command: dict[str, Any], respond: Respond, client: Any,
                              deps: SlackDeps) -> None:
    deps.access.require_channel(command.get("channel_id"), command.get("channel_name"))
    answer(command, respond, client, deps)


def register_subcommand(app: Any, sub: Subcommand, answer: Answer) -> None:
    """Bolt's listener for `/ses <sub>`; Bolt passes the arguments it names (ack, body, command, respond, client,
    and deps from the context)."""

    def listener(ack: Callable[..., Any], body: dict[str, Any], command: dict[str, Any], respond: Respond,
                 client: Any, deps: SlackDeps) -> None:
        ack()
        after_ack(deps, body, respond, lambda: answer_in_allowed_channel(answer, command, respond, client, deps))

    listener.__name__ = listener.__qualname__ = f"ses_{sub}"
    app.command(COMMAND, matchers=[subcommand_is(sub)])(listener)
