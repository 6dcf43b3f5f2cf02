"""Benchmark: `why` on a campaign of 1,000,000 recipients with 200,000 Send-only, against DuckDB on the raw events.

1. Writes the campaign's raw SES event records as NDJSON (`bot.simulate.iter_campaign_fast`: real record shape,
   ~1.9 KB a line, out of order, ~0.5 % duplicates; exactly 200,000 recipients get nothing after their Send).
2. Starts its own redis-server on a free loopback port and ingests that file through the real ingest path
   (`Ingestor.ingest_paths`, the code behind `sesbot ingest`).
3. Times `why` to the verdict: `Investigator.investigate` with no AWS and no DNS (those steps come back skipped;
   their round trips are not the engine's speed and are excluded here; `why --json` reports them per step in
   `timings`). One cold run, then the median of --runs warm ones.
   Then, reported separately, the same `why` with every step running against local servers on loopback (the
   demo's: LocalAws loaded with an account state for this campaign, 50,000 addresses on its suppression list of
   which 40,000 are Send-only recipients of the campaign (every fifth), and the in-process DNS server): cold
   (suppression list read whole into sesbot's Redis cache) and warm (cache fresh). Loopback round trips are far
   faster than real AWS and DNS, so these show the cost of the work around the calls, not AWS's latency.
4. Times DuckDB running the seed query over the same NDJSON: Send-only recipients grouped by domain, i.e.
   recipients of a Send with no outcome event (Delivery, Bounce, Complaint, DeliveryDelay, Reject, Rendering
   Failure: DeliveryDelay counts because sesbot's `delayed` is a state of its own), once with DuckDB's automatic
   JSON schema and once with the columns given explicitly (DuckDB's best case). Both counts are checked against
   sesbot's.
5. Times the four charts (`bot.charts.render_charts`), warm (median of 3 after one cold render).

Prints the figures in one block and stops by itself (about 2-4 minutes on 2 cores).

    .venv/bin/python benchmarks/why.py [--recipients 1000000] [--send-only 200000] [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.demo_redis import start_redis_server_or_exit
from bot.ingest import Ingestor
from bot.investigate import Investigator
from bot.keys import KeySchema
from bot.simulate import (
    ACCOUNT_ID,
    DEFAULT_START,
    FROM_DOMAIN,
    MAIL_FROM_DOMAIN,
    REGION,
    SNS_ENDPOINT,
    AwsState,
    dns_zones,
    fast_campaign_name,
    iter_campaign_fast,
    support_zones,
    write_lines,
)
from bot.store import CampaignSummary, Store

WHY_TARGET_S = 1.0
SPEEDUP_TARGET = 10.0
CHARTS_TARGET_S = 1.0
DELIVERY_WINDOW_S = 900
SUPPRESSED_COHORT = 40_000  # Send-only recipients put on the local suppression list
SUPPRESSED_OTHERS = 10_000

OUTCOME_COLUMNS = ("{'eventType': 'VARCHAR', 'mail': 'STRUCT(messageId VARCHAR, destination VARCHAR[])', "
                   "'delivery': 'STRUCT(recipients VARCHAR[])', "
                   "'bounce': 'STRUCT(bouncedRecipients STRUCT(emailAddress VARCHAR)[])', "
                   "'complaint': 'STRUCT(complainedRecipients STRUCT(emailAddress VARCHAR)[])', "
                   "'deliveryDelay': 'STRUCT(delayedRecipients STRUCT(emailAddress VARCHAR)[])'}")


def seed_query(source: str) -> str:
    """Send-only recipients by domain: (message, recipient) pairs of a Send with no outcome event."""
    return f"""
