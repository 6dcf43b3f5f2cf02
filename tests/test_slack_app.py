"""The Slack app through HTTP: signed slash commands to the real web app, answers checked at the Web API stub."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.settings import ConfigError, Settings
from bot.simulate import simulate
from handlers.ids import Subcommand
from tests.slack_env import SECRET, SlackEnv
from tests.slack_signing import post_signed, signed_headers, slash_command_body


def blocks_valid(blocks: list[dict[str, Any]]) -> None:
    """Parse each block back with slack_sdk's models and validate it (raises on anything Slack would reject)."""
    assert 0 < len(blocks) <= 50
    for raw in blocks:
        block = Block.parse(raw)
        assert block is not None, raw
        block.validate_json()


def test_help_and_unknown_words(slack_env: Any) -> None:
    env: SlackEnv = slack_env()
    assert env.command("help").status == 200
    assert env.command("frobnicate now").status == 200
    replies = env.api.wait_for("response_url", 2)  # answered from worker threads: in either order
    for reply in replies:
        blocks_valid(reply.args["blocks"])
        assert reply.args["response_type"] == "ephemeral"
        assert "/ses why" in str(reply.args["blocks"])
    naming_the_word = [reply for reply in replies if "frobnicate" in str(reply.args["blocks"])]
    assert len(naming_the_word) == 1  # the unknown word is named; the plain help is not


def test_bad_signature_and_stale_timestamp_are_refused(slack_env: Any) -> None:
    env: SlackEnv = slack_env()
    body = slash_command_body("help", response_url=env.api.response_url())
    assert post_signed(env.events_url, body, "not-the-secret").status == 401
    stale = int(time.time()) - 6 * 60
    assert post_signed(env.events_url, body, SECRET, timestamp=stale).status == 401
    assert post_signed(env.events_url, body, SECRET, headers={"X-Slack-Signature": "v0=" + "0" * 64}).status == 401
    tampered = body.replace("text=help", "text=campaigns")
    assert tampered != body
    assert post_signed(env.events_url, tampered, SECRET, headers=signed_headers(body, SECRET)).status == 401
    assert env.api.calls_to("response_url") == []
    assert post_signed(env.events_url, body, SECRET).status == 200


def test_campaigns_lists_what_was_ingested(slack_env: Any) -> None:
    env: SlackEnv = slack_env()
    sim = simulate("healthy", recipients=60, campaign="spring-sendout-001")
    env.ingest(sim.events)
    env.set_now(sim.now)
    assert env.command("campaigns").status == 200
    [reply] = env.api.wait_for("response_url")
    blocks_valid(reply.args["blocks"])
    assert reply.args["response_type"] == "in_channel"
    assert "spring-sendout-001" in str(reply.args["blocks"])


def test_allowed_channels_refuse_elsewhere(slack_env: Any) -> None:
    env: SlackEnv = slack_env(allowed_channels=("C0ALLOWED", "ops-email"))
    env.command("campaigns", channel_id="C0OTHER", channel_name="random")
    [refusal] = env.api.wait_for("response_url")
    assert refusal.args["response_type"] == "ephemeral"
    assert "not enabled in this channel" in refusal.args["text"]
    assert "<#C0ALLOWED>" in refusal.args["text"] and "#ops-email" in refusal.args["text"]
    env.command("campaigns", channel_id="C0XYZ", channel_name="ops-email")
    replies = env.api.wait_for("response_url", 2)
    assert "not enabled" not in str(replies[1].args)


def test_every_subcommand_refuses_outside_the_allowed_channels(slack_env: Any) -> None:
    env: SlackEnv = slack_env(allowed_channels=("C0ALLOWED",))
    texts = {Subcommand.WHY: "why spring-042", Subcommand.CAMPAIGNS: "campaigns",
             Subcommand.RECIPIENT: "recipient jane@example.net", Subcommand.MESSAGE: "message 0100-x",
             Subcommand.SUPPRESSION: "suppression spring-042", Subcommand.ROUTING: "routing",
             Subcommand.DOMAINS: "domains spring-042", Subcommand.AUTH: "auth example.com",
             Subcommand.ACCOUNT: "account"}
    assert set(texts) == set(Subcommand) - {Subcommand.HELP}  # a new subcommand is added here too
    for text in texts.values():
        env.command(text, channel_id="C0OTHER", channel_name="random")
    refusals = env.api.wait_for("response_url", len(texts))
    assert all(r.args["response_type"] == "ephemeral" for r in refusals)
    assert all("not enabled in this channel" in r.args["text"] for r in refusals)
    assert env.api.calls_to("chat.postMessage") == []  # `why` did not start investigating

def test_missing_configuration_is_named_in_one_line(redis_url: str) -> None:
    from bot.slack_app import check_slack_settings

    with pytest.raises(ConfigError) as caught:
        check_slack_settings(Settings(redis_url=redis_url))
    assert caught.value.problems == ["SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)",
                                     "SLACK_SIGNING_SECRET is not set (Basic Information > Signing Secret)"]
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is not set"):
        check_slack_settings(Settings(slack_bot_token="xoxb-1"), socket_mode=True)


def test_refused_token_is_a_config_error(slack_api: Any, redis_url: str) -> None:
    from bot.slack_app import build_client, verify_token

    assert verify_token(build_client(Settings(slack_bot_token="xoxb-good", slack_api_url=slack_api.url))) == "UBOT"
    with pytest.raises(ConfigError, match="refused by Slack: not_authed"):
        verify_token(build_client(Settings(slack_bot_token="bad", slack_api_url=slack_api.url)))
