"""The `reputation` step: sending IPs and sender domains against DNS blocklists, through the DNS seam.

A listing is an A answer in 127.0.0.0/8 under the list's zone, read through the list's return codes.
NXDOMAIN means not listed. Answers that mean "query refused" (Spamhaus 127.255.255.x for public resolvers or
missing keys, SURBL 127.0.0.1 for blocked resolvers) make that list skipped with why, never "listed".
Zones are parameters, so tests (or a Spamhaus DQS key zone) go through the same code.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from bot.dns_resolver import DnsUnavailable, Resolver
from checks.authentication import organizational_domain
from checks.findings import Finding, Severity, Status, StepResult
from checks.severity import severity_rank

logger = logging.getLogger(__name__)

STEP = "reputation"
MAX_PARALLEL_QUERIES = 16

# Amazon SES sending ranges, from the amazonses.com SPF record. Shared-pool and dedicated IPs both come from
# these, so an IP here is "an SES IP"; it is called shared only when the caller says so (`shared_ips`) or it is
# not one of the account's dedicated IPs (`dedicated_ips`).
SES_SENDING_RANGES: tuple[ipaddress.IPv4Network, ...] = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "199.255.192.0/22", "199.127.232.0/22", "54.240.0.0/18", "69.169.224.0/20", "23.249.208.0/20",
        "23.251.224.0/19", "76.223.176.0/20", "54.240.64.0/19", "54.240.96.0/19", "76.223.128.0/19",
        "216.221.160.0/19", "206.55.144.0/20",
    )
)

ZEN_CODES = {
    2: "SBL (Spamhaus spam source)",
    3: "SBL CSS (snowshoe spam)",
    4: "XBL (exploited/infected host)",
    5: "XBL (exploited/infected host)",
    6: "XBL (exploited/infected host)",
    7: "XBL (exploited/infected host)",
    9: "SBL DROP (hijacked netblock)",
    10: "PBL (ISP policy: end-user range)",
    11: "PBL (Spamhaus policy: end-user range)",
}
DBL_CODES = {
    2: "spam domain",
    4: "phishing domain",
    5: "malware domain",
    6: "botnet C&C domain",
    102: "abused legit domain (spam)",
    103: "abused spammed redirector",
    104: "abused legit domain (phishing)",
    105: "abused legit domain (malware)",
    106: "abused legit domain (botnet C&C)",
}
SURBL_BITS = {2: "SC (SpamCop)", 4: "WS (sa-blacklist)", 8: "PH (phishing)", 16: "MW (malware)",
              32: "AB (AbuseButler)", 64: "ABUSE", 128: "CR (cracked sites)"}
SPAMHAUS_REFUSED = {
    "127.255.255.252": "query refused: typo in the DNSBL name",
    "127.255.255.254": "query refused: sent through a public/open resolver (use your own resolver or a DQS key)",
    "127.255.255.255": "query refused: too many queries (rate limited; use a DQS key)",
}


def _octets(answer: str) -> tuple[int, int, int, int]:
    a, b, c, d = (int(x) for x in answer.split("."))
    return a, b, c, d


def spamhaus_refusal(answer: str) -> str | None:
    if answer in SPAMHAUS_REFUSED:
        return SPAMHAUS_REFUSED[answer]
    if answer.startswith("127.255.255."):
        return f"query refused by Spamhaus (answer {answer})"
    if answer == "127.0.1.255":
        return "query refused: IP addresses may not be queried on the DBL"
    return None


def zen_meaning(answer: str) -> str:
    _, b, c, d = _octets(answer)
    return ZEN_CODES.get(d, f"listed (code {answer})") if (b, c) == (0, 0) else f"listed (code {answer})"


def dbl_meaning(answer: str) -> str:
    _, b, c, d = _octets(answer)
    return DBL_CODES.get(d, f"listed (code {answer})") if (b, c) == (0, 1) else f"listed (code {answer})"


def surbl_meaning(answer: str) -> str:
    d = _octets(answer)[3]
    names = [name for bit, name in SURBL_BITS.items() if d & bit]
    return ", ".join(names) if names else f"listed (code {answer})"


def surbl_refusal(answer: str) -> str | None:
    return "query refused: SURBL blocks this resolver (answer 127.0.0.1)" if answer == "127.0.0.1" else None


def _listed(answer: str) -> str:
    return "listed"


def _no_refusal(answer: str) -> str | None:
    return None


@dataclass(frozen=True)
class Blocklist:
    """A DNS blocklist: where to ask and how to read its answers."""

    name: str
    zone: str
    kind: Literal["ip", "domain"]
    meaning: Callable[[str], str] = _listed
    refusal: Callable[[str], str | None] = _no_refusal
    severity: Severity = Severity.CRITICAL
    ipv6: bool = False  # whether the list answers nibble-reversed IPv6 queries
    delist_url: str | None = None


SPAMHAUS_ZEN = Blocklist("Spamhaus ZEN", "zen.spamhaus.org", "ip", zen_meaning, spamhaus_refusal,
                         Severity.CRITICAL, ipv6=True, delist_url="https://check.spamhaus.org/")
SPAMCOP = Blocklist("SpamCop", "bl.spamcop.net", "ip", _listed, _no_refusal, Severity.WARNING,
                    delist_url="https://www.spamcop.net/bl.shtml")
BARRACUDA = Blocklist("Barracuda", "b.barracudacentral.org", "ip", _listed, _no_refusal, Severity.WARNING,
                      delist_url="https://www.barracudacentral.org/rbl/removal-request")
SPAMHAUS_DBL = Blocklist("Spamhaus DBL", "dbl.spamhaus.org", "domain", dbl_meaning, spamhaus_refusal,
                         Severity.CRITICAL, delist_url="https://check.spamhaus.org/")
SURBL = Blocklist("SURBL", "multi.surbl.org", "domain", surbl_meaning, surbl_refusal, Severity.CRITICAL,
                  delist_url="https://surbl.org/surbl-analysis")

DEFAULT_IP_LISTS: tuple[Blocklist, ...] = (SPAMHAUS_ZEN, SPAMCOP, BARRACUDA)
DEFAULT_DOMAIN_LISTS: tuple[Blocklist, ...] = (SPAMHAUS_DBL, SURBL)


def reversed_ip(ip: str) -> str:
    """`192.0.2.1` -> `1.2.0.192`; IPv6 as reversed nibbles."""
    address = ipaddress.ip_address(ip)
    if address.version == 4:
        return ".".join(reversed(str(address).split(".")))
    return ".".join(reversed(address.exploded.replace(":", "")))


def is_ses_ip(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return address.version == 4 and any(address in net for net in SES_SENDING_RANGES)


@dataclass(frozen=True)
class _Query:
    blocklist: Blocklist
    target: str  # the IP or domain as given
    qname: str


@dataclass(frozen=True)
class _Answer:
    query: _Query
    outcome: Literal["clean", "listed", "refused", "unavailable"]
    codes: tuple[str, ...] = ()
    why: str = ""


def _ask(resolver: Resolver, query: _Query) -> _Answer:
    try:
        answers = resolver.a(query.qname)
    except DnsUnavailable as exc:
        return _Answer(query, "unavailable", why=exc.reason)
    if not answers:
        return _Answer(query, "clean")
    for answer in answers:
        refused = query.blocklist.refusal(answer)
        if refused:
            return _Answer(query, "refused", (answer,), refused)
    loopback = tuple(sorted(a for a in answers if ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8")))
    if not loopback:
        # Not a DNSBL answer at all: a resolver that rewrites NXDOMAIN, or a list that was retired.
        return _Answer(query, "refused", tuple(answers),
                       f"answer {', '.join(answers)} is outside 127.0.0.0/8 (resolver rewriting NXDOMAIN?)")
    return _Answer(query, "listed", loopback)


def _run(resolver: Resolver, queries: list[_Query]) -> list[_Answer]:
    if not queries:
        return []
    if len(queries) == 1:
        return [_ask(resolver, queries[0])]
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_QUERIES, len(queries))) as pool:
        return list(pool.map(lambda q: _ask(resolver, q), queries))


def check_reputation(
    ips: list[str],
    domains: list[str],
    resolver: Resolver,
    *,
    shared_ips: set[str] | None = None,
    dedicated_ips: set[str] | None = None,
    ip_zones: Sequence[Blocklist] = DEFAULT_IP_LISTS,
    domain_zones: Sequence[Blocklist] = DEFAULT_DOMAIN_LISTS,
) -> StepResult:
    """Look up each sending IP on `ip_zones` and each sender domain on `domain_zones`.

    Each list is first asked about one target; a list that refuses or does not answer is skipped for the rest,
    so a dead resolver costs one timeout, not one per IP. Queries run in parallel.
    """
    findings: list[Finding] = []
    bad_inputs: list[str] = []
    ip_targets: list[str] = []
    for raw in dict.fromkeys(i.strip() for i in ips if i and i.strip()):
        try:
            ip_targets.append(str(ipaddress.ip_address(raw)))
        except ValueError:
            bad_inputs.append(raw)
    domain_targets = _domain_targets(domains)
    if bad_inputs:
        findings.append(Finding(
            "reputation_bad_ip", Severity.INFO,
            f"Ignored {len(bad_inputs)} value(s) that are not IP addresses: {', '.join(bad_inputs[:5])}.",
            {"values": bad_inputs},
        ))
    if not ip_targets and not domain_targets:
        return StepResult(STEP, Status.SKIPPED, "No sending IPs (ses:outgoing-ip) or sender domains to check yet.",
                          tuple(findings))

    per_list: dict[Blocklist, list[_Query]] = {}
    for bl in ip_zones:
        per_list[bl] = [
            _Query(bl, ip, f"{reversed_ip(ip)}.{bl.zone}")
            for ip in ip_targets if ipaddress.ip_address(ip).version == 4 or bl.ipv6
        ]
    for bl in domain_zones:
        per_list[bl] = [_Query(bl, d, f"{d}.{bl.zone}") for d in domain_targets]
    per_list = {bl: qs for bl, qs in per_list.items() if qs}

    # Round 1: one query per list tells whether the list answers us at all. Round 2: the rest.
    first = _run(resolver, [qs[0] for qs in per_list.values()])
    skipped: dict[str, str] = {}
    unavailable: set[str] = set()
    answers: list[_Answer] = []
    rest: list[_Query] = []
    for answer in first:
        bl = answer.query.blocklist
        if answer.outcome in ("refused", "unavailable"):
            skipped[bl.name] = answer.why
            if answer.outcome == "unavailable":
                unavailable.add(bl.name)
        else:
            answers.append(answer)
            rest.extend(per_list[bl][1:])
    partial: dict[str, str] = {}
    for answer in _run(resolver, rest):
        name = answer.query.blocklist.name
        if answer.outcome == "refused":
            skipped.setdefault(name, answer.why)
        elif answer.outcome == "unavailable":
            partial.setdefault(name, answer.why)
        else:
            answers.append(answer)

    shared = shared_ips or set()
    dedicated = dedicated_ips or set()
    listings: list[dict[str, Any]] = []
    for answer in answers:
        if answer.outcome != "listed":
            continue
        bl = answer.query.blocklist
        if bl.name in skipped:  # refused part-way: do not trust the rest of its answers either
            continue
        listings.append(_listing_data(answer, shared, dedicated))
        findings.append(_listing_finding(answer, shared, dedicated))
    for name, why in skipped.items():
        findings.append(Finding(
            "blocklist_skipped", Severity.INFO, f"{name} not checked: {why}.", {"blocklist": name, "why": why},
        ))
    for name, why in partial.items():
        if name not in skipped:
            findings.append(Finding(
                "blocklist_partial", Severity.INFO, f"{name} only partly checked: {why}.",
                {"blocklist": name, "why": why},
            ))

    checked = [bl.name for bl in per_list if bl.name not in skipped]
    data: dict[str, Any] = {
        "ips": ip_targets, "domains": domain_targets, "checked_lists": checked, "skipped_lists": skipped,
        "partial_lists": {k: v for k, v in partial.items() if k not in skipped}, "listings": listings,
    }
    findings.sort(key=severity_rank)
    if not checked:
        return StepResult(STEP, Status.SKIPPED, _all_skipped_summary(skipped, unavailable), tuple(findings), data)
    skipped_note = f"; not checked: {', '.join(skipped)}" if skipped else ""
    targets = _count(len(ip_targets), "IP") + (" and " if ip_targets and domain_targets else "") + \
        _count(len(domain_targets), "domain")
    if listings:
        first_listing = next(f for f in findings if f.code.endswith("_listed"))
        summary = (first_listing.summary if len(listings) == 1
                   else f"{len(listings)} blocklist listings; {first_listing.summary}") + skipped_note
        return StepResult(STEP, Status.FINDING, summary, tuple(findings), data)
    summary = f"{targets} not listed on {', '.join(checked)}{skipped_note}."
    return StepResult(STEP, Status.OK, summary, tuple(findings), data)


def _all_skipped_summary(skipped: dict[str, str], unavailable: set[str]) -> str:
    if set(skipped) == unavailable:
        return f"No blocklist could be checked: DNS is unavailable ({next(iter(skipped.values()))})."
    by_reason: dict[str, list[str]] = {}
    for name, why in skipped.items():
        by_reason.setdefault("DNS unavailable" if name in unavailable else why, []).append(name)
    return "No blocklist could be checked: " + "; ".join(
        f"{', '.join(names)}: {why}" for why, names in by_reason.items()
    ) + "."


def _count(n: int, noun: str) -> str:
    return "" if n == 0 else f"{n} {noun}" + ("" if n == 1 else "s")


def _domain_targets(domains: list[str]) -> list[str]:
    """Domains as given plus their organizational domains (the DBL mostly lists registered domains)."""
    out: dict[str, None] = {}
    for raw in domains:
        domain = (raw or "").strip().rstrip(".").lower()
        if not domain or "." not in domain:
            continue
        try:
            ipaddress.ip_address(domain)
            continue  # domain lists refuse IP queries
        except ValueError:
            pass
        out[domain] = None
        out[organizational_domain(domain)] = None
    return list(out)


def _ip_role(ip: str, shared: set[str], dedicated: set[str]) -> str | None:
    if ip in shared:
        return "shared SES IP"
    if ip in dedicated:
        return "dedicated SES IP"
    if is_ses_ip(ip):
        # An SES address that is not one of the account's dedicated IPs is from the shared pool.
        return "shared SES IP" if dedicated else "SES IP"
    return None


def _listing_data(answer: _Answer, shared: set[str], dedicated: set[str]) -> dict[str, Any]:
    bl = answer.query.blocklist
    return {
        "blocklist": bl.name, "zone": bl.zone, "kind": bl.kind, "target": answer.query.target,
        "codes": list(answer.codes), "meanings": [bl.meaning(c) for c in answer.codes],
        "ip_role": _ip_role(answer.query.target, shared, dedicated) if bl.kind == "ip" else None,
    }


def _listing_finding(answer: _Answer, shared: set[str], dedicated: set[str]) -> Finding:
    bl = answer.query.blocklist
    target = answer.query.target
    meanings = "; ".join(m for m in dict.fromkeys(bl.meaning(c) for c in answer.codes) if m != "listed")
    codes = ", ".join(answer.codes)
    how = f"{meanings}, {codes}" if meanings else codes
    data = _listing_data(answer, shared, dedicated)
    if bl.kind == "domain":
        return Finding(
            "domain_listed", bl.severity,
            f"{target} is listed on {bl.name} ({how}): mail naming it is filtered; "
            f"request delisting{f' at {bl.delist_url}' if bl.delist_url else ''}.",
            data,
        )
    role = data["ip_role"]
    if role == "shared SES IP":
        action = "AWS manages shared-pool reputation; consider dedicated IPs if this persists"
        severity = Severity.WARNING
    elif role == "SES IP":
        action = ("if it is one of your dedicated IPs, find the cause and request delisting"
                  f"{f' at {bl.delist_url}' if bl.delist_url else ''}; if shared, AWS handles it")
        severity = bl.severity
    else:
        action = f"request delisting{f' at {bl.delist_url}' if bl.delist_url else ''}"
        severity = bl.severity
    label = f"{role[0].upper()}{role[1:]} {target}" if role else f"Sending IP {target}"
    return Finding("ip_listed", severity, f"{label} is listed on {bl.name} ({how}); {action}.", data)
