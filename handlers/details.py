"""The "Details" buttons of a `/ses why` answer: one step in full, answered only to the user who clicked.

The report comes from the cache kept when the answer was posted (bot.slack_cache); the value names the step and
the campaign and is checked against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cli import UsageError
from bot.slack_cache import load_report
from bot.slack_deps import SlackDeps
from handlers.background import after_ack
from handlers.button import INVALID, allowed_channel, presser
from handlers.command import MAX_TEXT
from handlers.ids import Action
from handlers.render import as_dicts, domain_lines, step_blocks


def parse_details_value(value: object, known_steps: tuple[str, ...]) -> tuple[str, str]:
    if not isinstance(value, str) or len(value) > MAX_TEXT or "|" not in value:
        raise UsageError(INVALID)
    step, _, campaign = value.partition("|")
    if step not in known_steps or not campaign:
        raise UsageError(INVALID)
    return step, campaign


def step_details(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], client: Any,
                 respond: Callable[..., Any], deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer(body, action, client, respond, deps))


def answer(body: dict[str, Any], action: dict[str, Any], client: Any, respond: Callable[..., Any],
           deps: SlackDeps) -> None:
    from bot.investigate import STEPS

    channel = allowed_channel(body, deps)
    step, campaign = parse_details_value(action.get("value"), tuple(STEPS))
    ts = (body.get("container") or {}).get("message_ts") or (body.get("message") or {}).get("ts")
    report = load_report(deps.store, channel, ts) if channel and ts else None
    if report is None or report.get("campaign") != campaign:
        raise UsageError("These details have expired. Press Re-run, or ask again with /ses why <campaign>.")
    result = (report.get("steps") or {}).get(step)
    if not isinstance(result, dict):
        raise UsageError(INVALID)
    sees = deps.access.sees_addresses(presser(body), client)
    extra = domain_lines(result.get("data") or {}) if step == "domains" else []
    respond(response_type="ephemeral", replace_original=False, text=f"{step}: {result.get('status')}",
            blocks=as_dicts(step_blocks(step, result, campaign, show_addresses=sees, extra_lines=extra)))


def register(app: Any) -> None:
    app.action(Action.STEP_DETAILS)(step_details)
