"""The one module that talks DNS (it wraps dnspython); everything else gets plain Python data from it.

Answers that say "nothing here" (NXDOMAIN, NoAnswer) are data and come back empty. Failing to get an
answer at all (timeout, no nameserver reachable, SERVFAIL/REFUSED from every server) raises
`DnsUnavailable` with a reason a person can read, so a step can say `skipped`/`error` with why.

`SESBOT_DNS_NAMESERVERS` format: comma-separated `address[:port]`, e.g. `127.0.0.1:5353, 10.0.0.2`;
IPv6 as `[::1]:5353` or bare `::1` (port 53).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 2.0
MAX_CACHE_TTL_S = 3600
NEGATIVE_CACHE_TTL_S = 300
DEFAULT_CACHE_PREFIX = "dns:"


class DnsUnavailable(Exception):
    """DNS could not answer (timeout, unreachable, SERVFAIL): failure to check, not a finding.

    `kind` is "timeout" (nothing answered in time: the resolver is probably unreachable), "no_answer" (servers
    answered SERVFAIL/REFUSED), "config" (no nameserver configured) or "error".
    """

    def __init__(self, reason: str, kind: str = "error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


class DnsCache(Protocol):
    """Where answers are kept between lookups (Redis in production, a dict in tests)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl_s: int) -> None: ...


class Resolver(Protocol):
    """What checks need from DNS; `DnsResolver` is the implementation, tests may pass fakes."""

    def txt(self, name: str) -> list[str]: ...

    def mx(self, name: str) -> list[tuple[int, str]]: ...

    def cname(self, name: str) -> str | None: ...

    def a(self, name: str) -> list[str]: ...


