"""`sesbot serve` as a real process (gunicorn): Slack over Socket Mode from the worker (SLACK_APP_TOKEN) and over
HTTP (POST /slack/events), next to /healthz, against the Web API stub and a local Socket Mode server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_server import free_port
from tests.slack_api import SlackApi
from tests.slack_signing import post_signed, slash_command_body
from tests.socket_mode_server import SocketModeServer, running_socket_mode_server
from tests.test_slack_socket_mode import command_payload

ROOT = Path(__file__).resolve().parents[1]
SECRET = "serve-test-secret"


@pytest.fixture
def socket_server() -> Iterator[SocketModeServer]:
    with running_socket_mode_server() as server:
        yield server


def wait_for_health(base: str, process: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise AssertionError("sesbot serve did not become healthy")


def test_serve_answers_over_socket_mode_and_http(slack_api: SlackApi, socket_server: SocketModeServer,
                                                 redis_url: str) -> None:
    slack_api.socket_url = socket_server.url
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "PORT": str(port),
           "SLACK_BOT_TOKEN": "xoxb-serve", "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": "xapp-1-serve",
           "SLACK_API_URL": slack_api.url}
    process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, process)
        slack_api.wait_for("apps.connections.open", timeout=60)
        envelope = socket_server.send("slash_commands", command_payload("help", slack_api))
        socket_server.wait_for_ack(envelope)
        body = slash_command_body("nonsense", response_url=slack_api.response_url())
        assert post_signed(base + "/slack/events", body, SECRET).status == 200
        assert post_signed(base + "/slack/events", body, "wrong").status == 401
        texts = [json.dumps(c.args) for c in slack_api.wait_for("response_url", 2)]
        assert any("I don't know `nonsense`" in t for t in texts)
        assert all("/ses why" in t for t in texts)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert "xoxb-serve" not in out + err and "xapp-1-serve" not in out + err  # tokens never logged


def test_serve_names_missing_slack_configuration_in_one_line(redis_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "PORT": str(free_port()),
           "SLACK_BOT_TOKEN": "xoxb-half-configured"}
    env.pop("SLACK_SIGNING_SECRET", None)
    env.pop("SLACK_APP_TOKEN", None)
    done = subprocess.run([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "SLACK_SIGNING_SECRET is not set" in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "xoxb-half-configured" not in done.stderr
