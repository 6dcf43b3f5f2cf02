"""Scheduled work, declared as a table of jobs and run by APScheduler 3 (`sesbot scheduler`).

Each replica runs its own `BackgroundScheduler` with its own in-memory job store (a shared job store still
double-fires, DESIGN §6). Every run of a job first takes `SET <p>:lock:job:<id> NX PX (0.8 x interval)` and never
releases it: of the replicas whose timers fire within the same interval, exactly one does the work, and a replica
that restarts cannot run the job again before the interval is mostly over. A job whose `enabled` says no for
this process's configuration (the suppression mirror without AWS, the MX cache without usable DNS) is not
scheduled at all.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.alert_providers import MX_WARM_INTERVAL_S, MX_WARM_MAX_DOMAINS, resolver_for, warm_mx_cache
from bot.alert_run import aws_for, collect_alerts, load_thresholds
from bot.alert_summaries import AlertSummaryReader
from bot.alerts import AlertLifecycle, lifecycle_for
from bot.aws import SesAccount
from bot.dns_resolver import Resolver
from bot.investigate import SuppressionListCache
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

GUARD_SHARE = 0.8  # of the interval, for the run guard's PX


@dataclass
class JobContext:
    """What the jobs work with; one per scheduler (one per replica)."""

    settings: Settings
    store: Store
    lifecycle: AlertLifecycle
    aws: SesAccount | None = None
    resolver: Resolver | None = None  # for the mx_cache job; None when DNS is not usable
    clock: Callable[[], float] = time.time
    runs: Counter[str] = field(default_factory=Counter)  # runs that did the work
    skipped: Counter[str] = field(default_factory=Counter)  # runs another replica had already done
    last_result: dict[str, Any] = field(default_factory=dict)


def alert_tick(ctx: JobContext) -> Any:
    """Run the checks over every active campaign and bring the channel up to date."""
    run = collect_alerts(ctx.store, ctx.settings, int(ctx.clock() * 1000), ctx.aws)
    result = ctx.lifecycle.sync(run)
    log.info("alert check: %d campaign(s), %d alert(s); posted %d, digest %d, updated %d, escalated %d, "
             "resolved %d, quiet %d, failed %d", len(run.active), len(run.alerts), len(result.posted),
             len(result.digest), len(result.updated), len(result.escalated), len(result.resolved),
             len(result.quiet), len(result.failed))
    return result


def suppression_mirror_tick(ctx: JobContext) -> str:
    """Keep the Redis mirror of the account suppression list warm, so that the first `/ses why` after a quiet
    spell looks its Send-only recipients up there instead of downloading the whole list (5.9 s for 50,000
    addresses). Through the investigation's own SuppressionListCache: the same key, lock and refresh rules."""
    assert ctx.aws is not None  # the job is only scheduled when AWS is configured
    started = time.perf_counter()
    how = SuppressionListCache(ctx.store, ctx.aws, ctx.aws.region or "default", ctx.clock).refresh()
    log.info("suppression mirror: %s refresh in %.1f s", how, time.perf_counter() - started)
    return how


def mx_cache_tick(ctx: JobContext) -> dict[str, int]:
    """Resolve the MX of the pending recipient domains of the active campaigns that have no cached answer yet, at
    most MX_WARM_MAX_DOMAINS per run, through the investigation's resolver and Redis cache: the alert tick groups
    those domains by provider from the cache without doing DNS itself (bot/alert_providers.py)."""
    assert ctx.resolver is not None  # the job is only scheduled when DNS is usable
    started = time.perf_counter()
    now_ms = int(ctx.clock() * 1000)
    active = ctx.store.active_campaigns(now_ms - ctx.settings.active_hours * 3_600_000)
    reader = AlertSummaryReader(ctx.store, cluster=ctx.settings.redis_cluster)
    totals = reader.totals(active)
    if totals is not None:  # only campaigns with enough pending recipients for a domain spike
        floor = load_thresholds(ctx.settings, ctx.store).lowest("domain_min_pending")
        active = [c for c in active if totals[c].states["send_only"] + totals[c].states["delayed"] >= floor]
    result = warm_mx_cache(ctx.store, ctx.resolver, reader.domain_counts(active), MX_WARM_MAX_DOMAINS)
    log.info("MX cache: %d campaign(s), %d domain(s) looked up (%d of a known provider, %d unanswered), %d left "
             "for the next runs, in %.1f s", len(active), result.looked_up, result.named, result.unresolved,
             result.left, time.perf_counter() - started)
    return result.to_dict()