WITH ev AS (SELECT * FROM {source}),
sends AS (SELECT DISTINCT mail.messageId AS mid, unnest(mail.destination) AS rcpt FROM ev WHERE eventType = 'Send'),
outcomes AS (
    SELECT mail.messageId AS mid, unnest(delivery.recipients) AS rcpt FROM ev WHERE eventType = 'Delivery'
    UNION ALL SELECT mail.messageId, unnest(bounce.bouncedRecipients).emailAddress FROM ev WHERE eventType = 'Bounce'
    UNION ALL SELECT mail.messageId, unnest(complaint.complainedRecipients).emailAddress FROM ev
        WHERE eventType = 'Complaint'
    UNION ALL SELECT mail.messageId, unnest(deliveryDelay.delayedRecipients).emailAddress FROM ev
        WHERE eventType = 'DeliveryDelay'
    UNION ALL SELECT mail.messageId, unnest(mail.destination) FROM ev
        WHERE eventType IN ('Reject', 'Rendering Failure'))
SELECT split_part(rcpt, '@', 2) AS domain, count(*) AS send_only
FROM sends ANTI JOIN outcomes USING (mid, rcpt)
GROUP BY 1 ORDER BY 2 DESC
"""


def progress(text: str) -> None:
    print(f"... {text}", file=sys.stderr, flush=True)


def write_events(path: Path, recipients: int, send_only: int) -> tuple[int, int]:
    with open(path, "wb", buffering=1 << 20) as fh:
        lines = write_lines(fh, iter_campaign_fast(recipients, send_only, seed=1), batch_size=5000)
    return lines, path.stat().st_size


def time_duckdb(path: Path, explicit: bool) -> tuple[float, int, str]:
    import duckdb

    source = (f"read_ndjson('{path}', columns = {OUTCOME_COLUMNS})" if explicit
              else f"read_json_auto('{path}', format = 'newline_delimited')")
    con = duckdb.connect()
    try:
        started = time.perf_counter()
        rows = con.execute(seed_query(source)).fetchall()
        seconds = time.perf_counter() - started
    except duckdb.Error as exc:
        return float("nan"), -1, f"failed: {str(exc).splitlines()[0][:120]}"
    finally:
        con.close()
    return seconds, sum(n for _, n in rows), f"top {rows[0][0]} {rows[0][1]:,}" if rows else "no rows"


def local_aws_state(store: Store, campaign: str, summary: CampaignSummary) -> AwsState:
    """An account for the benchmark campaign: healthy, every event type published to a confirmed subscription,
    CloudWatch counts equal to what was captured, 40,000 of the Send-only recipients (spread evenly over the
    cohort) and 10,000 other addresses on the suppression list."""
    listed_at = DEFAULT_START - timedelta(days=30)
    everyone = [r.recipient for _, r in store.recipients_in_state(campaign, ("send_only",))]
    cohort = everyone[:: max(1, len(everyone) // SUPPRESSED_COHORT)][:SUPPRESSED_COHORT]  # spread over the cohort
    suppressed = [(a, "BOUNCE", listed_at) for a in cohort]
    suppressed += [(f"old.subscriber{i}@mail-google.test", "BOUNCE", listed_at) for i in range(SUPPRESSED_OTHERS)]
    config_set = next(iter(summary.config_sets))
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:ses-events"
    metrics = {"Send": "Send", "Delivery": "Delivery", "Bounce": "Bounce", "Complaint": "Complaint",
               "DeliveryDelay": "DeliveryDelay"}
    cloudwatch = {config_set: {
        metric: [(datetime.fromtimestamp(minute * 60, UTC), float(n))
                 for minute, n in sorted(summary.events_by_minute.get(etype, {}).items())]
        for etype, metric in metrics.items()}}
    return AwsState(
        region=REGION, account_id=ACCOUNT_ID, suppressed_destinations=suppressed,
        account={"sending_enabled": True, "enforcement_status": "HEALTHY", "production_access_enabled": True,
                 "suppressed_reasons": ["BOUNCE", "COMPLAINT"],
                 "quota": {"max_24_hour_send": 2_000_000.0, "max_send_rate": 300.0,
                           "sent_last_24_hours": float(summary.recipients)}},
        configuration_sets={config_set: {
            "sending_enabled": True, "max_delivery_seconds": None, "suppressed_reasons": None,
            "tls_policy": "OPTIONAL", "reputation_metrics_enabled": True,
            "event_destinations": [{"name": "sesbot", "enabled": True, "sns_topic_arn": topic,
                                    "matching_types": ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "DELIVERY_DELAY",
                                                       "REJECT", "RENDERING_FAILURE", "OPEN", "CLICK"]}]}},
        identity={"domain": FROM_DOMAIN, "verified": True, "dkim_tokens": [], "dkim_status": "SUCCESS",
                  "mail_from_domain": MAIL_FROM_DOMAIN, "mail_from_status": "SUCCESS"},
        cloudwatch=cloudwatch,
        sns_topics={topic: {"subscriptions": [{"protocol": "https", "endpoint": SNS_ENDPOINT,
                                               "status": "Confirmed"}]}},
    )


def time_with_local_servers(store: Store, campaign: str, now_ms: int, summary: CampaignSummary) -> dict[str, Any]:
    from bot.aws_emulator import LocalAws
    from bot.demo import local_aws_environment
    from bot.demo_dns import DnspythonServer
    from bot.investigate import build_investigator
    from bot.settings import Settings
    from bot.simulate_aws import load_aws_state, zones_with_tokens

    state = local_aws_state(store, campaign, summary)
    aws = LocalAws()
    endpoint = aws.start()
    dns_server = None
    try:
        with local_aws_environment(endpoint, REGION):
            loaded = load_aws_state(state, aws)
            zones = {**zones_with_tokens(dns_zones(), loaded.dkim_tokens),
                     **support_zones(dkim_tokens=loaded.dkim_tokens)}
            dns_server = DnspythonServer(zones).start()
            settings = Settings(dns_nameservers=dns_server.nameserver, aws_region=REGION,
                                delivery_window_s=DELIVERY_WINDOW_S)
            investigator = build_investigator(settings, store)
            cold = investigator.investigate(campaign, now_ms)
            warm = investigator.investigate(campaign, now_ms)
    finally:
        if dns_server is not None:
            dns_server.stop()
        aws.stop()
    return {"cold": cold, "warm": warm}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--send-only", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5, help="warm why runs (median reported)")
    parser.add_argument("--keep", type=Path, help="keep the NDJSON here instead of a temporary folder")
    parser.add_argument("--no-local-aws", action="store_true", help="skip the run against local AWS and DNS")
    args = parser.parse_args()

    wall = time.perf_counter()
    tmp = tempfile.TemporaryDirectory(prefix="sesbot-bench-why-")
    workdir = Path(tmp.name)
    events_path = (args.keep or workdir) / "events.ndjson"
    events_path.parent.mkdir(parents=True, exist_ok=True)
    server = start_redis_server_or_exit()
    url = server.url or ''
    try:
        progress(f"writing {args.recipients:,} recipients ({args.send_only:,} Send-only) to {events_path}")
        started = time.perf_counter()
        lines, size = write_events(events_path, args.recipients, args.send_only)
        generate_s = time.perf_counter() - started

        progress(f"ingesting {lines:,} records into redis-server at {url}")
        store = Store(redis.Redis.from_url(url, socket_timeout=60), KeySchema("sb"))
        started = time.perf_counter()
        ingested = Ingestor(store).ingest_paths([str(events_path)], progress=False)
        ingest_s = time.perf_counter() - started
        info = store.client.info("memory")

        campaign = fast_campaign_name(1)
        now_ms = int((DEFAULT_START + timedelta(hours=3)).timestamp() * 1000)
        investigator = Investigator(store, None, None, delivery_window_s=DELIVERY_WINDOW_S,
                                    aws_problem="AWS excluded from this benchmark",
                                    dns_problem="DNS excluded from this benchmark")
        progress("timing why (engine only)")
        cold = investigator.investigate(campaign, now_ms)
        runs = [investigator.investigate(campaign, now_ms) for _ in range(max(1, args.runs))]
        totals = sorted(r.timings["total"] for r in runs)
        median_run = min(runs, key=lambda r: abs(r.timings["total"] - statistics.median(totals)))
        why_s = statistics.median(totals)
        inv = runs[-1]
        sesbot_send_only = inv.summary.totals.get("send_only", 0)

        local: dict[str, Any] = {}
        if not args.no_local_aws:
            progress("timing why with local AWS and DNS (loading the account state first)")
            local = time_with_local_servers(store, campaign, now_ms, inv.summary)

        progress("timing DuckDB on the NDJSON (automatic schema, then explicit columns)")
        duck_auto = time_duckdb(events_path, explicit=False)
        duck_cols = time_duckdb(events_path, explicit=True)

        progress("timing the charts")
        from bot.charts import render_charts

        started = time.perf_counter()
        charts = render_charts(inv, DELIVERY_WINDOW_S, inv.retry_deadline_s)
        charts_cold_s = time.perf_counter() - started
        warm = []
        for _ in range(3):
            started = time.perf_counter()
            render_charts(inv, DELIVERY_WINDOW_S, inv.retry_deadline_s)
            warm.append(time.perf_counter() - started)
        charts_s = statistics.median(warm)
    finally:
        server.stop()
        tmp.cleanup()

    def verdict(ok: bool) -> str:
        return "meets target" if ok else "MISSES target"

    def speedup(duck: tuple[float, int, str]) -> str:
        seconds, count, note = duck
        if count < 0:
            return note
        match = "matches sesbot" if count == sesbot_send_only else f"sesbot says {sesbot_send_only:,}"
        ratio = seconds / why_s
        return (f"{seconds:7.3f} s  -> sesbot {ratio:5.1f}x faster ({verdict(ratio >= SPEEDUP_TARGET)} "
                f">= {SPEEDUP_TARGET:g}x); {count:,} Send-only ({match}); {note}")

    step_times = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in median_run.timings.items() if k != "total")
    causes = ", ".join(f"{c.cause} {c.score:.2f}" for c in inv.causes[:3]) or "-"
    print()
    print("== sesbot why benchmark ==")
    print(f"campaign                  {campaign}: {args.recipients:,} recipients, {sesbot_send_only:,} Send-only "
          f"in sesbot ({inv.send_only.stuck_count:,} stuck)")
    print(f"raw events (NDJSON)       {lines:,} records, {size / 1e9:.2f} GB, written in {generate_s:.1f} s")
    print(f"ingest (sesbot ingest)    {ingest_s:.1f} s, {ingested.ingested / ingest_s:,.0f} events/s, "
          f"{ingested.duplicates:,} duplicates; Redis used_memory {info['used_memory'] / 1e6:,.0f} MB")
    print(f"why, engine (cold)        {cold.timings['total']:.3f} s")
    print(f"why, engine (median {len(runs)})    {why_s:.3f} s  ({verdict(why_s <= WHY_TARGET_S)} <= "
          f"{WHY_TARGET_S:g} s; min {totals[0]:.3f}, max {totals[-1]:.3f})")
    print(f"  per part                {step_times}")
    print(f"  verdict                 {causes} (AWS and DNS steps skipped: excluded)")
    if local:
        for label in ("cold", "warm"):
            run = local[label]
            parts = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in run.timings.items() if k != "total")
            print(f"why, local AWS+DNS ({label}) {run.timings['total']:.3f} s: {parts}")
        run = local["warm"]
        statuses = ", ".join(f"{k} {v.status}" for k, v in run.steps.items())
        causes_local = ", ".join(f"{c.cause} {c.score:.2f}" for c in run.causes[:3]) or "-"
        print(f"  steps                   {statuses}")
        print(f"  verdict                 {causes_local}")
    print(f"DuckDB, automatic schema  {speedup(duck_auto)}")
    print(f"DuckDB, explicit columns  {speedup(duck_cols)}")
    print(f"charts (4 PNGs)           warm median {charts_s:.3f} s ({verdict(charts_s <= CHARTS_TARGET_S)} <= "
          f"{CHARTS_TARGET_S:g} s), cold {charts_cold_s:.3f} s, {sum(map(len, charts.values())) / 1e3:.0f} KB")
    print(f"machine                   {os.cpu_count()} CPUs; benchmark wall time {time.perf_counter() - wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
