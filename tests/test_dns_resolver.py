"""bot.dns_resolver against a real NSD: plain data out, empty for NXDOMAIN/NoAnswer, DnsUnavailable otherwise."""

from __future__ import annotations

import json
import time

import pytest

from bot.dns_resolver import DnsResolver, DnsUnavailable, parse_nameservers
from tests.dns_server import NsdServer, closed_port

ZONES = {
    "resolver.test": """
        @        IN TXT   "v=spf1 include:amazon" "ses.com ~all"
        @        IN TXT   "google-site-verification=abc"
        @        IN MX    20 backup.resolver.test.
        @        IN MX    10 Primary.Resolver.Test.
        @        IN A     192.0.2.10
        @        IN A     192.0.2.11
        alias    IN CNAME target.example.net.
        nullmx   IN MX    0 .
        long     7200 IN TXT "long-lived"
        short    5 IN TXT "short-lived"
    """,
}


@pytest.fixture(scope="module")
def nsd(dns_server: NsdServer) -> NsdServer:
    dns_server.add_zones(ZONES)
    return dns_server


class DictCache:
    """A DnsCache backed by a dict, recording what was stored with which TTL."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.ttls: dict[str, int] = {}
        self.gets = 0

    def get(self, key: str) -> str | None:
        self.gets += 1
        return self.data.get(key)

    def set(self, key: str, value: str, ttl_s: int) -> None:
        self.data[key] = value
        self.ttls[key] = ttl_s


def dead_resolver(**kwargs: object) -> DnsResolver:
    return DnsResolver([("127.0.0.1", closed_port())], timeout=0.3, **kwargs)  # type: ignore[arg-type]


# --- parse_nameservers --------------------------------------------------------------------------------


def test_parse_nameservers_accepts_ports_defaults_and_ipv6() -> None:
    assert parse_nameservers("127.0.0.1:5353, 10.0.0.2 ,[::1]:5300,::1") == [
        ("127.0.0.1", 5353), ("10.0.0.2", 53), ("::1", 5300), ("::1", 53),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" , ", "empty"),
        ("dns.google:53", "not an IP address"),
        ("127.0.0.1:abc", "port 'abc'"),
        ("127.0.0.1:70000", "port '70000'"),
        ("[::1", "missing ']'"),
    ],
)
def test_parse_nameservers_rejects_with_clear_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_nameservers(text)


def test_from_setting_uses_the_env_format(nsd: NsdServer) -> None:
    resolver = DnsResolver.from_setting(nsd.nameserver, timeout=1.0)
    assert resolver.nameservers == [("127.0.0.1", nsd.port)]
    assert sorted(resolver.a("resolver.test")) == ["192.0.2.10", "192.0.2.11"]


# --- lookups ------------------------------------------------------------------------------------------


def test_txt_joins_character_strings(nsd: NsdServer) -> None:
    assert sorted(nsd.resolver().txt("resolver.test")) == [
        "google-site-verification=abc", "v=spf1 include:amazonses.com ~all",
    ]


def test_mx_sorted_lowercase_without_final_dot(nsd: NsdServer) -> None:
    assert nsd.resolver().mx("resolver.test.") == [(10, "primary.resolver.test"), (20, "backup.resolver.test")]


def test_null_mx_is_an_empty_host(nsd: NsdServer) -> None:
    assert nsd.resolver().mx("nullmx.resolver.test") == [(0, "")]


def test_cname_and_a(nsd: NsdServer) -> None:
    resolver = nsd.resolver()
    assert resolver.cname("alias.resolver.test") == "target.example.net"
    assert resolver.cname("resolver.test") is None  # NoAnswer
    assert sorted(resolver.a("resolver.test")) == ["192.0.2.10", "192.0.2.11"]


def test_nxdomain_and_noanswer_are_empty(nsd: NsdServer) -> None:
    resolver = nsd.resolver()
    assert resolver.txt("missing.resolver.test") == []  # NXDOMAIN
    assert resolver.a("nullmx.resolver.test") == []  # NoAnswer (the name has only MX)
    assert resolver.cname("missing.resolver.test") is None


def test_refused_zone_raises_unavailable(nsd: NsdServer) -> None:
    with pytest.raises(DnsUnavailable, match=r"no nameserver answered TXT outside\.invalid") as info:
        nsd.resolver().txt("outside.invalid")
    assert info.value.kind == "no_answer"


def test_unreachable_nameserver_raises_fast() -> None:
    started = time.monotonic()
    with pytest.raises(DnsUnavailable) as info:
        dead_resolver().txt("resolver.test")
    assert time.monotonic() - started < 1.5
    assert "timed out" in info.value.reason
    assert "127.0.0.1:" in info.value.reason
    assert info.value.kind == "timeout"


def test_invalid_name_is_a_value_error(nsd: NsdServer) -> None:
    with pytest.raises(ValueError, match="invalid DNS name"):
        nsd.resolver().txt("a" * 64 + ".resolver.test")


# --- cache --------------------------------------------------------------------------------------------


def test_cache_serves_second_lookup_without_dns(nsd: NsdServer) -> None:
    cache = DictCache()
    assert nsd.resolver(cache=cache).mx("resolver.test")[0] == (10, "primary.resolver.test")
    key = "dns:MX:resolver.test."
    assert sorted(json.loads(cache.data[key])) == [[10, "primary.resolver.test"], [20, "backup.resolver.test"]]
    assert cache.ttls[key] == 300

    # Same cache, nameserver gone: answered from the cache, no timeout.
    started = time.monotonic()
    assert dead_resolver(cache=cache).mx("resolver.test") == [
        (10, "primary.resolver.test"), (20, "backup.resolver.test"),
    ]
    assert time.monotonic() - started < 0.2


def test_cache_ttl_is_capped_and_negative_answers_kept_five_minutes(nsd: NsdServer) -> None:
    cache = DictCache()
    resolver = nsd.resolver(cache=cache)
    assert resolver.txt("long.resolver.test") == ["long-lived"]
    assert resolver.txt("short.resolver.test") == ["short-lived"]
    assert resolver.txt("missing.resolver.test") == []
    assert resolver.cname("resolver.test") is None
    assert cache.ttls["dns:TXT:long.resolver.test."] == 3600
    assert cache.ttls["dns:TXT:short.resolver.test."] == 5
    assert cache.ttls["dns:TXT:missing.resolver.test."] == 300
    assert cache.data["dns:CNAME:resolver.test."] == "[]"
    assert dead_resolver(cache=cache).txt("missing.resolver.test") == []


def test_failures_are_not_cached() -> None:
    cache = DictCache()
    with pytest.raises(DnsUnavailable):
        dead_resolver(cache=cache).a("resolver.test")
    assert cache.data == {}
