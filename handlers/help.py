"""`/ses help`, and every text no other subcommand matched (registered last)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from handlers.command import parse
from handlers.ids import COMMAND, Subcommand
from handlers.render import as_dicts, help_blocks, help_text
from handlers.text import code


def show_help(ack: Callable[..., Any], command: dict[str, Any], respond: Callable[..., Any]) -> None:
    ack()
    word = parse(command.get("text")).word
    intro = None
    if word and word != Subcommand.HELP:
        intro = f"I don't know {code(word[:60])}."
    respond(response_type="ephemeral", text=help_text(intro), blocks=as_dicts(help_blocks(intro)))


def register(app: Any) -> None:
    app.command(COMMAND)(show_help)
