"""checks.authentication against a real NSD serving the zones of well- and badly-configured domains."""

from __future__ import annotations

import time

import pytest

from bot.dns_resolver import DnsResolver
from checks.authentication import (
    SPF_LOOKUP_LIMIT,
    analyze_spf,
    check_authentication,
    organizational_domain,
    parse_spf,
)
from checks.findings import Finding, Severity, Status, StepResult
from tests.dns_server import NsdServer, closed_port

TOKENS = ["tok1aaaa", "tok2bbbb", "tok3cccc"]
GOOD_DKIM = "\n".join(f"{t}._domainkey IN CNAME {t}.dkim.amazonses.com." for t in TOKENS)
GOOD_MAIL_FROM = """
    mail IN MX 10 feedback-smtp.us-east-1.amazonses.com.
    mail IN TXT "v=spf1 include:amazonses.com ~all"
"""


def _chain(zone: str, n: int) -> str:
    """A record with `n` includes, each to a leaf that needs no lookup."""
    includes = " ".join(f'" include:s{i}.{zone}"' for i in range(n))  # one string each: 255-byte limit
    leaves = "\n".join(f's{i} IN TXT "v=spf1 ip4:192.0.2.{i} -all"' for i in range(n))
    return f'@ IN TXT "v=spf1"{includes} " -all"\n{leaves}'


ZONES = {
    "amazonses.com": """
        @ IN TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 -all"
    """,
    "good.test": f"""
        @ IN TXT "v=spf1 include:amazonses.com ~all"
        @ IN TXT "some-verification=xyz"
        _dmarc IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
        {GOOD_DKIM}
        {GOOD_MAIL_FROM}
    """,
    "eleven.test": _chain("eleven.test", 11),
    "ten.test": _chain("ten.test", 10),
    # 10 lookups spread over nested includes, redirect and macros: include, a, mx / include, ptr, exists /
    # a:, mx:, redirect= ; the redirect in a record with "all" is ignored and not counted.
    "nested.test": """
        @  IN TXT "v=spf1 include:n1.nested.test a mx ?all"
        n1 IN TXT "v=spf1 include:n2.nested.test ptr exists:%{i}.e.nested.test -all"
        n2 IN TXT "v=spf1 a:h.nested.test mx:nested.test/24 redirect=n3.nested.test"
        n3 IN TXT "v=spf1 include:n4.nested.test ip6:2001:db8::/32 exp=explain.nested.test"
        n4 IN TXT "v=spf1 ip4:192.0.2.1 -all redirect=ignored.nested.test"
    """,
    "multi.test": """
        @ IN TXT "v=spf1 include:amazonses.com ~all"
        @ IN TXT "v=spf1 ip4:192.0.2.1 -all"
        _dmarc IN TXT "v=DMARC1; p=none"
    """,
    "loop.test": """
        @ IN TXT "v=spf1 include:b.loop.test -all"
        b IN TXT "v=spf1 include:c.loop.test"
        c IN TXT "v=spf1 include:loop.test"
        _dmarc IN TXT "v=DMARC1; p=quarantine"
    """,
    "nodmarc.test": f"""
        @ IN TXT "v=spf1 include:amazonses.com -all"
        {GOOD_DKIM}
    """,
    "dkimwrong.test": f"""
        @ IN TXT "v=spf1 include:amazonses.com -all"
        _dmarc IN TXT "v=DMARC1; p=reject"
        {TOKENS[0]}._domainkey IN CNAME {TOKENS[0]}.dkim.otherprovider.example.
        {TOKENS[1]}._domainkey IN CNAME {TOKENS[1]}.dkim.amazonses.com.
    """,
    "mailfrom.test": f"""
        @ IN TXT "v=spf1 include:amazonses.com -all"
        _dmarc IN TXT "v=DMARC1; p=quarantine; aspf=r"
        {GOOD_DKIM}
        bounce IN MX 10 feedback-smtp.eu-west-1.amazonses.com.
        bounce IN TXT "v=spf1 ip4:192.0.2.1 -all"
        nomx IN TXT "v=spf1 include:amazonses.com -all"
    """,
    "parent.test": f"""
        @ IN TXT "v=spf1 include:amazonses.com -all"
        _dmarc IN TXT "v=DMARC1; p=quarantine; sp=reject"
        news IN TXT "v=spf1 include:amazonses.com -all"
        {"".join(f"{t}._domainkey.news IN CNAME {t}.dkim.amazonses.com.{chr(10)}" for t in TOKENS)}
    """,
    "split.test": """
        @ IN TXT "v=spf1 include:amazon" "ses.com" " +all"
        _dmarc IN TXT "v=DMARC1; p=none; rua=mailto:x@split.test"
    """,
    "broken.test": """
        @ IN TXT "v=spf1 include:missing.broken.test foo:bar -all"
        _dmarc IN TXT "v=DMARC1; rua=mailto:x@broken.test"
    """,
}


@pytest.fixture(scope="module")
def resolver(dns_server: NsdServer) -> DnsResolver:
    dns_server.add_zones(ZONES)
    return dns_server.resolver()


