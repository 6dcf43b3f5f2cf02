"""`sesbot demo` end to end as a subprocess (real redis-server and NSD; then without redis-server on PATH, i.e.
fakeredis, and the in-process DNS server), and that in-process DNS server answering as NSD does."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import orjson
import pytest

from bot.demo_dns import DnspythonServer
from bot.simulate import DKIM_TOKENS, SCENARIOS, dns_zones, support_zones
from tests.dns_server import NsdServer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHARTS = ("outcomes.png", "send_only_age.png", "domains.png", "timeline.png")


def run_sesbot(args: list[str], cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "REDIS_URL", "SESBOT_"))}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240, check=False)


def assert_demo_output(out: Path, scenario: str, stdout: str) -> dict:
    for name in CHARTS:
        data = (out / name).read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert struct.unpack(">II", data[16:24]) == (800, 500), name
    report = orjson.loads((out / "why.json").read_bytes())
    spec = SCENARIOS[scenario]
    assert report["causes"][0]["cause"] == spec.expected_cause, report["causes"]
    for secondary in spec.secondary_causes:
        assert secondary in [c["cause"] for c in report["causes"]]
    assert set(report["steps"]) == {"suppression", "routing", "domains", "temporary_failures", "account",
                                    "authentication", "reputation"}
    # Local AWS and DNS answered: no step had to be skipped.
    assert {s["status"] for s in report["steps"].values()} <= {"ok", "finding"}, report["steps"]
    message = orjson.loads((out / "slack-message.json").read_bytes())
    assert message["blocks"][0]["type"] == "header"
    assert report["campaign"] in message["blocks"][0]["text"]["text"]
    assert len(message["blocks"]) <= 50
    assert report["campaign"] in stdout and spec.expected_cause in stdout
    assert (out / "scenario" / "events.jsonl.gz").is_file()
    return report


def test_demo_with_redis_server_and_nsd(tmp_path: Path) -> None:
    result = run_sesbot(["demo", "--out", "out"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Redis: redis-server" in result.stderr
    assert "DNS: NSD on 127.0.0.1:" in result.stderr
    assert "AWS: local emulator" in result.stderr
    report = assert_demo_output(tmp_path / "out", "mixed", result.stdout)
    assert report["steps"]["authentication"]["status"] == "ok"  # SPF, DKIM (emulator's tokens), DMARC in DNS
    assert "Traceback" not in result.stderr


def test_demo_without_redis_server_uses_fakeredis(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = run_sesbot(["demo", "--out", str(tmp_path / "out"), "--scenario", "missing_events", "--dns",
                         "builtin", "--recipients", "800"], tmp_path, path=str(empty))
    assert result.returncode == 0, result.stderr
    assert "Redis: fakeredis, in-process (redis-server is not on PATH" in result.stderr
    assert "DNS: in-process dnspython server" in result.stderr
    report = assert_demo_output(tmp_path / "out", "missing_events", result.stdout)
    assert report["steps"]["routing"]["status"] == "finding"


def test_demo_unknown_scenario_is_one_line(tmp_path: Path) -> None:
    result = run_sesbot(["demo", "--scenario", "nope"], tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert all(name in lines[0] for name in SCENARIOS)
    assert not (tmp_path / "demo-output").exists()


# ---- the in-process DNS server against NSD ------------------------------------------------------------------------

ZONES = {**dns_zones(), **support_zones(),
         "big.test": "$ORIGIN big.test.\n$TTL 300\n@ IN SOA ns1.big.test. h.big.test. 1 3600 600 86400 300\n"
                     "@ IN NS ns1.big.test.\nns1 IN A 127.0.0.1\n"
                     + "".join(f'@ IN TXT "{"x" * 200}-{i}"\n' for i in range(8))
                     + "deep.empty.nonterminal IN A 192.0.2.7\n"}
DKIM = f"{DKIM_TOKENS[0]}._domainkey.acme-shop.test"
QUERIES = [
    ("acme-shop.test", "TXT"), ("acme-shop.test", "A"), ("acme-shop.test", "MX"), ("acme-shop.test", "AAAA"),
    ("_dmarc.acme-shop.test", "TXT"), ("bounce.acme-shop.test", "MX"), ("bounce.acme-shop.test", "TXT"),
    ("nope.acme-shop.test", "A"), ("nope.acme-shop.test", "TXT"), (DKIM, "CNAME"), (DKIM, "TXT"), (DKIM, "A"),
    ("mail-google.test", "MX"), ("mail-google.test", "A"), ("mx1.corp-selfhosted.test", "A"),
    ("amazonses.com", "TXT"), ("dkim.amazonses.com", "TXT"), ("2.0.0.127.zen.spamhaus.org", "A"),
    ("acme-shop.test.dbl.spamhaus.org", "A"), ("empty.nonterminal.big.test", "A"), ("example.org", "A"),
]


@pytest.fixture(scope="module")
def nsd(dns_server: NsdServer) -> NsdServer:
    dns_server.add_zones(ZONES)
    return dns_server


@pytest.fixture(scope="module")
def builtin() -> Iterator[DnspythonServer]:
    server = DnspythonServer(ZONES).start()
    yield server
    server.stop()


def shape(response: dns.message.Message) -> tuple:
    answer = sorted((str(r.name), r.rdtype, sorted(str(x) for x in r)) for r in response.answer)
    soa = [str(r.name) for r in response.authority if r.rdtype == dns.rdatatype.SOA]
    return dns.rcode.to_text(response.rcode()), bool(response.flags & dns.flags.AA), answer, soa


@pytest.mark.parametrize(("name", "rdtype"), QUERIES)
def test_builtin_dns_answers_like_nsd(nsd: NsdServer, builtin: DnspythonServer, name: str, rdtype: str) -> None:
    query = dns.message.make_query(name, rdtype, use_edns=True, payload=4096)
    theirs = dns.query.udp(query, "127.0.0.1", port=nsd.port, timeout=2)
    ours = dns.query.udp(query, "127.0.0.1", port=builtin.port, timeout=2)
    assert shape(ours) == shape(theirs)


def test_builtin_dns_negative_answers(builtin: DnspythonServer) -> None:
    def ask(name: str, rdtype: str) -> dns.message.Message:
        return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=builtin.port, timeout=2)

    nxdomain = ask("nope.acme-shop.test", "A")
    assert nxdomain.rcode() == dns.rcode.NXDOMAIN and not nxdomain.answer
    assert nxdomain.authority[0].rdtype == dns.rdatatype.SOA
    nodata = ask("acme-shop.test", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    assert nodata.authority[0].rdtype == dns.rdatatype.SOA
    assert ask("empty.nonterminal.big.test", "A").rcode() == dns.rcode.NOERROR  # exists: names below it
    assert ask("example.org", "A").rcode() == dns.rcode.REFUSED  # not ours


def test_builtin_dns_truncates_udp_and_serves_tcp(builtin: DnspythonServer) -> None:
    query = dns.message.make_query("big.test", "TXT")  # no EDNS: 512-byte UDP limit
    udp = dns.query.udp(query, "127.0.0.1", port=builtin.port, timeout=2)
    assert udp.flags & dns.flags.TC and not udp.answer
    tcp = dns.query.tcp(query, "127.0.0.1", port=builtin.port, timeout=2)
    assert not tcp.flags & dns.flags.TC
    assert len(tcp.answer[0]) == 8


def test_builtin_dns_through_the_project_resolver(builtin: DnspythonServer) -> None:
    from bot.dns_resolver import DnsResolver, parse_nameservers

    resolver = DnsResolver(parse_nameservers(builtin.nameserver), timeout=2.0)
    assert resolver.cname(DKIM) == f"{DKIM_TOKENS[0]}.dkim.amazonses.com"
    assert [h for _, h in sorted(resolver.mx("mail-outlook.test"))] == ["outlook-com.olc.protection.outlook.com"]
    assert resolver.a("2.0.0.127.zen.spamhaus.org") == []
    assert any(t.startswith("v=spf1 ip4:") for t in resolver.txt("amazonses.com"))
