"""The `authentication` step: SPF, Easy DKIM, DMARC and custom MAIL FROM of a From domain, through DNS.

Pure: everything comes from the resolver it is handed. What is wrong in DNS is a `Finding`; not being able to
ask DNS (`DnsUnavailable`) makes the step `error` with the reason, keeping what the other parts found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.dns_resolver import DnsUnavailable, Resolver
from checks.findings import Finding, Severity, Status, StepResult
from checks.severity import severity_rank

STEP = "authentication"
SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4
SES_SPF_INCLUDE = "amazonses.com"
SES_DKIM_SUFFIX = "dkim.amazonses.com"
MAX_SPF_RECORDS_FOLLOWED = 40  # bounds the DNS work on a pathological include tree
SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists"})  # plus redirect=, counted apart
SPF_MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})

# Public suffixes with two labels that are common in mail: the organizational domain of x.example.co.uk is
# example.co.uk. (A heuristic in place of the full Public Suffix List.)
TWO_LEVEL_SUFFIXES = frozenset(
    f"{second}.{tld}"
    for tld, seconds in {
        "uk": ("co", "org", "ac", "gov", "ltd", "plc", "me", "net", "sch", "nhs"),
        "au": ("com", "net", "org", "edu", "gov", "asn", "id"),
        "nz": ("co", "org", "net", "ac", "govt", "school"),
        "jp": ("co", "ne", "or", "ac", "go", "ad", "ed", "gr", "lg"),
        "za": ("co", "org", "net", "gov", "ac", "web"),
        "br": ("com", "net", "org", "gov", "edu"),
        "mx": ("com", "org", "gob", "edu", "net"),
        "ar": ("com", "org", "gob", "net", "edu"),
        "cn": ("com", "net", "org", "gov", "edu", "ac"),
        "tw": ("com", "net", "org", "edu", "gov"),
        "hk": ("com", "net", "org", "edu", "gov"),
        "sg": ("com", "net", "org", "edu", "gov"),
        "my": ("com", "net", "org", "edu", "gov"),
        "in": ("co", "net", "org", "firm", "gen", "ind", "ac", "edu", "gov"),
        "kr": ("co", "or", "ne", "ac", "go", "re"),
        "il": ("co", "org", "net", "ac", "gov"),
        "tr": ("com", "net", "org", "gov", "edu"),
        "id": ("co", "or", "web", "ac", "go"),
        "th": ("co", "or", "in", "ac", "go"),
        "ph": ("com", "net", "org", "gov", "edu"),
        "vn": ("com", "net", "org", "gov", "edu"),
        "ua": ("com", "net", "org", "gov", "in"),
        "pl": ("com", "net", "org"),
        "co": ("com", "net", "org", "gov", "edu"),
        "pe": ("com", "net", "org", "gob", "edu"),
        "ec": ("com", "net", "org", "gob", "edu"),
        "eg": ("com", "net", "org", "gov", "edu"),
        "sa": ("com", "net", "org", "gov", "edu"),
        "pk": ("com", "net", "org", "gov", "edu"),
        "ng": ("com", "net", "org", "gov", "edu"),
        "ke": ("co", "or", "ne", "go", "ac"),
        "es": ("com", "org", "nom", "gob", "edu"),
        "ru": ("com", "net", "org"),
    }.items()
    for second in seconds
)

def organizational_domain(domain: str) -> str:
    """The registrable domain: the last two labels, or three under a common two-level suffix like co.uk."""
    labels = domain.strip().rstrip(".").lower().split(".")
    keep = 3 if len(labels) >= 3 and ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def _norm(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


# --- SPF --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpfTerm:
    """One term of an SPF record: a mechanism (`qualifier` set) or a modifier (`qualifier` is "=")."""

    qualifier: str  # "+", "-", "~", "?" for mechanisms, "=" for modifiers
    name: str  # lower case: "include", "ip4", "redirect", ...
    value: str  # what follows ":" or "=" (may carry a "/cidr"), "" if none

    @property
    def is_modifier(self) -> bool:
        return self.qualifier == "="


_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$")
_MECHANISM = re.compile(r"^([+\-~?]?)([A-Za-z0-9]+)([:/].*)?$")


def is_spf_record(text: str) -> bool:
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


def parse_spf(record: str) -> tuple[list[SpfTerm], list[str]]:
    """Split an SPF record into terms; also return the syntax errors found (each makes SPF `permerror`)."""
    terms: list[SpfTerm] = []
    errors: list[str] = []
    for token in record.split()[1:]:
        modifier = _MODIFIER.match(token)
        if modifier:
            terms.append(SpfTerm("=", modifier.group(1).lower(), modifier.group(2)))
            continue
        mechanism = _MECHANISM.match(token)
        if not mechanism or mechanism.group(2).lower() not in SPF_MECHANISMS:
            errors.append(f"unknown term {token!r}")
            continue
        qualifier, name, rest = mechanism.group(1) or "+", mechanism.group(2).lower(), mechanism.group(3) or ""
        value = rest[1:] if rest.startswith(":") else rest
        if name in ("include", "exists", "ip4", "ip6") and not rest.startswith(":"):
            errors.append(f"{token!r} needs a value after ':'")
            continue
        if name == "all" and rest:
            errors.append(f"{token!r}: 'all' takes no value")
            continue
        terms.append(SpfTerm(qualifier, name, value))
    for name in ("redirect", "exp"):
        if sum(1 for t in terms if t.is_modifier and t.name == name) > 1:
            errors.append(f"more than one {name}= modifier")
    return terms, errors


def _domain_spec(value: str) -> str:
    """The domain part of a mechanism value such as `example.com/24` or `example.com//64`."""
    return _norm(value.split("/", 1)[0])


@dataclass
class SpfAnalysis:
    """What walking one domain's SPF tree found."""

    domain: str
    record: str | None = None
    lookups: int = 0
    includes_ses: bool = False
    permerror: bool = False
    followed: list[str] = field(default_factory=list)
    unfollowed: list[str] = field(default_factory=list)  # macro targets or beyond MAX_SPF_RECORDS_FOLLOWED
    findings: list[Finding] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "record": self.record,
            "lookups": self.lookups,
            "lookup_limit": SPF_LOOKUP_LIMIT,
            "includes_amazonses": self.includes_ses,
            "permerror": self.permerror,
            "followed": self.followed,
            "unfollowed": self.unfollowed,
        }


