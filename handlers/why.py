"""`/ses why <campaign>` (also `/ses why campaign <name>`) and the "Re-run" button.

Ack at once; post "Investigating <campaign>…" and edit it as each step finishes; then the verdict in Block Kit
and the charts in the message's thread. Bolt runs the listener in its thread pool after `ack()` has answered Slack,
so the investigation never holds up the 3-second acknowledgement.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.cli import UsageError
from bot.slack_cache import save_report
from bot.slack_deps import SlackDeps
from checks.send_only import SES_MAX_RETRY_S
from handlers.background import after_ack
from handlers.button import campaign_button
from handlers.campaign_lookup import UnknownCampaign, require_campaign
from handlers.command import MAX_TEXT, parse
from handlers.errors import reference, unexpected_text
from handlers.ids import COMMAND, Action, Subcommand
from handlers.render import as_dicts, context, progress_blocks, progress_text, verdict_blocks, verdict_text
from handlers.subcommand import register_subcommand
from handlers.text import escape

log = logging.getLogger(__name__)

CANNOT_POST = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def steps() -> tuple[str, ...]:
    from bot.investigate import STEPS

    return tuple(STEPS)


def campaign_argument(command: Mapping[str, Any]) -> str:
    text = command.get("text") or ""
    parsed = parse(text)
    if len(text) > MAX_TEXT or not parsed.args:
        raise UsageError(f"Usage: {COMMAND} why <campaign>, e.g. {COMMAND} why spring-sendout-042")
    return parsed.rest


class Progress:
    """The "Investigating…" message, edited as steps finish and finally replaced by the verdict.

    `on_step` (called by the engine as each step finishes, on its own thread) only records the result: one editor
    thread sends the edits, each with every step finished so far, so a slow or rate-limited Slack never holds up
    the investigation; steps that finish while an edit is on its way are sent together in the next one.
    """

    def __init__(self, client: Any, channel: str, ts: str, campaign: str, step_names: tuple[str, ...]) -> None:
        self.client, self.channel, self.ts, self.campaign = client, channel, ts, campaign
        self.step_names = step_names
        self.done: dict[str, dict[str, Any]] = {}
        self._changed = threading.Condition()
        self._version = 0
        self._closed = False
        self._editor = threading.Thread(target=self._edit_loop, name=f"progress-{ts}", daemon=True)
        self._editor.start()

    def on_step(self, name: str, result: Any) -> None:
        with self._changed:
            self.done[name] = result.to_dict() if hasattr(result, "to_dict") else dict(result)
            self._version += 1
            self._changed.notify()

    def finish(self, text: str, blocks: list[Any]) -> None:
        """Stop the progress edits (the last one in flight completes first), then show `blocks`."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        self._editor.join(timeout=60)
        self._update(text, blocks, required=True)

    def _edit_loop(self) -> None:
        sent = 0
        while True:
            with self._changed:
                while self._version == sent and not self._closed:
                    self._changed.wait()
                if self._closed:
                    return
                sent, done = self._version, dict(self.done)
            self._update(progress_text(self.campaign), progress_blocks(self.campaign, self.step_names, done))

    def _update(self, text: str, blocks: list[Any], required: bool = False) -> None:
        try:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text, blocks=as_dicts(blocks))
        except (SlackApiError, SlackClientError, OSError) as exc:
            if required:
                raise
            log.warning("could not edit the progress of %s: %s", self.campaign, exc)


def post_progress(client: Any, channel: str, campaign: str, step_names: tuple[str, ...],
                  thread_ts: str | None = None) -> Progress:
    try:
        posted = client.chat_postMessage(channel=channel, text=progress_text(campaign), thread_ts=thread_ts,
                                         blocks=as_dicts(progress_blocks(campaign, step_names, {})))
    except SlackApiError as exc:
        if exc.response.get("error") in CANNOT_POST:
            raise UsageError("I can't post in this channel. Invite me with /invite @sesbot, or ask in a public "
                             "channel.") from None
        raise
    return Progress(client, posted["channel"], posted["ts"], campaign, step_names)


