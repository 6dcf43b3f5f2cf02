"""A local Socket Mode endpoint for tests: a real WebSocket server (the `websockets` package) on a free loopback
port that speaks Slack's Socket Mode protocol: `hello` on connect, envelopes out, acknowledgements back.

    with running_socket_mode_server() as ws:
    slack_api.socket_url = ws.url                # what apps.connections.open hands out
    envelope_id = ws.send("slash_commands", {...form fields...})
    ack = ws.wait_for_ack(envelope_id)
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from websockets.sync.server import ServerConnection, serve


class SocketModeServer:
    def __init__(self) -> None:
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="socket-mode", daemon=True)
        self._connections: queue.Queue[ServerConnection] = queue.Queue()
        self._current: ServerConnection | None = None
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4()}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1,
                                    "connection_info": {"app_id": "A0SESBOT"}, "debug_info": {"host": "local"}}))
        self._connections.put(connection)
        try:
            for message in connection:
                with self._lock:
                    self.received.append(json.loads(message))
        except Exception:  # the client went away; a test asserts on what it received, not on how it left
            return

    def connection(self, timeout: float = 20.0) -> ServerConnection:
        if self._current is None:
            self._current = self._connections.get(timeout=timeout)
        return self._current

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Send one envelope (`slash_commands`, `interactive`, `events_api`); returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        self.connection().send(json.dumps({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                           "accepts_response_payload": kind != "events_api",
                                           "retry_attempt": 0, "retry_reason": ""}))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for message in self.received:
                    if message.get("envelope_id") == envelope_id:
                        return message
            time.sleep(0.02)
        raise AssertionError(f"no acknowledgement of {envelope_id} within {timeout}s; got {self.received}")


@contextlib.contextmanager
def running_socket_mode_server() -> Iterator[SocketModeServer]:
    server = SocketModeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