def analyze_spf(domain: str, resolver: Resolver, *, missing_severity: Severity = Severity.WARNING) -> SpfAnalysis:
    """Find `domain`'s SPF record and walk its include/redirect tree, counting DNS-querying terms.

    Raises `DnsUnavailable` when DNS cannot answer (the caller turns that into a step error).
    """
    analysis = SpfAnalysis(_norm(domain))
    _walk_spf(analysis, analysis.domain, (), resolver, missing_severity)
    if analysis.lookups > SPF_LOOKUP_LIMIT:
        analysis.permerror = True
        analysis.findings.append(Finding(
            "spf_too_many_lookups", Severity.CRITICAL,
            f"SPF for {analysis.domain} needs {analysis.lookups} DNS lookups, over the limit of "
            f"{SPF_LOOKUP_LIMIT}: receivers get permerror and SPF fails; flatten or remove includes.",
            {"domain": analysis.domain, "lookups": analysis.lookups, "limit": SPF_LOOKUP_LIMIT},
        ))
    return analysis


def _walk_spf(
    analysis: SpfAnalysis, domain: str, chain: tuple[str, ...], resolver: Resolver, missing_severity: Severity
) -> None:
    analysis.followed.append(domain)
    records = [t for t in resolver.txt(domain) if is_spf_record(t)]
    top = not chain
    where = f"{domain}" if top else f"{domain} (included from {chain[-1]})"
    if not records:
        if top:
            analysis.findings.append(Finding(
                "spf_missing", missing_severity,
                f"{domain} has no SPF record (TXT \"v=spf1 ...\"); publish one that includes amazonses.com.",
                {"domain": domain},
            ))
        else:
            analysis.permerror = True
            analysis.findings.append(Finding(
                "spf_include_missing", Severity.CRITICAL,
                f"SPF of {analysis.domain} includes {domain}, which has no SPF record: permerror; "
                "fix or remove that include.",
                {"domain": analysis.domain, "include": domain, "chain": [*chain, domain]},
            ))
        return
    if len(records) > 1:
        analysis.permerror = True
        analysis.findings.append(Finding(
            "spf_multiple_records", Severity.CRITICAL,
            f"{where} publishes {len(records)} SPF records: receivers return permerror; merge them into one.",
            {"domain": domain, "records": records, "chain": list(chain)},
        ))
        if top:
            analysis.record = records[0]
        return
    record = records[0]
    if top:
        analysis.record = record
    terms, errors = parse_spf(record)
    if errors:
        analysis.permerror = True
        analysis.findings.append(Finding(
            "spf_syntax_error", Severity.CRITICAL,
            f"SPF record of {where} is invalid ({'; '.join(errors)}): receivers return permerror.",
            {"domain": domain, "record": record, "errors": errors},
        ))
    has_all = any(t.name == "all" and not t.is_modifier for t in terms)
    if top and any(t.name == "all" and t.qualifier == "+" for t in terms if not t.is_modifier):
        analysis.findings.append(Finding(
            "spf_allows_all", Severity.WARNING,
            f"SPF of {domain} ends in +all: it authorises every server on the internet; use ~all or -all.",
            {"domain": domain, "record": record},
        ))
    for term in terms:
        if term.is_modifier:
            # redirect= is ignored when the record has an 'all' mechanism (RFC 7208 §6.1)
            if term.name != "redirect" or has_all:
                continue
        elif term.name not in SPF_LOOKUP_TERMS:
            continue
        analysis.lookups += 1
        if term.name not in ("include", "redirect"):
            continue
        target = _domain_spec(term.value)
        if target == SES_SPF_INCLUDE:
            analysis.includes_ses = True
        if "%" in target or not target:
            analysis.unfollowed.append(term.value)  # a macro: depends on the message, cannot be followed
            continue
        if target in chain or target == domain:
            analysis.permerror = True
            analysis.findings.append(Finding(
                "spf_include_loop", Severity.CRITICAL,
                f"SPF of {analysis.domain} loops: {' -> '.join([*chain, domain, target])}; receivers return "
                "permerror; remove the include that points back.",
                {"domain": analysis.domain, "chain": [*chain, domain, target]},
            ))
            continue
        if len(analysis.followed) >= MAX_SPF_RECORDS_FOLLOWED:
            analysis.unfollowed.append(target)
            continue
        try:
            _walk_spf(analysis, target, (*chain, domain), resolver, missing_severity)
        except ValueError as exc:  # not a valid DNS name
            analysis.permerror = True
            analysis.findings.append(Finding(
                "spf_syntax_error", Severity.CRITICAL,
                f"SPF record of {where} names an invalid domain {term.value!r}: receivers return permerror.",
                {"domain": domain, "record": record, "errors": [str(exc)]},
            ))


