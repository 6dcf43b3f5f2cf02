"""The Slack app as Slack sees it, for tests: the real web app (bot/web.py) with the real Bolt app behind
POST /slack/events, served over HTTP on a free port, a real Redis, the real investigation engine, and the local
Slack Web API server (tests/slack_api.py) as Slack's API.

    def test_x(slack_env):
        env = slack_env()                                  # or slack_env(pii_users=("U0PII",), ...)
        env.ingest(simulate("healthy").events)
        reply = env.command("campaigns")                  # a signed slash command
        env.api.wait_for("response_url")
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
import redis
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.ingest import Ingestor
from bot.keys import KeySchema
from bot.settings import Settings
from bot.slack_app import create_app
from bot.slack_deps import SlackDeps
from bot.sns_verify import CertificateStore
from bot.store import Store
from bot.web import WebApp, WebDeps
from tests.http_server import serve_wsgi
from tests.slack_api import SlackApi
from tests.slack_signing import Reply, block_action_body, post_signed, slash_command_body

SECRET = "test-signing-secret-0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"
CHANNEL = "C0OPS"
USER = "U0USER"


@dataclass
class SlackEnv:
    base_url: str
    api: SlackApi
    store: Store
    settings: Settings
    deps: SlackDeps

    @property
    def events_url(self) -> str:
        return self.base_url + "/slack/events"

    def ingest(self, payloads: Iterable[Any]) -> None:
        summary = Ingestor(self.store, self.settings.campaign_tag).ingest_payloads(list(payloads), where="test")
        assert summary.ingested > 0, summary.to_dict()

    def set_now(self, moment: datetime) -> None:
        self.deps.clock_ms = lambda: int(moment.timestamp() * 1000)

    def command(self, text: str, *, user_id: str = USER, channel_id: str = CHANNEL, channel_name: str = "ops",
                **signing: Any) -> Reply:
        body = slash_command_body(text, user_id=user_id, channel_id=channel_id, channel_name=channel_name,
                                  response_url=self.api.response_url("cmd"))
        return post_signed(self.events_url, body, SECRET, **signing)

    def action(self, action_id: str, value: str, *, message_ts: str, user_id: str = USER,
               channel_id: str = CHANNEL, **signing: Any) -> Reply:
        body = block_action_body(action_id, value, user_id=user_id, channel_id=channel_id, message_ts=message_ts,
                                 response_url=self.api.response_url("action"))
        return post_signed(self.events_url, body, SECRET, **signing)

    def responses(self) -> list[dict[str, Any]]:
        return [c.args for c in self.api.calls_to("response_url")]


def slack_settings(redis_url: str, api_url: str, **overrides: Any) -> Settings:
    base = Settings(redis_url=redis_url, slack_bot_token=BOT_TOKEN, slack_signing_secret=SECRET,
                    slack_api_url=api_url)
    return replace(base, **overrides)


@contextlib.contextmanager
def running_slack_env(redis_url: str, api: SlackApi, **overrides: Any) -> Iterator[SlackEnv]:
    settings = slack_settings(redis_url, api.url, **overrides)
    client = redis.Redis.from_url(redis_url)
    store = Store(client, KeySchema(settings.key_prefix), retention_s=settings.retention_days * 86_400)
    deps = SlackDeps.from_settings(settings, store)
    from bot.investigate import Investigator

    # the real engine; AWS and DNS are not configured here, so those steps say "skipped" (their own tests cover them)
    deps.investigator_factory = lambda: Investigator(store, None, None,
                                                     delivery_window_s=settings.delivery_window_s)
    web = WebApp(WebDeps(settings=settings, store=store, certs=CertificateStore(None),
                         ingestor=Ingestor(store, settings.campaign_tag),
                         slack=SlackRequestHandler(create_app(settings, deps))))
    with serve_wsgi(web) as base_url:
        yield SlackEnv(base_url, api, store, settings, deps)
    client.close()


@pytest.fixture
def slack_env(redis_url: str, slack_api: SlackApi) -> Iterator[Callable[..., SlackEnv]]:
    with contextlib.ExitStack() as stack:
        yield lambda **overrides: stack.enter_context(running_slack_env(redis_url, slack_api, **overrides))
