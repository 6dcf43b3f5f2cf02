"""checks.reputation against test blocklist zones served by a real NSD, through the same zone seam as production."""

from __future__ import annotations

import dataclasses
import time

import pytest

from bot.dns_resolver import DnsResolver
from checks.findings import Severity, Status, StepResult
from checks.reputation import (
    BARRACUDA,
    DEFAULT_DOMAIN_LISTS,
    DEFAULT_IP_LISTS,
    SPAMCOP,
    SPAMHAUS_DBL,
    SPAMHAUS_ZEN,
    SURBL,
    check_reputation,
    dbl_meaning,
    is_ses_ip,
    reversed_ip,
    surbl_meaning,
    zen_meaning,
)
from tests.dns_server import NsdServer, closed_port

# One zone holds every test list as a subdomain. 192.0.2.99 is on "ZEN" as SBL (127.0.0.2); 192.0.2.50 on
# "ZEN" as XBL and PBL at once; 54.240.0.5 (an SES range) on "SpamCop"; everything under "refused" answers
# Spamhaus's "public resolver" code; "rewrite" answers like an NXDOMAIN-rewriting resolver.
ZONES = {
    "bl.test": """
        99.2.0.192.zen     IN A 127.0.0.2
        50.2.0.192.zen     IN A 127.0.0.4
        50.2.0.192.zen     IN A 127.0.0.10
        5.0.240.54.spamcop IN A 127.0.0.2
        bad.test.dbl       IN A 127.0.1.2
        bad.test.surbl     IN A 127.0.0.24
        half.test.surbl    IN A 127.0.0.1
        *.refused          IN A 127.255.255.254
        *.rewrite          IN A 198.51.100.7
        barracuda          IN TXT "an empty list"
    """,
}

TEST_ZEN = dataclasses.replace(SPAMHAUS_ZEN, name="Test ZEN", zone="zen.bl.test")
TEST_SPAMCOP = dataclasses.replace(SPAMCOP, name="Test SpamCop", zone="spamcop.bl.test")
TEST_BARRACUDA = dataclasses.replace(BARRACUDA, name="Test Barracuda", zone="barracuda.bl.test")
TEST_DBL = dataclasses.replace(SPAMHAUS_DBL, name="Test DBL", zone="dbl.bl.test")
TEST_SURBL = dataclasses.replace(SURBL, name="Test SURBL", zone="surbl.bl.test")
REFUSED_ZEN = dataclasses.replace(SPAMHAUS_ZEN, name="Refused ZEN", zone="refused.bl.test")
REFUSED_DBL = dataclasses.replace(SPAMHAUS_DBL, name="Refused DBL", zone="refused.bl.test")
REWRITING = dataclasses.replace(SPAMCOP, name="Rewriting", zone="rewrite.bl.test")

IP_LISTS = (TEST_ZEN, TEST_SPAMCOP, TEST_BARRACUDA)
DOMAIN_LISTS = (TEST_DBL, TEST_SURBL)


@pytest.fixture(scope="module")
def resolver(dns_server: NsdServer) -> DnsResolver:
    dns_server.add_zones(ZONES)
    return dns_server.resolver()


def run(resolver: DnsResolver, ips: list[str], domains: list[str], **kwargs: object) -> StepResult:
    kwargs.setdefault("ip_zones", IP_LISTS)
    kwargs.setdefault("domain_zones", DOMAIN_LISTS)
    return check_reputation(ips, domains, resolver, **kwargs)  # type: ignore[arg-type]


# --- pure helpers -------------------------------------------------------------------------------------


def test_reversed_ip() -> None:
    assert reversed_ip("192.0.2.99") == "99.2.0.192"
    assert reversed_ip("2001:db8::1").startswith("1.0.0.0.0.0.0.0")
    assert reversed_ip("2001:db8::1").endswith("8.b.d.0.1.0.0.2")


def test_return_codes() -> None:
    assert zen_meaning("127.0.0.2").startswith("SBL")
    assert zen_meaning("127.0.0.3").startswith("SBL CSS")
    assert all(zen_meaning(f"127.0.0.{d}").startswith("XBL") for d in (4, 5, 6, 7))
    assert zen_meaning("127.0.0.9").startswith("SBL DROP")
    assert zen_meaning("127.0.0.10").startswith("PBL") and zen_meaning("127.0.0.11").startswith("PBL")
    assert dbl_meaning("127.0.1.2") == "spam domain"
    assert dbl_meaning("127.0.1.104") == "abused legit domain (phishing)"
    assert surbl_meaning("127.0.0.24") == "PH (phishing), MW (malware)"
    assert SPAMHAUS_ZEN.refusal("127.255.255.254") and SPAMHAUS_ZEN.refusal("127.0.0.2") is None
    assert is_ses_ip("54.240.0.5") and not is_ses_ip("192.0.2.1")


def test_production_zones_are_the_real_lists() -> None:
    assert [bl.zone for bl in DEFAULT_IP_LISTS] == ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"]
    assert [bl.zone for bl in DEFAULT_DOMAIN_LISTS] == ["dbl.spamhaus.org", "multi.surbl.org"]


# --- the step against NSD -----------------------------------------------------------------------------


