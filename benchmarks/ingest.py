"""Benchmark: `sesbot ingest` of a generated SES event stream into a real local redis-server, against a naive
one-round-trip-per-event write of the same events (targets: >= 60,000 events/s, <= 150 bytes per recipient).

Starts its own redis-server on a free loopback port (listpack limits as sesbot documents, no persistence unless
--appendonly), writes `bot.simulate.iter_events_fast` records (multi-recipient messages, ~1 % duplicates, out of
order within a 4,096-record window) to an NDJSON file, then ingests that file in this one process through the code
path of `sesbot ingest` (`Ingestor.ingest_paths`: read, parse, `Store.record` batches from a writer thread so that
parsing the next batch overlaps the Redis round trip of the previous one). It prints events/s, Redis
`used_memory` (minus the empty server's) per tracked recipient with every index and aggregate, the same two figures
for a naive layout written one round trip per event (HSET of an 8-field hash per message and recipient, a
send-time ZADD and a recipient SADD) on a sample of the same events, and where the time goes.

    .venv/bin/python benchmarks/ingest.py [--events 1000000] [--campaigns 10] [--naive-events 20000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis
import redis.client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.events import Event, parse_payload
from bot.ingest import BATCH_EVENTS, Ingestor, iter_records
from bot.simulate import iter_events_fast
from bot.store import Store

# The listpack limits sesbot documents for production (README "Redis configuration"; tests/redis_server.py).
REDIS_CONFIG = ("--hash-max-listpack-entries", "512", "--hash-max-listpack-value", "1024")
PARSE_SAMPLE = 200_000  # records timed in the parse-only pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRedis:
    """redis-server in a temporary folder, stopped and removed by stop()."""

    def __init__(self, appendonly: bool) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not installed")
        self.folder = tempfile.mkdtemp(prefix="sesbot-bench-")
        self.port = free_port()
        persistence = ("--appendonly", "yes", "--appendfsync", "everysec") if appendonly else ("--appendonly", "no")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *persistence,
             "--dir", self.folder, *REDIS_CONFIG],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=120)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    sys.exit("redis-server did not start")
                time.sleep(0.02)

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def cpu_s(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    def version(self) -> str:
        return str(self.client.info("server").get("redis_version", "?"))

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)


def write_stream(path: Path, events: int, campaigns: int) -> tuple[int, int]:
    """(records, bytes) of the generated NDJSON file."""
    records = size = 0
    with path.open("wb") as out:
        chunk: list[bytes] = []
        for record in iter_events_fast(events, campaigns=campaigns):
            chunk.append(record)
            if len(chunk) == 10_000:
                data = b"\n".join(chunk) + b"\n"
                out.write(data)
                records += len(chunk)
                size += len(data)
                chunk = []
        if chunk:
            data = b"\n".join(chunk) + b"\n"
            out.write(data)
            records += len(chunk)
            size += len(data)
    return records, size


class Timer:
    """Seconds accumulated by a wrapped callable (thread-safe enough for one writer thread)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - started
                    self.calls += 1
        return timed


def tracked_recipients(store: Store) -> int:
    """(message, recipient) pairs over every campaign, from the store's own aggregates."""
    recipients = 0
    for campaign, _first, _last in store.campaigns():
        summary = store.campaign_summary(campaign)
        if summary is not None:
            recipients += summary.recipients
    return recipients


def run_sesbot(server: LocalRedis, stream: Path, batch_events: int) -> dict[str, Any]:
    baseline = server.used_memory()
    store = Store(server.client)
    prepare_timer, commit_timer, redis_wait = Timer(), Timer(), Timer()
    store.prepare = prepare_timer.wrap(store.prepare)  # type: ignore[method-assign]
    store.commit = commit_timer.wrap(store.commit)  # type: ignore[method-assign]
    original_execute = redis.client.Pipeline.execute
    redis.client.Pipeline.execute = redis_wait.wrap(original_execute)  # type: ignore[method-assign]
    cpu_before, server_cpu_before = time.process_time(), server.cpu_s()
    started = time.perf_counter()
    try:
        summary = Ingestor(store, batch_events=batch_events).ingest_paths([str(stream)], progress=False)
    finally:
        redis.client.Pipeline.execute = original_execute  # type: ignore[method-assign]
    wall = time.perf_counter() - started
    process_cpu = time.process_time() - cpu_before
    server_cpu = server.cpu_s() - server_cpu_before
    memory = server.used_memory() - baseline
    recipients = tracked_recipients(store)
    events = summary.ingested + summary.duplicates + summary.waiting
    return {
        "summary": summary.to_dict(),
        "events": events,
        "seconds": wall,
        "events_per_s": events / wall,
        "records_per_s": summary.read / wall,
        "recipients": recipients,
        "used_memory": memory,
        "bytes_per_recipient": memory / max(recipients, 1),
        "process_cpu_s": process_cpu,
        "redis_cpu_s": server_cpu,
        "prepare_s": prepare_timer.seconds,
        "commit_s": commit_timer.seconds,
        "redis_wait_s": redis_wait.seconds,
        "batches": commit_timer.calls,
        "keys": server.client.dbsize(),
    }


