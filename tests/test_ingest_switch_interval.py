"""A backfill shortens Python's GIL switch interval while its writer thread runs (so the writer is not kept
waiting for the parsing thread) and puts the caller's value back afterwards, also when it fails."""

import json
import sys
from pathlib import Path

import pytest
import redis

from bot.ingest import WRITER_SWITCH_INTERVAL_S, Ingestor
from bot.store import Store
from tests import factory as f


def write_events(path: Path, n: int) -> None:
    with path.open("w") as out:
        for i in range(n):
            out.write(json.dumps(f.send(f.message_id(i), [f"r{i}@x.test"])) + "\n")


def test_the_interval_is_short_during_a_backfill_and_restored_after(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    write_events(path, 50)
    seen: list[float] = []

    def keep(_event: object) -> bool:
        seen.append(sys.getswitchinterval())
        return True

    before = sys.getswitchinterval()
    summary = Ingestor(Store(redis.Redis.from_url(redis_url)), batch_events=10, keep=keep).ingest_paths(
        [str(path)], progress=False)
    assert summary.ingested == 50
    assert seen and set(seen) == {min(before, WRITER_SWITCH_INTERVAL_S)}
    assert sys.getswitchinterval() == before


def test_the_interval_is_restored_when_the_backfill_fails(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    write_events(path, 5)

    def keep(_event: object) -> bool:
        raise RuntimeError("stop")

    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError, match="stop"):
        Ingestor(Store(redis.Redis.from_url(redis_url)), keep=keep).ingest_paths([str(path)], progress=False)
    assert sys.getswitchinterval() == before
