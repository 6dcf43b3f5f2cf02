"""Benchmark: one alert check tick over 1,000 active campaigns with realistic aggregates (target <= 0.5 s).

Starts its own redis-server on a free loopback port (listpack limits as documented), fills it through
`Store.record` with campaigns spread over the last 23 hours (sizes lognormal, median 400 recipients; recipient
domains from a long-tailed list of 3,000; sends over 10-120 minutes; deliveries, opens and clicks over the
following hours, bounces, suppressions, delays with their expiry; 10 % of the campaigns with a Send-only problem),
then times `collect_alerts` (active campaigns, their totals, the details of those with enough pending recipients
to alert, thresholds, the four checks) several times, and prints the parts, including the worst case where every
campaign has to be read in detail.

Then the ticks with AWS configured (the project's local AWS endpoint, bot.aws_emulator.LocalAws, in this process):
every configuration set has an SNS event destination, and the subscription of one of them, then of all of them, is
still pending. The SNS answers are cached in Redis for 10 minutes, so the first tick of each case (the look-ups)
is left out of the figures. Only the campaigns that sent through an unconfirmed configuration set, or whose counts
could alert, are read in detail.

    .venv/bin/python benchmarks/check.py [--campaigns 1000] [--median-recipients 400] [--ticks 5]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

import boto3
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.alert_run import CheckRun, collect_alerts
from bot.alert_summaries import AlertSummaryReader
from bot.aws import SesAccount
from bot.aws_emulator import LocalAws
from bot.demo_redis import start_redis_server_or_exit
from bot.events import FLAG_SUPPRESSED, Event
from bot.keys import KeySchema
from bot.settings import Settings
from bot.store import Store
from checks.alerts import CheckInput, Thresholds, check_campaigns
from checks.providers import KNOWN_DOMAINS

NOW_MS = 1_796_378_400_000  # 2026-12-04T12:00:00Z
MIN = 60_000
CONFIG_SETS = ("marketing-main", "newsletter", "launches", "promotions", "transactional")
IPS = ("54.240.8.35", "54.240.8.87", "54.240.9.112", "54.240.27.19", "54.240.48.111", "54.240.11.204")
SNS_ENDPOINT = "https://sesbot.example/sns"
BIG_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "aol.com", "gmx.de",
               "web.de", "live.com", "comcast.net")


def domain_picker(rng: random.Random) -> list[str]:
    """Weights: the big consumer domains take ~70 %, then a long tail of 3,000 company domains (Zipf-like)."""
    tail = [f"corp{i:04d}.example" for i in range(3000)]
    weights = [14, 9, 6, 8, 6, 2, 2, 2, 2, 1] + [30 / (i + 1) ** 0.9 / 9.3 for i in range(3000)]
    return rng.choices([*BIG_DOMAINS, *tail], weights, k=200_000)


def campaign_events(i: int, rng: random.Random, domains: list[str], median: int) -> list[Event]:
    name = f"campaign-{i:04d}"
    size = max(20, min(20_000, int(rng.lognormvariate(math.log(median), 1.0))))
    first = NOW_MS - rng.randrange(20 * MIN, 23 * 60 * MIN)
    window = rng.randrange(10, 121) * MIN
    troubled = rng.random() < 0.10
    config_set = rng.choice(CONFIG_SETS)
    events: list[Event] = []
    for n in range(size):
        send = first + rng.randrange(window)
        if send > NOW_MS:
            continue
        mid = f"0100{send:012x}-{i:08x}-{n:04x}-0000-0000-{rng.getrandbits(48):012x}-000000"
        rcpt = f"r{i}x{n}@{rng.choice(domains)}"
        ip = rng.choice(IPS)

        def ev(kind: str, at: int, detail: str = "", flags: int = 0, expires: int = 0, attempted: bool = True,
               mid: str = mid, rcpt: str = rcpt, send: int = send, ip: str = ip) -> Event | None:
            if at > NOW_MS:
                return None
            return Event(mid, rcpt, kind, at, send, name, config_set, "acme-shop.example", ip if attempted else None,
                         detail, flags, expires)

        out = [ev("Send", send, attempted=False)]
        u = rng.random()
        if troubled and u < 0.15:
            pass  # Send-only: the outcome never arrived
        elif u < 0.01:
            out.append(ev("Bounce", send + 800, "Permanent/OnAccountSuppressionList", FLAG_SUPPRESSED,
                          attempted=False))
        elif u < 0.03:
            out.append(ev("Bounce", send + rng.randrange(2_000, 20_000), "Permanent/General"))
        elif u < 0.05:  # deferred: most are delivered after a while, some are still retrying
            expires = send + 14 * 3_600_000
            delayed = send + rng.randrange(4 * MIN, 12 * MIN)
            out.append(ev("DeliveryDelay", delayed, "TransientCommunicationFailure", expires=expires))
            if rng.random() < 0.85:
                out.append(ev("Delivery", delayed + rng.randrange(10 * MIN, 180 * MIN)))
        elif u < 0.053:
            pass  # Send-only the ordinary way: an outcome event lost now and then
        else:
            delivered = send + rng.randrange(1_000, 30_000)
            out.append(ev("Delivery", delivered))
            if rng.random() < 0.25:
                opened = delivered + int(rng.lognormvariate(math.log(40 * MIN), 1.2))
                out.append(ev("Open", opened, attempted=False))
                if rng.random() < 0.12:
                    out.append(ev("Click", opened + rng.randrange(3_000, 180_000), attempted=False))
        events.extend(e for e in out if e is not None)
    return events


def fill(store: Store, campaigns: int, median: int) -> tuple[int, float]:
    rng = random.Random(42)
    domains = domain_picker(rng)
    started = time.perf_counter()
    total = 0
    batch: list[Event] = []
    for i in range(campaigns):
        batch.extend(campaign_events(i, rng, domains, median))
        while len(batch) >= 2000:
            store.record(batch[:2000])
            total += 2000
            del batch[:2000]
    if batch:
        store.record(batch)
        total += len(batch)
    return total, time.perf_counter() - started


def timed_ticks(store: Store, settings: Settings, ticks: int,
                aws: SesAccount | None = None) -> tuple[list[float], CheckRun]:
    times: list[float] = []
    run = None
    for _ in range(ticks):
        started = time.perf_counter()
        run = collect_alerts(store, settings, NOW_MS, aws)
        times.append(time.perf_counter() - started)
    assert run is not None
    return times, run


def figures(times: list[float]) -> str:
    return f"min {min(times):.3f} s, median {statistics.median(times):.3f} s, max {max(times):.3f} s"


def sns_destinations(aws: LocalAws, endpoint: str) -> tuple[boto3.Session, dict[str, str]]:
    """Every configuration set with an enabled SNS event destination, each to its own topic, subscribed (pending)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    sns = session.client("sns", endpoint_url=endpoint)
    sesv2 = session.client("sesv2", endpoint_url=endpoint)
    topics = {}
    for config_set in CONFIG_SETS:
        topic = sns.create_topic(Name=f"ses-events-{config_set}")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=SNS_ENDPOINT)
        sesv2.create_configuration_set(ConfigurationSetName=config_set)
        sesv2.create_configuration_set_event_destination(
            ConfigurationSetName=config_set, EventDestinationName="sesbot",
            EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE"],
                              "SnsDestination": {"TopicArn": topic}})
        topics[config_set] = topic
    return session, topics