def sample_records(stream: Path, limit: int) -> Iterator[bytes]:
    with stream.open("rb") as f:
        for n, record in enumerate(iter_records(f)):
            if n >= limit:
                return
            yield record


def time_parse(stream: Path, limit: int) -> dict[str, Any]:
    """Reading and parsing alone (no Redis), one thread: the Python cost of the ingest path before the store."""
    records = list(sample_records(stream, limit))
    started = time.perf_counter()
    events = 0
    for record in records:
        events += len(parse_payload(record).events)
    seconds = time.perf_counter() - started
    return {"records": len(records), "events": events, "seconds": seconds, "us_per_event": 1e6 * seconds / events}


def naive_write(server: LocalRedis, events: list[Event]) -> dict[str, Any]:
    """One round trip per event: the 8-field hash of its message and recipient, a send-time index entry and a
    recipient index entry (what a straightforward layout needs for the same questions). No merge logic: the last
    write wins, so this is a lower bound of the naive cost."""
    server.client.flushall()
    baseline = server.used_memory()
    client = server.client
    started = time.perf_counter()
    for e in events:
        key = f"naive:r:{e.message_id}:{e.recipient}"
        pipe = client.pipeline(transaction=False)
        pipe.hset(key, mapping={
            "message_id": e.message_id, "recipient": e.recipient, "campaign": e.campaign or "",
            "configuration_set": e.config_set or "", "state": e.type, "send_ms": e.send_ms,
            "last_event_ms": e.time_ms, "detail": e.detail,
        })
        pipe.zadd(f"naive:sent:{e.campaign or ''}", {key: e.send_ms})
        pipe.sadd(f"naive:rcpt:{e.recipient}", e.message_id)
        pipe.execute()
    seconds = time.perf_counter() - started
    recipients = len({(e.message_id, e.recipient) for e in events})
    memory = server.used_memory() - baseline
    client.flushall()
    return {"events": len(events), "seconds": seconds, "events_per_s": len(events) / seconds,
            "recipients": recipients, "used_memory": memory, "bytes_per_recipient": memory / recipients}


def bound(result: dict[str, Any], parse: dict[str, Any], load: float) -> str:
    """Which CPU the run waited for. Python's threads share one GIL, so the ingest process can use one core at
    most; redis-server runs on another. 1e6 / max(Python, redis-server) us per event is what the run would reach
    with both cores to itself (a ceiling derived from the measured CPU times, not a measurement)."""
    events = result["events"]
    wall_us = 1e6 * result["seconds"] / events
    python_us = 1e6 * result["process_cpu_s"] / events
    redis_us = 1e6 * result["redis_cpu_s"] / events
    ceiling = f"ceiling with two idle cores ~{1e6 / max(python_us, redis_us):,.0f} events/s"
    parts = (f"parse ~{parse['us_per_event']:.1f} us, Store.prepare {1e6 * result['prepare_s'] / events:.1f} us "
             "wall, reading and the Redis client the rest")
    if python_us >= 0.8 * wall_us and python_us >= redis_us:
        return (f"the ingest process's Python CPU (one GIL): {python_us:.1f} us of CPU per event in a "
                f"{wall_us:.1f} us wall budget ({parts}); redis-server needs {redis_us:.1f} us and waits; {ceiling}")
    if redis_us >= 0.8 * wall_us:
        return (f"redis-server CPU: {redis_us:.1f} us per event (merge scripts) in a {wall_us:.1f} us wall budget; "
                f"the ingest process uses {python_us:.1f} us; {ceiling}")
    return (f"CPU time shared with other work (load average {load:.1f} on {os.cpu_count()} CPUs): the ingest "
            f"process got {python_us:.1f} us of CPU per event ({parts}) and redis-server {redis_us:.1f} us in a "
            f"{wall_us:.1f} us wall budget; {'Python' if python_us >= redis_us else 'redis-server'} is the larger "
            f"part: {ceiling}")


