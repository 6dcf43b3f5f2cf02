"""Benchmark: what grouping pending domains by their cached MX answers costs the alert check tick.

Fills the same 1,000 campaigns as benchmarks/check.py (its own redis-server; 3,000 long-tail company domains
`corpNNNN.example`), times `collect_alerts` with an empty MX cache, then with a cached MX answer for every company
domain (half Microsoft 365, a quarter Google Workspace, a quarter self-hosted), and the Redis part of one mx_cache
job run (the pending domains of the active campaigns and which of them are uncached; no DNS).

    .venv/bin/python benchmarks/check_mx.py [--campaigns 1000] [--median-recipients 400] [--ticks 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.check import NOW_MS, figures, fill, timed_ticks
from bot.alert_providers import uncached_domains
from bot.alert_summaries import AlertSummaryReader
from bot.demo_redis import start_redis_server_or_exit
from bot.dns_resolver import cache_key
from bot.investigate import RedisDnsCache
from bot.keys import KeySchema
from bot.settings import Settings
from bot.store import Store
from checks.alerts import Thresholds
from checks.providers import KNOWN_DOMAINS


def cache_company_mx(store: Store, count: int = 3000) -> None:
    cache = RedisDnsCache(store)
    for i in range(count):
        domain = f"corp{i:04d}.example"
        host = (f"corp{i:04d}-example.mail.protection.outlook.com" if i % 2 == 0
                else "aspmx.l.google.com" if i % 4 == 1 else f"mx1.corp{i:04d}.example")
        cache.set(cache_key(domain, "MX"), json.dumps([[0, host]]), 3600)


def report(label: str, store: Store, settings: Settings, ticks: int) -> list[str]:
    times, run = timed_ticks(store, settings, ticks)
    spikes = [a for a in run.alerts if a.kind == "domain_spike"]
    providers = sum(1 for a in spikes for s in a.metrics["spikes"] if s["kind"] == "provider")
    print(f"{label}: check tick over {ticks} runs: {figures(times)}; read in detail {len(run.summaries):,}; "
          f"alerts {len(run.alerts):,}, domain_spike {len(spikes):,} (provider groups named {providers:,})")
    return run.active


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--median-recipients", type=int, default=400)
    parser.add_argument("--ticks", type=int, default=3)
    args = parser.parse_args()
    server = start_redis_server_or_exit()
    url = server.url or ''
    try:
        store = Store(redis.Redis.from_url(url), KeySchema())
        events, fill_s = fill(store, args.campaigns, args.median_recipients)
        print(f"filled {args.campaigns:,} campaigns: {events:,} events in {fill_s:.1f} s")
        settings = Settings.from_env({"REDIS_URL": url})
        report("empty MX cache", store, settings, args.ticks)
        cache_company_mx(store)
        active = report("MX cached for 3,000 company domains", store, settings, args.ticks)

        candidates = list(active)
        for mx_cache in (False, True):
            reader = AlertSummaryReader(store, KNOWN_DOMAINS, mx_cache=mx_cache)
            started = time.perf_counter()
            reader.read(candidates, NOW_MS, settings.delivery_window_s, Thresholds.domain_min_pending)
            print(f"  every campaign read in detail, mx_cache={mx_cache}: {time.perf_counter() - started:.3f} s"
                  + (f" ({len(reader.resolved):,} domains assigned from the cache)" if mx_cache else ""))
        reader = AlertSummaryReader(store)
        started = time.perf_counter()
        pending = reader.domain_counts(active)
        missing = uncached_domains(store, pending)
        print(f"mx_cache job, Redis part: pending domains of {len(active):,} campaigns: {len(pending):,}, "
              f"uncached {len(missing):,}, in {time.perf_counter() - started:.3f} s")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
