"""checks.providers: MX-host classification, and resolution through a real NSD."""

from __future__ import annotations

import time

import pytest

from bot.dns_resolver import DnsResolver
from checks.providers import provider_for_mx, resolve_providers
from tests.dns_server import NsdServer, closed_port

ZONES = {
    "prov.test": """
        google     IN MX 5  alt1.aspmx.l.google.com.
        google     IN MX 1  ASPMX.L.GOOGLE.COM.
        m365       IN MX 0  prov-test.mail.protection.outlook.com.
        proofpoint IN MX 10 mx0a-00123401.pphosted.com.
        proofpoint IN MX 10 mx0b-00123401.pphosted.com.
        mimecast   IN MX 10 eu-smtp-inbound-1.mimecast.com.
        ironport   IN MX 10 mx1.hc1234-12.iphmx.com.
        yahoo      IN MX 1  mta5.am0.yahoodns.net.
        apple      IN MX 10 mx01.mail.icloud.com.
        backup     IN MX 10 mail.prov.test.
        backup     IN MX 20 aspmx.l.google.com.
        selfhosted IN MX 10 mail.prov.test.
        nullmx     IN MX 0  .
        nomx       IN A  192.0.2.1
    """,
}


@pytest.fixture(scope="module")
def resolver(dns_server: NsdServer) -> DnsResolver:
    dns_server.add_zones(ZONES)
    return dns_server.resolver()


@pytest.mark.parametrize(
    ("hosts", "provider"),
    [
        (["gmail-smtp-in.l.google.com."], "Google"),
        (["alt2.gmr-smtp-in.l.googlemail.com"], "Google"),
        (["example-com.mail.protection.outlook.com"], "Microsoft"),
        (["hotmail-com.olc.protection.outlook.com"], "Microsoft"),
        (["mx1.hotmail.com"], "Microsoft"),
        (["mx-aol.mail.gm0.yahoodns.net"], "Yahoo"),
        (["mx01.mail.icloud.com"], "Apple"),
        (["mx0a-001.pphosted.com"], "Proofpoint"),
        (["mx1-us1.ppe-hosted.com"], "Proofpoint"),
        (["us-smtp-inbound-1.mimecast.com"], "Mimecast"),
        (["d123.ess.barracudanetworks.com"], "Barracuda"),
        (["mx1.hc123-45.iphmx.com"], "Cisco IronPort"),
        (["mx.zoho.eu"], "Zoho"),
        (["in1-smtp.messagingengine.com"], "Fastmail"),
        (["mx00.emig.gmx.net"], "GMX/web.de"),
        (["mx-ha03.web.de"], "GMX/web.de"),
        (["mx.yandex.ru"], "Yandex"),
        (["mxs.mail.ru"], "Mail.ru"),
        (["mail.protection.outlook.com.evil.example"], "other"),
        (["notgoogle.com"], "other"),
        (["mx.example.net"], "other"),
        ([], "no-mx"),
        ([""], "no-mx"),
        (["."], "no-mx"),
    ],
)
def test_provider_for_mx(hosts: list[str], provider: str) -> None:
    assert provider_for_mx(hosts) == provider


def test_resolve_providers_through_nsd(resolver: DnsResolver) -> None:
    names = ["google", "m365", "proofpoint", "mimecast", "ironport", "yahoo", "apple", "backup", "selfhosted",
             "nullmx", "nomx", "missing"]
    result = resolve_providers([f"{n}.prov.test" for n in names] + ["GOOGLE.prov.test."], resolver)
    assert {k.split(".")[0]: v for k, v in result.items()} == {
        "google": "Google", "m365": "Microsoft", "proofpoint": "Proofpoint", "mimecast": "Mimecast",
        "ironport": "Cisco IronPort", "yahoo": "Yahoo", "apple": "Apple",
        "backup": "Google",  # the first known provider in preference order decides
        "selfhosted": "other", "nullmx": "no-mx", "nomx": "no-mx", "missing": "no-mx",
    }
    assert len(result) == len(names)  # GOOGLE.prov.test. is the same domain


def test_unreachable_dns_gives_unresolved_fast_but_known_domains_still_named() -> None:
    dead = DnsResolver([("127.0.0.1", closed_port())], timeout=0.3)
    domains = [f"d{i}.prov.test" for i in range(10)] + ["gmail.com", "Outlook.com"]
    started = time.monotonic()
    result = resolve_providers(domains, dead)
    elapsed = time.monotonic() - started
    assert result["gmail.com"] == "Google" and result["outlook.com"] == "Microsoft"
    assert {result[f"d{i}.prov.test"] for i in range(10)} == {"unresolved"}
    assert elapsed < 1.5, f"stops asking after 3 consecutive failures ({elapsed:.1f} s)"


def test_known_domains_can_be_looked_up_instead(resolver: DnsResolver) -> None:
    # gmail.com is not served by the test NSD: looked up for real it is REFUSED -> unresolved.
    assert resolve_providers(["gmail.com"], resolver, use_known=False) == {"gmail.com": "unresolved"}
