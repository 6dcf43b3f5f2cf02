"""The text after `/ses`: which subcommand and its arguments; the matcher each subcommand registers with."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.cli import UsageError
from handlers.ids import COMMAND, Subcommand

SLACK_LINK = re.compile(r"<(mailto:)?([^|<>]+)(?:\|([^<>]*))?>")
MAX_TEXT = 500  # longer command text is refused in one line (a campaign name or address is far shorter)


@dataclass(frozen=True)
class CommandText:
    word: str  # the first word, lower-cased ("" when nothing was typed)
    args: tuple[str, ...]

    @property
    def subcommand(self) -> Subcommand | None:
        try:
            return Subcommand(self.word)
        except ValueError:
            return None

    @property
    def rest(self) -> str:
        return " ".join(self.args)


def parse(text: str | None) -> CommandText:
    words = (text or "").split()
    if not words:
        return CommandText("", ())
    word, args = words[0].lower(), tuple(words[1:])
    if word == Subcommand.WHY and len(args) > 1 and args[0].lower() == "campaign":
        args = args[1:]  # "/ses why campaign spring-042" in the team's own words
    return CommandText(word, args)


def unwrap_link(arg: str) -> str:
    """`<mailto:jane@x.net|jane@x.net>` or `<http://x|x>` (what Slack sends when it escapes a command's text)
    -> the address itself; anything else unchanged."""
    match = SLACK_LINK.fullmatch(arg)
    if not match:
        return arg
    return match.group(2) if match.group(1) else (match.group(3) or match.group(2))


def subcommand_is(sub: Subcommand) -> Callable[..., bool]:
    """A Bolt matcher: true when the command's first word is `sub`."""

    def matches(command: dict[str, Any]) -> bool:
        return parse(command.get("text")).word == sub

    matches.__name__ = f"subcommand_is_{sub}"
    return matches


def one_argument(command: dict[str, Any], what: str, example: str) -> str:
    """The single argument a subcommand takes, or a usage line naming it."""
    text = command.get("text") or ""
    parsed = parse(text)
    usage = f"Usage: {COMMAND} {parsed.word} <{what}>, e.g. {COMMAND} {parsed.word} {example}"
    if len(text) > MAX_TEXT:
        raise UsageError(f"That is too long for a {what}. {usage}")
    if len(parsed.args) != 1:
        raise UsageError(usage)
    return unwrap_link(parsed.args[0])


def optional_argument(command: dict[str, Any], what: str, example: str) -> str | None:
    parsed = parse(command.get("text"))
    if not parsed.args:
        return None
    return one_argument(command, what, example)
