"""Scheduled work, declared as a table of jobs and run by APScheduler 3 (`sesbot scheduler`).

Each replica runs its own `BackgroundScheduler` with its own in-memory job store (a shared job store still
double-fires, DESIGN §6). Every run of a job first takes `SET <p>:lock:job:<id> NX PX (0.8 x interval)` and never
releases it: of the replicas whose timers fire within the same interval, exactly one does the work, and a replica
that restarts cannot run the job again before the interval is mostly over. A job whose `enabled` says no for
this process's configuration (the suppression mirror without AWS) is not scheduled at all.
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

from bot.alert_run import aws_for, collect_alerts
from bot.alerts import AlertLifecycle, lifecycle_for
from bot.aws import SesAccount
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


def always(ctx: JobContext) -> bool:
    return True


def aws_configured(ctx: JobContext) -> bool:
    return ctx.aws is not None


@dataclass(frozen=True)
class Job:
    id: str
    function: Callable[[JobContext], Any]
    interval_s: Callable[[Settings], int]  # the trigger: every N seconds, N from the settings
    enabled: Callable[[JobContext], bool] = always  # scheduled only when this says yes


JOBS: tuple[Job, ...] = (
    Job("alerts", alert_tick, lambda s: s.alert_interval_s),
    Job("suppression_mirror", suppression_mirror_tick, lambda s: s.suppression_refresh_s, aws_configured),
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
    ctx = JobContext(settings, store, lifecycle_for(settings, store, client), aws_for(settings))
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
