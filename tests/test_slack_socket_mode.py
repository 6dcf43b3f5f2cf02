"""Socket Mode (SLACK_APP_TOKEN, no public URL): the same Bolt app over a real WebSocket. apps.connections.open is
answered by the Web API stub with the URL of a local Socket Mode server; envelopes go in, acknowledgements and
answers come back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from bot.keys import KeySchema
from bot.settings import ConfigError, Settings
from bot.simulate import simulate
from bot.slack_app import mount, start_socket_mode
from bot.slack_deps import SlackDeps
from bot.store import Store
from handlers.ids import Action
from tests.scenario_env import ingest
from tests.slack_api import SlackApi
from tests.socket_mode_server import SocketModeServer, running_socket_mode_server


@pytest.fixture
def socket_server() -> Iterator[SocketModeServer]:
    with running_socket_mode_server() as server:
        yield server


def command_payload(text: str, api: SlackApi) -> dict[str, Any]:
    return {"token": "x", "team_id": "T0TEST", "team_domain": "t", "channel_id": "C0OPS", "channel_name": "ops",
            "user_id": "U0USER", "user_name": "jane", "command": "/ses", "text": text, "api_app_id": "A0SESBOT",
            "is_enterprise_install": "false", "response_url": api.response_url("sm"), "trigger_id": "1.2.3"}


def test_commands_and_actions_over_socket_mode(slack_api: SlackApi, socket_server: SocketModeServer,
                                               redis_url: str) -> None:
    slack_api.socket_url = socket_server.url
    settings = Settings(redis_url=redis_url, slack_bot_token="xoxb-test", slack_app_token="xapp-1-test",
                        slack_api_url=slack_api.url)
    store = Store(redis.Redis.from_url(redis_url), KeySchema(settings.key_prefix))
    sim = simulate("healthy", recipients=40, campaign="spring-sendout-001")
    ingest(store, sim.events)
    deps = SlackDeps.from_settings(settings, store)
    handler = start_socket_mode(settings, store, deps=deps)
    try:
        assert slack_api.calls_to("apps.connections.open")[0].token == "xapp-1-test"
        envelope = socket_server.send("slash_commands", command_payload("campaigns", slack_api))
        assert socket_server.wait_for_ack(envelope)["envelope_id"] == envelope
        [reply] = slack_api.wait_for("response_url")
        assert reply.args["response_type"] == "in_channel"
        assert "spring-sendout-001" in json.dumps(reply.args["blocks"])

        forged = {"type": "block_actions", "user": {"id": "U0USER"}, "team": {"id": "T0TEST"},
                  "channel": {"id": "C0OPS", "name": "ops"}, "api_app_id": "A0SESBOT",
                  "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0OPS"},
                  "message": {"ts": "1.2"}, "response_url": slack_api.response_url("sm"), "trigger_id": "1.2.3",
                  "actions": [{"action_id": Action.STEP_DETAILS, "block_id": "b", "value": "nope", "type": "button",
                               "action_ts": "1.3"}]}
        envelope = socket_server.send("interactive", forged)
        socket_server.wait_for_ack(envelope)
        replies = slack_api.wait_for("response_url", 2)
        assert "not valid any more" in replies[1].args["text"]
    finally:
        handler.close()


def test_socket_mode_needs_the_bot_token_too(redis_url: str) -> None:
    store = Store(redis.Redis.from_url(redis_url), KeySchema("sb"))
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is not set"):
        mount(Settings(redis_url=redis_url, slack_app_token="xapp-1-test"), store)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set"):
        mount(Settings(redis_url=redis_url, slack_bot_token="xoxb-1"), store)
    assert mount(Settings(redis_url=redis_url), store) is None  # no Slack at all: off, one line in the log
