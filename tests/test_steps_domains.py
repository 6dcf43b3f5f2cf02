"""checks.domains and checks.temporary_failures on plain data."""

from __future__ import annotations

from checks.domains import NOT_LOOKED_UP, check_domains
from checks.findings import Status
from checks.temporary_failures import DelayedSample, TemporaryInputs, check_temporary_failures, parse_delay_detail

MINUTE = 60_000
NOW_MIN = 29_540_880
NOW = NOW_MIN * MINUTE

DOMAINS = {
    "gmail.com": {"delivered": 480, "send_only": 20},
    "outlook.test": {"delivered": 100, "delayed": 60, "send_only": 40},
    "hotmail.test": {"delivered": 50, "delayed": 30, "send_only": 20},
    "corp.test": {"delivered": 95, "send_only": 5, "unknown": 3},
}
PROVIDERS = {"gmail.com": "Google", "outlook.test": "Microsoft", "hotmail.test": "Microsoft", "corp.test": "other"}


def test_rows_sorted_by_send_only_with_rates() -> None:
    result = check_domains(DOMAINS, PROVIDERS)
    providers = result.data["providers"]
    assert [p["provider"] for p in providers] == ["Microsoft", "Google", "other"]
    assert providers[0] == {"provider": "Microsoft", "recipients": 300, "send_only": 60, "delayed": 90,
                            "rate": 0.2, "stuck_rate": 0.5}
    domains = result.data["domains"]
    # ties on Send-only are broken by delayed
    assert [d["domain"] for d in domains] == ["outlook.test", "hotmail.test", "gmail.com", "corp.test"]
    assert domains[-1]["recipients"] == 103 and domains[-1]["rate"] == 0.05  # unknown is not sent
    assert set(domains[0]) == {"domain", "provider", "recipients", "send_only", "delayed", "rate", "stuck_rate"}


def test_the_deferring_provider_stands_out_once() -> None:
    result = check_domains(DOMAINS, PROVIDERS)
    assert result.status == Status.FINDING
    outliers = [(f.code, f.data.get("provider")) for f in result.findings]
    assert outliers == [("provider_outlier", "Microsoft")]  # its domains are not repeated
    assert result.summary.startswith("Microsoft: 50% of its 300 recipients")


def test_no_outlier_is_ok_and_unresolved_domains_are_counted() -> None:
    even = {"a.test": {"delivered": 90, "send_only": 10}, "b.test": {"delivered": 90, "send_only": 10}}
    result = check_domains(even, {"a.test": "other"}, lookup_problems=1, lookup_problem="DNS timed out")
    assert result.status == Status.OK
    assert {d["provider"] for d in result.data["domains"]} == {"other", NOT_LOOKED_UP}
    assert "MX look-ups failed for 1 domain(s): DNS timed out" in result.summary
    assert check_domains({}, {}).summary == "No recipients yet."


def test_parse_delay_detail() -> None:
    assert parse_delay_detail("IPFailure 4.7.650 smtp; 451 4.7.650 The mail server") == ("IPFailure", "4.7.650")
    assert parse_delay_detail("MailboxFull") == ("MailboxFull", "")
    assert parse_delay_detail("") == ("Undetermined", "")


def test_delays_by_type_domain_and_expiry() -> None:
    sample = [DelayedSample(f"u{i}@outlook.test", "outlook.test", "IPFailure" if i % 4 else "RecipientServerError",
                            "4.7.650", (NOW_MIN + 30) * MINUTE) for i in range(8)]
    result = check_temporary_failures(TemporaryInputs(
        delayed=80, domains=DOMAINS, sample=sample, now_ms=NOW,
        delayed_by_expiry_minute={NOW_MIN - 10: 20, NOW_MIN + 30: 50, NOW_MIN + 600: 10},
        lost_send_only=3, retry_deadline_s=4 * 3600))
    d = result.data
    assert result.status == Status.FINDING
    assert d["by_type"] == {"IPFailure": 60, "RecipientServerError": 20}
    assert [x["domain"] for x in d["by_domain"]] == ["outlook.test", "hotmail.test"]
    assert (d["expired"], d["expiring_next_hour"], d["expiring_next_24h"]) == (20, 50, 60)
    assert d["next_expiry"] < d["last_expiry"]
    codes = [f.code for f in result.findings]
    assert codes == ["delivery_delays", "delays_expired", "send_only_past_retry_deadline"]
    assert "mostly IPFailure" in result.summary and "rate-limiting" in result.summary


def test_no_delays_is_ok() -> None:
    result = check_temporary_failures(TemporaryInputs(0, {}, {}, [], NOW))
    assert result.status == Status.OK and result.findings == ()