def codes(result: StepResult) -> list[str]:
    return [f.code for f in result.findings]


def finding(result: StepResult, code: str) -> Finding:
    matches = [f for f in result.findings if f.code == code]
    assert matches, f"no {code} in {codes(result)}"
    return matches[0]


# --- pure helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("example.com", "example.com"),
        ("news.mail.example.com", "example.com"),
        ("bounce.shop.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("Mail.Example.COM.", "example.com"),
        ("a.b.com.au", "b.com.au"),
    ],
)
def test_organizational_domain(domain: str, org: str) -> None:
    assert organizational_domain(domain) == org


def test_parse_spf_terms_and_errors() -> None:
    terms, errors = parse_spf("v=spf1 +a mx/24 -include:x.test ~all redirect=y.test bogus:z ip4")
    assert [(t.qualifier, t.name, t.value) for t in terms] == [
        ("+", "a", ""), ("+", "mx", "/24"), ("-", "include", "x.test"), ("~", "all", ""), ("=", "redirect", "y.test"),
    ]
    assert errors == ["unknown term 'bogus:z'", "'ip4' needs a value after ':'"]


# --- the step against NSD -----------------------------------------------------------------------------


def test_good_domain_is_ok(resolver: DnsResolver) -> None:
    result = check_authentication("good.test", resolver, dkim_tokens=TOKENS, mail_from_domain="mail.good.test")
    assert result.step == "authentication"
    assert result.status == Status.OK, result.summary
    assert [f for f in result.findings if f.severity != Severity.INFO] == []
    assert result.data["spf"]["lookups"] == 1
    assert result.data["spf"]["includes_amazonses"] is True
    assert result.data["dmarc"]["policy"] == "reject"
    assert result.data["mail_from"]["aligned"] is True
    assert result.data["alignment"] == {"dkim_ok": True, "spf_aligned": True}
    assert "good.test" in result.summary and "p=reject" in result.summary


def test_spf_with_eleven_lookups_is_a_finding(resolver: DnsResolver) -> None:
    result = check_authentication("eleven.test", resolver, dkim_tokens=None, mail_from_domain=None)
    f = finding(result, "spf_too_many_lookups")
    assert f.severity == Severity.CRITICAL
    assert f.data == {"domain": "eleven.test", "lookups": 11, "limit": SPF_LOOKUP_LIMIT}
    assert "11 DNS lookups" in f.summary
    assert result.status == Status.FINDING


def test_spf_with_ten_lookups_is_within_the_limit(resolver: DnsResolver) -> None:
    analysis = analyze_spf("ten.test", resolver)
    assert analysis.lookups == 10
    assert analysis.findings == []
    assert analysis.permerror is False


def test_nested_lookups_count_include_a_mx_ptr_exists_redirect(resolver: DnsResolver) -> None:
    analysis = analyze_spf("nested.test", resolver)
    assert analysis.lookups == 10
    assert [f.code for f in analysis.findings] == []
    assert analysis.followed == ["nested.test", "n1.nested.test", "n2.nested.test", "n3.nested.test",
                                 "n4.nested.test"]
    assert analysis.unfollowed == []  # exists: is counted but never fetched as SPF


def test_no_dmarc_is_a_finding(resolver: DnsResolver) -> None:
    result = check_authentication("nodmarc.test", resolver, dkim_tokens=TOKENS, mail_from_domain=None)
    f = finding(result, "dmarc_missing")
    assert f.severity == Severity.WARNING
    assert "_dmarc.nodmarc.test" in f.summary
    assert result.status == Status.FINDING


def test_dmarc_falls_back_to_the_organizational_domain(resolver: DnsResolver) -> None:
    result = check_authentication("news.parent.test", resolver, dkim_tokens=TOKENS, mail_from_domain=None)
    assert "dmarc_missing" not in codes(result)
    assert result.data["dmarc"]["inherited_from_org"] is True
    assert result.data["dmarc"]["name"] == "_dmarc.parent.test"
    assert result.data["dmarc"]["policy"] == "reject"  # sp= applies to subdomains
    assert result.status == Status.OK, result.summary


def test_dkim_cname_pointing_elsewhere_and_missing(resolver: DnsResolver) -> None:
    result = check_authentication("dkimwrong.test", resolver, dkim_tokens=TOKENS, mail_from_domain=None)
    wrong = finding(result, "dkim_cname_wrong")
    assert wrong.data["token"] == TOKENS[0]
    assert wrong.data["target"] == f"{TOKENS[0]}.dkim.otherprovider.example"
    assert TOKENS[0] in wrong.summary
    missing = finding(result, "dkim_cname_missing")
    assert missing.data["token"] == TOKENS[2]
    assert f"{TOKENS[2]}._domainkey.dkimwrong.test" in missing.summary
    assert TOKENS[1] not in " ".join(f.summary for f in result.findings)
    # DKIM broken and no custom MAIL FROM: DMARC p=reject fails.
    assert finding(result, "dmarc_alignment_fail").severity == Severity.CRITICAL
    assert result.status == Status.FINDING


