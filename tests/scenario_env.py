"""Put a simulated campaign into the real components: its events into Redis (through the real parser and store),
its AWS state into the local AWS endpoint, its DNS zones into the NSD fixture; and run the `sesbot` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis

from bot.aws_emulator import LocalAws
from bot.events import parse_payload
from bot.simulate import SimulatedCampaign, simulate
from bot.simulate_aws import load_aws_state, zones_with_tokens
from bot.store import Store
from tests.dns_server import NsdServer

ROOT = Path(__file__).resolve().parents[1]


def ingest(store: Store, records: list[dict[str, Any]], campaign_tag: str = "campaign") -> int:
    events = []
    for record in records:
        parsed = parse_payload(record, campaign_tag)
        assert not parsed.rejected, parsed.rejected
        events.extend(parsed.events)
    for start in range(0, len(events), 1000):
        store.record(events[start : start + 1000])
    return len(events)


def stage(name: str, redis_url: str, local_aws: LocalAws, dns: NsdServer | None, *, recipients: int = 1500,
          seed: int = 7) -> SimulatedCampaign:
    sim = simulate(name, recipients=recipients, seed=seed)
    ingest(Store(redis.Redis.from_url(redis_url)), sim.events)
    loaded = load_aws_state(sim.aws, local_aws)
    if dns is not None:
        dns.add_zones(zones_with_tokens(sim.dns_zones, loaded.dkim_tokens))
    return sim


def sesbot(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=full_env,
                          cwd=ROOT, timeout=timeout, check=False)


def sesbot_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = sesbot(*args, "--json", env=env)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    return json.loads(done.stdout)
