"""File ingestion through batches: records split over batches of any size give the same state, and lines of an
NDJSON file that hold several objects back to back are split into their records."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import redis

from bot.ingest import Ingestor
from bot.simulate import iter_events_fast
from bot.store import Store
from tests import factory as f


def snapshot(store: Store) -> dict:
    summaries = {name: store.campaign_summary(name) for name, *_ in store.campaigns()}
    return {name: (summary, sorted((m.message_id, m.recipients) for m in store.iter_records(name)))
            for name, summary in summaries.items()}


@pytest.mark.parametrize("batch_events", [1, 7, 20_000])
def test_batch_size_does_not_change_the_state(redis_url: str, tmp_path: Path, batch_events: int) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(iter_events_fast(400, campaigns=2, seed=3)) + b"\n")
    client = redis.Redis.from_url(redis_url)
    whole = Ingestor(Store(client), batch_events=100_000).ingest_paths([str(path)], progress=False)
    expected = snapshot(Store(client))
    client.flushall()

    batched = Ingestor(Store(client), batch_events=batch_events).ingest_paths([str(path)], progress=False)

    assert snapshot(Store(client)) == expected
    assert batched.to_dict() == whole.to_dict()


def test_ndjson_line_with_objects_back_to_back_is_split(redis_url: str, tmp_path: Path) -> None:
    m1, m2 = f.message_id(1), f.message_id(2)
    lines = [
        orjson.dumps(f.send(m1, ["a@x.test"])),
        orjson.dumps(f.send(m2, ["b@x.test"])) + orjson.dumps(f.delivery(m2, ["b@x.test"])),  # two on one line
        b'{"eventType": "Delivery"}{"broken',  # back to back, the second one cut off
        orjson.dumps(f.delivery(m1, ["a@x.test"])),
    ]
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    store = Store(redis.Redis.from_url(redis_url))

    summary = Ingestor(store).ingest_paths([str(path)], progress=False)

    assert (summary.read, summary.ingested, summary.rejected) == (6, 4, 2)
    assert store.campaign_summary("spring-042").totals["delivered"] == 2
    assert all(reason.startswith(f"{path}:3: ") for reason in summary.reasons)