# --- DKIM -------------------------------------------------------------------------------------------------


def _check_dkim(domain: str, tokens: list[str], resolver: Resolver, region: str) -> tuple[list[Finding], dict]:
    findings: list[Finding] = []
    records: dict[str, str | None] = {}
    for token in tokens:
        name = f"{token}._domainkey.{domain}"
        target = resolver.cname(name)
        records[token] = target
        expected = f"{token.lower()}.{SES_DKIM_SUFFIX}"
        # Some newer regions publish the keys under dkim.<region>.amazonses.com: accept that form too.
        accepted = {expected, f"{token.lower()}.dkim.{region}.amazonses.com"}
        if target is None:
            findings.append(Finding(
                "dkim_cname_missing", Severity.CRITICAL,
                f"Easy DKIM record {name} is missing: add CNAME {name} -> {expected}.",
                {"domain": domain, "token": token, "name": name, "expected": expected},
            ))
        elif target not in accepted:
            findings.append(Finding(
                "dkim_cname_wrong", Severity.CRITICAL,
                f"Easy DKIM record {name} points to {target}, not {expected}: fix the CNAME.",
                {"domain": domain, "token": token, "name": name, "target": target, "expected": expected},
            ))
    return findings, {"tokens": list(tokens), "cnames": records, "ok": not findings}


