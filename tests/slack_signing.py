"""Correctly signed Slack requests for tests (slash commands and interactive payloads), as Slack sends them.

    body = slash_command_body("why spring-042", response_url=slack_api.response_url())
    status, text = post_signed(web_url + "/slack/events", body, SECRET)

The signature is computed here from Slack's published scheme (v0, HMAC-SHA256 of "v0:<timestamp>:<body>" with the
signing secret), not with slack_sdk's verifier, so a bug in how the app verifies cannot hide in the test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"


def signature(body: str | bytes, secret: str, timestamp: int | str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + str(timestamp).encode() + b":" + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: str | bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature(body, secret, ts)}


def slash_command_body(text: str, *, command: str = "/ses", user_id: str = "U0USER", channel_id: str = "C0OPS",
                       response_url: str = "https://hooks.slack.invalid/commands/x", team_id: str = "T0TEST",
                       user_name: str = "jane", channel_name: str = "ops") -> str:
    return urlencode({
        "token": "deprecated-verification-token", "team_id": team_id, "team_domain": "sesbot-test",
        "channel_id": channel_id, "channel_name": channel_name, "user_id": user_id, "user_name": user_name,
        "command": command, "text": text, "api_app_id": "A0SESBOT", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": f"{int(time.time())}.1.abc",
    })


def block_action_payload(action_id: str, value: str, *, user_id: str = "U0USER", channel_id: str = "C0OPS",
                         message_ts: str = "1700000000.000001", thread_ts: str | None = None,
                         response_url: str = "https://hooks.slack.invalid/actions/x", team_id: str = "T0TEST",
                         block_id: str = "b") -> dict[str, Any]:
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "text": "", "user": "UBOT"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "jane", "name": "jane", "team_id": team_id},
        "api_app_id": "A0SESBOT", "token": "deprecated-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": f"{int(time.time())}.1.def", "team": {"id": team_id, "domain": "sesbot-test"},
        "channel": {"id": channel_id, "name": "ops"}, "message": message, "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                     "text": {"type": "plain_text", "text": "button"}, "action_ts": f"{time.time():.6f}"}],
    }


def block_action_body(action_id: str, value: str, **kwargs: Any) -> str:
    return urlencode({"payload": json.dumps(block_action_payload(action_id, value, **kwargs))})


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def post_signed(url: str, body: str, secret: str, *, timestamp: int | None = None,
                headers: dict[str, str] | None = None, timeout: float = 30.0) -> Reply:
    """POST `body` signed with `secret` (override any header with `headers`, e.g. a forged signature)."""
    all_headers = {**signed_headers(body, secret, timestamp), **(headers or {})}
    request = urllib.request.Request(url, data=body.encode(), headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.read().decode(), dict(error.headers))