def run_why(client: Any, deps: SlackDeps, channel: str, campaign: str, *, thread_ts: str | None = None) -> None:
    """The whole answer: progress message (in `thread_ts`'s thread when given), investigation, verdict, cached
    report, charts in the answer's thread. Also used by the alert's "Investigate" button."""
    from bot.investigate import CampaignNotFound

    campaign = require_campaign(deps.store, campaign)
    step_names = steps()
    progress = post_progress(client, channel, campaign, step_names, thread_ts=thread_ts)
    try:
        inv = deps.investigator().investigate(campaign, deps.clock_ms(), on_step=progress.on_step)
    except CampaignNotFound as exc:
        progress.finish(f"Unknown campaign {escape(campaign)}", [context(f"Unknown campaign `{escape(campaign)}`.")])
        raise UnknownCampaign(exc.campaign, list(exc.close_matches)) from None
    except Exception as exc:
        progress.finish("The investigation failed", [context(unexpected_text(reference(exc)))])
        raise
    report = inv.to_json()
    summary = inv.summary
    blocks = verdict_blocks(report, steps=step_names, delivery_window_s=deps.settings.delivery_window_s,
                            first_send_ms=summary.first_send_ms, last_send_ms=summary.last_send_ms)
    progress.finish(verdict_text(report), blocks)
    save_report(deps.store, progress.channel, progress.ts, report)
    upload_charts(client, deps, inv, report, progress.channel, thread_ts or progress.ts)  # a thread's parent


def retry_deadline_of(report: Mapping[str, Any]) -> int:
    """The engine's retry deadline (the configuration sets' MaxDeliverySeconds), SES's 14 h when unknown."""
    account = (report.get("steps") or {}).get("account") or {}
    deadline = report.get("retry_deadline_s") or (account.get("data") or {}).get("retry_deadline_s")
    return int(deadline) if isinstance(deadline, int | float) and deadline > 0 else SES_MAX_RETRY_S


def upload_charts(client: Any, deps: SlackDeps, inv: Any, report: Mapping[str, Any], channel: str,
                  thread_ts: str) -> None:
    """Charts are a bonus: a failure is logged with a reference and said in the thread, the verdict stands."""
    try:
        charts = deps.render_charts(inv, deps.settings.delivery_window_s, retry_deadline_of(report))
        if not charts:
            return
        uploads = [{"content": data, "filename": name, "title": name.rsplit(".", 1)[0].replace("_", " ")}
                   for name, data in charts.items()]
        client.files_upload_v2(channel=channel, thread_ts=thread_ts, file_uploads=uploads,
                               initial_comment=f"Charts for {escape(report.get('campaign', ''))}")
    except Exception as exc:
        ref = reference(exc)
        log.error("could not draw or upload the charts (ref %s)", ref, exc_info=exc)
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts,
                                    text=f"The charts could not be drawn or uploaded (reference `{ref}`).")
        except (SlackApiError, SlackClientError, OSError):
            log.warning("could not say that the charts failed (ref %s)", ref)


def answer(command: dict[str, Any], respond: Callable[..., Any], client: Any, deps: SlackDeps) -> None:
    run_why(client, deps, command["channel_id"], campaign_argument(command))


def rerun(ack: Callable[..., Any], body: dict[str, Any], action: dict[str, Any], respond: Callable[..., Any],
          client: Any, deps: SlackDeps) -> None:
    ack()
    after_ack(deps, body, respond, lambda: answer_rerun(body, action, client, deps))


def answer_rerun(body: dict[str, Any], action: dict[str, Any], client: Any, deps: SlackDeps) -> None:
    channel, campaign = campaign_button(body, action, deps)
    run_why(client, deps, channel, campaign)


def register(app: Any) -> None:
    register_subcommand(app, Subcommand.WHY, answer)
    app.action(Action.RERUN)(rerun)