# --- DMARC ------------------------------------------------------------------------------------------------


def parse_dmarc(record: str) -> dict[str, str]:
    """Tags of a DMARC record, names lower-cased: `{"v": "DMARC1", "p": "reject", ...}`."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip():
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def _dmarc_records(name: str, resolver: Resolver) -> list[str]:
    return [t for t in resolver.txt(name) if re.match(r"^\s*v\s*=\s*DMARC1\s*(;|$)", t, re.IGNORECASE)]


def _check_dmarc(domain: str, resolver: Resolver) -> tuple[list[Finding], dict[str, Any]]:
    findings: list[Finding] = []
    org = organizational_domain(domain)
    name = f"_dmarc.{domain}"
    records = _dmarc_records(name, resolver)
    inherited = False
    if not records and org != domain:
        records = _dmarc_records(f"_dmarc.{org}", resolver)
        if records:
            name, inherited = f"_dmarc.{org}", True
    data: dict[str, Any] = {"name": name, "record": None, "inherited_from_org": inherited, "policy": None}
    if not records:
        findings.append(Finding(
            "dmarc_missing", Severity.WARNING,
            f"No DMARC record for {domain} (_dmarc.{domain}"
            + (f" or _dmarc.{org}" if org != domain else "")
            + "): Gmail and Yahoo require one from bulk senders; publish at least \"v=DMARC1; p=none\".",
            {"domain": domain, "org_domain": org},
        ))
        return findings, data
    if len(records) > 1:
        findings.append(Finding(
            "dmarc_multiple_records", Severity.WARNING,
            f"{name} has {len(records)} DMARC records, so receivers apply none of them: keep one.",
            {"domain": domain, "name": name, "records": records},
        ))
        data["records"] = records
        return findings, data
    record = records[0]
    tags = parse_dmarc(record)
    key = "sp" if inherited and tags.get("sp", "").lower() in ("none", "quarantine", "reject") else "p"
    policy = tags.get(key, "").lower()
    pct_text = tags.get("pct", "100")
    pct = int(pct_text) if pct_text.isdigit() else 100
    data.update({
        "record": record, "policy": policy or None, "p": tags.get("p"), "sp": tags.get("sp"), "pct": pct,
        "adkim": (tags.get("adkim") or "r").lower(), "aspf": (tags.get("aspf") or "r").lower(),
        "rua": tags.get("rua"),
    })
    if policy not in ("none", "quarantine", "reject"):
        findings.append(Finding(
            "dmarc_invalid", Severity.WARNING,
            f"DMARC record at {name} "
            + (f"has an invalid policy {key}={tags[key]!r}" if key in tags else f"has no {key}= policy tag")
            + ": set p=none, quarantine or reject.",
            {"domain": domain, "name": name, "record": record},
        ))
        data["policy"] = None
    elif policy == "none":
        findings.append(Finding(
            "dmarc_policy_none", Severity.INFO,
            f"DMARC policy for {domain} is p=none (monitoring only): failing mail is not quarantined or rejected.",
            {"domain": domain, "name": name, "record": record},
        ))
    if policy in ("quarantine", "reject") and pct < 100:
        findings.append(Finding(
            "dmarc_pct_partial", Severity.INFO,
            f"DMARC {key}={policy} for {domain} applies to only {pct}% of failing mail (pct={pct}).",
            {"domain": domain, "pct": pct},
        ))
    return findings, data


# --- custom MAIL FROM -------------------------------------------------------------------------------------


def _check_mail_from(
    domain: str, mail_from: str, resolver: Resolver, region: str
) -> tuple[list[Finding], dict[str, Any], bool]:
    """Findings, data, and whether SPF can pass for SES mail from this MAIL FROM domain."""
    findings: list[Finding] = []
    expected_mx = f"feedback-smtp.{region}.amazonses.com"
    hosts = [host for _, host in resolver.mx(mail_from)]
    data: dict[str, Any] = {"domain": mail_from, "mx": hosts, "expected_mx": expected_mx}
    ok = True
    if not hosts:
        ok = False
        findings.append(Finding(
            "mail_from_mx_missing", Severity.CRITICAL,
            f"MAIL FROM domain {mail_from} has no MX record: add MX 10 {expected_mx}; until then SES falls back "
            "to amazonses.com or rejects sends (BehaviorOnMxFailure).",
            {"domain": mail_from, "expected": expected_mx},
        ))
    elif expected_mx not in hosts:
        ok = False
        ses_hosts = [h for h in hosts if re.fullmatch(r"feedback-smtp\.[a-z0-9-]+\.amazonses\.com", h)]
        hint = f" (region {ses_hosts[0].split('.')[1]}, but SES sends from {region})" if ses_hosts else ""
        findings.append(Finding(
            "mail_from_mx_wrong", Severity.CRITICAL,
            f"MAIL FROM domain {mail_from} has MX {', '.join(hosts)}{hint}, not {expected_mx}: fix the MX so SES "
            "can use it.",
            {"domain": mail_from, "mx": hosts, "expected": expected_mx, "region": region},
        ))
    elif len(set(hosts)) > 1:
        findings.append(Finding(
            "mail_from_mx_extra", Severity.WARNING,
            f"MAIL FROM domain {mail_from} has other MX hosts besides {expected_mx} "
            f"({', '.join(h for h in hosts if h != expected_mx)}): it must not receive mail; remove them.",
            {"domain": mail_from, "mx": hosts, "expected": expected_mx},
        ))
    spf = analyze_spf(mail_from, resolver, missing_severity=Severity.CRITICAL)
    findings.extend(spf.findings)
    data["spf"] = spf.to_data()
    if spf.record is None or spf.permerror:
        ok = False
    elif not spf.includes_ses:
        ok = False
        findings.append(Finding(
            "mail_from_spf_no_ses", Severity.CRITICAL,
            f"SPF of MAIL FROM domain {mail_from} does not include amazonses.com, so SES mail fails SPF: add "
            "include:amazonses.com.",
            {"domain": mail_from, "record": spf.record},
        ))
    return findings, data, ok


# --- the step ---------------------------------------------------------------------------------------------


def check_authentication(
    domain: str,
    resolver: Resolver,
    *,
    dkim_tokens: list[str] | None,
    mail_from_domain: str | None,
    region: str = "us-east-1",
) -> StepResult:
    """Check the From domain's SPF, Easy DKIM CNAMEs, DMARC, and the custom MAIL FROM domain if one is set."""
    domain = _norm(domain)
    if not domain:
        raise ValueError("check_authentication needs a From domain")
    mail_from = _norm(mail_from_domain) if mail_from_domain else None
    findings: list[Finding] = []
    data: dict[str, Any] = {"domain": domain, "region": region}
    unchecked: dict[str, str] = {}
    timed_out: list[str] = []

    def part(name: str, run: Callable[[], Any]) -> Any:
        # After a timeout the resolver is most likely unreachable: do not wait for each part to time out too.
        if timed_out:
            unchecked[name] = timed_out[0]
            return None
        try:
            return run()
        except DnsUnavailable as exc:
            unchecked[name] = exc.reason
            if exc.kind in ("timeout", "config"):
                timed_out.append(exc.reason)
            return None

    spf = part("spf", lambda: analyze_spf(domain, resolver))
    if spf is not None:
        findings.extend(spf.findings)
        data["spf"] = spf.to_data()

    dkim_ok: bool | None = None
    if dkim_tokens:
        dkim = part("dkim", lambda: _check_dkim(domain, dkim_tokens, resolver, region))
        if dkim is not None:
            findings.extend(dkim[0])
            data["dkim"] = dkim[1]
            dkim_ok = dkim[1]["ok"]
    else:
        data["dkim"] = {"tokens": [], "checked": False, "why": "no Easy DKIM tokens given"}

    dmarc = part("dmarc", lambda: _check_dmarc(domain, resolver))
    dmarc_data: dict[str, Any] | None = None
    if dmarc is not None:
        findings.extend(dmarc[0])
        dmarc_data = data["dmarc"] = dmarc[1]

    spf_aligned: bool | None = False
    if mail_from:
        mf = part("mail_from", lambda: _check_mail_from(domain, mail_from, resolver, region))
        if mf is None:
            spf_aligned = None
        else:
            findings.extend(mf[0])
            data["mail_from"] = mf[1]
            aspf = (dmarc_data or {}).get("aspf", "r")
            aligned = mail_from == domain if aspf == "s" else (
                organizational_domain(mail_from) == organizational_domain(domain)
            )
            mf[1]["aligned"] = aligned
            if not aligned:
                findings.append(Finding(
                    "mail_from_not_aligned", Severity.WARNING,
                    f"MAIL FROM {mail_from} does not align with From {domain}"
                    + (" under strict aspf=s" if aspf == "s" else "")
                    + ": SPF cannot count for DMARC; use a subdomain of the From domain"
                    + (" or aspf=r." if aspf == "s" else "."),
                    {"domain": domain, "mail_from": mail_from, "aspf": aspf},
                ))
            spf_aligned = aligned and mf[2]
    else:
        data["mail_from"] = None

    findings.extend(_alignment_findings(domain, dmarc_data, dkim_ok, spf_aligned, mail_from))
    data["alignment"] = {"dkim_ok": dkim_ok, "spf_aligned": spf_aligned}
    findings.sort(key=severity_rank)
    data["unchecked"] = unchecked
    return _result(domain, findings, data, unchecked, dkim_tokens, dmarc_data, mail_from)