def report(figures: dict[str, Any]) -> str:
    s, n, p = figures["sesbot"], figures["naive"], figures["parse"]
    stream = figures["stream"]
    per_event = lambda seconds: 1e6 * seconds / s["events"]  # noqa: E731
    lines = [
        f"sesbot ingest benchmark: {stream['records']:,} SES records -> {s['events']:,} events "
        f"({s['recipients']:,} tracked recipients, {stream['campaigns']} campaigns, "
        f"{stream['bytes'] / 1e6:,.0f} MB NDJSON), redis-server {figures['redis_version']}, "
        f"{figures['cpus']} CPUs (load average {figures['load_average'][0]:.1f} before, "
        f"{figures['load_average'][1]:.1f} after), Python {figures['python']}",
        f"  sesbot ingest    {s['events_per_s']:>9,.0f} events/s  ({s['records_per_s']:,.0f} records/s, "
        f"{s['seconds']:.1f} s, one process, {s['batches']} batches of {figures['batch_events']:,} records)",
        f"  naive write      {n['events_per_s']:>9,.0f} events/s  (one round trip per event, "
        f"{n['events']:,}-event sample; {s['events_per_s'] / n['events_per_s']:.1f}x slower than sesbot)",
        f"  sesbot memory    {s['bytes_per_recipient']:>9,.0f} bytes per tracked recipient  "
        f"({s['used_memory'] / 1e6:.1f} MB used_memory over the empty server: records, message and recipient "
        f"indexes, aggregates; {s['keys']:,} keys)",
        f"  naive memory     {n['bytes_per_recipient']:>9,.0f} bytes per tracked recipient  "
        f"({n['recipients']:,} recipients of the sample)",
        f"  time per event   wall {per_event(s['seconds']):.1f} us; ingest process CPU "
        f"{per_event(s['process_cpu_s']):.1f}"
        f" us (parse alone {p['us_per_event']:.1f} us, Store.prepare {per_event(s['prepare_s']):.1f} us); "
        f"writer thread: Store.commit {per_event(s['commit_s']):.1f} us of which {per_event(s['redis_wait_s']):.1f}"
        " us in pipeline round trips; "
        f"redis-server CPU {per_event(s['redis_cpu_s']):.1f} us",
        f"  bound            {figures['bound']}",
        f"  ingest summary   {json.dumps(s['summary'], sort_keys=True)}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="SES records to generate (default 1,000,000)")
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--naive-events", type=int, default=20_000,
                        help="events written the naive way (one round trip each); default 20,000")
    parser.add_argument("--batch-events", type=int, default=BATCH_EVENTS, help="records per Store.record batch")
    parser.add_argument("--appendonly", action="store_true", help="run redis-server with AOF (appendfsync everysec)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.events < 1000:
        parser.error("--events must be at least 1000")

    load_before = os.getloadavg()[0]
    server = LocalRedis(args.appendonly)
    work = Path(tempfile.mkdtemp(prefix="sesbot-bench-stream-"))
    try:
        stream = work / "events.ndjson"
        records, size = write_stream(stream, args.events, args.campaigns)
        sesbot = run_sesbot(server, stream, args.batch_events)
        parse = time_parse(stream, min(PARSE_SAMPLE, records))
        naive_events: list[Event] = []
        for record in sample_records(stream, args.naive_events):
            naive_events.extend(parse_payload(record).events)
            if len(naive_events) >= args.naive_events:
                break
        naive = naive_write(server, naive_events[: args.naive_events])
        figures: dict[str, Any] = {
            "stream": {"records": records, "bytes": size, "campaigns": args.campaigns},
            "batch_events": args.batch_events,
            "appendonly": args.appendonly,
            "redis_version": server.version(),
            "cpus": os.cpu_count(),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "python": platform.python_version(),
            "sesbot": sesbot,
            "naive": naive,
            "parse": parse,
        }
        figures["bound"] = bound(sesbot, parse, max(load_before, os.getloadavg()[0]))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures, indent=2, sort_keys=True) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