def test_clean_ips_and_domains_are_ok(resolver: DnsResolver) -> None:
    result = run(resolver, ["192.0.2.1", "192.0.2.2"], ["good.test"])
    assert result.step == "reputation"
    assert result.status == Status.OK, result.summary
    assert result.findings == ()
    assert result.data["checked_lists"] == ["Test ZEN", "Test SpamCop", "Test Barracuda", "Test DBL", "Test SURBL"]
    assert result.summary.startswith("2 IPs and 1 domain not listed on Test ZEN")


def test_listed_ip_is_a_finding_with_its_return_code(resolver: DnsResolver) -> None:
    result = run(resolver, ["192.0.2.1", "192.0.2.99"], [])
    assert result.status == Status.FINDING
    [f] = result.findings
    assert f.code == "ip_listed"
    assert f.severity == Severity.CRITICAL
    assert f.data["target"] == "192.0.2.99"
    assert f.data["blocklist"] == "Test ZEN"
    assert f.data["codes"] == ["127.0.0.2"]
    assert f.data["meanings"] == ["SBL (Spamhaus spam source)"]
    assert "127.0.0.2" in f.summary and "192.0.2.99" in f.summary
    assert "192.0.2.99" in result.summary


def test_several_codes_for_one_ip(resolver: DnsResolver) -> None:
    [f] = run(resolver, ["192.0.2.50"], []).findings
    assert f.data["codes"] == ["127.0.0.10", "127.0.0.4"]
    assert "XBL" in f.summary and "PBL" in f.summary


def test_shared_ses_ip_is_named_as_such(resolver: DnsResolver) -> None:
    result = run(resolver, ["54.240.0.5"], [], shared_ips={"54.240.0.5"})
    [f] = result.findings
    assert f.summary.startswith("Shared SES IP 54.240.0.5 is listed on Test SpamCop (127.0.0.2)")
    assert f.severity == Severity.WARNING  # not the sender's to fix
    assert "shared ses ip 54.240.0.5" in result.summary.lower()
    # Without being told, an address in the SES ranges is named an SES IP, not guessed to be shared.
    [g] = run(resolver, ["54.240.0.5"], []).findings
    assert g.summary.startswith("SES IP 54.240.0.5")
    [h] = run(resolver, ["54.240.0.5"], [], dedicated_ips={"54.240.0.6"}).findings
    assert h.data["ip_role"] == "shared SES IP"


def test_listed_domains_with_codes_and_bitmask(resolver: DnsResolver) -> None:
    result = run(resolver, [], ["Bad.Test", "good.test"])
    assert result.status == Status.FINDING
    by_list = {f.data["blocklist"]: f for f in result.findings if f.code == "domain_listed"}
    assert by_list["Test DBL"].data["codes"] == ["127.0.1.2"]
    assert by_list["Test DBL"].data["meanings"] == ["spam domain"]
    assert by_list["Test SURBL"].data["meanings"] == ["PH (phishing), MW (malware)"]
    assert all(f.data["target"] == "bad.test" for f in by_list.values())


def test_refused_answer_skips_that_list_and_is_never_a_listing(resolver: DnsResolver) -> None:
    result = run(resolver, ["192.0.2.99", "192.0.2.1"], [], ip_zones=(REFUSED_ZEN, TEST_SPAMCOP))
    assert result.status == Status.OK, result.summary
    assert [f.code for f in result.findings] == ["blocklist_skipped"]
    assert result.data["skipped_lists"] == {
        "Refused ZEN": "query refused: sent through a public/open resolver (use your own resolver or a DQS key)",
    }
    assert result.data["listings"] == []
    assert result.data["checked_lists"] == ["Test SpamCop"]
    assert "not checked: Refused ZEN" in result.summary
    assert "listed on Refused" not in result.summary


def test_every_list_refused_skips_the_step(resolver: DnsResolver) -> None:
    result = run(resolver, ["192.0.2.99"], ["bad.test"], ip_zones=(REFUSED_ZEN,), domain_zones=(REFUSED_DBL,))
    assert result.status == Status.SKIPPED
    assert "public/open resolver" in result.summary
    assert not any(f.code.endswith("_listed") for f in result.findings)


def test_surbl_blocked_resolver_and_rewritten_answers_are_skips(resolver: DnsResolver) -> None:
    result = run(resolver, ["192.0.2.1"], ["half.test"], ip_zones=(REWRITING,), domain_zones=(TEST_SURBL,))
    assert result.status == Status.SKIPPED
    assert "outside 127.0.0.0/8" in result.data["skipped_lists"]["Rewriting"]
    assert "SURBL blocks this resolver" in result.data["skipped_lists"]["Test SURBL"]


def test_unreachable_nameserver_skips_the_step_fast() -> None:
    dead = DnsResolver([("127.0.0.1", closed_port())], timeout=0.3)
    started = time.monotonic()
    result = check_reputation([f"192.0.2.{i}" for i in range(1, 21)], ["a.test", "b.test"], dead,
                              ip_zones=IP_LISTS, domain_zones=DOMAIN_LISTS)
    elapsed = time.monotonic() - started
    assert result.status == Status.SKIPPED
    assert result.summary.startswith("No blocklist could be checked: DNS is unavailable (DNS timed out")
    assert elapsed < 1.5, f"one timeout per list in parallel, not one per query ({elapsed:.1f} s)"


def test_nothing_to_check_is_skipped(resolver: DnsResolver) -> None:
    result = run(resolver, ["", "not-an-ip"], [])
    assert result.status == Status.SKIPPED
    assert [f.code for f in result.findings] == ["reputation_bad_ip"]
