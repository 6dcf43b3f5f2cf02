"""The web app (WSGI): POST /sns, POST /slack/events, GET /healthz, GET /metrics.

`create_wsgi_app()` is what gunicorn serves (Procfile); `sesbot serve` runs the same app under gunicorn.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from bot.archive import Archive
from bot.ingest import Ingestor
from bot.settings import Settings
from bot.sns_verify import (
    CertificateStore,
    SnsUnavailable,
    SnsVerificationError,
    confirm_subscription,
    verify_message,
)
from bot.store import Store

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # SNS messages are at most 256 KiB; the envelope adds a few KiB
Response = tuple[int, str, bytes]
StartResponse = Callable[..., Any]


@dataclass
class WebDeps:
    settings: Settings
    store: Store
    certs: CertificateStore
    ingestor: Ingestor
    archive: Archive | None = None
    confirm_fetch: Callable[[str], bytes] | None = None  # None: HTTPS GET of SubscribeURL
    slack: Callable[[dict[str, Any], StartResponse], Iterable[bytes]] | None = None  # Bolt's WSGI handler
    counters: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n


def _json(status: int, payload: dict[str, Any]) -> Response:
    return status, "application/json", orjson.dumps(payload)


class WebApp:
    def __init__(self, deps: WebDeps) -> None:
        self.deps = deps

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events" and self.deps.slack is not None:
            return self.deps.slack(environ, start_response)
        try:
            status, content_type, body = self.route(method, path, environ)
        except Exception:
            log.exception("unexpected error on %s %s", method, path)
            status, content_type, body = _json(500, {"error": "internal error"})
        self.deps.count(f"http_{status}")
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
                  413: "Payload Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
                  503: "Service Unavailable"}.get(status, "")
        start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def route(self, method: str, path: str, environ: dict[str, Any]) -> Response:
        if path == "/sns":
            if method != "POST":
                return _json(405, {"error": "POST SNS messages here"})
            return self.sns(environ)
        if path == "/healthz":
            return self.healthz()
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4", self.metrics().encode()
        if path == "/slack/events":
            return _json(404, {"error": "Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)"})
        return _json(404, {"error": f"no route {path}"})

    # ------------------------------------------------------------------ /sns
    def sns(self, environ: dict[str, Any]) -> Response:
        deps = self.deps
        deps.count("sns_requests")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return self._reject(400, "Content-Length is not a number")
        if length > MAX_BODY:
            return self._reject(413, f"body of {length} bytes is over the {MAX_BODY} byte limit")
        body = environ["wsgi.input"].read(length) if length else b""
        if not body:
            return self._reject(400, "empty body: expected an SNS message")
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return self._reject(400, "body is not JSON: expected an SNS message")
        if not isinstance(message, dict) or not isinstance(message.get("Type"), str):
            return self._reject(400, "not an SNS message (no Type)")
        header_type = environ.get("HTTP_X_AMZ_SNS_MESSAGE_TYPE")
        if header_type and header_type != message["Type"]:
            return self._reject(400, f"x-amz-sns-message-type {header_type} does not match Type {message['Type']}")
        topic = message.get("TopicArn")
        if topic not in deps.settings.sns_topic_arns:
            return self._reject(403, f"topic {topic!r} is not in SESBOT_SNS_TOPIC_ARNS")
        try:
            verify_message(message, deps.certs)
        except SnsUnavailable as exc:
            deps.count("sns_unverifiable")
            return _json(503, {"error": f"cannot verify now: {exc}"})
        except SnsVerificationError as exc:
            return self._reject(403, f"signature: {exc}")

        kind = message["Type"]
        if kind == "SubscriptionConfirmation":
            try:
                confirm_subscription(message, deps.confirm_fetch)
            except SnsVerificationError as exc:
                deps.count("sns_confirm_failed")
                return _json(502, {"error": f"could not confirm the subscription: {exc}"})
            log.info("confirmed the SNS subscription to %s", topic)
            deps.count("sns_confirmed")
            return _json(200, {"status": "subscription confirmed"})
        if kind == "UnsubscribeConfirmation":
            log.warning("SNS says the subscription to %s was removed", topic)
            return _json(200, {"status": "unsubscribe noted"})
        if kind != "Notification":
            return self._reject(400, f"unknown SNS message type {kind!r}")

        try:
            summary = deps.ingestor.ingest_payloads([message], where="sns")
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.error("Redis unavailable, SNS will retry: %s", exc)
            deps.count("sns_store_unavailable")
            return _json(503, {"error": "store unavailable, retry later"})
        deps.store.count("sns", read=1, ingested=summary.ingested, duplicates=summary.duplicates,
                         ignored=summary.ignored, rejected=summary.rejected)
        if summary.rejected:
            return self._reject(400, "; ".join(summary.reasons) or "rejected", counted=True)
        self._archive(body)
        return _json(200, {"status": "ok", "ingested": summary.ingested, "duplicates": summary.duplicates,
                           "ignored": summary.ignored})

    def _archive(self, body: bytes) -> None:
        if self.deps.archive is None:
            return
        try:
            self.deps.archive.append([body])
        except OSError as exc:  # Redis has the events; the archive is the backup, so log and go on
            log.error("could not archive an SNS message: %s", exc)
            self.deps.count("archive_errors")

    def _reject(self, status: int, reason: str, counted: bool = False) -> Response:
        log.warning("rejected an SNS request (%s): %s", status, reason)
        self.deps.count("sns_rejected")
        if not counted:
            with contextlib.suppress(redis.RedisError):
                self.deps.store.count("sns", rejected=1)
        return _json(status, {"error": reason})

    # ------------------------------------------------------------------ health and metrics
    def healthz(self) -> Response:
        try:
            self.deps.store.client.ping()
        except redis.RedisError as exc:
            return _json(503, {"status": "unhealthy", "redis": str(exc)})
        return _json(200, {"status": "ok"})

    def metrics(self) -> str:
        lines = ["# HELP sesbot_process_total Events in this process by kind.", "# TYPE sesbot_process_total counter"]
        with self.deps.lock:
            for name, value in sorted(self.deps.counters.items()):
                lines.append(f'sesbot_process_total{{kind="{name}"}} {value}')
        try:
            stored = self.deps.store.counters()
            campaigns = len(self.deps.store.campaigns())
        except redis.RedisError:
            lines.append("sesbot_redis_up 0")
            return "\n".join(lines) + "\n"
        lines += ["# HELP sesbot_ingest_total Ingested records by path and outcome (all replicas).",
                  "# TYPE sesbot_ingest_total counter"]
        for name, value in sorted(stored.items()):
            path, _, outcome = name.partition(":")
            lines.append(f'sesbot_ingest_total{{path="{path}",outcome="{outcome}"}} {value}')
        lines += ["sesbot_redis_up 1", f"sesbot_campaigns {campaigns}"]
        return "\n".join(lines) + "\n"


def build_deps(settings: Settings) -> WebDeps:
    from bot.commands import open_store

    store = open_store(settings)
    return WebDeps(
        settings=settings,
        store=store,
        certs=CertificateStore(settings.sns_certs),
        ingestor=Ingestor(store, settings.campaign_tag),
        archive=Archive(settings.archive_dir) if settings.archive_dir else None,
    )


def create_wsgi_app(settings: Settings | None = None, *, socket_mode: bool = True) -> WebApp:
    """`socket_mode`: start Slack's Socket Mode here when SLACK_APP_TOKEN is set (False: the caller does it)."""
    settings = settings or Settings.from_env()
    deps = build_deps(settings)
    from bot.slack_app import mount

    deps.slack = mount(settings, deps.store, socket_mode=socket_mode)
    return WebApp(deps)


def serve_forever(settings: Settings) -> int:
    from gunicorn.app.base import BaseApplication

    app = create_wsgi_app(settings, socket_mode=False)  # threads do not survive gunicorn's fork: see load()

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"0.0.0.0:{settings.port}")
            self.cfg.set("workers", 1)
            self.cfg.set("threads", 8)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("accesslog", "-")

        def load(self) -> WebApp:
            if settings.slack_app_token:  # in the worker, after the fork
                from bot.slack_app import start_socket_mode

                start_socket_mode(settings, app.deps.store)
            return app

    log.info("sesbot serving on port %s", settings.port)
    _Server().run()
    return 0
