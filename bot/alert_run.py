"""One check tick: the alerts of the active campaigns, from their maintained aggregates (DESIGN §5 `check`).

`collect_alerts` reads the active campaigns' totals (one cheap server-side script each), the details of those with
enough pending recipients for any alert or that sent through a configuration set whose SNS subscription is
unconfirmed (bot/alert_summaries.py), the thresholds (SESBOT_ALERT_THRESHOLDS, then
the Redis hash `sesbot thresholds` writes), the providers of the pending domains from the MX answers cached in Redis
(bot/alert_providers.py; KNOWN_DOMAINS without one) and, when AWS is configured, whether each configuration set's
SNS subscription is confirmed; `checks.alerts` decides what fires. The scheduler's job and `sesbot check` both call it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson

from bot.alert_summaries import AlertSummaryReader
from bot.aws import AwsError, AwsUnavailable, SesAccount
from bot.settings import Settings
from bot.store import CampaignSummary, Store
from checks.alerts import Alert, CheckInput, RateFigures, ThresholdBook, check_campaigns, could_alert, rate_figures
from checks.providers import KNOWN_DOMAINS
from checks.send_only import send_only_figures

log = logging.getLogger(__name__)

SUBSCRIPTION_CACHE_S = 600


@dataclass
class CheckRun:
    now_ms: int
    alerts: list[Alert]
    summaries: dict[str, CampaignSummary]  # the campaigns checked in detail (partial summaries)
    delivery_window_s: int
    active: list[str] = field(default_factory=list)  # every active campaign

    def to_json(self) -> dict[str, Any]:
        from bot.reports import iso

        return {"now": iso(self.now_ms), "alerts": [a.to_dict() for a in self.alerts]}


def load_thresholds(settings: Settings, store: Store) -> ThresholdBook:
    """The environment's thresholds, overridden by those set with `sesbot thresholds` (a Redis hash)."""
    book = ThresholdBook()
    if settings.alert_thresholds:
        book, problems = ThresholdBook.from_json(orjson.loads(settings.alert_thresholds))
        for problem in problems:  # Settings.from_env refuses these; a hand-built Settings may not
            log.warning("ignored: %s", problem)
    stored = store.client.hgetall(store.keys.alert_thresholds())
    if not stored:
        return book
    data: dict[str, Any] = {"default": {}, "configuration_sets": {}, "campaigns": {}}
    for raw_scope, raw_values in stored.items():
        scope = raw_scope.decode()
        try:
            values = orjson.loads(raw_values)
        except orjson.JSONDecodeError:
            log.warning("ignored thresholds %r: not JSON", scope)
            continue
        kind, _, name = scope.partition(":")
        if scope == "default":
            data["default"] = values
        elif kind == "campaign":
            data["campaigns"][name] = values
        elif kind == "configuration_set":
            data["configuration_sets"][name] = values
    overrides, problems = ThresholdBook.from_json(data, "stored thresholds")
    for problem in problems:
        log.warning("ignored: %s", problem)
    return book.merged(overrides)


def set_thresholds(store: Store, scope: str, values: dict[str, int | float] | None) -> None:
    """Store overrides for `default`, `campaign:<name>` or `configuration_set:<name>` (None clears them)."""
    key = store.keys.alert_thresholds()
    if values is None:
        store.client.hdel(key, scope)
    else:
        store.client.hset(key, scope, orjson.dumps(values))


def stored_thresholds(store: Store) -> dict[str, Any]:
    return {k.decode(): orjson.loads(v) for k, v in store.client.hgetall(store.keys.alert_thresholds()).items()}


