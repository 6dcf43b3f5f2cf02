"""The investigation engine behind `sesbot why` and `/ses why`: gathers the data each step needs (sesbot's own
aggregates and a bounded sample of its records, SES/SNS/CloudWatch through `bot.aws.SesAccount`, DNS through
`bot.dns_resolver.DnsResolver`), runs the pure checks in `checks/` and ranks the causes (`checks.verdict`).

Cost: the store part reads the campaign's aggregates (O(shards + domains + minutes)) plus a bounded, uniform
sample of its records (see `SAMPLE_*`): never O(recipients). Steps that talk to AWS or DNS run concurrently, each
bounded by `step_timeout_s`; one that cannot run comes back `skipped` (no credentials, no resolver) or `error`
(AWS answered with an error, time-out) with why, and the others still finish.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.aws import AwsCallError, AwsError, AwsUnavailable, SesAccount
from bot.dns_resolver import DnsUnavailable, Resolver
from bot.keys import BUCKETS, SHARDS
from bot.reports import iso
from bot.settings import Settings
from bot.store import CampaignSummary, Store
from checks.account import AccountInputs, check_account, retry_deadline_s
from checks.authentication import check_authentication, organizational_domain
from checks.domains import check_domains
from checks.findings import StepResult
from checks.providers import KNOWN_DOMAINS, UNRESOLVED, provider_for_mx
from checks.reputation import DEFAULT_DOMAIN_LISTS, DEFAULT_IP_LISTS, Blocklist, check_reputation
from checks.routing import ConfigSetRouting, RoutingInputs, check_routing
from checks.send_only import SES_MAX_RETRY_S, SendOnly, send_only_figures
from checks.suppression import CohortMember, HistoryHit, ListedEntry, SuppressionInputs, check_suppression
from checks.temporary_failures import DelayedSample, TemporaryInputs, check_temporary_failures, parse_delay_detail
from checks.verdict import Cause, rank_causes

log = logging.getLogger(__name__)

T = TypeVar("T")

STEPS = ("suppression", "routing", "domains", "temporary_failures", "account", "authentication", "reputation")

# The bounded sample of a campaign's records (a prefix of Store.iter_records, which is a uniform sample).
SAMPLE_SEND_ONLY = 2_000  # Send-only recipients looked up on the suppression list
SAMPLE_DELAYED = 300  # delayed recipients read for their delay type and expiry
SAMPLE_DELAYED_ENOUGH = 50  # ... of which this many are enough to stop reading once the Send-only sample is full
SAMPLE_MAX_MESSAGES = 20_000  # records decoded at most
SAMPLE_BUCKET_BATCH = 16  # record buckets per Redis round trip, at least
SAMPLE_BUCKET_BATCH_MAX = 512  # and at most
HISTORY_CHECKS = 25  # Send-only recipients whose earlier messages are read from sesbot's history
SUPPRESSION_GET_MAX = 50  # up to this many addresses: GetSuppressedDestination each, no list download
SUPPRESSION_FULL_REFRESH_S = 6 * 3600  # the cached list is re-read whole this often (catches removals)
SUPPRESSION_OVERLAP_S = 3600  # incremental refreshes re-read this much before the last one (clock skew)
SUPPRESSION_MIN_REFRESH_S = 30  # a mirror refreshed this recently is used as it is
SUPPRESSION_LOCK_MS = 60_000  # one process refreshes a warm mirror at a time
MX_LOOKUPS_MAX = 200  # recipient domains resolved to a provider (the largest first)
MX_PARALLEL = 16
MX_GIVE_UP_AFTER = 3  # unanswered look-ups (time-outs) before DNS is taken to be down
REPUTATION_IPS_MAX = 20
DEFAULT_STEP_TIMEOUT_S = 12.0


class CampaignNotFound(Exception):
    """No campaign of that name in sesbot's store; `close_matches` are the nearest names it has."""

    def __init__(self, campaign: str, close_matches: list[str]) -> None:
        self.campaign = campaign
        self.close_matches = close_matches
        hint = f" Did you mean: {', '.join(close_matches)}?" if close_matches else " Try `sesbot campaigns`."
        super().__init__(f"Unknown campaign {campaign!r}.{hint}")


