"""Scheduled checks: which active campaigns deserve a channel alert, from their maintained aggregates only.

Pure: every input is handed in (the campaign summaries, `now`, thresholds, the sender baseline, which SNS
subscriptions are unconfirmed); nothing here reads the environment, the clock or a client. One check costs
O(minutes + domains) of one campaign's aggregates, never a look at its recipients.

Four kinds (DESIGN §5 `check --json`):

* `send_only_rate`: the stuck Send-only rate (Send-only recipients older than the delivery window, over the
  recipients sent before the window) crosses an absolute threshold AND is `baseline_ratio` times above a
  baseline (the lower of: the campaign's own earlier hours, the lower quartile of the sender's active campaigns;
  `baseline_default` when neither has volume), with minimum volumes so a small test send never pages.
* `send_only_age`: Send-only recipients older than an age threshold (at least `age_min_recipients` and
  `age_min_rate` of the settled sends), or delayed recipients whose retry deadline is near (or already past with no
  outcome captured).
* `domain_spike`: one recipient domain (or provider, when a domain -> provider map is given) has a pending rate
  (Send-only or delayed) far above the rest of the campaign.
* `ingestion_gap`: Send events kept arriving but no outcome event for N minutes, or the configuration set's SNS
  subscription is not confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Protocol

from checks.findings import Severity
from checks.send_only import MINUTE_MS, SES_MAX_RETRY_S, send_only_figures

ALERT_KINDS = ("send_only_rate", "send_only_age", "domain_spike", "ingestion_gap")
OUTCOME_TYPES = ("Delivery", "Bounce", "Complaint", "DeliveryDelay", "Reject", "Rendering Failure")
PENDING_STATES = ("send_only", "delayed")
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class SummaryLike(Protocol):
    """What the checks read of `bot.store.CampaignSummary`."""

    campaign: str
    totals: dict[str, int]
    domains: dict[str, dict[str, int]]
    config_sets: dict[str, int]
    last_event_ms: dict[str, int]
    send_only_by_minute: dict[int, int]
    delayed_by_expiry_minute: dict[int, int]
    events_by_minute: dict[str, dict[int, int]]
    first_send_ms: int | None
    last_send_ms: int | None


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds. Defaults suit a sender of a few thousand to a few million recipients a day."""

    # send_only_rate
    min_recipients: int = 100  # recipients sent before the delivery window, below which no rate alert fires
    min_stuck: int = 20  # stuck Send-only recipients, below which no rate or age alert fires
    rate_warning: float = 0.05
    rate_critical: float = 0.20
    baseline_ratio: float = 3.0  # the rate must also be this many times the baseline
    baseline_floor: float = 0.005  # a baseline below this counts as this (0 % would make any rate "far above")
    baseline_default: float = 0.01  # when neither the campaign's earlier hours nor other campaigns have volume
    # send_only_age
    age_warning_s: int = 3600
    age_critical_s: int = 4 * 3600
    age_min_recipients: int = 10
    age_min_rate: float = 0.01  # of the recipients sent before the window: a trickle of lost events is no page
    deadline_warning_s: int = 3600  # delayed recipients whose retry deadline is this close
    retry_deadline_s: int = SES_MAX_RETRY_S  # the configuration set's MaxDeliverySeconds if lower than 14 h
    # domain_spike
    domain_min_recipients: int = 50
    domain_min_pending: int = 20
    domain_rate: float = 0.20
    domain_critical_rate: float = 0.50
    domain_ratio: float = 3.0
    # ingestion_gap
    gap_warning_s: int = 15 * 60
    gap_critical_s: int = 60 * 60
    gap_min_sends: int = 50  # Send-only recipients sent after the last outcome event
    outcome_latency_s: int = 300  # sends younger than this are not expected to have an outcome yet

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


THRESHOLD_FIELDS: dict[str, type] = {f.name: (float if isinstance(f.default, float) else int) for f in
                                     fields(Thresholds)}


def parse_overrides(raw: Mapping[str, Any], where: str) -> tuple[dict[str, int | float], list[str]]:
    """Validated threshold overrides from a JSON object; problems as one line each, naming `where`."""
    values: dict[str, int | float] = {}
    problems: list[str] = []
    for name, value in raw.items():
        kind = THRESHOLD_FIELDS.get(name)
        if kind is None:
            problems.append(f"{where}: unknown threshold {name!r} (known: {', '.join(THRESHOLD_FIELDS)})")
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(f"{where}: {name} must be a non-negative number, not {value!r}")
            continue
        if kind is int and value != int(value):
            problems.append(f"{where}: {name} must be a whole number, not {value!r}")
            continue
        values[name] = kind(value)
    return values, problems


