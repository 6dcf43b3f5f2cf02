"""Redis for `sesbot demo`: a real `redis-server` on a free loopback port when one is on PATH (temporary folder,
no persistence, stopped at the end), otherwise fakeredis in-process (the `demo` extra, `fakeredis[lua]`).

fakeredis runs scripts on lupa's Lua 5.1, which lacks two libraries real Redis embeds and sesbot's merge scripts
use: `cmsgpack` and `bit`. `fakeredis_client` adds both to its Lua runtime, backed by Python's msgpack (strings as
msgpack str, integral numbers as integers, Lua arrays as arrays and other tables as maps, as cmsgpack does), so
the same scripts store the same records (equal once decoded; a map's key order may differ). This is for the demo
only; tests always use a real redis-server.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack
import redis

# The listpack limits sesbot documents for production.
REDIS_ARGS = ("--save", "", "--appendonly", "no", "--hash-max-listpack-entries", "512",
              "--hash-max-listpack-value", "1024")
READY_TIMEOUT_S = 10.0


class DemoSetupError(RuntimeError):
    """A local server the demo needs could not start; the message says why in one line."""


@dataclass
class DemoRedis:
    kind: str  # "redis-server" or "fakeredis"
    client: redis.Redis
    description: str
    url: str | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def stop(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.client.close()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(binary: str) -> DemoRedis:
    tmp = tempfile.TemporaryDirectory(prefix="sesbot-demo-redis-")
    last_error = ""
    for _ in range(3):
        port = _free_port()
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp.name,
                                    *REDIS_ARGS], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_timeout=10)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                version = client.info("server").get("redis_version", "?")
                return DemoRedis("redis-server", client, f"redis-server {version} on 127.0.0.1:{port} "
                                 "(temporary, stopped at the end)", url, process, tmp)
            except redis.ConnectionError:
                time.sleep(0.02)
        if process.poll() is None:
            process.terminate()
            process.wait(5)
        last_error = (process.stderr.read().decode(errors="replace") if process.stderr else "").strip()[-200:]
        client.close()
    tmp.cleanup()
    raise DemoSetupError(f"redis-server did not start: {last_error or 'no output'}")


def fakeredis_client() -> redis.Redis:
    """An in-process fakeredis whose Lua runtime has `cmsgpack` and `bit` like real Redis."""
    try:
        import fakeredis
    except ImportError:
        raise DemoSetupError("redis-server is not on PATH and fakeredis is not installed: "
                           "pip install -e '.[demo]' (or install redis-server)") from None
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    try:
        client.eval("return 1", 0)  # creates the server's Lua runtime
    except redis.ResponseError as exc:
        raise DemoSetupError(f"fakeredis cannot run Lua ({exc}): pip install 'fakeredis[lua]'") from None
    runtime: Any = server._lua_runtime  # type: ignore[attr-defined]
    _install_lua_libraries(runtime)
    server._lua_expected_globals |= {b"cmsgpack", b"bit"}  # type: ignore[attr-defined]
    return client


def start_redis_server_or_exit() -> DemoRedis:
    """A temporary real redis-server for scripts that cannot do without one (the benchmarks): one line and exit
    when there is none."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH: this needs a real one (apt-get install redis-server)")
    try:
        return start_redis_server(binary)
    except DemoSetupError as exc:
        sys.exit(str(exc))


def start_redis(*, allow_server: bool = True) -> DemoRedis:
    binary = shutil.which("redis-server") if allow_server else None
    if binary is not None:
        return start_redis_server(binary)
    return DemoRedis("fakeredis", fakeredis_client(),
                     "fakeredis, in-process (redis-server is not on PATH; install it for the real thing)")


# ---------------------------------------------------------------------------------------------- Lua libraries

_U32 = 0xFFFFFFFF


def _to_int(value: Any) -> int:
    return int(value) & _U32


def _signed(value: int) -> int:
    value &= _U32
    return value - (1 << 32) if value & 0x80000000 else value


def _install_lua_libraries(runtime: Any) -> None:
    import importlib

    lua_type = importlib.import_module(type(runtime).__module__).lua_type  # the runtime's own Lua (5.1)

    def from_lua(value: Any) -> Any:
        if lua_type(value) != "table":
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return value
        items = list(value.items())
        keys = [k for k, _ in items]
        if all(isinstance(k, int | float) and float(k).is_integer() for k in keys) and sorted(
                int(k) for k in keys) == list(range(1, len(keys) + 1)):
            return [from_lua(v) for _, v in sorted(items, key=lambda kv: kv[0])]
        return {from_lua(k): from_lua(v) for k, v in items}

    def to_lua(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return runtime.table_from([to_lua(v) for v in value])
        if isinstance(value, dict):
            return runtime.table_from({to_lua(k): to_lua(v) for k, v in value.items()})
        return value

    def pack(*values: Any) -> bytes:
        return b"".join(msgpack.packb(from_lua(v), use_bin_type=False) for v in values)

    def unpack(data: bytes) -> Any:
        unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
        unpacker.feed(data)
        return tuple(to_lua(v) for v in unpacker)

    bit = {
        b"band": lambda *xs: _signed(_reduce(lambda a, b: a & b, xs)),
        b"bor": lambda *xs: _signed(_reduce(lambda a, b: a | b, xs)),
        b"bxor": lambda *xs: _signed(_reduce(lambda a, b: a ^ b, xs)),
        b"bnot": lambda x: _signed(~_to_int(x)),
        b"lshift": lambda x, n: _signed(_to_int(x) << (int(n) & 31)),
        b"rshift": lambda x, n: _signed(_to_int(x) >> (int(n) & 31)),
        b"tobit": lambda x: _signed(_to_int(x)),
    }
    globals_ = runtime.globals()
    globals_[b"cmsgpack"] = runtime.table_from({b"pack": pack, b"unpack": unpack})
    globals_[b"bit"] = runtime.table_from(bit)


def _reduce(fn: Any, values: tuple[Any, ...]) -> int:
    result = _to_int(values[0])
    for value in values[1:]:
        result = fn(result, _to_int(value))
    return result