@dataclass
class Investigation:
    campaign: str
    now_ms: int
    summary: CampaignSummary
    send_only: SendOnly
    steps: dict[str, StepResult]
    causes: list[Cause]
    timings: dict[str, float]
    delivery_window_s: int = 900
    retry_deadline_s: int = SES_MAX_RETRY_S

    def to_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "campaign": self.campaign,
            "now": iso(self.now_ms),
            "recipients": s.recipients,
            "first_send": iso(s.first_send_ms),
            "last_send": iso(s.last_send_ms),
            "configuration_sets": sorted(s.config_sets),
            "from_domains": sorted(s.from_domains),
            "totals": dict(sorted(s.totals.items())),
            "send_only": self.send_only.to_dict(),
            "delivery_window_s": self.delivery_window_s,
            "retry_deadline_s": self.retry_deadline_s,
            "steps": {name: self.steps[name].to_dict() for name in STEPS if name in self.steps},
            "causes": [c.to_dict() for c in self.causes],
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }


# ---- the sample of a campaign's records -------------------------------------------------------------------------


@dataclass
class CampaignSample:
    send_only: list[CohortMember] = field(default_factory=list)
    delayed: list[DelayedSample] = field(default_factory=list)
    messages_read: int = 0
    complete: bool = True  # every record was read


def read_sample(store: Store, campaign: str, summary: CampaignSummary, *, send_only_limit: int = SAMPLE_SEND_ONLY,
                delayed_limit: int = SAMPLE_DELAYED, max_messages: int = SAMPLE_MAX_MESSAGES) -> CampaignSample:
    """Send-only and delayed recipients from a prefix of the campaign's records (a uniform sample); all of them
    when the campaign is small enough."""
    sample = CampaignSample()
    want_so = min(send_only_limit, summary.totals.get("send_only", 0))
    want_dl = min(delayed_limit, summary.totals.get("delayed", 0))
    if want_so == 0 and want_dl == 0:
        return sample
    # Read about as many buckets per round trip as the sample needs: all of a small campaign in a few round trips,
    # a thin prefix of a big one in one or two.
    share = min(1.0, max_messages / max(1, summary.recipients))
    batch = max(SAMPLE_BUCKET_BATCH, min(SAMPLE_BUCKET_BATCH_MAX, math.ceil(share * SHARDS * BUCKETS)))
    records = store.iter_records(campaign, batch=batch)
    for message in records:
        sample.messages_read += 1
        for r in message.recipients:
            if r.state == "send_only" and len(sample.send_only) < send_only_limit:
                sample.send_only.append(CohortMember(r.recipient, message.send_ms, message.configuration_set))
            elif r.state == "delayed" and len(sample.delayed) < delayed_limit:
                delay = next((e for e in reversed(r.events) if e.type == "DeliveryDelay"), None)
                delay_type, status = parse_delay_detail(delay.detail if delay else "")
                sample.delayed.append(DelayedSample(r.recipient, r.recipient.rpartition("@")[2], delay_type, status,
                                                    delay.expires_ms if delay else 0))
        # Delay types are read from the delayed recipients met on the way: a few dozen tell the story, so they
        # do not keep the scan going once the Send-only sample is complete.
        enough_delayed = len(sample.delayed) >= min(want_dl, SAMPLE_DELAYED_ENOUGH)
        if (len(sample.send_only) >= want_so and enough_delayed) or sample.messages_read >= max_messages:
            records.close()
            break
    sample.complete = (len(sample.send_only) >= summary.totals.get("send_only", 0)
                       and len(sample.delayed) >= summary.totals.get("delayed", 0))
    return sample


# ---- caches in Redis ------------------------------------------------------------------------------------------------