def always(ctx: JobContext) -> bool:
    return True


def aws_configured(ctx: JobContext) -> bool:
    return ctx.aws is not None


def dns_usable(ctx: JobContext) -> bool:
    return ctx.resolver is not None


@dataclass(frozen=True)
class Job:
    id: str
    function: Callable[[JobContext], Any]
    interval_s: Callable[[Settings], int]  # the trigger: every N seconds, N from the settings
    enabled: Callable[[JobContext], bool] = always  # scheduled only when this says yes


JOBS: tuple[Job, ...] = (
    Job("alerts", alert_tick, lambda s: s.alert_interval_s),
    Job("suppression_mirror", suppression_mirror_tick, lambda s: s.suppression_refresh_s, aws_configured),
    Job("mx_cache", mx_cache_tick, lambda s: MX_WARM_INTERVAL_S, dns_usable),
)


def enabled_jobs(ctx: JobContext, jobs: tuple[Job, ...] = JOBS) -> tuple[Job, ...]:
    return tuple(job for job in jobs if job.enabled(ctx))


def run_guarded(job: Job, ctx: JobContext) -> bool:
    """Run `job` unless another replica ran it within the last 0.8 interval. True when this call did the work."""
    interval_ms = job.interval_s(ctx.settings) * 1000
    key = ctx.store.keys.lock(f"job:{job.id}")
    if not ctx.store.client.set(key, f"{threading.get_ident()}@{ctx.clock():.3f}", nx=True,
                                px=max(1, int(interval_ms * GUARD_SHARE))):
        ctx.skipped[job.id] += 1
        return False
    started = time.perf_counter()
    try:
        ctx.last_result[job.id] = job.function(ctx)
    except Exception:  # logged with its traceback; the next interval tries again
        log.exception("scheduled job %s failed", job.id)
    finally:
        ctx.runs[job.id] += 1
        log.debug("job %s ran in %.3f s", job.id, time.perf_counter() - started)
    return True


def build_scheduler(ctx: JobContext, jobs: tuple[Job, ...] = JOBS) -> BackgroundScheduler:
    """One scheduler with its own in-memory job store; every job first runs at once, then on its interval."""
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1,
                                                                "misfire_grace_time": 30})
    now = datetime.now(UTC)
    for job in enabled_jobs(ctx, jobs):
        scheduler.add_job(run_guarded, IntervalTrigger(seconds=job.interval_s(ctx.settings), timezone=UTC),
                          args=(job, ctx), id=job.id, name=job.id, next_run_time=now, replace_existing=True)
    return scheduler


def start_scheduler(settings: Settings, store: Store, client: Any = None) -> tuple[BackgroundScheduler, JobContext]:
    """Start the jobs in background threads (for `sesbot scheduler`, or embedded in another process)."""
    ctx = JobContext(settings, store, lifecycle_for(settings, store, client), aws_for(settings),
                     resolver_for(settings, store))
    scheduler = build_scheduler(ctx)
    scheduler.start()
    log.info("scheduler started: %s",
             ", ".join(f"{j.id} every {j.interval_s(settings)} s" for j in enabled_jobs(ctx)))
    return scheduler, ctx


def run_until_stopped(settings: Settings, store: Store) -> int:
    """`sesbot scheduler`: run the jobs until SIGTERM or SIGINT."""
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our job logs each run itself, in one line
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    scheduler, _ctx = start_scheduler(settings, store)
    try:
        stop.wait()
    finally:
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
    return 0