def parse_nameservers(text: str) -> list[tuple[str, int]]:
    """Parse `SESBOT_DNS_NAMESERVERS`: `"127.0.0.1:5353, 10.0.0.2, [::1]:53"` -> [(address, port), ...]."""
    servers: list[tuple[str, int]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        servers.append(_parse_one(item))
    if not servers:
        raise ValueError(f"SESBOT_DNS_NAMESERVERS is empty ({text!r}); expected e.g. 127.0.0.1:5353")
    return servers


def _parse_one(item: str) -> tuple[str, int]:
    host, port_text = item, ""
    if item.startswith("["):
        end = item.find("]")
        if end < 0:
            raise ValueError(f"nameserver {item!r}: missing ']' after an IPv6 address")
        host, rest = item[1:end], item[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"nameserver {item!r}: expected ':port' after ']'")
            port_text = rest[1:]
    elif item.count(":") == 1:
        host, port_text = item.split(":")
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ValueError(
            f"nameserver {item!r}: {host!r} is not an IP address (use address[:port], e.g. 127.0.0.1:5353)"
        ) from None
    port = 53
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"nameserver {item!r}: port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    return address, port


class DnsResolver:
    """Plain-data DNS lookups through the configured nameservers (or the system's), with an optional cache.

    `nameservers`: `[("127.0.0.1", 5353)]`, `["127.0.0.1:5353"]`, or None for /etc/resolv.conf.
    `timeout`: seconds per query attempt; `lifetime`: the total budget of one lookup (default: `timeout`).
    """

    def __init__(
        self,
        nameservers: Sequence[tuple[str, int] | str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        lifetime: float | None = None,
        cache: DnsCache | None = None,
        cache_prefix: str = DEFAULT_CACHE_PREFIX,
        max_ttl_s: int = MAX_CACHE_TTL_S,
        negative_ttl_s: int = NEGATIVE_CACHE_TTL_S,
    ) -> None:
        self._cache = cache
        self._cache_prefix = cache_prefix
        self._max_ttl_s = max_ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._config_error: str | None = None
        self.nameservers: list[tuple[str, int]] = []
        if nameservers is None:
            try:
                self._resolver = dns.resolver.Resolver(configure=True)
            except dns.resolver.NoResolverConfiguration as exc:
                # Checked lazily: the app still starts, and each DNS step says why it could not run.
                self._resolver = dns.resolver.Resolver(configure=False)
                self._config_error = f"no system DNS configuration ({exc}); set SESBOT_DNS_NAMESERVERS"
            self.nameservers = [(str(ns), 53) for ns in self._resolver.nameservers]
        else:
            for ns in nameservers:
                self.nameservers.append(_parse_one(ns) if isinstance(ns, str) else (str(ns[0]), int(ns[1])))
            if not self.nameservers:
                raise ValueError("DnsResolver needs at least one nameserver (or None for the system resolver)")
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [
                dns.nameserver.Do53Nameserver(address, port) for address, port in self.nameservers
            ]
        # One lookup takes at most `lifetime`; with several nameservers each attempt gets a share of it, so a
        # dead first server still leaves time for the next.
        total = lifetime if lifetime is not None else timeout
        self._resolver.lifetime = total
        self._resolver.timeout = min(timeout, total / max(1, len(self.nameservers)))
        self._resolver.cache = None

    @classmethod
    def from_setting(cls, text: str | None, **kwargs: Any) -> DnsResolver:
        """Build from the `SESBOT_DNS_NAMESERVERS` value (None or blank: the system resolver)."""
        if text is None or not text.strip():
            return cls(None, **kwargs)
        return cls(parse_nameservers(text), **kwargs)

    def __repr__(self) -> str:
        servers = ", ".join(f"{a}:{p}" for a, p in self.nameservers)
        return f"DnsResolver([{servers}], lifetime={self._resolver.lifetime})"

    # --- the lookups -----------------------------------------------------------------------------------

    def txt(self, name: str) -> list[str]:
        """TXT records, each one's character-strings joined (as SPF and DMARC read them)."""
        return self._lookup(name, "TXT", lambda rr: b"".join(rr.strings).decode("utf-8", errors="replace"))

    def mx(self, name: str) -> list[tuple[int, str]]:
        """(preference, host) sorted by preference; host is lower case without the final dot (`""` = null MX)."""
        return mx_records(self._lookup(name, "MX", lambda rr: [int(rr.preference), _host(rr.exchange)]))

    def cname(self, name: str) -> str | None:
        """The CNAME target of `name` itself (lower case, no final dot), or None when it has no CNAME."""
        targets = self._lookup(name, "CNAME", lambda rr: _host(rr.target))
        return targets[0] if targets else None

    def a(self, name: str) -> list[str]:
        """IPv4 addresses of `name`."""
        return self._lookup(name, "A", lambda rr: str(rr.address))

    # --- internals ----------------------------------------------------------------------------------------

    def _lookup(self, name: str, rdtype: str, convert: Any) -> list[Any]:
        qname = _qname(name)
        key = cache_key(name, rdtype, self._cache_prefix)
        if self._cache is not None:
            cached = self._cache.get(key)
            if cached is not None:
                return list(json.loads(cached))
        values, ttl = self._query(qname, rdtype, convert)
        if self._cache is not None:
            self._cache.set(key, json.dumps(values), max(1, ttl))
        return values

    def _query(self, qname: dns.name.Name, rdtype: str, convert: Any) -> tuple[list[Any], int]:
        if self._config_error is not None:
            raise DnsUnavailable(self._config_error, "config")
        what = f"{rdtype} {qname.to_text(omit_final_dot=True)}"
        try:
            answer = self._resolver.resolve(qname, rdtype, search=False, raise_on_no_answer=True)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return [], self._negative_ttl_s
        except dns.resolver.LifetimeTimeout as exc:
            raise DnsUnavailable(
                f"DNS timed out for {what} after {self._resolver.lifetime:g} s ({self._where()})", "timeout"
            ) from exc
        except dns.exception.Timeout as exc:
            raise DnsUnavailable(f"DNS timed out for {what} ({self._where()})", "timeout") from exc
        except dns.resolver.NoNameservers as exc:
            raise DnsUnavailable(f"no nameserver answered {what}: {_short(exc)}", "no_answer") from exc
        except (OSError, dns.exception.DNSException) as exc:
            raise DnsUnavailable(f"DNS lookup failed for {what}: {_short(exc)}") from exc
        assert answer.rrset is not None
        values = [convert(rr) for rr in answer.rrset]
        return values, min(int(answer.rrset.ttl), self._max_ttl_s)

    def _where(self) -> str:
        if not self.nameservers:
            return "no nameservers"
        return "nameservers " + ", ".join(f"{a}:{p}" for a, p in self.nameservers)


def cache_key(name: str, rdtype: str, prefix: str = DEFAULT_CACHE_PREFIX) -> str:
    """The key one answer is cached under (`DnsCache`): readers of the cache use it too. ValueError for a name
    that is not a valid DNS name."""
    return f"{prefix}{rdtype}:{_qname(name).to_text().lower()}"


def mx_records(rows: Sequence[Sequence[Any]]) -> list[tuple[int, str]]:
    """MX rows as cached (`[[preference, host], ...]`) -> (preference, host) sorted by preference."""
    return sorted((int(p), str(h)) for p, h in rows)


def _qname(name: str) -> dns.name.Name:
    text = name.strip().rstrip(".")
    if not text:
        raise ValueError("empty DNS name")
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException as exc:
        raise ValueError(f"invalid DNS name {name!r}: {exc}") from exc


def _host(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower() if name != dns.name.root else ""


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
