"""The `domains` step: Send-only (and delayed) recipients by recipient domain and by mailbox provider, against
the campaign's overall rate, so that one deferring or blocking provider stands out.

Pure: the per-domain state counts come from the store's aggregates, the providers from MX answers
(checks.providers) resolved by the caller.
"""

from __future__ import annotations

from typing import Any

from checks.findings import Finding, Severity, Status, StepResult
from checks.providers import UNRESOLVED

STEP = "domains"
TOP_DOMAINS = 25
MIN_OUTLIER_RECIPIENTS = 5
NOT_LOOKED_UP = "not looked up"  # domains past the look-up limit (the long tail)


def _row(recipients: int, send_only: int, delayed: int, sent: int) -> dict[str, Any]:
    return {
        "recipients": recipients,
        "send_only": send_only,
        "delayed": delayed,
        "rate": round(send_only / sent, 4) if sent else 0.0,
        "stuck_rate": round((send_only + delayed) / sent, 4) if sent else 0.0,
    }


def check_domains(
    domains: dict[str, dict[str, int]],
    providers: dict[str, str],
    *,
    lookup_problems: int = 0,
    lookup_problem: str | None = None,
    top: int = TOP_DOMAINS,
) -> StepResult:
    """`domains`: domain -> state -> recipients (CampaignSummary.domains); `providers`: domain -> provider name
    (domains missing from it are counted as "not looked up")."""
    by_provider: dict[str, list[int]] = {}
    rows: list[dict[str, Any]] = []
    total_sent = total_stuck = total_send_only = 0
    for domain, states in domains.items():
        recipients = sum(states.values())
        sent = recipients - states.get("unknown", 0)
        send_only, delayed = states.get("send_only", 0), states.get("delayed", 0)
        provider = providers.get(domain, NOT_LOOKED_UP)
        rows.append({"domain": domain, "provider": provider, **_row(recipients, send_only, delayed, sent),
                     "_sent": sent})
        acc = by_provider.setdefault(provider, [0, 0, 0, 0])
        acc[0] += recipients
        acc[1] += send_only
        acc[2] += delayed
        acc[3] += sent
        total_sent += sent
        total_send_only += send_only
        total_stuck += send_only + delayed
    overall_rate = total_send_only / total_sent if total_sent else 0.0
    overall_stuck = total_stuck / total_sent if total_sent else 0.0
    provider_rows = [{"provider": p, **_row(r, so, d, s), "_sent": s} for p, (r, so, d, s) in by_provider.items()]
    provider_rows.sort(key=lambda r: (-r["send_only"], -r["delayed"], -r["recipients"], r["provider"]))
    rows.sort(key=lambda r: (-r["send_only"], -r["delayed"], -r["recipients"], r["domain"]))

    findings: list[Finding] = []
    for kind, table in (("provider", provider_rows), ("domain", rows)):
        for row in table:
            if kind == "domain" and row["provider"] not in (NOT_LOOKED_UP, UNRESOLVED) and any(
                    f.code == "provider_outlier" and f.data.get("provider") == row["provider"] for f in findings):
                continue  # its provider already stands out: say it once
            outlier = _outlier(row, overall_stuck)
            if outlier is None:
                continue
            name = row[kind]
            label = name if kind == "provider" else f"{name} ({row['provider']})"
            findings.append(Finding(
                f"{kind}_outlier", Severity.WARNING,
                f"{label}: {row['stuck_rate']:.0%} of its "
                f"{row['_sent']:,} recipients have no final outcome ({row['send_only']:,} Send-only, "
                f"{row['delayed']:,} delayed) against {overall_stuck:.0%} overall.",
                {kind: name, "stuck_rate": row["stuck_rate"], "overall_stuck_rate": round(overall_stuck, 4),
                 "send_only": row["send_only"], "delayed": row["delayed"], "recipients": row["recipients"],
                 **({"provider": row["provider"]} if kind == "domain" else {})},
            ))
    for table in (provider_rows, rows):
        for row in table:
            row.pop("_sent")
    data: dict[str, Any] = {
        "overall": {"rate": round(overall_rate, 4), "stuck_rate": round(overall_stuck, 4), "sent": total_sent,
                    "send_only": total_send_only},
        "providers": provider_rows,
        "domains": rows[:top],
        "domain_count": len(rows),
        "lookup_problems": lookup_problems,
    }
    note = (f" (MX look-ups failed for {lookup_problems} domain(s): {lookup_problem})"
            if lookup_problems and lookup_problem else "")
    if not rows:
        return StepResult(STEP, Status.OK, "No recipients yet.", (), data)
    findings.sort(key=lambda f: -f.data["stuck_rate"] * f.data["recipients"])
    if findings:
        head = findings[0].summary
        more = f" ({len(findings) - 1} more outliers)" if len(findings) > 1 else ""
        return StepResult(STEP, Status.FINDING, head + more + note, tuple(findings), data)
    if total_stuck == 0:
        summary = f"No Send-only or delayed recipients across {len(rows):,} domains."
    else:
        lead = provider_rows[0]
        summary = (f"No provider or domain stands out: {overall_stuck:.1%} without a final outcome overall; "
                   f"most at {lead['provider']} ({lead['send_only'] + lead['delayed']:,}).")
    return StepResult(STEP, Status.OK, summary + note, tuple(findings), data)


def _outlier(row: dict[str, Any], overall: float) -> bool | None:
    stuck = row["send_only"] + row["delayed"]
    if row["_sent"] < MIN_OUTLIER_RECIPIENTS or stuck < MIN_OUTLIER_RECIPIENTS:
        return None
    rate = row["stuck_rate"]
    if rate >= 2 * overall and rate - overall >= 0.05:
        return True
    return None
