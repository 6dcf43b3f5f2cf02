"""A local Slack Web API server over real HTTP, for tests: slack_sdk's WebClient talks to it as to slack.com.

    def test_x(slack_api):
        client = WebClient(token="xoxb-test", base_url=slack_api.url)     # url ends with "/api/"
        client.chat_postMessage(channel="C1", text="hi")
        assert slack_api.calls_to("chat.postMessage")[0].args["text"] == "hi"

Answers `auth.test`, `chat.postMessage`, `chat.update`, `chat.postEphemeral`, `chat.getPermalink`,
`conversations.info`, `files.getUploadURLExternal` (its `upload_url` is on this server), the upload POST itself
(recorded as method "upload"), `files.completeUploadExternal`, `usergroups.users.list`, `apps.connections.open`
(the `socket_url` set by a test) and the `response_url` Slack hands to slash commands and actions (`response_url()`
makes one; POSTs to it are recorded as method "response_url").

Every request is recorded in `.calls` as a `SlackCall` (method, parsed form or JSON args, headers, status); the
JSON-valued form fields Slack takes (`blocks`, `attachments`, `files`, `metadata`) are decoded. `fail_next(method)`
answers the next call to `method` with 429 and `Retry-After` once (the failed call is recorded with status 429).
`ts` values are strictly increasing. Messages posted are kept, so `chat.update` of an unknown ts fails as Slack does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.http_server import serve_wsgi

JSON_FIELDS = ("blocks", "attachments", "files", "metadata")
MAX_BODY = 10 << 20


@dataclass(frozen=True)
class SlackCall:
    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    body: bytes = b""

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else self.args.get("token")


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    error: str


@dataclass
class SlackApi:
    """The server's state and its WSGI app; `url` is set once it is serving."""

    base: str = ""
    bot_user_id: str = "UBOT"
    team_id: str = "T0TEST"
    calls: list[SlackCall] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) -> message
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)  # file_id -> {filename, length, data}
    usergroups: dict[str, list[str]] = field(default_factory=dict)  # "S123" -> ["U1", ...]
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # extra conversations.info answers
    socket_url: str | None = None  # what apps.connections.open returns
    private_channels: set[str] = field(default_factory=set)  # the bot is not a member: posting there fails
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _ts_base: int = field(default_factory=lambda: int(time.time()))

    # ------------------------------------------------------------------ test-facing API
    @property
    def url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.base}/response/{name}-{next(self._ids)}"

    def fail_next(self, method: str, status: int = 429, retry_after: int | None = 1,
                  error: str = "ratelimited") -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, error))

    def calls_to(self, method: str, ok_only: bool = True) -> list[SlackCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method and (c.status == 200 or not ok_only)]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def wait_for(self, method: str, count: int = 1, timeout: float = 20.0) -> list[SlackCall]:
        """Block until `count` successful calls to `method` were made (the app works in threads after ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} call(s) to {method} within {timeout}s; got {self.methods()}")

    def next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._ts):06d}"

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path: str = environ.get("PATH_INFO", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(min(length, MAX_BODY)) if length else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        if path.startswith("/api/"):
            method = path[len("/api/"):]
            args = {**query, **_parse_body(body, headers.get("Content-Type", ""))}
        elif path.startswith("/upload/"):
            method, args = "upload", {"file_id": path[len("/upload/"):], **query}
        elif path.startswith("/response/"):
            method, args = "response_url", {"name": path[len("/response/"):], **_parse_body(body, "application/json")}
        else:
            return self._reply(start_response, 404, {"ok": False, "error": "no_such_path"})

        with self._lock:
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
            if failure is not None:
                self.calls.append(SlackCall(method, args, headers, failure.status, body))
        if failure is not None:
            extra = [("Retry-After", str(failure.retry_after))] if failure.retry_after is not None else []
            return self._reply(start_response, failure.status, {"ok": False, "error": failure.error}, extra)

        status, answer = self._answer(method, args, headers, body)
        with self._lock:
            self.calls.append(SlackCall(method, args, headers, status, body))
        if method == "upload":
            return self._reply_text(start_response, status, answer["text"])
        return self._reply(start_response, status, answer)

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, Any]]:
        if method not in ("upload", "response_url"):
            token = str(headers.get("Authorization", "").removeprefix("Bearer ") or args.get("token", ""))
            if not token.startswith(("xox", "xapp-")):
                return 200, {"ok": False, "error": "not_authed"}
            if token.startswith("xapp-") != (method == "apps.connections.open"):  # app tokens open sockets only
                return 200, {"ok": False, "error": "not_allowed_token_type"}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}
        return handler(args, body)

    # ------------------------------------------------------------------ methods
    def _auth_test(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "url": "https://sesbot-test.slack.com/", "team": "Test", "user": "sesbot",
                     "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": "BBOT"}

    def _chat_postMessage(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        channel = args.get("channel")
        if not channel or channel in self.private_channels:
            return 200, {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return 200, {"ok": False, "error": "no_text"}
        ts = self.next_ts()
        message = {"type": "message", "ts": ts, "text": args.get("text", ""), "blocks": args.get("blocks"),
                   "thread_ts": args.get("thread_ts"), "user": self.bot_user_id}
        with self._lock:
            self.messages[(channel, ts)] = message
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        key = (args.get("channel", ""), args.get("ts", ""))
        with self._lock:
            message = self.messages.get(key)
            if message is None:
                return 200, {"ok": False, "error": "message_not_found"}
            message.update(text=args.get("text", message["text"]), blocks=args.get("blocks"))
        return 200, {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"], "message": message}

    def _chat_postEphemeral(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        if not args.get("channel") or not args.get("user"):
            return 200, {"ok": False, "error": "invalid_arguments"}
        return 200, {"ok": True, "message_ts": self.next_ts()}

    def _chat_getPermalink(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        return 200, {"ok": True, "channel": channel,
                     "permalink": f"https://sesbot-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"}

    def _conversations_info(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        channel = args.get("channel", "")
        info = self.channels.get(channel, {"id": channel, "name": channel.lower(), "is_channel": True,
                                           "is_member": True})
        return 200, {"ok": True, "channel": info}

    def _usergroups_users_list(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        group = args.get("usergroup", "")
        if group not in self.usergroups:
            return 200, {"ok": False, "error": "no_such_subteam"}
        return 200, {"ok": True, "users": list(self.usergroups[group])}

    def _apps_connections_open(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        if self.socket_url is None:
            return 200, {"ok": False, "error": "socket_mode_not_enabled"}
        return 200, {"ok": True, "url": self.socket_url}

    def _files_getUploadURLExternal(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        filename, length = args.get("filename"), args.get("length")
        if not filename or not str(length or "").isdigit():
            return 200, {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        with self._lock:
            self.uploads[file_id] = {"filename": filename, "length": int(length), "data": None}
        return 200, {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def _upload(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            upload = self.uploads.get(args["file_id"])
            if upload is None:
                return 404, {"text": "unknown upload"}
            if len(body) != upload["length"]:
                return 400, {"text": f"length {len(body)} does not match {upload['length']}"}
            upload["data"] = body
        return 200, {"text": f"OK - {len(body)}"}

    def _files_completeUploadExternal(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return 200, {"ok": False, "error": "invalid_arguments"}
        out = []
        with self._lock:
            for f in files:
                upload = self.uploads.get(f.get("id", ""))
                if upload is None or upload["data"] is None:
                    return 200, {"ok": False, "error": "file_not_found"}
                upload.update(title=f.get("title"), channel=args.get("channel_id"), thread_ts=args.get("thread_ts"),
                              initial_comment=args.get("initial_comment"))
                out.append({"id": f["id"], "name": upload["filename"], "title": f.get("title") or upload["filename"],
                            "size": upload["length"]})
        return 200, {"ok": True, "files": out}

    def _response_url(self, args: dict[str, Any], body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True}

    # ------------------------------------------------------------------ helpers
    def uploaded(self) -> list[dict[str, Any]]:
        """Files whose upload was completed, in order: {filename, title, channel, thread_ts, data, ...}."""
        with self._lock:
            return [dict(u, file_id=k) for k, u in self.uploads.items() if "title" in u]

    @staticmethod
    def _reply(start_response: Any, status: int, payload: dict[str, Any],
               extra: list[tuple[str, str]] | None = None) -> list[bytes]:
        data = json.dumps(payload).encode()
        start_response(f"{status} {_REASONS.get(status, 'Error')}",
                       [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data))),
                        *(extra or [])])
        return [data]

    @staticmethod
    def _reply_text(start_response: Any, status: int, text: str) -> list[bytes]:
        data = text.encode()
        start_response(f"{status} {_REASONS.get(status, 'Error')}",
                       [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
        return [data]


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


def _parse_body(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    text = body.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return {"_invalid_json": text}
        return parsed if isinstance(parsed, dict) else {"_json": parsed}
    args: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    for name in JSON_FIELDS:
        if isinstance(args.get(name), str):
            with contextlib.suppress(json.JSONDecodeError):
                args[name] = json.loads(args[name])
    return args


@contextlib.contextmanager
def serve_slack_api() -> Iterator[SlackApi]:
    """Run a `SlackApi` on a free loopback port until the block ends."""
    api = SlackApi()
    with serve_wsgi(api) as base:
        api.base = base
        yield api


@pytest.fixture
def slack_api() -> Iterator[SlackApi]:
    with serve_slack_api() as api:
        yield api
