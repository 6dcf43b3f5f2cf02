"""Mailbox providers and inbound gateways, recognised from a domain's MX hosts.

The provider is whoever accepts the mail: for a company behind Proofpoint that is Proofpoint, whatever mailbox
service sits behind it, because that is where throttling and filtering happen.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.dns_resolver import DnsUnavailable, Resolver

logger = logging.getLogger(__name__)

NO_MX = "no-mx"
OTHER = "other"
UNRESOLVED = "unresolved"

# (provider, MX host suffixes). A host matches a suffix when it equals it or ends with "." + suffix.
PROVIDER_MX_SUFFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Google", ("google.com", "googlemail.com", "smtp.goog")),
    ("Microsoft", ("outlook.com", "protection.outlook.com", "hotmail.com", "outlook.cn")),
    ("Yahoo", ("yahoodns.net", "yahoo.com", "aol.com")),  # AOL and Verizon mail are served by Yahoo
    ("Apple", ("icloud.com", "me.com", "mac.com")),
    ("Proofpoint", ("pphosted.com", "ppe-hosted.com", "ppops.net", "proofpoint.com")),
    ("Mimecast", ("mimecast.com", "mimecast.co.za", "mimecast-offshore.com")),
    ("Barracuda", ("barracudanetworks.com", "cudamail.com")),
    ("Cisco IronPort", ("iphmx.com",)),
    ("Broadcom Email Security.cloud", ("messagelabs.com",)),
    ("Trend Micro", ("tmes.trendmicro.com", "tmes.trendmicro.eu", "trendmicro.com")),
    ("Sophos", ("hydra.sophos.com", "sophos.com")),
    ("Forcepoint", ("mailcontrol.com",)),
    ("Hornetsecurity", ("hornetsecurity.com",)),
    ("Zoho", ("zoho.com", "zoho.eu", "zoho.in", "zoho.com.au", "zohomail.com")),
    ("Fastmail", ("messagingengine.com", "fastmail.com")),
    ("Proton", ("protonmail.ch", "proton.me")),
    ("GMX/web.de", ("gmx.net", "gmx.com", "gmx.de", "web.de")),
    ("IONOS", ("ionos.com", "ionos.de", "1and1.com", "kundenserver.de")),
    ("Yandex", ("yandex.ru", "yandex.net", "yandex.com")),
    ("Mail.ru", ("mail.ru",)),
    ("Tencent QQ", ("qq.com",)),
    ("NetEase", ("netease.com", "163.com", "126.com")),
    ("Comcast", ("comcast.net",)),
    ("Rackspace", ("emailsrvr.com",)),
    ("GoDaddy", ("secureserver.net",)),
    ("Amazon WorkMail", ("awsapps.com",)),
)

# Large consumer domains whose provider is certain: classified without a DNS lookup, so the biggest groups
# of a B2C list are still named when DNS is down.
KNOWN_DOMAINS: dict[str, str] = {
    **dict.fromkeys(("gmail.com", "googlemail.com"), "Google"),
    **dict.fromkeys(
        ("outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "hotmail.fr", "outlook.fr",
         "live.co.uk", "hotmail.de", "hotmail.it", "hotmail.es"),
        "Microsoft",
    ),
    **dict.fromkeys(
        ("yahoo.com", "ymail.com", "rocketmail.com", "aol.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
         "yahoo.co.jp", "verizon.net"),
        "Yahoo",
    ),
    **dict.fromkeys(("icloud.com", "me.com", "mac.com"), "Apple"),
    **dict.fromkeys(("gmx.net", "gmx.de", "gmx.com", "web.de"), "GMX/web.de"),
    **dict.fromkeys(("yandex.ru", "yandex.com", "ya.ru"), "Yandex"),
    **dict.fromkeys(("mail.ru", "inbox.ru", "list.ru", "bk.ru"), "Mail.ru"),
    **dict.fromkeys(("protonmail.com", "proton.me", "pm.me"), "Proton"),
    **dict.fromkeys(("fastmail.com", "fastmail.fm"), "Fastmail"),
    "qq.com": "Tencent QQ",
    "comcast.net": "Comcast",
}


def _normalise(host: str) -> str:
    return host.strip().rstrip(".").lower()


def provider_for_host(host: str) -> str | None:
    """The provider of one MX host, or None if it is not a known one."""
    name = _normalise(host)
    if not name:
        return None
    for provider, suffixes in PROVIDER_MX_SUFFIXES:
        for suffix in suffixes:
            if name == suffix or name.endswith("." + suffix):
                return provider
    return None


def provider_for_mx(hosts: list[str]) -> str:
    """Classify a domain by its MX hosts, most preferred first.

    The first host that belongs to a known provider decides; `"other"` if none does; `"no-mx"` when there is
    no MX host at all or only a null MX (RFC 7505 `0 .`: the domain accepts no mail).
    """
    names = [_normalise(h) for h in hosts]
    names = [n for n in names if n]
    if not names:
        return NO_MX
    for name in names:
        provider = provider_for_host(name)
        if provider is not None:
            return provider
    return OTHER


def resolve_providers(
    domains: Iterable[str],
    resolver: Resolver,
    *,
    use_known: bool = True,
    max_consecutive_failures: int = 3,
) -> dict[str, str]:
    """Map each recipient domain (lower-cased) to its provider through the resolver's MX lookups.

    A domain DNS could not answer for is `"unresolved"`. After `max_consecutive_failures` unanswered domains in
    a row the resolver is taken to be down and the remaining domains are `"unresolved"` without waiting for
    each to time out (0 disables that shortcut).
    """
    result: dict[str, str] = {}
    failures = 0
    for raw in domains:
        domain = _normalise(raw)
        if not domain or domain in result:
            continue
        if use_known and domain in KNOWN_DOMAINS:
            result[domain] = KNOWN_DOMAINS[domain]
            continue
        if max_consecutive_failures and failures >= max_consecutive_failures:
            result[domain] = UNRESOLVED
            continue
        try:
            records = resolver.mx(domain)
        except DnsUnavailable as exc:
            logger.info("MX lookup for %s failed: %s", domain, exc.reason)
            failures += 1
            result[domain] = UNRESOLVED
            continue
        except ValueError:  # not a valid DNS name: cannot have MX
            result[domain] = NO_MX
            continue
        failures = 0
        result[domain] = provider_for_mx([host for _, host in sorted(records)])
    return result
