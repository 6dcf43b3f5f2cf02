"""What a person installs: the app manifest matches what the app uses, and the production wiring (Settings from
the environment -> bot.web.create_wsgi_app) answers signed Slack requests over HTTP."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import yaml

from bot.settings import Settings
from bot.web import create_wsgi_app
from handlers.ids import COMMAND, Action
from tests.http_server import serve_wsgi
from tests.slack_api import SlackApi
from tests.slack_signing import block_action_body, post_signed, slash_command_body

ROOT = Path(__file__).resolve().parents[1]
SECRET = "install-test-secret"


def test_manifest_has_the_command_scopes_interactivity_and_socket_mode() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is False
    assert command["url"].endswith("/slack/events")
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands", "chat:write", "chat:write.public", "files:write", "usergroups:read"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_production_wiring_from_the_environment(slack_api: SlackApi, redis_url: str) -> None:
    env = {"REDIS_URL": redis_url, "SLACK_BOT_TOKEN": "xoxb-prod-like", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack_api.url.rstrip("/"), "SESBOT_ALLOWED_CHANNELS": "C0OPS"}
    settings = Settings.from_env(env)
    assert settings.slack_api_url == slack_api.url  # the trailing slash WebClient needs is added
    with serve_wsgi(create_wsgi_app(settings)) as base:
        url = base + "/slack/events"
        assert post_signed(url, slash_command_body("help", response_url=slack_api.response_url()), SECRET).status \
            == 200
        assert post_signed(url, block_action_body(Action.RERUN, "x", channel_id="C0ELSEWHERE",
                                                  response_url=slack_api.response_url()), SECRET).status == 200
        first, second = (c.args for c in slack_api.wait_for("response_url", 2))
        assert "/ses why" in json.dumps(first["blocks"])
        assert "not enabled in this channel" in second["text"]
        with urllib.request.urlopen(base + "/healthz") as health:
            assert json.loads(health.read()) == {"status": "ok"}  # /sns, /healthz, /metrics live alongside
    assert slack_api.calls_to("auth.test")[0].token == "xoxb-prod-like"