class RedisDnsCache:
    """`bot.dns_resolver.DnsCache` over the store's Redis: answers under `<p>:cache:dns:<key>` with the DNS TTL."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, key: str) -> str | None:
        raw = self._store.client.get(self._store.keys.cache("dns", key))
        return raw.decode() if raw is not None else None

    def set(self, key: str, value: str, ttl_s: int) -> None:
        self._store.client.set(self._store.keys.cache("dns", key), value, ex=max(1, ttl_s))

    def get_many(self, keys: Sequence[str]) -> list[str | None]:
        """`get` of every key in one pipelined round trip (the alert tick reads its domains' MX answers so)."""
        pipe = self._store.client.pipeline(transaction=False)
        for key in keys:
            pipe.get(self._store.keys.cache("dns", key))
        return [raw.decode() if raw is not None else None for raw in pipe.execute()] if keys else []


class SuppressionListCache:
    """The account suppression list mirrored in one Redis hash (address -> "REASON|last update ms") per region,
    refreshed incrementally with ListSuppressedDestinations(StartDate=last refresh - overlap) and re-read whole
    every SUPPRESSION_FULL_REFRESH_S (removals from the list only show then)."""

    def __init__(self, store: Store, ses: SesAccount, region: str, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._ses = ses
        self._entries = store.keys.cache("suppression", region)
        self._meta = store.keys.cache("suppression-sync", region)
        self._lock = store.keys.lock(f"suppression-refresh:{region}")
        self._clock = clock

    def is_warm(self) -> bool:
        meta = self._store.client.hgetall(self._meta)
        full = int(meta.get(b"full_ms", 0))
        return bool(full) and self._clock() * 1000 - full < SUPPRESSION_FULL_REFRESH_S * 1000

    def refresh(self) -> str:
        """Bring the mirror up to date; returns how: "full", "incremental", "recent" (refreshed within
        SUPPRESSION_MIN_REFRESH_S) or "in progress elsewhere" (another process holds the refresh lock)."""
        client = self._store.client
        meta = client.hgetall(self._meta)
        now_ms = int(self._clock() * 1000)
        full_ms, synced_ms = int(meta.get(b"full_ms", 0)), int(meta.get(b"synced_ms", 0))
        if full_ms and now_ms - synced_ms < SUPPRESSION_MIN_REFRESH_S * 1000:
            return "recent"  # refreshed moments ago (by this or another process): good enough
        if full_ms and not client.set(self._lock, now_ms, nx=True, px=SUPPRESSION_LOCK_MS):
            return "in progress elsewhere"  # another process is refreshing: use the mirror as it is
        try:
            return self._refresh(now_ms, full_ms, synced_ms)
        finally:
            if client.get(self._lock) == str(now_ms).encode():
                client.delete(self._lock)

    def _refresh(self, now_ms: int, full_ms: int, synced_ms: int) -> str:
        client = self._store.client
        if full_ms and now_ms - full_ms < SUPPRESSION_FULL_REFRESH_S * 1000:
            start = datetime.fromtimestamp(max(0, synced_ms / 1000 - SUPPRESSION_OVERLAP_S), UTC)
            entries = self._ses.suppressed_destinations(start)
            self._write(entries, replace=False)
            client.hset(self._meta, "synced_ms", now_ms)
            return "incremental"
        entries = self._ses.suppressed_destinations()
        self._write(entries, replace=True)
        client.hset(self._meta, mapping={"synced_ms": now_ms, "full_ms": now_ms, "count": len(entries)})
        return "full"

    def _write(self, entries: list[Any], *, replace: bool) -> None:
        pipe = self._store.client.pipeline(transaction=True)  # one key: atomic on a cluster too
        if replace:
            pipe.delete(self._entries)
        mapping = {e["email"].lower(): f"{e['reason']}|{_ms(e['last_update'])}" for e in entries}
        items = list(mapping.items())
        for start in range(0, len(items), 5_000):
            pipe.hset(self._entries, mapping=dict(items[start : start + 5_000]))
        pipe.execute()

    def lookup(self, addresses: list[str]) -> dict[str, ListedEntry]:
        if not addresses:
            return {}
        keys = [a.lower() for a in addresses]
        found: dict[str, ListedEntry] = {}
        for start in range(0, len(keys), 5_000):
            chunk = keys[start : start + 5_000]
            for address, raw in zip(chunk, self._store.client.hmget(self._entries, chunk), strict=True):
                if raw is not None:
                    reason, _, ms = raw.decode().partition("|")
                    found[address] = ListedEntry(reason, int(ms or 0))
        return found


def _ms(value: datetime) -> int:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


# ---- AWS answers shared by the steps of one investigation ------------------------------------------------------------


class _Memo:
    """Each AWS call made once per investigation, whichever step asks first; errors are remembered too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Any, Future[Any]] = {}

    def get(self, key: Any, fn: Callable[[], T]) -> T:
        with self._lock:
            future = self._futures.get(key)
            owner = future is None
            if owner:
                future = self._futures[key] = Future()
        assert future is not None
        if owner:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to every caller, raised below
                future.set_exception(exc)
        return future.result()

    def peek(self, key: Any) -> Any:
        """The answer if it is already there (None otherwise, or when the call failed): never waits."""
        with self._lock:
            future = self._futures.get(key)
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()


def _aws_problem(exc: AwsError) -> tuple[str, bool]:
    return exc.reason, isinstance(exc, AwsCallError)


# ---- the investigator -----------------------------------------------------------------------------------------------


class Investigator:
    def __init__(
        self,
        store: Store,
        ses: SesAccount | None,
        resolver: Resolver | None,
        *,
        delivery_window_s: int = 900,
        aws_problem: str = "AWS is not configured (set AWS_REGION and credentials)",
        dns_problem: str = "DNS is not configured",
        step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
        ip_blocklists: tuple[Blocklist, ...] = DEFAULT_IP_LISTS,
        domain_blocklists: tuple[Blocklist, ...] = DEFAULT_DOMAIN_LISTS,
        send_only_sample: int = SAMPLE_SEND_ONLY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ses = ses
        self.resolver = resolver
        self.delivery_window_s = delivery_window_s
        self.aws_problem = aws_problem
        self.dns_problem = dns_problem
        self.step_timeout_s = step_timeout_s
        self.ip_blocklists = ip_blocklists
        self.domain_blocklists = domain_blocklists
        self.send_only_sample = send_only_sample
        self.clock = clock

    # ---- public --------------------------------------------------------------------------------------------------

    def campaign_summary(self, campaign: str) -> CampaignSummary:
        summary = self.store.campaign_summary(campaign)
        if summary is None:
            raise CampaignNotFound(campaign, self.close_matches(campaign))
        return summary

    def close_matches(self, campaign: str) -> list[str]:
        names = [name for name, _first, _last in self.store.campaigns() if name]
        lowered = campaign.lower()
        near = difflib.get_close_matches(campaign, names, n=5, cutoff=0.6)
        contains = [n for n in names if lowered and (lowered in n.lower() or n.lower() in lowered)]
        return list(dict.fromkeys([*near, *contains]))[:5]

    def investigate(
        self, campaign: str, now_ms: int, on_step: Callable[[str, StepResult], None] | None = None,
        steps: tuple[str, ...] = STEPS,
    ) -> Investigation:
        started = time.perf_counter()
        summary = self.campaign_summary(campaign)
        sample = read_sample(self.store, campaign, summary, send_only_limit=self.send_only_sample)
        timings: dict[str, float] = {"state": time.perf_counter() - started}
        run = _Run(self, campaign, summary, sample, now_ms)
        results = self._run_steps(run, steps, timings, on_step)
        deadline = run.retry_deadline_s()
        send_only = send_only_figures(summary.totals, summary.send_only_by_minute, now_ms, self.delivery_window_s,
                                      deadline)
        verdict_started = time.perf_counter()
        causes = rank_causes(summary.totals, send_only, results, now_ms=now_ms, last_send_ms=summary.last_send_ms,
                             delivery_window_s=self.delivery_window_s)
        timings["verdict"] = time.perf_counter() - verdict_started
        timings["total"] = time.perf_counter() - started
        return Investigation(campaign, now_ms, summary, send_only, results, causes, timings,
                             self.delivery_window_s, deadline)

    def run_step(self, name: str, campaign: str, now_ms: int) -> tuple[StepResult, CampaignSummary, float]:
        """One step alone (for `sesbot suppression`, `sesbot routing`, ...): its result, the summary, seconds."""
        summary = self.campaign_summary(campaign)
        sample = read_sample(self.store, campaign, summary, send_only_limit=self.send_only_sample)
        run = _Run(self, campaign, summary, sample, now_ms)
        started = time.perf_counter()
        return _guarded(name, getattr(run, name)), summary, time.perf_counter() - started

    # ---- single steps without a campaign (the `sesbot suppression EMAIL`, `routing`, `auth`, `account` commands) --

    def active_config_sets(self, since_ms: int) -> tuple[list[str], dict[str, dict[str, int]]]:
        """Configuration sets of the campaigns with a Send since `since_ms`, and the event types received on each."""
        types: dict[str, dict[str, int]] = {}
        for campaign in self.store.active_campaigns(since_ms):
            summary = self.store.campaign_summary(campaign)
            if summary is None:
                continue
            for name in summary.config_sets:
                types.setdefault(name, {})
            for name, counts in summary.types_by_config_set.items():
                merged = types.setdefault(name, {})
                for event_type, n in counts.items():
                    merged[event_type] = merged.get(event_type, 0) + n
        names = sorted(n for n in types if n and n != "(none)")
        return names, types

    def _adhoc(self, now_ms: int, *, config_sets: list[str] | None = None, from_domain: str | None = None,
               types: dict[str, dict[str, int]] | None = None) -> _Run:
        config_sets = config_sets or []
        summary = CampaignSummary("")
        summary.config_sets = dict.fromkeys(config_sets, 0)
        summary.types_by_config_set = {k: v for k, v in (types or {}).items() if k in config_sets}
        if from_domain:
            summary.from_domains = {from_domain: now_ms}
        return _Run(self, "", summary, CampaignSample(), now_ms)

    def suppression_for_address(self, address: str, now_ms: int) -> tuple[StepResult, float]:
        started = time.perf_counter()
        address = address.strip().lower()
        run = self._adhoc(now_ms)
        listed: dict[str, ListedEntry] | None = None
        problem, is_error = None, False
        try:
            entry = run._ses().suppressed_destination(address)
            listed = {address: ListedEntry(entry["reason"], _ms(entry["last_update"]))} if entry else {}
        except AwsError as exc:
            problem, is_error = _aws_problem(exc)
        member = CohortMember(address, now_ms + 1, None)
        checked, history = run._history([member])
        result = check_suppression(SuppressionInputs(
            cohort_count=1, sample=[member], listed=listed, list_problem=problem, list_problem_is_error=is_error,
            list_source="GetSuppressedDestination", history_checked=checked, history=history))
        if listed is not None:
            hit = listed.get(address)
            summary = (f"{address} is on the account suppression list ({hit.reason}, since "
                       f"{iso(hit.last_update_ms)}): SES does not send to it."
                       if hit else f"{address} is not on the account suppression list.")
            if history:
                summary += f" sesbot saw {len(history)} earlier hard bounce(s)/complaint(s) for it."
            result = StepResult(result.step, result.status, summary, result.findings, result.data)
        return result, time.perf_counter() - started

    def routing_for(self, config_set: str | None, now_ms: int, since_ms: int) -> tuple[StepResult, float, list[str]]:
        started = time.perf_counter()
        names, types = self.active_config_sets(since_ms)
        if config_set:
            names = [config_set]
        if not names:
            return StepResult.skipped("routing", "no configuration set to check"), 0.0, []
        run = self._adhoc(now_ms, config_sets=names, types=types)
        return _guarded("routing", run.routing), time.perf_counter() - started, names

    def authentication_for(self, domain: str) -> tuple[StepResult, float]:
        started = time.perf_counter()
        run = self._adhoc(int(self.clock() * 1000), from_domain=domain)
        return _guarded("authentication", run.authentication), time.perf_counter() - started

    def account_for(self, now_ms: int, since_ms: int) -> tuple[StepResult, float, list[str]]:
        started = time.perf_counter()
        names, _ = self.active_config_sets(since_ms)
        run = self._adhoc(now_ms, config_sets=names)
        return _guarded("account", run.account), time.perf_counter() - started, names

    # ---- internals -----------------------------------------------------------------------------------------------

    def _run_steps(self, run: _Run, steps: tuple[str, ...], timings: dict[str, float],
                   on_step: Callable[[str, StepResult], None] | None) -> dict[str, StepResult]:
        results: dict[str, StepResult] = {}
        pool = ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="why")
        try:
            pending: dict[Future[tuple[StepResult, float]], str] = {}
            for name in steps:
                pending[pool.submit(_timed, name, getattr(run, name))] = name
            deadline = time.monotonic() + self.step_timeout_s
            while pending:
                done, _ = wait(pending, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
                if not done:
                    break
                for future in done:
                    name = pending.pop(future)
                    result, seconds = future.result()
                    results[name], timings[name] = result, seconds
                    _notify(on_step, name, result)
            for name in pending.values():
                result = StepResult.error(name, f"did not finish within {self.step_timeout_s:g} s (slow AWS or DNS)")
                results[name], timings[name] = result, self.step_timeout_s
                _notify(on_step, name, result)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return {name: results[name] for name in steps}


def _notify(on_step: Callable[[str, StepResult], None] | None, name: str, result: StepResult) -> None:
    if on_step is None:
        return
    try:
        on_step(name, result)
    except Exception:  # a progress message that fails must not fail the investigation
        log.exception("on_step callback failed for step %s", name)


def _guarded(name: str, fn: Callable[[], StepResult]) -> StepResult:
    try:
        return fn()
    except AwsUnavailable as exc:
        return StepResult.skipped(name, f"AWS not reachable: {exc.reason}")
    except AwsCallError as exc:
        return StepResult.error(name, f"AWS error: {exc.reason}")
    except DnsUnavailable as exc:
        return StepResult.error(name, f"DNS error: {exc.reason}")
    except Exception as exc:
        log.exception("step %s failed", name)
        return StepResult.error(name, f"internal error ({type(exc).__name__}); see the log")


def _timed(name: str, fn: Callable[[], StepResult]) -> tuple[StepResult, float]:
    started = time.perf_counter()
    result = _guarded(name, fn)
    return result, time.perf_counter() - started


class _Run:
    """One investigation's gathering: each public method is one step."""

    def __init__(self, inv: Investigator, campaign: str, summary: CampaignSummary, sample: CampaignSample,
                 now_ms: int) -> None:
        self.inv = inv
        self.campaign = campaign
        self.summary = summary
        self.sample = sample
        self.now_ms = now_ms
        self.memo = _Memo()
        self.config_sets = sorted(n for n in summary.config_sets if n and n != "(none)")
        self._providers: dict[str, str] | None = None

    # ---- shared AWS reads ----------------------------------------------------------------------------------------

    def _ses(self) -> SesAccount:
        if self.inv.ses is None:
            raise AwsUnavailable(self.inv.aws_problem)
        return self.inv.ses

    def account_info(self) -> dict[str, Any]:
        return self.memo.get("account", lambda: dict(self._ses().account()))

    def config_set_info(self, name: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            info = self._ses().configuration_set(name)
            return dict(info) if info is not None else None

        return self.memo.get(("config_set", name), read)

    def identity_info(self, domain: str) -> dict[str, Any] | None:
        def read() -> dict[str, Any] | None:
            info = self._ses().identity(domain)
            return dict(info) if info is not None else None

        return self.memo.get(("identity", domain), read)

    def retry_deadline_s(self, *, wait: bool = False) -> int:
        """The retry deadline from the configuration sets' MaxDeliverySeconds; SES's 14 h when unknown.
        Without `wait`, only answers already read are used (after a step timed out, nothing blocks)."""
        sets: dict[str, dict[str, Any] | None] = {}
        for name in self.config_sets:
            if not wait:
                info = self.memo.peek(("config_set", name))
                if info is not None:
                    sets[name] = info
                continue
            try:
                sets[name] = self.config_set_info(name)
            except AwsError:
                continue
        return retry_deadline_s(sets) if sets else SES_MAX_RETRY_S

    def from_domain(self) -> str | None:
        if not self.summary.from_domains:
            return None
        return max(self.summary.from_domains.items(), key=lambda kv: (kv[1], kv[0]))[0]

    # ---- steps ---------------------------------------------------------------------------------------------------

    def suppression(self) -> StepResult:
        cohort = self.sample.send_only
        listed: dict[str, ListedEntry] | None = None
        problem, is_error, source = None, False, None
        account_reasons: list[str] | None = None
        set_reasons: dict[str, list[str] | None] = {}
        try:
            listed, source = self._suppressed(cohort)
        except AwsError as exc:
            problem, is_error = _aws_problem(exc)
        with contextlib.suppress(AwsError):
            account_reasons = list(self.account_info().get("suppressed_reasons") or [])
        for name in self.config_sets:
            try:
                info = self.config_set_info(name)
            except AwsError:
                continue
            if info is not None:
                set_reasons[name] = info.get("suppressed_reasons")
        checked, history = self._history(cohort[:HISTORY_CHECKS])
        return check_suppression(SuppressionInputs(
            cohort_count=self.summary.totals.get("send_only", 0), sample=cohort, listed=listed, list_problem=problem,
            list_problem_is_error=is_error, list_source=source, account_reasons=account_reasons,
            config_set_reasons=set_reasons, suppression_bounces_seen=self.summary.totals.get("suppressed", 0),
            history_checked=checked, history=history,
        ))

    def _suppressed(self, cohort: list[CohortMember]) -> tuple[dict[str, ListedEntry], str]:
        ses = self._ses()
        if not cohort:
            return {}, "none needed"
        cache = SuppressionListCache(self.inv.store, ses, ses.region or "default", self.inv.clock)
        addresses = list(dict.fromkeys(m.recipient.lower() for m in cohort))
        if not cache.is_warm() and len(addresses) <= SUPPRESSION_GET_MAX:
            found: dict[str, ListedEntry] = {}
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="why-supp") as pool:
                for address, entry in zip(addresses, pool.map(ses.suppressed_destination, addresses), strict=True):
                    if entry is not None:
                        found[address] = ListedEntry(entry["reason"], _ms(entry["last_update"]))
            return found, "GetSuppressedDestination"
        how = cache.refresh()
        return cache.lookup(addresses), f"ListSuppressedDestinations ({how} refresh, cached)"

    def _history(self, cohort: list[CohortMember]) -> tuple[int, list[HistoryHit]]:
        hits: list[HistoryHit] = []
        for member in cohort:
            for message in self.inv.store.recipient(member.recipient):
                if message.send_ms >= member.send_ms:
                    continue
                for r in message.recipients:
                    kind = _history_kind(r.state, r.events)
                    if kind is not None:
                        hits.append(HistoryHit(member.recipient, kind, message.campaign, message.send_ms))
                        break
        return len(cohort), hits

    def routing(self) -> StepResult:
        s = self.summary
        aws: dict[str, ConfigSetRouting] | None = {}
        problem, is_error = None, False
        window = None
        if s.first_send_ms is not None:
            window = ((s.first_send_ms // 60_000) * 60_000, max(self.now_ms, s.first_send_ms + 60_000))
        try:
            ses = self._ses()
            for name in self.config_sets:
                aws[name] = self._config_set_routing(ses, name, window)
        except AwsError as exc:
            aws = None
            problem, is_error = _aws_problem(exc)
        return check_routing(RoutingInputs(
            config_sets=self.config_sets, types_by_config_set=s.types_by_config_set,
            events_by_minute=s.events_by_minute, send_only_by_minute=s.send_only_by_minute, now_ms=self.now_ms,
            delivery_window_s=self.inv.delivery_window_s, aws=aws, aws_problem=problem,
            aws_problem_is_error=is_error, window=window,
        ))

    def _config_set_routing(self, ses: SesAccount, name: str, window: tuple[int, int] | None) -> ConfigSetRouting:
        destinations = ses.event_destinations(name)
        if destinations is None:
            return ConfigSetRouting(name, None)
        subscriptions: dict[str, list[dict[str, Any]] | None] = {}
        for dest in destinations:
            topic = dest.get("sns_topic_arn")
            if topic and dest.get("enabled") and topic not in subscriptions:
                subs = ses.sns_subscriptions(topic)
                subscriptions[topic] = [dict(x) for x in subs] if subs is not None else None
        cloudwatch, cw_problem = None, None
        if window is not None:
            try:
                cloudwatch = ses.cloudwatch_counts(name, datetime.fromtimestamp(window[0] / 1000, UTC),
                                                   datetime.fromtimestamp(window[1] / 1000, UTC))
            except AwsError as exc:
                cw_problem = exc.reason
        return ConfigSetRouting(name, [dict(d) for d in destinations], subscriptions, cloudwatch, cw_problem)

    def providers(self) -> tuple[dict[str, str], int, str | None]:
        """Provider of the largest recipient domains (MX look-ups through the cached resolver)."""
        domains = sorted(self.summary.domains, key=lambda d: (-sum(self.summary.domains[d].values()), d))
        targets = domains[:MX_LOOKUPS_MAX]
        result: dict[str, str] = {}
        lookups: list[str] = []
        for domain in targets:
            known = KNOWN_DOMAINS.get(domain.lower())
            if known:
                result[domain] = known
            else:
                lookups.append(domain)
        resolver = self.inv.resolver
        if resolver is None:
            result.update(dict.fromkeys(lookups, UNRESOLVED))
            return result, len(lookups), self.inv.dns_problem if lookups else None
        timeouts = [0]
        problems: list[str] = []
        lock = threading.Lock()

        def one(domain: str) -> str:
            with lock:
                if timeouts[0] >= MX_GIVE_UP_AFTER:
                    return UNRESOLVED
            try:
                return provider_for_mx([host for _, host in sorted(resolver.mx(domain))])
            except DnsUnavailable as exc:
                with lock:
                    problems.append(exc.reason)
                    if exc.kind in ("timeout", "config"):
                        timeouts[0] += 1
                return UNRESOLVED
            except ValueError:
                return "no-mx"

        if lookups:
            with ThreadPoolExecutor(max_workers=min(MX_PARALLEL, len(lookups)), thread_name_prefix="why-mx") as pool:
                result.update(zip(lookups, pool.map(one, lookups), strict=True))
        failed = sum(1 for d in lookups if result.get(d) == UNRESOLVED)
        return result, failed, (problems[0] if problems else None)

    def domains(self) -> StepResult:
        providers, failed, problem = self.providers()
        self._providers = providers
        return check_domains(self.summary.domains, providers, lookup_problems=failed, lookup_problem=problem)

    def temporary_failures(self) -> StepResult:
        deadline = self.retry_deadline_s(wait=True) if self.inv.ses is not None else SES_MAX_RETRY_S
        figures = send_only_figures(self.summary.totals, self.summary.send_only_by_minute, self.now_ms,
                                    self.inv.delivery_window_s, deadline)
        providers = {d: KNOWN_DOMAINS[d] for d in self.summary.domains if d in KNOWN_DOMAINS}
        return check_temporary_failures(TemporaryInputs(
            delayed=self.summary.totals.get("delayed", 0), domains=self.summary.domains,
            delayed_by_expiry_minute=self.summary.delayed_by_expiry_minute, sample=self.sample.delayed,
            now_ms=self.now_ms, lost_send_only=figures.lost_count, retry_deadline_s=deadline, providers=providers,
        ))

    def account(self) -> StepResult:
        account, problem, is_error = None, None, False
        try:
            account = self.account_info()
        except AwsError as exc:
            problem, is_error = _aws_problem(exc)
        sets: dict[str, dict[str, Any] | None] = {}
        set_problems: dict[str, str] = {}
        for name in self.config_sets:
            try:
                sets[name] = self.config_set_info(name)
            except AwsError as exc:
                set_problems[name] = exc.reason
        if account is None and not sets and set_problems:
            problem = problem or next(iter(set_problems.values()))
        return check_account(AccountInputs(account, problem, is_error, sets, set_problems))

    def authentication(self) -> StepResult:
        domain = self.from_domain()
        if domain is None:
            return StepResult.skipped("authentication", "No From domain seen on this campaign's events yet.")
        if self.inv.resolver is None:
            return StepResult.skipped("authentication", f"{self.inv.dns_problem}: SPF, DKIM and DMARC not checked.")
        identity, identity_problem = self._identity(domain)
        tokens = identity.get("dkim_tokens") if identity and identity.get("dkim_origin") != "EXTERNAL" else None
        mail_from = identity.get("mail_from_domain") if identity else None
        region = (self.inv.ses.region if self.inv.ses is not None else None) or "us-east-1"
        result = check_authentication(domain, self.inv.resolver, dkim_tokens=tokens or None,
                                      mail_from_domain=mail_from, region=region)
        data = dict(result.data)
        data["identity"] = ({k: identity.get(k) for k in ("identity", "verified_for_sending", "dkim_status",
                                                           "dkim_origin", "mail_from_domain", "mail_from_status")}
                            if identity else None)
        summary = result.summary
        if identity_problem:
            data["identity_problem"] = identity_problem
            summary += f" (SES identity not read: {identity_problem})"
        return StepResult(result.step, result.status, summary, result.findings, data)

    def _identity(self, domain: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            identity = self.identity_info(domain)
            if identity is None and organizational_domain(domain) != domain:
                identity = self.identity_info(organizational_domain(domain))
            return identity, None if identity else "no SES identity for this domain"
        except AwsError as exc:
            return None, exc.reason

    def reputation(self) -> StepResult:
        if self.inv.resolver is None:
            return StepResult.skipped("reputation", f"{self.inv.dns_problem}: blocklists not checked.")
        ips = [ip for ip, _ in sorted(self.summary.outgoing_ips.items(), key=lambda kv: (-kv[1], kv[0]))]
        domains: list[str] = []
        from_domain = self.from_domain()
        if from_domain:
            domains.append(from_domain)
            identity, _ = self._identity(from_domain)
            if identity and identity.get("mail_from_domain"):
                domains.append(identity["mail_from_domain"])
        return check_reputation(ips[:REPUTATION_IPS_MAX], domains, self.inv.resolver,
                                ip_zones=self.inv.ip_blocklists, domain_zones=self.inv.domain_blocklists)


def _history_kind(state: str, events: Any) -> str | None:
    if state == "complained":
        return "complaint"
    if state == "suppressed":
        return "suppressed"
    if state == "bounced":
        bounce = next((e for e in events if e.type == "Bounce"), None)
        if bounce is not None and bounce.detail.startswith("Permanent"):
            return "hard_bounce"
    return None


# ---- wiring -------------------------------------------------------------------------------------------------------


def build_investigator(settings: Settings, store: Store, **overrides: Any) -> Investigator:
    """The investigator for this deployment: SesAccount when a region is configured, DnsResolver from
    SESBOT_DNS_NAMESERVERS (or the system's), MX and blocklist answers cached in Redis."""
    ses: SesAccount | None = None
    aws_problem = "AWS is not configured (set AWS_REGION and credentials)"
    region = settings.aws_region
    if region is None:
        import boto3

        region = boto3.Session().region_name
    if region:
        ses = SesAccount(region=region)
    resolver: Resolver | None = None
    dns_problem = "DNS is not configured"
    try:
        from bot.dns_resolver import DnsResolver

        resolver = DnsResolver.from_setting(settings.dns_nameservers, cache=RedisDnsCache(store))
    except ValueError as exc:
        dns_problem = f"DNS is not usable ({exc})"
    options: dict[str, Any] = {"delivery_window_s": settings.delivery_window_s, "aws_problem": aws_problem,
                               "dns_problem": dns_problem}
    options.update(overrides)
    return Investigator(store, ses, resolver, **options)


__all__ = [
    "STEPS",
    "CampaignNotFound",
    "Cause",
    "Investigation",
    "Investigator",
    "build_investigator",
]
