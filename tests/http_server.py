"""Serve any WSGI app over real HTTP on a free loopback port, in a background thread.

    with serve_wsgi(app) as base_url:             # "http://127.0.0.1:<port>"
        urllib.request.urlopen(base_url + "/healthz")

    wsgi_server = wsgi_server_fixture()          # in a test module: a fixture named after the variable
    def test_x(wsgi_server): url = wsgi_server(app)

    web_url = wsgi_app_fixture("web_app")        # a fixture serving the app another fixture returns

The server is wsgiref's, with one thread per request (ThreadingMixIn), so concurrent clients, and an app that
calls back into the server, work. Each request is HTTP/1.0 (one request per connection), as wsgiref speaks it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck request must not hang the test session at exit
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    """wsgiref's handler without the access log on stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve_wsgi(app: WsgiApp, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` on a free port of `host` until the block ends; yields the base URL (no trailing slash)."""
    server = make_server(host, 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"wsgi-{server.server_port}", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def wsgi_server_fixture(scope: str = "function") -> Any:
    """A fixture yielding `serve(app) -> base_url`; every server it started stops at the fixture's teardown."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fixture() -> Iterator[Callable[[WsgiApp], str]]:
        with contextlib.ExitStack() as stack:
            yield lambda app: stack.enter_context(serve_wsgi(app))

    return _fixture


def wsgi_app_fixture(app_fixture: str, scope: str = "function") -> Any:
    """A fixture yielding the base URL of the app returned by the fixture named `app_fixture`."""

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fixture(request: pytest.FixtureRequest) -> Iterator[str]:
        with serve_wsgi(request.getfixturevalue(app_fixture)) as url:
            yield url

    return _fixture
