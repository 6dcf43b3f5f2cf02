"""`/ses why` end to end over HTTP: signed slash command -> ack -> progress edits -> verdict -> charts in the thread,
then the buttons (Details, CSV, Re-run) as signed block actions. Real web app, Bolt app, Redis and engine."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from typing import Any

import pytest

from bot.simulate import simulate
from handlers.ids import Action
from tests.slack_api import SlackCall
from tests.slack_env import CHANNEL, SlackEnv
from tests.test_slack_app import blocks_valid

CAMPAIGN = "winback-reactivation-007"


def ready(slack_env: Any, scenario: str = "suppression_no_bounce_events", recipients: int = 120,
          campaign: str = CAMPAIGN, **overrides: Any) -> SlackEnv:
    env: SlackEnv = slack_env(**overrides)
    sim = simulate(scenario, recipients=recipients, campaign=campaign)
    env.ingest(sim.events)
    env.set_now(sim.now)
    return env


def progress_counts(updates: list[SlackCall]) -> list[int]:
    counts = []
    for call in updates:
        match = re.search(r"(\d+) of (\d+) steps done", str(call.args["blocks"]))
        if match:
            counts.append(int(match.group(1)))
    return counts


def verdict_ts(env: SlackEnv) -> str:
    """The ts of the first message the app posted (its `/ses why` answer)."""
    return next(iter(env.api.messages))[1]


def run_why(env: SlackEnv, text: str = f"why {CAMPAIGN}") -> tuple[SlackCall, list[SlackCall]]:
    assert env.command(text).status == 200
    env.api.wait_for("files.completeUploadExternal")
    [posted] = env.api.calls_to("chat.postMessage")
    return posted, env.api.calls_to("chat.update")


def pace_steps(env: SlackEnv) -> None:
    """Wrap the real engine so each finished step is reported only once the previous progress edit reached
    Slack: every step then gets its own edit (without pacing, steps finishing together share one)."""
    real_factory = env.deps.investigator_factory
    assert real_factory is not None

    class Paced:
        def __init__(self) -> None:
            self.inner = real_factory()

        def investigate(self, campaign: str, now_ms: int, on_step: Any = None) -> Any:
            reported = 0

            def paced(name: str, result: Any) -> None:
                nonlocal reported
                on_step(name, result)
                reported += 1
                env.api.wait_for("chat.update", reported)

            return self.inner.investigate(campaign, now_ms, on_step=paced)

    env.deps.investigator_factory = Paced  # type: ignore[assignment]


def test_why_posts_progress_then_verdict_then_charts_in_the_thread(slack_env: Any) -> None:
    env = ready(slack_env)
    pace_steps(env)
    posted, updates = run_why(env)
    assert posted.args["channel"] == CHANNEL
    assert posted.args["text"] == f"Investigating {CAMPAIGN}…"
    blocks_valid(posted.args["blocks"])
    ts = verdict_ts(env)

    # one progress edit per step, each with one more step done, then the verdict
    assert progress_counts(updates[:-1]) == list(range(1, 8))
    verdict = updates[-1]
    assert all(u.args["ts"] == ts for u in updates)
    for update in updates:
        blocks_valid(update.args["blocks"])
    assert verdict.args["blocks"][0]["type"] == "header"
    assert CAMPAIGN in verdict.args["blocks"][0]["text"]["text"]
    text = str(verdict.args["blocks"])
    assert "score" in text and "Send-only" in text and "Sends " in text  # causes, figures, the time window
    action_ids = [e["action_id"] for b in verdict.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {Action.SEND_ONLY_CSV, Action.RERUN, Action.STEP_DETAILS} <= set(action_ids)

    # charts: files_upload_v2's three calls, into the answer's thread
    methods = env.api.methods()
    first_upload = methods.index("files.getUploadURLExternal")
    assert methods[first_upload:].count("upload") >= 1
    uploaded = env.api.uploaded()
    assert uploaded and all(u["thread_ts"] == ts and u["channel"] == CHANNEL for u in uploaded)
    assert all(u["data"].startswith(b"\x89PNG") for u in uploaded)


def test_ack_does_not_wait_for_the_investigation(slack_env: Any) -> None:
    env = ready(slack_env)
    release = threading.Event()
    real_factory = env.deps.investigator_factory
    assert real_factory is not None

    class Gated:
        def __init__(self) -> None:
            self.inner = real_factory()

        def investigate(self, *args: Any, **kwargs: Any) -> Any:
            assert release.wait(60), "the test never released the investigation"
            return self.inner.investigate(*args, **kwargs)

    env.deps.investigator_factory = Gated  # type: ignore[assignment]
    reply = env.command(f"why {CAMPAIGN}")
    # the HTTP answer came back while the investigation is still held: ack() answered Slack first
    assert reply.status == 200
    assert env.api.calls_to("chat.update") == []
    release.set()
    env.api.wait_for("files.completeUploadExternal")
    assert env.api.calls_to("chat.update")[-1].args["blocks"][0]["type"] == "header"  # the verdict came after


def test_why_campaign_words_and_unknown_campaign_close_matches(slack_env: Any) -> None:
    env = ready(slack_env)
    run_why(env, f"why campaign {CAMPAIGN}")
    assert env.command("why winback-reactivation-00").status == 200
    [reply] = env.api.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert "Unknown campaign `winback-reactivation-00`" in reply.args["text"]
    assert f"`{CAMPAIGN}`" in reply.args["text"]
    assert len(env.api.calls_to("chat.postMessage")) == 1  # nothing posted for the unknown one


def test_why_without_campaign_is_a_usage_line(slack_env: Any) -> None:
    env = ready(slack_env)
    env.command("why")
    [reply] = env.api.wait_for("response_url")
    assert reply.args["text"].startswith("Usage: /ses why <campaign>") is False  # escaped
    assert reply.args["text"].startswith("Usage: /ses why &lt;campaign&gt;")


def test_rate_limited_post_is_retried_once_without_duplicate(slack_env: Any) -> None:
    env = ready(slack_env)
    env.api.fail_next("chat.postMessage", retry_after=1)
    env.api.fail_next("chat.update", retry_after=1)
    run_why(env)
    posts = [c.status for c in env.api.calls if c.method == "chat.postMessage"]
    assert posts == [429, 200]
    assert len([k for k in env.api.messages if k[0] == CHANNEL]) == 1
    updates = [c for c in env.api.calls if c.method == "chat.update"]
    assert [c.status for c in updates].count(429) == 1
    assert updates[-1].status == 200 and updates[-1].args["blocks"][0]["type"] == "header"
    assert next(c.args for c in updates if c.status == 429) in [c.args for c in updates if c.status == 200]




def test_details_button_shows_one_step_ephemerally(slack_env: Any) -> None:
    env = ready(slack_env)
    run_why(env)
    ts = verdict_ts(env)
    assert env.action(Action.STEP_DETAILS, f"domains|{CAMPAIGN}", message_ts=ts).status == 200
    [reply] = env.api.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral" and reply.args["replace_original"] is False
    blocks_valid(reply.args["blocks"])
    assert "Recipient domains" in str(reply.args["blocks"])


@pytest.mark.parametrize("value", ["nosuchstep|" + CAMPAIGN, "domains|other-campaign", "garbage", "|", "x" * 3000])
def test_forged_details_values_get_a_friendly_line(slack_env: Any, value: str) -> None:
    env = ready(slack_env)
    run_why(env)
    env.action(Action.STEP_DETAILS, value, message_ts=verdict_ts(env))
    [reply] = env.api.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert "not valid any more" in reply.args["text"] or "expired" in reply.args["text"]
    assert "Traceback" not in reply.args["text"] and "reference" not in reply.args["text"]


def csv_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_csv_is_masked_unless_the_clicking_user_may_see_addresses(slack_env: Any) -> None:
    env = ready(slack_env, pii_users=("U0PII", "S0PRIVACY"))
    env.api.usergroups["S0PRIVACY"] = ["U0INGROUP"]
    run_why(env)
    ts = verdict_ts(env)
    before = len(env.api.calls_to("files.completeUploadExternal"))

    env.action(Action.SEND_ONLY_CSV, CAMPAIGN, message_ts=ts, user_id="U0NOBODY")
    env.action(Action.SEND_ONLY_CSV, CAMPAIGN, message_ts=ts, user_id="U0PII")
    env.action(Action.SEND_ONLY_CSV, CAMPAIGN, message_ts=ts, user_id="U0INGROUP")
    env.api.wait_for("files.completeUploadExternal", before + 3)
    csvs = [u for u in env.api.uploaded() if u["filename"].endswith(".csv")]
    assert len(csvs) == 3 and all(u["thread_ts"] == ts for u in csvs)
    by_title = {}
    for upload in csvs:
        by_title.setdefault("masked" in upload["title"], []).append(csv_rows(upload["data"]))
    [masked] = by_title[True]
    unmasked = by_title[False]
    assert len(unmasked) == 2 and unmasked[0] == unmasked[1]
    assert masked and len(masked) == len(unmasked[0])
    assert all(re.fullmatch(r".\*\*\*@.+", row["recipient"]) for row in masked)
    assert all("***" not in row["recipient"] and "@" in row["recipient"] for row in unmasked[0])
    assert [r["domain"] for r in masked] == [r["domain"] for r in unmasked[0]]
    assert env.api.calls_to("usergroups.users.list")  # the group was resolved through the Web API


def test_rerun_posts_a_fresh_answer(slack_env: Any) -> None:
    env = ready(slack_env)
    run_why(env)
    env.action(Action.RERUN, CAMPAIGN, message_ts=verdict_ts(env))
    env.api.wait_for("files.completeUploadExternal", 2)
    assert len(env.api.calls_to("chat.postMessage")) == 2
    env.action(Action.RERUN, "no-such-campaign", message_ts=verdict_ts(env))
    [reply] = env.api.wait_for("response_url")
    assert "Unknown campaign" in reply.args["text"]


def test_unexpected_error_shows_only_a_reference_that_is_in_the_log(slack_env: Any,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    env = ready(slack_env)

    class Broken:
        def investigate(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals: redis://user:pw@host")

    env.deps.investigator_factory = Broken  # type: ignore[assignment]
    env.command(f"why {CAMPAIGN}")
    [reply] = env.api.wait_for("response_url")
    ref = re.search(r"reference `([0-9a-f]{8})`", reply.args["text"])
    assert ref, reply.args
    assert "secret internals" not in json.dumps(env.api.calls[-1].args) and "RuntimeError" not in reply.args["text"]
    failed = env.api.calls_to("chat.update")[-1]  # the progress message says so, with the same reference
    assert ref.group(1) in json.dumps(failed.args["blocks"])
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and "secret internals" in str(logged[0].exc_info[1])


def test_chart_failure_is_said_in_the_thread_and_the_verdict_stands(slack_env: Any) -> None:
    env = ready(slack_env)

    def broken_charts(*args: Any) -> dict[str, bytes]:
        raise ValueError("matplotlib exploded")

    env.deps.chart_renderer = broken_charts
    env.command(f"why {CAMPAIGN}")
    notes = env.api.wait_for("chat.postMessage", 2)
    assert notes[1].args["thread_ts"] == verdict_ts(env)
    assert re.search(r"could not be drawn or uploaded \(reference `[0-9a-f]{8}`\)", notes[1].args["text"])
    assert "matplotlib" not in notes[1].args["text"]
    assert env.api.calls_to("chat.update")[-1].args["blocks"][0]["type"] == "header"
    assert env.api.calls_to("files.completeUploadExternal") == []


def test_why_where_the_bot_cannot_post_says_how_to_invite_it(slack_env: Any) -> None:
    env = ready(slack_env)
    env.api.private_channels.add(CHANNEL)
    env.command(f"why {CAMPAIGN}")
    [reply] = env.api.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert reply.args["text"].startswith("I can't post in this channel. Invite me with /invite @sesbot")
