"""The `account` step: can SES send at all for this campaign? Account sending, enforcement, quota, and each
configuration set's sending and delivery options (a paused set; MaxDeliverySeconds, the retry deadline).

Pure: the AWS answers are handed in (`None` with a reason when they could not be read).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.findings import Finding, Severity, Status, StepResult
from checks.severity import severity_rank

STEP = "account"
SES_DEFAULT_MAX_DELIVERY_S = 50_400  # SES retries for up to 14 h when a configuration set sets no limit
QUOTA_WARNING_SHARE = 0.9


@dataclass(frozen=True)
class AccountInputs:
    """What the account step reads. `account`/`config_sets` hold the seam's dicts (bot.aws TypedDicts)."""

    account: dict[str, Any] | None
    account_problem: str | None  # why `account` is None
    account_problem_is_error: bool  # AWS answered with an error (error), versus could not be asked (skipped)
    config_sets: dict[str, dict[str, Any] | None]  # name -> ConfigurationSetInfo, None: does not exist
    config_set_problems: dict[str, str]  # name -> why it could not be read


def retry_deadline_s(config_sets: dict[str, dict[str, Any] | None]) -> int:
    """The longest retry window among the campaign's configuration sets (SES's 14 h default when unset)."""
    windows = [
        (info.get("max_delivery_seconds") or SES_DEFAULT_MAX_DELIVERY_S) for info in config_sets.values() if info
    ]
    return max(windows) if windows else SES_DEFAULT_MAX_DELIVERY_S


def check_account(inputs: AccountInputs) -> StepResult:
    findings: list[Finding] = []
    account = inputs.account
    data: dict[str, Any] = {
        "account": account,
        "config_sets": {name: info for name, info in inputs.config_sets.items()},
        "retry_deadline_s": retry_deadline_s(inputs.config_sets),
        "unchecked": dict(inputs.config_set_problems),
    }
    if account is None and not inputs.config_sets:
        why = inputs.account_problem or "AWS not configured"
        status = Status.ERROR if inputs.account_problem_is_error else Status.SKIPPED
        return StepResult(STEP, status, f"Account not checked: {why}", (), data)
    if account is not None:
        findings.extend(_account_findings(account))
    else:
        data["unchecked"]["account"] = inputs.account_problem or "unknown"
    for name, info in sorted(inputs.config_sets.items()):
        if info is None:
            findings.append(Finding(
                "config_set_missing", Severity.WARNING,
                f"Configuration set {name} does not exist in this account/region: its events cannot be checked "
                "(wrong AWS_REGION or account?).",
                {"config_set": name},
            ))
            continue
        if not info.get("sending_enabled", True):
            findings.append(Finding(
                "config_set_paused", Severity.CRITICAL,
                f"Sending is paused on configuration set {name}: SES rejects every send through it "
                "(resume with PutConfigurationSetSendingOptions SendingEnabled=true).",
                {"config_set": name},
            ))
        seconds = info.get("max_delivery_seconds")
        if seconds:
            findings.append(Finding(
                "max_delivery_seconds", Severity.INFO,
                f"Configuration set {name} retries deferred mail for {seconds / 3600:g} h (MaxDeliverySeconds "
                f"{seconds}); after that SES gives up with a Transient bounce.",
                {"config_set": name, "max_delivery_seconds": seconds},
            ))
    problems = [f for f in findings if f.severity != Severity.INFO]
    problems.sort(key=lambda f: f.severity != Severity.CRITICAL)
    findings.sort(key=severity_rank)
    unchecked = data["unchecked"]
    note = f" (not checked: {'; '.join(f'{k}: {v}' for k, v in unchecked.items())})" if unchecked else ""
    if problems:
        summary = problems[0].summary if len(problems) == 1 else (
            f"{len(problems)} account problems; {problems[0].summary}")
        return StepResult(STEP, Status.FINDING, summary + note, tuple(findings), data)
    if account is None and inputs.account_problem_is_error:
        return StepResult(STEP, Status.ERROR, f"Account not checked: {inputs.account_problem}", tuple(findings), data)
    parts = []
    if account is not None:
        parts.append(f"sending enabled, {account.get('enforcement_status') or 'status unknown'}")
        quota = _quota_share(account)
        if quota is not None:
            parts.append(f"{quota:.0%} of the 24 h quota used")
    sets = [n for n, i in inputs.config_sets.items() if i]
    if sets:
        parts.append(f"configuration set{'s' if len(sets) > 1 else ''} {', '.join(sorted(sets))} sending")
    return StepResult(STEP, Status.OK, ("Account " + "; ".join(parts) + "." if parts else "Nothing to check.") + note,
                      tuple(findings), data)


def _quota_share(account: dict[str, Any]) -> float | None:
    limit, used = account.get("max_24h"), account.get("sent_last_24h")
    if not limit or limit <= 0 or used is None:
        return None
    return float(used) / float(limit)


def _account_findings(account: dict[str, Any]) -> list[Finding]:
    findings: list[Finding] = []
    if not account.get("sending_enabled", True):
        findings.append(Finding(
            "account_sending_disabled", Severity.CRITICAL,
            "Sending is disabled for the whole SES account in this region: every send is refused "
            "(re-enable with PutAccountSendingAttributes, or check for an AWS enforcement action).",
            {},
        ))
    status = (account.get("enforcement_status") or "").upper()
    if status == "SHUTDOWN":
        findings.append(Finding(
            "account_shutdown", Severity.CRITICAL,
            "AWS has shut down sending for this account (EnforcementStatus SHUTDOWN): contact AWS Support.",
            {"enforcement_status": status},
        ))
    elif status == "PROBATION":
        findings.append(Finding(
            "account_probation", Severity.WARNING,
            "The account is under review (EnforcementStatus PROBATION) for its bounce or complaint rate: fix "
            "list hygiene before AWS pauses sending.",
            {"enforcement_status": status},
        ))
    share = _quota_share(account)
    if share is not None and share >= QUOTA_WARNING_SHARE:
        findings.append(Finding(
            "quota_nearly_used", Severity.CRITICAL if share >= 1 else Severity.WARNING,
            f"{share:.0%} of the 24-hour sending quota is used ({account.get('sent_last_24h'):,.0f} of "
            f"{account.get('max_24h'):,.0f}): further sends are throttled or refused; request a higher quota.",
            {"sent_last_24h": account.get("sent_last_24h"), "max_24h": account.get("max_24h"), "share": share},
        ))
    if not account.get("production_access", True):
        findings.append(Finding(
            "sandbox", Severity.WARNING,
            "The account is in the SES sandbox: it can only send to verified addresses.",
            {},
        ))
    return findings
