"""The Slack app: a Bolt `App` built by a factory, served over HTTP by the web app (POST /slack/events) or over
Socket Mode when SLACK_APP_TOKEN is set.

    app = create_app(settings, SlackDeps.from_settings(settings, store))

Listeners live in the modules of `handlers.MODULES` (one per subcommand or action, help last); they get their
dependencies from `context["deps"]`, set by the one global middleware here.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

import handlers
from bot.settings import ConfigError, Settings
from bot.slack_deps import SlackDeps
from bot.store import Store
from handlers import errors

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3  # each waits for the Retry-After Slack sent
CONNECTION_RETRIES = 2
WEB_TIMEOUT_S = 30


def check_slack_settings(settings: Settings, *, socket_mode: bool = False) -> None:
    """Name every missing Slack variable in one ConfigError (one line each)."""
    problems = []
    if not settings.slack_bot_token:
        problems.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    elif not settings.slack_bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token (xoxb-...)")
    if not settings.slack_signing_secret and not socket_mode:
        problems.append("SLACK_SIGNING_SECRET is not set (Basic Information > Signing Secret)")
    if socket_mode and not settings.slack_app_token:
        problems.append("SLACK_APP_TOKEN is not set (an app-level token, xapp-..., with connections:write)")
    if problems:
        raise ConfigError(problems)


def build_client(settings: Settings) -> WebClient:
    """The Web API client: SLACK_API_URL if set; 429s retried after Retry-After, dropped connections retried."""
    kwargs: dict[str, Any] = {}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    return WebClient(
        token=settings.slack_bot_token,
        timeout=WEB_TIMEOUT_S,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        ],
        **kwargs,
    )


def verify_token(client: WebClient) -> str | None:
    """auth.test at start-up: a refused token is a ConfigError; an unreachable Slack only a warning."""
    try:
        answer = client.auth_test()
    except SlackApiError as exc:
        raise ConfigError([f"SLACK_BOT_TOKEN was refused by Slack: {exc.response.get('error')}"]) from None
    except (SlackClientError, OSError) as exc:
        log.warning("could not reach Slack to check SLACK_BOT_TOKEN (%s); starting anyway", type(exc).__name__)
        return None
    return answer.get("user_id")


def create_app(settings: Settings, deps: SlackDeps, *, socket_mode: bool = False,
               client: WebClient | None = None) -> App:
    check_slack_settings(settings, socket_mode=socket_mode)
    client = client or build_client(settings)
    verify_token(client)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "",  # Socket Mode requests are not signed
        request_verification_enabled=bool(settings.slack_signing_secret),
        token_verification_enabled=False,  # done above, with a clearer message
        process_before_response=False,  # ack() answers Slack at once; the listener goes on in Bolt's thread pool
        logger=logging.getLogger("sesbot.slack"),
    )

    @app.middleware
    def inject_deps(context: dict[str, Any], next: Callable[[], Any]) -> Any:
        context["deps"] = deps
        return next()

    for name in handlers.MODULES:
        importlib.import_module(name).register(app)
    errors.register(app)
    return app


def wsgi_handler(settings: Settings, store: Store, deps: SlackDeps | None = None) -> SlackRequestHandler:
    """What bot/web.py serves at POST /slack/events (a WSGI callable)."""
    return SlackRequestHandler(create_app(settings, deps or SlackDeps.from_settings(settings, store)))


def mount(settings: Settings, store: Store, *, socket_mode: bool = True) -> SlackRequestHandler | None:
    """Slack for the web app: the /slack/events handler (None when Slack is off or only on Socket Mode), and with
    SLACK_APP_TOKEN set, Socket Mode started in this process (unless `socket_mode` is False: the caller starts it
    later, e.g. in the gunicorn worker after the fork). A partial configuration is a ConfigError naming what is
    missing; none at all only turns Slack off, with one line in the log."""
    if not (settings.slack_bot_token or settings.slack_signing_secret or settings.slack_app_token):
        log.warning("Slack is off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket "
                    "Mode) to answer /ses")
        return None
    deps = SlackDeps.from_settings(settings, store)
    if not settings.slack_app_token:
        return wsgi_handler(settings, store, deps)
    app = create_app(settings, deps, socket_mode=True)
    if socket_mode:
        start_socket_mode(settings, store, app=app)
    return SlackRequestHandler(app) if settings.slack_signing_secret else None


def start_socket_mode(settings: Settings, store: Store, *, app: App | None = None,
                      deps: SlackDeps | None = None) -> Any:
    """Connect over Socket Mode (no public URL needed: the app token opens a WebSocket through
    apps.connections.open) and return the handler; it runs in its own threads until `handler.close()`."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    check_slack_settings(settings, socket_mode=True)
    if app is None:
        app = create_app(settings, deps or SlackDeps.from_settings(settings, store), socket_mode=True)
    handler = SocketModeHandler(app, app_token=settings.slack_app_token)
    handler.connect()
    log.info("Slack Socket Mode connected")
    return handler