def unconfirmed_subscriptions(aws: SesAccount, store: Store, config_sets: set[str],
                              topic_arns: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Configuration set -> its SNS topics with no confirmed subscription (cached SUBSCRIPTION_CACHE_S).

    Only enabled SNS event destinations count, and only `topic_arns` (SESBOT_SNS_TOPIC_ARNS) when given.
    AWS being unreachable skips the whole look-up; one failing call skips that configuration set."""
    out: dict[str, list[str]] = {}
    for config_set in sorted(config_sets):
        cache_key = store.keys.cache("alert-sns", config_set)
        cached = store.client.get(cache_key)
        if cached is not None:
            pending = orjson.loads(cached)
        else:
            try:
                pending = _pending_topics(aws, config_set, topic_arns)
            except AwsUnavailable as exc:
                log.info("SNS subscription check skipped: %s", exc)
                return out
            except AwsError as exc:
                log.warning("SNS subscription check of %s failed: %s", config_set, exc)
                continue
            store.client.set(cache_key, orjson.dumps(pending), ex=SUBSCRIPTION_CACHE_S)
        if pending:
            out[config_set] = pending
    return out


def _pending_topics(aws: SesAccount, config_set: str, topic_arns: tuple[str, ...]) -> list[str]:
    destinations = aws.event_destinations(config_set) or []
    pending = []
    for destination in destinations:
        topic = destination["sns_topic_arn"]
        if not destination["enabled"] or topic is None or (topic_arns and topic not in topic_arns):
            continue
        subscriptions = aws.sns_subscriptions(topic)
        if subscriptions is not None and not any(s["confirmed"] for s in subscriptions):
            pending.append(topic)
    return pending


def collect_alerts(store: Store, settings: Settings, now_ms: int, aws: SesAccount | None = None) -> CheckRun:
    """One check tick: the active campaigns' totals first (cheap), then the details of those with enough pending
    recipients for an alert to be possible (`could_alert`), then the checks."""
    since = now_ms - settings.active_hours * 3_600_000
    active = store.active_campaigns(since)
    book = load_thresholds(settings, store)
    reader = AlertSummaryReader(store, KNOWN_DOMAINS, cluster=settings.redis_cluster, mx_cache=True)
    unconfirmed: dict[str, list[str]] = {}
    unconfirmed_ids: list[str] = []
    if aws is not None and active:
        config_sets = {k.decode(): v.decode() for k, v in store.client.hgetall(store.keys.names("s")).items()}
        unconfirmed = unconfirmed_subscriptions(aws, store, set(config_sets.values()), settings.sns_topic_arns)
        unconfirmed_ids = sorted(ident for ident, name in config_sets.items() if name in unconfirmed)
    # The subscription part of ingestion_gap needs only the campaign's configuration sets: a campaign that sent
    # through none of the unconfirmed ones can alert only on its counts, which `could_alert` rules on.
    totals = reader.totals(active, unconfirmed_ids)
    if totals is None:
        candidates, others = active, []
    else:
        candidates = [c for c in active if totals[c].config_set_ids or could_alert(totals[c].states, book)]
        chosen = set(candidates)
        others = [_totals_figures(totals[c].states) for c in active if c not in chosen]
    summaries = reader.read(candidates, now_ms, settings.delivery_window_s, int(book.lowest("domain_min_pending")))
    given = CheckInput(now_ms, settings.delivery_window_s, book, {**KNOWN_DOMAINS, **reader.resolved}, unconfirmed)
    return CheckRun(now_ms, check_campaigns(summaries.values(), given, others), summaries,
                    settings.delivery_window_s, active)


def _totals_figures(totals: dict[str, int]) -> RateFigures:
    """A campaign too quiet to alert, for the sender baseline: its Send-only share of everything sent."""
    sent = sum(n for state, n in totals.items() if state != "unknown")
    stuck = totals.get("send_only", 0)
    return RateFigures(stuck, sent, stuck / sent if sent else 0.0, 0, 0)


def aws_for(settings: Settings) -> SesAccount | None:
    """SES/SNS for the subscription check, only when AWS is configured (AWS_REGION)."""
    return SesAccount(region=settings.aws_region) if settings.aws_region else None


def campaign_figures(summary: CampaignSummary, now_ms: int, delivery_window_s: int) -> dict[str, Any]:
    """Counts for the alert message: never an address."""
    so = send_only_figures(summary.totals, summary.send_only_by_minute, now_ms, delivery_window_s)
    rates = rate_figures(summary, now_ms, delivery_window_s)
    return {"recipients": summary.recipients, "send_only": so.count, "stuck": rates.stuck,
            "settled_sent": rates.settled_sent, "rate": round(rates.rate, 4), "oldest_age_s": so.oldest_age_s,
            "configuration_sets": sorted(cs for cs in summary.config_sets if cs != "(none)")}
