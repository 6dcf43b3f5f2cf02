"""Durability: a Redis restart loses nothing (AOF, `appendfsync everysec`), and the raw-event archive rebuilds the
same state into an empty Redis."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.archive import Archive
from bot.ingest import Ingestor
from bot.simulate import iter_events_fast
from bot.store import Store
from tests import factory as f
from tests.redis_server import REDIS_CONFIG, free_port

NOTIFIED = f.message_id(9001)  # its Send comes with the stream: the identity notification joins the campaign
WAITING = f.message_id(9002)  # no Send at all: the notification stays parked, waiting


class AofRedis:
    """redis-server with the AOF persistence sesbot documents for production, in a folder that outlives it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> redis.Redis:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (bash .ci/run installs it)")
        self.port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", "",
             "--appendonly", "yes", "--appendfsync", "everysec", *REDIS_CONFIG],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                if client.info("persistence").get("loading") == 0:
                    return client
            except (redis.ConnectionError, redis.BusyLoadingError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL, no shutdown: what survives is what the AOF already had when each write was acknowledged."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None


@pytest.fixture
def aof_redis(tmp_path: Path):
    server = AofRedis(tmp_path / "redis")
    server.folder.mkdir()
    yield server
    server.kill()


def stream_records() -> list[bytes]:
    """A generated multi-campaign stream plus identity notifications (no tags), one of them without its Send."""
    import orjson

    records = list(iter_events_fast(3000, campaigns=3, seed=5))
    records.append(orjson.dumps(f.identity_notification(f.delivery(NOTIFIED, ["late@x.test"]))))
    records.append(orjson.dumps(f.send(NOTIFIED, ["late@x.test"])))
    records.append(orjson.dumps(f.identity_notification(f.bounce(WAITING, ["lost@x.test"]))))
    return records


def state_of(store: Store) -> dict[str, Any]:
    """Everything a user can read: campaigns, their summaries and records, message and recipient look-ups."""
    campaigns = store.campaigns()
    summaries = {name: store.campaign_summary(name) for name, *_ in campaigns}
    records = {name: sorted((m.message_id, m.recipients) for m in store.iter_records(name)) for name in summaries}
    return {
        "campaigns": campaigns,
        "summaries": summaries,
        "records": records,
        "notified": store.message(NOTIFIED),
        "waiting": store.message(WAITING),
        "recipient": store.recipient("late@x.test"),
    }


def ingest_file(store: Store, path: Path) -> dict[str, Any]:
    return Ingestor(store, batch_events=700).ingest_paths([str(path)], progress=False).to_dict()


def test_redis_killed_and_restarted_with_aof_keeps_every_campaign(aof_redis: AofRedis, tmp_path: Path) -> None:
    records = stream_records()
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(records) + b"\n")
    summary = ingest_file(Store(aof_redis.start()), path)
    assert summary["rejected"] == 0 and summary["waiting"] >= 1
    before = state_of(Store(redis.Redis(host="127.0.0.1", port=aof_redis.port)))
    assert len(before["campaigns"]) >= 3 and before["waiting"] is not None
    assert before["notified"].campaign is not None

    aof_redis.kill()
    after = state_of(Store(aof_redis.start()))

    assert after == before


def test_the_archive_rebuilds_identical_state_into_an_empty_redis(redis_url: str, tmp_path: Path) -> None:
    records = stream_records()
    archive = Archive(tmp_path / "archive")
    for start in range(0, len(records), 500):  # several gzip members, as a running service appends them
        archive.append(records[start : start + 500])
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(records) + b"\n")
    client = redis.Redis.from_url(redis_url)
    ingest_file(Store(client), path)
    before = state_of(Store(client))

    client.flushall()
    rebuilt = ingest_file(Store(client), tmp_path / "archive")
    assert rebuilt["read"] == len(records) and rebuilt["rejected"] == 0

    assert state_of(Store(client)) == before
