"""`sesbot rebuild`: the whole state, or one campaign, again from the raw-event archive, as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import redis

from bot.archive import Archive
from bot.ingest import Ingestor
from bot.simulate import iter_events_fast
from bot.store import Store
from tests import factory as f

ROOT = Path(__file__).resolve().parents[1]
NOTIFIED = f.message_id(9101)


def sesbot(redis_url: str, *args: str, archive_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESBOT_") and k != "REDIS_URL"}
    env["REDIS_URL"] = redis_url
    if archive_dir is not None:
        env["SESBOT_ARCHIVE_DIR"] = str(archive_dir)
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def archived_stream(folder: Path) -> tuple[Archive, list[bytes]]:
    records = list(iter_events_fast(1500, campaigns=3, seed=11))
    records.append(orjson.dumps(f.send(NOTIFIED, ["late@x.test"])))  # campaign spring-042
    records.append(orjson.dumps(f.identity_notification(f.delivery(NOTIFIED, ["late@x.test"]))))  # no tags
    archive = Archive(folder)
    for start in range(0, len(records), 400):
        archive.append(records[start : start + 400])
    return archive, records


def state(store: Store) -> dict:
    summaries = {name: store.campaign_summary(name) for name, *_ in store.campaigns()}
    return {name: (summary, sorted((m.message_id, m.recipients) for m in store.iter_records(name)))
            for name, summary in summaries.items()}


def test_rebuild_of_one_campaign_gives_back_exactly_its_state(redis_url: str, tmp_path: Path) -> None:
    archived_stream(tmp_path / "archive")
    client = redis.Redis.from_url(redis_url)
    Ingestor(Store(client)).ingest_paths([str(tmp_path / "archive")], progress=False)
    before = state(Store(client))
    assert before["spring-042"][0].totals["delivered"] == 1  # the identity notification joined its campaign
    victim = next(name for name in before if name != "spring-042")
    for key in client.scan_iter(f"sb:rec:{{c:{victim}:*".encode()):  # lose half of the campaign's records
        if int(key.rsplit(b":", 1)[1]) % 2:
            client.delete(key)
    client.hset(f"sb:agg:{{c:{victim}:0}}", "s|delivered", 999_999)  # and corrupt an aggregate
    client.hset(f"sb:agg:{{c:{'spring-042'}:0}}", "marker", 1)  # another campaign: must stay untouched

    done = sesbot(redis_url, "rebuild", "--campaign", victim, "--json", archive_dir=tmp_path / "archive")

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["campaign"] == victim and summary["keys_deleted"] > 0 and summary["rejected"] == 0
    after = state(Store(client))
    assert after[victim] == before[victim]
    assert client.hget("sb:agg:{c:spring-042:0}", "marker") == b"1"


def test_rebuild_of_everything_into_an_empty_redis(redis_url: str, tmp_path: Path) -> None:
    _, records = archived_stream(tmp_path / "archive")
    client = redis.Redis.from_url(redis_url)
    Ingestor(Store(client)).ingest_paths([str(tmp_path / "archive")], progress=False)
    before = state(Store(client))
    client.flushall()

    done = sesbot(redis_url, "rebuild", str(tmp_path / "archive"))

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"rebuilt the whole state from {tmp_path / 'archive'}: read {len(records):,} ")
    assert state(Store(client)) == before


def test_rebuild_without_an_archive_or_of_an_unknown_campaign_says_so(redis_url: str, tmp_path: Path) -> None:
    no_archive = sesbot(redis_url, "rebuild")
    assert no_archive.returncode == 2
    assert no_archive.stderr.strip() == "sesbot: rebuild needs ARCHIVE_DIR or SESBOT_ARCHIVE_DIR"
    (tmp_path / "archive").mkdir()
    unknown = sesbot(redis_url, "rebuild", "--campaign", "nope", archive_dir=tmp_path / "archive")
    assert unknown.returncode == 2
    assert "no campaign 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr
