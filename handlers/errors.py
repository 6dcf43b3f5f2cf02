"""The one error handler: a user error is shown as its one friendly line; anything else is logged with a short
reference id, and that id is all the user sees (never exception text)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.cli import NotFound, UsageError
from handlers.text import escape

log = logging.getLogger(__name__)

USER_ERRORS: tuple[type[BaseException], ...] = (UsageError, NotFound)


def user_message(error: BaseException) -> str | None:
    """The line to show for a typed user error (escaped), or None for an unexpected one."""
    if isinstance(error, USER_ERRORS):
        # errors built by handlers with escaped parts and links set `mrkdwn_safe`; any other text is escaped here
        return str(error) if getattr(error, "mrkdwn_safe", False) else escape(str(error))
    return None


def reference(error: BaseException) -> str:
    """A short id for an unexpected error, the same wherever it is shown (kept on the exception)."""
    ref = getattr(error, "sesbot_ref", None)
    if ref is None:
        ref = secrets.token_hex(4)
        error.sesbot_ref = ref  # type: ignore[attr-defined]
    return ref


def unexpected_text(ref: str) -> str:
    return (f":warning: Something went wrong on our side (reference `{ref}`). Please try again, or give the "
            "reference to whoever runs sesbot.")


def handle_error(error: BaseException, body: dict[str, Any], respond: Callable[..., Any] | None) -> None:
    text = user_message(error)
    if text is None:
        ref = reference(error)
        kind = body.get("command") or body.get("type") or "request"
        log.error("unexpected error handling %s (ref %s)", kind, ref, exc_info=error)
        text = unexpected_text(ref)
    else:
        log.info("user error: %s", error)
    if respond is None:
        return
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not tell the user about an error: %s", exc)


def register(app: Any) -> None:
    app.error(handle_error)