@dataclass(frozen=True)
class ThresholdBook:
    """Defaults, then overrides for every campaign, per configuration set and per campaign (in that order)."""

    default: dict[str, int | float] = field(default_factory=dict)
    configuration_sets: dict[str, dict[str, int | float]] = field(default_factory=dict)
    campaigns: dict[str, dict[str, int | float]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, where: str = "SESBOT_ALERT_THRESHOLDS") -> tuple[ThresholdBook, list[str]]:
        """`{"default": {...}, "configuration_sets": {name: {...}}, "campaigns": {name: {...}}}`."""
        if not isinstance(data, dict):
            return cls(), [f"{where} must be a JSON object"]
        problems: list[str] = []
        unknown = set(data) - {"default", "configuration_sets", "campaigns"}
        if unknown:
            problems.append(f"{where}: unknown section(s) {', '.join(sorted(unknown))} "
                            "(use default, configuration_sets, campaigns)")
        default: dict[str, int | float] = {}
        if isinstance(data.get("default", {}), dict):
            default, more = parse_overrides(data.get("default", {}), f"{where} default")
            problems += more
        else:
            problems.append(f"{where}: default must be an object")
        scoped: dict[str, dict[str, dict[str, int | float]]] = {}
        for section in ("configuration_sets", "campaigns"):
            entries = data.get(section, {})
            scoped[section] = {}
            if not isinstance(entries, dict):
                problems.append(f"{where}: {section} must be an object of name -> thresholds")
                continue
            for name, raw in entries.items():
                if not isinstance(raw, dict):
                    problems.append(f"{where} {section}.{name} must be an object")
                    continue
                scoped[section][name], more = parse_overrides(raw, f"{where} {section}.{name}")
                problems += more
        return cls(default, scoped["configuration_sets"], scoped["campaigns"]), problems

    def merged(self, other: ThresholdBook) -> ThresholdBook:
        """`other` wins (the Redis hash set by `sesbot thresholds` over the environment)."""
        def combine(a: dict[str, dict[str, int | float]], b: dict[str, dict[str, int | float]]) -> dict[str, Any]:
            out = {k: dict(v) for k, v in a.items()}
            for name, values in b.items():
                out.setdefault(name, {}).update(values)
            return out

        return ThresholdBook({**self.default, **other.default},
                             combine(self.configuration_sets, other.configuration_sets),
                             combine(self.campaigns, other.campaigns))

    def base(self) -> Thresholds:
        """The defaults with the book's `default` overrides: what applies to a campaign without its own."""
        return replace(Thresholds(), **self.default)

    def for_campaign(self, campaign: str, config_sets: Iterable[str] = ()) -> Thresholds:
        values: dict[str, int | float] = dict(self.default)
        for config_set in sorted(config_sets):
            values.update(self.configuration_sets.get(config_set, {}))
        values.update(self.campaigns.get(campaign, {}))
        return replace(Thresholds(), **values) if values else Thresholds()

    def to_json(self) -> dict[str, Any]:
        return {"default": self.default, "configuration_sets": self.configuration_sets, "campaigns": self.campaigns}

    def lowest(self, name: str) -> int | float:
        """The lowest value of one threshold anywhere in the book: what no campaign can alert below."""
        scoped = [*self.configuration_sets.values(), *self.campaigns.values()]
        values = [getattr(Thresholds(), name), *(v[name] for v in (self.default, *scoped) if name in v)]
        return min(values)


def could_alert(totals: Mapping[str, int], book: ThresholdBook) -> bool:
    """False when a campaign's recipients per state rule out every check whatever its other aggregates: the
    rate, age and gap checks count Send-only recipients, the deadline part delayed ones, the domain spike both.
    (The SNS subscription part of `ingestion_gap` is decided per configuration set, by the caller.)"""
    send_only, delayed = totals.get("send_only", 0), totals.get("delayed", 0)
    return (send_only >= min(book.lowest("min_stuck"), book.lowest("age_min_recipients"),
                             book.lowest("gap_min_sends"))
            or delayed >= book.lowest("age_min_recipients")
            or send_only + delayed >= book.lowest("domain_min_pending"))


