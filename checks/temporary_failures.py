"""The `temporary_failures` step: recipients SES is still retrying (DeliveryDelay), by delay type and domain,
and when the pending ones expire (SES then gives up with a Transient bounce); Send-only recipients already past
the retry deadline (lost: SES has given up, the outcome never reached sesbot).

Pure: aggregates and a sample of delayed recipients are handed in, `now_ms` too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from checks.findings import Finding, Severity, Status, StepResult
from checks.times import iso_seconds

STEP = "temporary_failures"
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
TOP = 10
DELAY_TYPE_ADVICE = {
    "IPFailure": "the receiver is rate-limiting or blocking the sending IPs (reputation): slow down, check "
                 "blocklists and complaint rates",
    "MailboxFull": "the mailboxes are full",
    "SpamDetected": "the receiver flags the content as spam",
    "RecipientServerError": "the receiving servers answer with temporary errors",
    "TransientCommunicationFailure": "SES cannot reach the receiving servers",
    "BYOIPHostNameLookupUnavailable": "SES cannot look up the BYOIP host name",
    "Undetermined": "SES could not tell why",
    "SendingDeferral": "SES itself is deferring (account or IP warm-up limits)",
}


@dataclass(frozen=True)
class DelayedSample:
    recipient: str
    domain: str
    delay_type: str
    status: str  # enhanced status code, e.g. 4.7.650 ("" if unknown)
    expires_ms: int


@dataclass(frozen=True)
class TemporaryInputs:
    delayed: int
    domains: dict[str, dict[str, int]]
    delayed_by_expiry_minute: dict[int, int]
    sample: list[DelayedSample]
    now_ms: int
    lost_send_only: int = 0  # Send-only recipients past the retry deadline
    retry_deadline_s: int = 50_400
    providers: dict[str, str] = field(default_factory=dict)


def parse_delay_detail(detail: str) -> tuple[str, str]:
    """The delay type and status code from a stored DeliveryDelay detail ("IPFailure 4.7.650 smtp; 451 ...")."""
    parts = detail.split()
    delay_type = parts[0] if parts else "Undetermined"
    status = parts[1] if len(parts) > 1 and parts[1][:1] in "45" and parts[1].count(".") == 2 else ""
    return delay_type, status


def check_temporary_failures(inputs: TemporaryInputs) -> StepResult:
    findings: list[Finding] = []
    scale = inputs.delayed / len(inputs.sample) if inputs.sample else 0.0
    types = Counter(s.delay_type for s in inputs.sample)
    statuses = Counter(f"{s.delay_type} {s.status}".strip() for s in inputs.sample)
    by_domain = sorted(((d, st.get("delayed", 0)) for d, st in inputs.domains.items() if st.get("delayed")),
                       key=lambda x: (-x[1], x[0]))
    now_min = inputs.now_ms // MINUTE_MS
    expired = sum(n for m, n in inputs.delayed_by_expiry_minute.items() if m < now_min and n > 0)
    next_hour = sum(n for m, n in inputs.delayed_by_expiry_minute.items() if now_min <= m < now_min + 60)
    next_day = sum(n for m, n in inputs.delayed_by_expiry_minute.items() if now_min <= m < now_min + 24 * 60)
    pending_minutes = sorted(m for m, n in inputs.delayed_by_expiry_minute.items() if m >= now_min and n > 0)
    data: dict[str, Any] = {
        "delayed": inputs.delayed,
        "sampled": len(inputs.sample),
        "by_type": {t: round(n * scale) for t, n in types.most_common()},
        "by_status": {t: round(n * scale) for t, n in statuses.most_common(TOP)},
        "by_domain": [{"domain": d, "provider": inputs.providers.get(d), "delayed": n} for d, n in by_domain[:TOP]],
        "expired": expired,
        "expiring_next_hour": next_hour,
        "expiring_next_24h": next_day,
        "next_expiry": iso_seconds(pending_minutes[0] * MINUTE_MS) if pending_minutes else None,
        "last_expiry": iso_seconds(pending_minutes[-1] * MINUTE_MS) if pending_minutes else None,
        "lost_send_only": inputs.lost_send_only,
        "retry_deadline_s": inputs.retry_deadline_s,
        "examples": [{"recipient": s.recipient, "delay_type": s.delay_type, "status": s.status,
                      "expires": iso_seconds(s.expires_ms) if s.expires_ms else None} for s in inputs.sample[:5]],
    }
    if inputs.delayed:
        lead_type = types.most_common(1)[0][0] if types else "Undetermined"
        top_domains = ", ".join(f"{d} ({n:,})" for d, n in by_domain[:3])
        share = by_domain[0][1] / inputs.delayed if by_domain else 0.0
        advice = DELAY_TYPE_ADVICE.get(lead_type, "the receiver defers the mail")
        when = (f"; the pending ones expire from {data['next_expiry']} to {data['last_expiry']}"
                if pending_minutes else "")
        findings.append(Finding(
            "delivery_delays", Severity.CRITICAL if inputs.delayed >= 50 else Severity.WARNING,
            f"{inputs.delayed:,} recipients are delayed (SES is retrying), mostly {lead_type}: {advice}. Top "
            f"domains: {top_domains or 'unknown'}{when}.",
            {"delayed": inputs.delayed, "delay_type": lead_type, "top_domain_share": round(share, 4),
             "by_type": data["by_type"]},
        ))
        if expired:
            findings.append(Finding(
                "delays_expired", Severity.WARNING,
                f"{expired:,} delayed recipients are past their expiration time: SES has given up on them "
                "(Transient bounce, 4.4.7 Message expired), but that bounce has not reached sesbot.",
                {"expired": expired},
            ))
    if inputs.lost_send_only:
        findings.append(Finding(
            "send_only_past_retry_deadline", Severity.WARNING,
            f"{inputs.lost_send_only:,} Send-only recipients are older than the retry deadline "
            f"({inputs.retry_deadline_s / 3600:g} h): whatever happened to them, SES has finished; the outcome "
            "never reached sesbot.",
            {"lost": inputs.lost_send_only, "retry_deadline_s": inputs.retry_deadline_s},
        ))
    if not findings:
        return StepResult(STEP, Status.OK, "No recipient is delayed and none is past the retry deadline.", (), data)
    return StepResult(STEP, Status.FINDING, findings[0].summary, tuple(findings), data)
