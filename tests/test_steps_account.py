"""checks.account on plain data: sending, enforcement, quota, configuration sets, the retry deadline."""

from __future__ import annotations

from typing import Any

from checks.account import SES_DEFAULT_MAX_DELIVERY_S, AccountInputs, check_account, retry_deadline_s
from checks.findings import Status


def account(**overrides: Any) -> dict[str, Any]:
    base = {"sending_enabled": True, "enforcement_status": "HEALTHY", "production_access": True, "max_24h": 50_000.0,
            "sent_last_24h": 1_000.0, "max_send_rate": 14.0, "suppressed_reasons": ["BOUNCE", "COMPLAINT"]}
    return {**base, **overrides}


def config_set(name: str = "cs1", **overrides: Any) -> dict[str, Any]:
    base = {"name": name, "sending_enabled": True, "max_delivery_seconds": None, "tls_policy": "OPTIONAL",
            "sending_pool": None, "suppressed_reasons": None, "reputation_metrics_enabled": False}
    return {**base, **overrides}


def run(acc: dict[str, Any] | None, sets: dict[str, Any], problem: str | None = None,
        is_error: bool = False) -> Any:
    return check_account(AccountInputs(acc, problem, is_error, sets, {}))


def test_healthy_account_is_ok() -> None:
    result = run(account(), {"cs1": config_set()})
    assert result.status == Status.OK
    assert "2% of the 24 h quota used" in result.summary
    assert result.data["retry_deadline_s"] == SES_DEFAULT_MAX_DELIVERY_S


def test_paused_set_disabled_account_probation_and_quota() -> None:
    result = run(account(sending_enabled=False, enforcement_status="PROBATION", sent_last_24h=49_000.0),
                 {"cs1": config_set(sending_enabled=False), "gone": None})
    codes = [f.code for f in result.findings]
    assert result.status == Status.FINDING
    assert {"account_sending_disabled", "config_set_paused", "account_probation", "quota_nearly_used",
            "config_set_missing"} <= set(codes)
    assert codes.index("account_sending_disabled") < codes.index("account_probation")  # critical first


def test_max_delivery_seconds_sets_the_retry_deadline() -> None:
    sets = {"a": config_set("a", max_delivery_seconds=4 * 3600), "b": config_set("b", max_delivery_seconds=600)}
    assert retry_deadline_s(sets) == 4 * 3600
    assert retry_deadline_s({}) == SES_DEFAULT_MAX_DELIVERY_S
    result = run(account(), sets)
    assert result.status == Status.OK
    assert [f.code for f in result.findings] == ["max_delivery_seconds", "max_delivery_seconds"]


def test_unreadable_account_is_skipped_or_error() -> None:
    assert run(None, {}, "no AWS credentials").status == Status.SKIPPED
    denied = run(None, {}, "sesv2 GetAccount: AccessDeniedException", is_error=True)
    assert denied.status == Status.ERROR and "AccessDenied" in denied.summary
    partial = run(None, {"cs1": config_set(sending_enabled=False)}, "throttled", is_error=True)
    assert partial.status == Status.FINDING and "not checked: account: throttled" in partial.summary