@dataclass(frozen=True)
class Alert:
    campaign: str
    kind: str
    severity: Severity
    summary: str
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"campaign": self.campaign, "kind": self.kind, "severity": str(self.severity),
                "summary": self.summary, "metrics": self.metrics}


def higher(a: Severity, b: Severity) -> Severity:
    return a if _SEVERITY_RANK[a] >= _SEVERITY_RANK[b] else b


def severity_rank(severity: Severity | str) -> int:
    return _SEVERITY_RANK[Severity(severity)]


# ------------------------------------------------------------------------------------------------ figures


@dataclass(frozen=True)
class RateFigures:
    """The settled Send-only figures of one campaign, shared by the rate check and the sender baseline."""

    stuck: int
    settled_sent: int  # recipients whose Send is older than the delivery window
    rate: float
    earlier_stuck: int  # of recipients sent before the campaign's latest hour of settled sends
    earlier_sent: int


def rate_figures(summary: SummaryLike, now_ms: int, delivery_window_s: int) -> RateFigures:
    settled_before = now_ms - delivery_window_s * 1000
    sends = summary.events_by_minute.get("Send", {})
    settled = {m: n for m, n in sends.items() if (m + 1) * MINUTE_MS <= settled_before and n > 0}
    stuck_by_minute = {m: n for m, n in summary.send_only_by_minute.items()
                       if (m + 1) * MINUTE_MS <= settled_before and n > 0}
    settled_sent = sum(settled.values())
    stuck = sum(stuck_by_minute.values())
    earlier_stuck = earlier_sent = 0
    if settled:
        latest_hour = max(settled) // 60
        earlier_sent = sum(n for m, n in settled.items() if m // 60 < latest_hour)
        earlier_stuck = sum(n for m, n in stuck_by_minute.items() if m // 60 < latest_hour)
    rate = stuck / settled_sent if settled_sent else 0.0
    return RateFigures(stuck, settled_sent, min(1.0, rate), earlier_stuck, earlier_sent)


def sender_baseline(figures: Iterable[RateFigures], min_recipients: int = Thresholds.min_recipients,
                    min_campaigns: int = 4) -> float | None:
    """The lower quartile of the stuck rates of the active campaigns with volume: the sender's normal, robust
    to several campaigns being in trouble at once. None with fewer than `min_campaigns` such campaigns."""
    rates = sorted(f.rate for f in figures if f.settled_sent >= min_recipients)
    if len(rates) < min_campaigns:
        return None
    return rates[(len(rates) - 1) // 4]


# ------------------------------------------------------------------------------------------------ checks


def check_send_only_rate(summary: SummaryLike, figures: RateFigures, t: Thresholds,
                         sender_rate: float | None) -> Alert | None:
    if figures.settled_sent < t.min_recipients or figures.stuck < t.min_stuck or figures.rate < t.rate_warning:
        return None
    candidates: list[tuple[float, str]] = []
    if figures.earlier_sent >= t.min_recipients:
        candidates.append((figures.earlier_stuck / figures.earlier_sent, "earlier_hours"))
    if sender_rate is not None:
        candidates.append((sender_rate, "sender_campaigns"))
    baseline, source = min(candidates) if candidates else (t.baseline_default, "default")
    effective = max(baseline, t.baseline_floor)
    if figures.rate < t.baseline_ratio * effective:
        return None
    severity = Severity.CRITICAL if figures.rate >= t.rate_critical else Severity.WARNING
    return Alert(
        summary.campaign, "send_only_rate", severity,
        f"{figures.rate:.1%} of recipients sent more than the delivery window ago are still Send-only "
        f"({figures.stuck:,} of {figures.settled_sent:,}); baseline {baseline:.1%} ({source.replace('_', ' ')}).",
        {"stuck": figures.stuck, "settled_sent": figures.settled_sent, "rate": round(figures.rate, 4),
         "baseline": round(baseline, 4), "baseline_source": source, "threshold": t.rate_warning,
         "send_only": summary.totals.get("send_only", 0)},
    )


def check_send_only_age(summary: SummaryLike, rates: RateFigures, now_ms: int, delivery_window_s: int,
                        t: Thresholds) -> Alert | None:
    figures = send_only_figures(summary.totals, summary.send_only_by_minute, now_ms, delivery_window_s,
                                t.retry_deadline_s)
    older_warning = older_critical = 0
    for minute, n in summary.send_only_by_minute.items():
        if n <= 0:
            continue
        age_ms = now_ms - (minute + 1) * MINUTE_MS  # the youngest send of that minute
        if age_ms >= t.age_warning_s * 1000:
            older_warning += n
        if age_ms >= t.age_critical_s * 1000:
            older_critical += n
    near_deadline = past_deadline = 0
    for minute, n in summary.delayed_by_expiry_minute.items():
        if n <= 0:
            continue
        expiry_ms = minute * MINUTE_MS
        if expiry_ms + MINUTE_MS <= now_ms:
            past_deadline += n
        elif expiry_ms - now_ms <= t.deadline_warning_s * 1000:
            near_deadline += n
    floor = t.age_min_recipients
    # Send-only age counts only when it is more than a trickle: at least age_min_rate of the settled sends.
    aged = max(floor, t.age_min_rate * rates.settled_sent)
    severity: Severity | None = None
    reasons: list[str] = []
    if older_critical >= aged or figures.lost_count >= aged:
        severity = Severity.CRITICAL
    elif older_warning >= aged:
        severity = Severity.WARNING
    if severity is not None:
        reasons.append(f"{older_warning:,} Send-only recipients are older than {_duration(t.age_warning_s)} "
                       f"(oldest {_duration(figures.oldest_age_s or 0)})")
    if past_deadline >= floor:
        severity = Severity.CRITICAL
        reasons.append(f"{past_deadline:,} delayed recipients passed their retry deadline with no outcome captured")
    if near_deadline >= floor:
        severity = higher(severity or Severity.WARNING, Severity.WARNING)
        reasons.append(f"{near_deadline:,} delayed recipients reach their retry deadline within "
                       f"{_duration(t.deadline_warning_s)}")
    if severity is None:
        return None
    return Alert(
        summary.campaign, "send_only_age", severity, "; ".join(reasons) + ".",
        {"oldest_age_s": figures.oldest_age_s, "older_than_warning": older_warning,
         "older_than_critical": older_critical, "lost": figures.lost_count, "pending_near_deadline": near_deadline,
         "pending_past_deadline": past_deadline, "age_warning_s": t.age_warning_s},
    )


def check_domain_spike(summary: SummaryLike, figures: RateFigures, t: Thresholds,
                       providers: Mapping[str, str] | None = None) -> Alert | None:
    if figures.settled_sent < t.min_recipients:
        return None  # nothing has had time to settle: every domain is still in flight
    groups: dict[tuple[str, str], list[int]] = {}  # (kind, name) -> [sent, pending]
    for domain, states in summary.domains.items():  # may hold only domains with pending recipients
        provider = (providers or {}).get(domain)
        key = ("provider", provider) if provider else ("domain", domain)
        group = groups.setdefault(key, [0, 0])
        group[0] += sum(n for state, n in states.items() if state != "unknown")
        group[1] += sum(states.get(s, 0) for s in PENDING_STATES)
    total_sent = sum(n for state, n in summary.totals.items() if state != "unknown")
    total_pending = sum(summary.totals.get(s, 0) for s in PENDING_STATES)
    spikes = []
    for (kind, name), (sent, pending) in groups.items():
        if sent < t.domain_min_recipients or pending < t.domain_min_pending:
            continue
        rate = pending / sent
        rest_sent = total_sent - sent
        rest_rate = (total_pending - pending) / rest_sent if rest_sent else 0.0
        if rate >= t.domain_rate and rate >= t.domain_ratio * max(rest_rate, t.baseline_floor):
            spikes.append({"kind": kind, "name": name, "recipients": sent, "pending": pending,
                           "rate": round(rate, 4), "rest_rate": round(rest_rate, 4)})
    if not spikes:
        return None
    spikes.sort(key=lambda s: (-s["pending"], s["name"]))
    top = spikes[0]
    severity = Severity.CRITICAL if any(s["rate"] >= t.domain_critical_rate for s in spikes) else Severity.WARNING
    more = f" and {len(spikes) - 1} more" if len(spikes) > 1 else ""
    return Alert(
        summary.campaign, "domain_spike", severity,
        f"{top['name']}: {top['rate']:.0%} of its {top['recipients']:,} recipients are pending (Send-only or "
        f"delayed) against {top['rest_rate']:.1%} for the rest of the campaign{more}.",
        {"spikes": spikes[:10], "campaign_pending_rate": round(total_pending / total_sent, 4) if total_sent else 0.0},
    )


def check_ingestion_gap(summary: SummaryLike, now_ms: int, t: Thresholds,
                        unconfirmed: Mapping[str, list[str]] | None = None) -> Alert | None:
    outcome_times = [summary.last_event_ms[k] for k in OUTCOME_TYPES if k in summary.last_event_ms]
    last_outcome = max(outcome_times) if outcome_times else None
    expected_by = now_ms - t.outcome_latency_s * 1000
    after = last_outcome if last_outcome is not None else 0
    # Every recipient sent after the last outcome event is still Send-only (an outcome of theirs would be later
    # than it), so the Send-only minutes count them without the per-minute Send volume.
    sends_after = sum(n for m, n in summary.send_only_by_minute.items()
                      if m * MINUTE_MS > after and (m + 1) * MINUTE_MS <= expected_by and n > 0)
    since = last_outcome if last_outcome is not None else summary.first_send_ms
    gap_s = max(0, (now_ms - since) // 1000) if since is not None else 0
    kept_sending = summary.last_send_ms is not None and (last_outcome is None or summary.last_send_ms > last_outcome)
    config_sets = sorted(summary.config_sets)
    pending_topics = sorted({topic for cs in config_sets for topic in (unconfirmed or {}).get(cs, [])})
    severity: Severity | None = None
    reasons: list[str] = []
    if kept_sending and sends_after >= t.gap_min_sends and gap_s >= t.gap_warning_s:
        severity = Severity.CRITICAL if gap_s >= t.gap_critical_s else Severity.WARNING
        stopped = "no outcome event ever" if last_outcome is None else f"no outcome event for {_duration(gap_s)}"
        reasons.append(f"{stopped} while {sends_after:,} recipients were sent after the last one "
                       f"(configuration set {', '.join(config_sets) or '(none)'})")
    if pending_topics:
        severity = higher(severity or Severity.WARNING, Severity.WARNING)
        reasons.append(f"the SNS subscription of {', '.join(pending_topics)} is not confirmed")
    if severity is None:
        return None
    return Alert(
        summary.campaign, "ingestion_gap", severity, "; ".join(reasons).capitalize() + ".",
        {"gap_s": gap_s, "last_outcome_ms": last_outcome, "last_send_ms": summary.last_send_ms,
         "sends_after_last_outcome": sends_after, "configuration_sets": config_sets,
         "unconfirmed_topics": pending_topics},
    )


@dataclass(frozen=True)
class CheckInput:
    """Everything one tick evaluates, handed in by the caller."""

    now_ms: int
    delivery_window_s: int
    thresholds: ThresholdBook = field(default_factory=ThresholdBook)
    providers: Mapping[str, str] = field(default_factory=dict)  # domain -> provider (known without DNS)
    unconfirmed: Mapping[str, list[str]] = field(default_factory=dict)  # config set -> unconfirmed topic ARNs


def check_campaigns(summaries: Iterable[SummaryLike], given: CheckInput,
                    others: Iterable[RateFigures] = ()) -> list[Alert]:
    """Every alert of every campaign, sorted by campaign and kind (the order `check --json` prints).

    `others`: rate figures of active campaigns not checked in detail (`could_alert` ruled them out); they
    count in the sender baseline."""
    items = [(s, rate_figures(s, given.now_ms, given.delivery_window_s)) for s in summaries]
    baseline = sender_baseline([*(f for _, f in items), *others])
    alerts: list[Alert] = []
    for summary, figures in items:
        t = given.thresholds.for_campaign(summary.campaign, summary.config_sets)
        for alert in (
            check_send_only_rate(summary, figures, t, baseline),
            check_send_only_age(summary, figures, given.now_ms, given.delivery_window_s, t),
            check_domain_spike(summary, figures, t, given.providers),
            check_ingestion_gap(summary, given.now_ms, t, given.unconfirmed),
        ):
            if alert is not None:
                alerts.append(alert)
    alerts.sort(key=lambda a: (a.campaign, ALERT_KINDS.index(a.kind)))
    return alerts


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 172_800:
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"
    return f"{seconds // 86_400} d"