def unconfirmed_ticks(store: Store, settings: Settings, ticks: int) -> None:
    aws = LocalAws()
    endpoint = aws.start()
    try:
        session, topics = sns_destinations(aws, endpoint)
        account = SesAccount(session, endpoint_url=endpoint)
        for pending in (CONFIG_SETS, CONFIG_SETS[1:2]):  # all pending, then all but one confirmed
            for config_set, topic in topics.items():
                if config_set not in pending:
                    aws.confirm_subscription(topic, SNS_ENDPOINT)
                store.client.delete(store.keys.cache("alert-sns", config_set))
            collect_alerts(store, settings, NOW_MS, account)  # the SNS look-ups, cached for the next ticks
            times, run = timed_ticks(store, settings, ticks, account)
            gaps = sum(1 for a in run.alerts if a.kind == "ingestion_gap")
            print(f"check tick with {len(pending)} of {len(CONFIG_SETS)} configuration sets' SNS subscription "
                  f"unconfirmed: read in detail {len(run.summaries):,} of {len(run.active):,}; ingestion_gap "
                  f"alerts {gaps:,}; {figures(times)}")
    finally:
        aws.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--median-recipients", type=int, default=400)
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()
    server = start_redis_server_or_exit()
    url = server.url or ''
    try:
        client = redis.Redis.from_url(url)
        store = Store(client, KeySchema())
        events, fill_s = fill(store, args.campaigns, args.median_recipients)
        info = client.info("memory")
        print(f"filled {args.campaigns:,} campaigns: {events:,} events in {fill_s:.1f} s; "
              f"redis used_memory {info['used_memory'] / 2**20:.0f} MiB")
        settings = Settings.from_env({"REDIS_URL": url})

        ticks, run = timed_ticks(store, settings, args.ticks)
        kinds = ", ".join(f"{k} {sum(1 for a in run.alerts if a.kind == k)}"
                          for k in sorted({a.kind for a in run.alerts}))
        print(f"active campaigns: {len(run.active):,}; read in detail (enough pending recipients to alert): "
              f"{len(run.summaries):,}; alerts: {len(run.alerts):,} ({kinds})")
        print(f"check tick (collect_alerts) over {args.ticks} runs: {figures(ticks)} (target <= 0.5 s)")

        reader = AlertSummaryReader(store, KNOWN_DOMAINS)
        parts = {}
        started = time.perf_counter()
        reader.totals(run.active)
        parts["totals of every active campaign"] = time.perf_counter() - started
        started = time.perf_counter()
        detailed = reader.read(run.active, NOW_MS, settings.delivery_window_s, Thresholds.domain_min_pending)
        parts["worst case: every campaign read in detail"] = time.perf_counter() - started
        started = time.perf_counter()
        check_campaigns(detailed.values(), CheckInput(NOW_MS, settings.delivery_window_s, providers=KNOWN_DOMAINS))
        parts["the four checks over every campaign"] = time.perf_counter() - started
        started = time.perf_counter()
        full = [store.campaign_summary(c) for c in run.active]
        parts["for comparison: Store.campaign_summary of every campaign"] = time.perf_counter() - started
        fields = sum(len(s.domains) + sum(len(m) for m in s.events_by_minute.values())
                     + len(s.send_only_by_minute) + len(s.types) for s in full if s is not None)
        print(f"aggregates per campaign (mean, full summary): {fields / max(1, len(full)):.0f} entries "
              "(domains, per-minute counters, types)")
        for name, seconds in parts.items():
            print(f"  {name}: {seconds:.3f} s")
        unconfirmed_ticks(store, settings, args.ticks)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