def test_multiple_spf_records(resolver: DnsResolver) -> None:
    result = check_authentication("multi.test", resolver, dkim_tokens=None, mail_from_domain=None)
    f = finding(result, "spf_multiple_records")
    assert len(f.data["records"]) == 2
    assert result.data["spf"]["permerror"] is True
    assert "dmarc_policy_none" in codes(result)


def test_spf_include_loop_is_detected(resolver: DnsResolver) -> None:
    started = time.monotonic()
    result = check_authentication("loop.test", resolver, dkim_tokens=None, mail_from_domain=None)
    assert time.monotonic() - started < 2
    f = finding(result, "spf_include_loop")
    assert f.data["chain"] == ["loop.test", "b.loop.test", "c.loop.test", "loop.test"]
    assert "loop.test -> b.loop.test -> c.loop.test -> loop.test" in f.summary


def test_custom_mail_from_with_wrong_mx(resolver: DnsResolver) -> None:
    result = check_authentication("mailfrom.test", resolver, dkim_tokens=TOKENS,
                                  mail_from_domain="bounce.mailfrom.test", region="us-east-1")
    mx = finding(result, "mail_from_mx_wrong")
    assert mx.data["mx"] == ["feedback-smtp.eu-west-1.amazonses.com"]
    assert mx.data["expected"] == "feedback-smtp.us-east-1.amazonses.com"
    assert "region eu-west-1" in mx.summary
    assert finding(result, "mail_from_spf_no_ses").data["domain"] == "bounce.mailfrom.test"
    assert result.data["alignment"]["spf_aligned"] is False
    assert "dmarc_alignment_fail" not in codes(result)  # DKIM still passes
    assert result.status == Status.FINDING


def test_custom_mail_from_without_mx(resolver: DnsResolver) -> None:
    result = check_authentication("mailfrom.test", resolver, dkim_tokens=TOKENS,
                                  mail_from_domain="nomx.mailfrom.test")
    assert finding(result, "mail_from_mx_missing").severity == Severity.CRITICAL
    assert "mail_from_spf_no_ses" not in codes(result)


def test_mail_from_in_another_organization_is_not_aligned(resolver: DnsResolver) -> None:
    result = check_authentication("good.test", resolver, dkim_tokens=TOKENS, mail_from_domain="mail.good.test")
    assert "mail_from_not_aligned" not in codes(result)
    other = check_authentication("parent.test", resolver, dkim_tokens=None, mail_from_domain="mail.good.test")
    assert finding(other, "mail_from_not_aligned").data == {
        "domain": "parent.test", "mail_from": "mail.good.test", "aspf": "r",
    }


def test_split_txt_strings_plus_all_and_p_none(resolver: DnsResolver) -> None:
    result = check_authentication("split.test", resolver, dkim_tokens=None, mail_from_domain=None)
    assert result.data["spf"]["includes_amazonses"] is True
    assert finding(result, "spf_allows_all").severity == Severity.WARNING
    none = finding(result, "dmarc_policy_none")
    assert none.severity == Severity.INFO
    assert finding(result, "spf_not_aligned").severity == Severity.INFO


def test_no_custom_mail_from_is_only_informational(resolver: DnsResolver) -> None:
    result = check_authentication("good.test", resolver, dkim_tokens=TOKENS, mail_from_domain=None)
    assert result.status == Status.OK
    assert codes(result) == ["spf_not_aligned"]


def test_p_none_is_informational_and_keeps_the_step_ok(resolver: DnsResolver) -> None:
    result = check_authentication("multi.test", resolver, dkim_tokens=None, mail_from_domain=None)
    assert finding(result, "dmarc_policy_none").severity == Severity.INFO
    assert result.status == Status.FINDING  # because of the two SPF records, not p=none
    assert [f.code for f in result.findings if f.severity != Severity.INFO] == ["spf_multiple_records"]


def test_missing_include_syntax_error_and_invalid_dmarc(resolver: DnsResolver) -> None:
    result = check_authentication("broken.test", resolver, dkim_tokens=None, mail_from_domain=None)
    assert finding(result, "spf_include_missing").data["include"] == "missing.broken.test"
    assert "foo:bar" in finding(result, "spf_syntax_error").summary
    assert "dmarc_invalid" in codes(result)


def test_unreachable_nameserver_is_an_error_with_reason_and_fast() -> None:
    dead = DnsResolver([("127.0.0.1", closed_port())], timeout=0.3)
    started = time.monotonic()
    result = check_authentication("good.test", dead, dkim_tokens=TOKENS, mail_from_domain="mail.good.test")
    assert time.monotonic() - started < 0.9, "one timeout, not one per part"
    assert result.status == Status.ERROR
    assert "timed out" in result.summary
    assert result.summary.startswith("Could not check spf, dkim, dmarc, mail from of good.test")
    assert set(result.data["unchecked"]) == {"spf", "dkim", "dmarc", "mail_from"}
    assert result.findings == ()