def _alignment_findings(
    domain: str,
    dmarc: dict[str, Any] | None,
    dkim_ok: bool | None,
    spf_aligned: bool | None,
    mail_from: str | None,
) -> list[Finding]:
    if dmarc is None or dmarc.get("policy") is None or spf_aligned is None:
        return []
    policy = dmarc["policy"]
    if dkim_ok is False and not spf_aligned:
        return [Finding(
            "dmarc_alignment_fail", Severity.CRITICAL if policy in ("quarantine", "reject") else Severity.WARNING,
            f"SES mail from {domain} fails DMARC (p={policy}): DKIM records are broken and SPF does not align"
            + ("" if mail_from else " (no custom MAIL FROM)") + "; fix the DKIM CNAMEs first.",
            {"domain": domain, "policy": policy, "dkim_ok": dkim_ok, "spf_aligned": spf_aligned},
        )]
    if not spf_aligned and not mail_from:
        return [Finding(
            "spf_not_aligned", Severity.INFO,
            f"SES uses its own MAIL FROM (amazonses.com) for {domain}, so DMARC rests on DKIM alone; a custom "
            "MAIL FROM subdomain adds SPF alignment.",
            {"domain": domain},
        )]
    return []


def _result(
    domain: str,
    findings: list[Finding],
    data: dict[str, Any],
    unchecked: dict[str, str],
    dkim_tokens: list[str] | None,
    dmarc: dict[str, Any] | None,
    mail_from: str | None,
) -> StepResult:
    problems = [f for f in findings if f.severity != Severity.INFO]
    if unchecked:
        parts = ", ".join(unchecked)
        reason = next(iter(unchecked.values()))
        summary = f"Could not check {parts.replace('_', ' ')} of {domain}: {reason}"
        if problems:
            summary += f" ({len(problems)} problem(s) found in the rest)"
        return StepResult(STEP, Status.ERROR, summary, tuple(findings), data)
    if problems:
        first = problems[0].summary
        summary = first if len(problems) == 1 else f"{len(problems)} authentication problems for {domain}; {first}"
        return StepResult(STEP, Status.FINDING, summary, tuple(findings), data)
    checked = ["SPF"]
    if dkim_tokens:
        checked.append(f"DKIM ({len(dkim_tokens)} CNAMEs)")
    checked.append(f"DMARC (p={dmarc['policy']})" if dmarc and dmarc.get("policy") else "DMARC")
    if mail_from:
        checked.append(f"MAIL FROM {mail_from}")
    summary = f"{domain}: {', '.join(checked)} in order"
    summary += "." if dkim_tokens else "; DKIM not checked (no Easy DKIM tokens)."
    return StepResult(STEP, Status.OK, summary, tuple(findings), data)
