"""Privacy and text safety over HTTP: recipient and message look-ups answer only the asker and show full addresses
only to SESBOT_PII_USERS; text from users and events (campaign names, bounce diagnostics) cannot ping or forge
links; the command text is fuzzed and always gets a friendly reply, never a traceback."""

from __future__ import annotations

import copy
import json
import re
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.simulate import simulate
from tests.slack_env import SlackEnv
from tests.test_slack_app import blocks_valid

INJECTION = "<!channel> <@U123> <http://x|y> <!subteam^S1>"
RAW_MARKUP = re.compile(r"<[!@#]|<https?:|<mailto:")


def without_button_values(data: Any) -> Any:
    """Button `value`s are data for our own handlers, never displayed: they keep the raw campaign name."""
    if isinstance(data, dict):
        return {k: without_button_values(v) for k, v in data.items() if not (k == "value" and "action_id" in data)}
    if isinstance(data, list):
        return [without_button_values(v) for v in data]
    return data


def everything_sent(env: SlackEnv) -> str:
    """Every text and block the app sent to Slack, as one string (JSON, so escapes stay visible)."""
    sent = [c.args for c in env.api.calls if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral",
                                                          "response_url", "files.completeUploadExternal")]
    return json.dumps(without_button_values(sent))


def with_diagnostic(events: list[dict[str, Any]], diagnostic: str) -> tuple[list[dict[str, Any]], str]:
    """The campaign's events with every bounce and delay diagnostic replaced; returns the first such address."""
    events = copy.deepcopy(events)
    first = None
    where = {"Bounce": ("bounce", "bouncedRecipients"), "DeliveryDelay": ("deliveryDelay", "delayedRecipients")}
    for event in events:
        if event.get("eventType") in where:
            part, recipients = where[event["eventType"]]
            for rcpt in event[part][recipients]:
                rcpt["diagnosticCode"] = diagnostic.replace("ADDRESS", rcpt["emailAddress"])
                first = first or rcpt["emailAddress"]
    assert first is not None
    return events, first


def test_recipient_lookup_is_ephemeral_and_masked_unless_pii(slack_env: Any) -> None:
    env: SlackEnv = slack_env(pii_users=("U0PII",))
    sim = simulate("healthy", recipients=200, campaign="spring-sendout-001")
    events, address = with_diagnostic(sim.events, f"smtp; 550 5.1.1 {INJECTION} <ADDRESS>: unknown user")
    env.ingest(events)
    env.set_now(sim.now)

    env.command(f"recipient {address}", user_id="U0NOBODY")
    [masked] = env.api.wait_for("response_url")
    env.command(f"recipient <mailto:{address}|{address}>", user_id="U0PII")  # as Slack sends it when it escapes
    full = env.api.wait_for("response_url", 2)[1]
    for reply in (masked, full):
        assert reply.args["response_type"] == "ephemeral"
        blocks_valid(reply.args["blocks"])
    masked_text, full_text = json.dumps(masked.args), json.dumps(full.args)
    local, domain = address.split("@")
    assert address not in masked_text and f"{local[0]}***@{domain}" in masked_text
    assert address in full_text and "***" not in full_text
    for text in (masked_text, full_text):
        assert not RAW_MARKUP.search(text), text
        assert "&lt;!channel&gt;" in text and "&lt;@U123&gt;" in text and "&lt;http://x|y&gt;" in text


def test_message_lookup_masks_every_recipient(slack_env: Any) -> None:
    env: SlackEnv = slack_env(pii_users=("S0PRIV",))
    env.api.usergroups["S0PRIV"] = ["U0INGROUP"]
    sim = simulate("healthy", recipients=40, campaign="spring-sendout-001")
    env.ingest(sim.events)
    event = sim.events[0]
    message_id, address = event["mail"]["messageId"], event["mail"]["destination"][0]
    env.command(f"message {message_id}", user_id="U0NOBODY")
    env.command(f"message {message_id}", user_id="U0INGROUP")
    first, second = env.api.wait_for("response_url", 2)
    texts = {json.dumps(r.args) for r in (first, second)}
    assert len([t for t in texts if address in t]) == 1  # only the group member sees the address
    assert any("***@" in t for t in texts)
    assert all(r.args["response_type"] == "ephemeral" for r in (first, second))


def test_unknown_recipient_and_message_are_one_line(slack_env: Any) -> None:
    env: SlackEnv = slack_env()
    env.command("recipient nobody@example.net")
    env.command("message 0100018c00000000-00000000-0000-0000-0000-000000000000-000000")
    env.command("recipient not-an-address")
    replies = [r.args["text"] for r in env.api.wait_for("response_url", 3)]
    assert any(t == "No messages to n***@example.net within retention." for t in replies)
    assert any(t.startswith("No message 0100018c") for t in replies)
    assert any("is not an email address" in t for t in replies)


def test_mentions_in_campaign_names_are_escaped_everywhere(slack_env: Any) -> None:
    env: SlackEnv = slack_env()
    evil = "spring<!channel><@U123><http://x|y>"
    sim = simulate("mixed", recipients=150, campaign=evil)
    events, delayed = with_diagnostic(sim.events, f"smtp; 451 {INJECTION}")
    env.ingest(events)
    env.set_now(sim.now)
    env.command("campaigns")
    env.command(f"why {evil}")
    env.api.wait_for("files.completeUploadExternal")
    env.command(f"why {evil}x")  # unknown: close matches quote the name
    env.command(f"recipient {delayed}")  # the delay diagnostic
    replies = env.api.wait_for("response_url", 3)
    assert "&lt;!subteam^S1&gt;" in json.dumps([r.args for r in replies])
    sent = everything_sent(env)
    leaks = [sent[max(0, m.start() - 120):m.end() + 20] for m in RAW_MARKUP.finditer(sent)]
    assert not leaks, leaks
    assert "spring&lt;!channel&gt;&lt;@U123&gt;&lt;http://x|y&gt;" in sent


COMMAND_TEXT = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=string.printable, max_size=600),
    st.builds(lambda w, rest: f"{w} {rest}", st.sampled_from(
        ["why", "WHY", "campaigns", "recipient", "message", "suppression", "routing", "domains", "auth", "account",
         "help", "why campaign"]), st.text(max_size=60)),
)


def test_fuzzed_command_text_always_gets_a_friendly_reply(slack_env: Any) -> None:
    """One app for every example; nothing ingested, so each command is a usage line, a not-found line, the help
    text, or a step saying what it could not check, and never an unexpected error."""
    env: SlackEnv = slack_env()

    @settings(max_examples=40, deadline=None)
    @given(text=COMMAND_TEXT)
    def replies_friendly(text: str) -> None:
        before = len(env.api.calls_to("response_url"))
        posted_before = len(env.api.calls_to("chat.postMessage"))
        assert env.command(text).status == 200
        answer = env.api.wait_for("response_url", before + 1)[before]
        shown = json.dumps(answer.args)
        assert "Traceback" not in shown and "Something went wrong" not in shown, shown
        assert not RAW_MARKUP.search(shown), shown
        if "blocks" in answer.args:
            blocks_valid(answer.args["blocks"])
        assert len(env.api.calls_to("chat.postMessage")) == posted_before  # nothing matched a campaign

    replies_friendly()
