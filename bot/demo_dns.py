"""Local DNS for `sesbot demo`: the simulated zones served on a loopback port, by NSD when it is installed,
otherwise by a small in-process authoritative server written on dnspython.

The in-process server answers like an authoritative server (AA set) for the zones it holds: A, AAAA, MX, TXT,
CNAME (chased inside its own zones), SOA, NS; NXDOMAIN for a name that does not exist, NODATA (NOERROR, empty
answer) for a name that exists, or has names below it, but not the type asked; the zone's SOA in the authority
section of both negative answers; REFUSED for names outside its zones. UDP answers too large for the client's
buffer are truncated (TC) so the client retries over TCP, which is served on the same port.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

log = logging.getLogger(__name__)

MAX_CNAME_CHAIN = 8
READY_TIMEOUT_S = 10.0


class LocalDns(Protocol):
    kind: str  # "nsd" or "dnspython"

    @property
    def nameserver(self) -> str: ...  # SESBOT_DNS_NAMESERVERS format, e.g. "127.0.0.1:5353"

    def stop(self) -> None: ...


def free_udp_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free for both TCP and UDP on `host` right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for both UDP and TCP on {host}")


# ----------------------------------------------------------------------------------------------- the answers


class ZoneAnswerer:
    """Authoritative answers from zone-file texts ({zone name: zone file})."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones: dict[dns.name.Name, dns.zone.Zone] = {}
        for name, text in zones.items():
            origin = dns.name.from_text(name.rstrip(".") + ".")
            self.zones[origin] = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=True)

    def _zone_of(self, qname: dns.name.Name) -> dns.zone.Zone | None:
        best: dns.zone.Zone | None = None
        for origin, zone in self.zones.items():
            if qname.is_subdomain(origin) and (best is None or len(origin) > len(best.origin)):
                best = zone
        return best

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA
        if query.opcode() != 0 or len(query.question) != 1:
            response.set_rcode(dns.rcode.NOTIMP if query.opcode() != 0 else dns.rcode.FORMERR)
            return response
        question = query.question[0]
        if question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        qname, qtype = question.name, question.rdtype
        zone = self._zone_of(qname)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        for _ in range(MAX_CNAME_CHAIN):
            node = zone.get_node(qname)
            if node is None:
                if not self._has_names_below(zone, qname):
                    response.set_rcode(dns.rcode.NXDOMAIN)  # of the last name in a CNAME chain (RFC 6604)
                    self._add_soa(response, zone)
                    return response
                self._add_soa(response, zone)  # empty non-terminal: the name exists, with no data
                return response
            if qtype == dns.rdatatype.ANY:
                for rdataset in node.rdatasets:
                    response.answer.append(dns.rrset.from_rdata_list(qname, rdataset.ttl, list(rdataset)))
                return response
            rdataset = node.get_rdataset(dns.rdataclass.IN, qtype)
            if rdataset is not None:
                response.answer.append(dns.rrset.from_rdata_list(qname, rdataset.ttl, list(rdataset)))
                return response
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                self._add_soa(response, zone)  # NODATA
                return response
            response.answer.append(dns.rrset.from_rdata_list(qname, cname.ttl, list(cname)))
            target = cname[0].target
            next_zone = self._zone_of(target)
            if next_zone is None:
                return response  # the client follows it elsewhere
            qname, zone = target, next_zone
        return response

    @staticmethod
    def _has_names_below(zone: dns.zone.Zone, qname: dns.name.Name) -> bool:
        return any(name != qname and name.is_subdomain(qname) for name in zone.nodes)

    @staticmethod
    def _add_soa(response: dns.message.Message, zone: dns.zone.Zone) -> None:
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        if soa is not None:
            # Negative answers are cached for min(SOA TTL, SOA minimum) (RFC 2308).
            response.authority.append(dns.rrset.from_rdata_list(zone.origin, min(soa.ttl, soa[0].minimum),
                                                                list(soa)))


# ------------------------------------------------------------------------------------------ in-process server


class _TcpHandler(socketserver.BaseRequestHandler):
    server: _TcpServer

    def handle(self) -> None:
        sock = self.request
        sock.settimeout(5)
        with contextlib.suppress(OSError, dns.exception.DNSException, struct.error):
            while True:
                header = _recv_exactly(sock, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                data = _recv_exactly(sock, length)
                if data is None:
                    return
                wire = self.server.owner.handle(data, tcp=True)
                if wire is not None:
                    sock.sendall(struct.pack("!H", len(wire)) + wire)


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: DnspythonServer


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class DnspythonServer:
    """The in-process authoritative server on UDP and TCP of one loopback port."""

    kind = "dnspython"

    def __init__(self, zones: dict[str, str]) -> None:
        self.answerer = ZoneAnswerer(zones)
        self.host = "127.0.0.1"
        self.port = 0
        self.queries = 0
        self._udp: socket.socket | None = None
        self._tcp: _TcpServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def nameserver(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        for attempt in range(5):
            chosen = port or free_udp_tcp_port(host)
            try:
                tcp = _TcpServer((host, chosen), _TcpHandler)
            except OSError:
                if port or attempt == 4:
                    raise
                continue
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                udp.bind((host, chosen))
            except OSError:
                tcp.server_close()
                udp.close()
                if port or attempt == 4:
                    raise
                continue
            break
        tcp.owner = self
        udp.settimeout(0.2)
        self.host, self.port, self._udp, self._tcp = host, chosen, udp, tcp
        self._threads = [threading.Thread(target=self._serve_udp, name="demo-dns-udp", daemon=True),
                         threading.Thread(target=tcp.serve_forever, kwargs={"poll_interval": 0.2},
                                          name="demo-dns-tcp", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def handle(self, data: bytes, *, tcp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None  # not DNS: drop it, as servers do
        self.queries += 1
        response = self.answerer.answer(query)
        if tcp:
            return response.to_wire()
        limit = max(512, query.payload) if query.edns >= 0 else 512
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            truncated = dns.message.make_response(query)
            truncated.flags |= dns.flags.TC | (response.flags & dns.flags.AA)
            truncated.set_rcode(response.rcode())
            return truncated.to_wire()

    def _serve_udp(self) -> None:
        assert self._udp is not None
        udp = self._udp
        while not self._stopping.is_set():
            try:
                data, peer = udp.recvfrom(65_535)
            except TimeoutError:
                continue
            except OSError:
                return
            wire = self.handle(data, tcp=False)
            if wire is not None:
                with contextlib.suppress(OSError):
                    udp.sendto(wire, peer)

    def stop(self) -> None:
        self._stopping.set()
        if self._tcp is not None:
            self._tcp.shutdown()
            self._tcp.server_close()
            self._tcp = None
        for thread in self._threads:
            thread.join(timeout=2)
        if self._udp is not None:
            self._udp.close()
            self._udp = None

    def __enter__(self) -> Self:
        return self if self.port else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------------- NSD


def nsd_binary() -> str | None:
    found = shutil.which("nsd")
    if found:
        return found
    for candidate in ("/usr/sbin/nsd", "/usr/local/sbin/nsd"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def write_nsd_conf(workdir: Path, port: int, zonedir: Path, zone_files: dict[str, Path], *, verbosity: int) -> Path:
    """`workdir/nsd.conf` for an unprivileged NSD on 127.0.0.1:`port` (IPv4 only, no chroot, no database, no
    remote control) serving `zone_files` ({zone: its zone file}); pid, xfrd state, zone list and log in `workdir`.
    Also what tests/dns_server.py runs NSD with."""
    conf = workdir / "nsd.conf"
    conf.write_text(
        "server:\n    ip-address: 127.0.0.1\n"
        f"    port: {port}\n    do-ip4: yes\n    do-ip6: no\n"
        '    username: ""\n    chroot: ""\n    database: ""\n'
        f'    zonesdir: "{zonedir}"\n    pidfile: "{workdir / "nsd.pid"}"\n    xfrdfile: "{workdir / "xfrd.state"}"\n'
        f'    zonelistfile: "{workdir / "zone.list"}"\n    logfile: "{workdir / "nsd.log"}"\n'
        f"    server-count: 1\n    verbosity: {verbosity}\n    hide-version: yes\n"
        "remote-control:\n    control-enable: no\n"
        + "".join(f'zone:\n    name: "{zone}"\n    zonefile: "{path}"\n' for zone, path in zone_files.items())
    )
    return conf


def wait_for_nsd(process: subprocess.Popen[bytes], port: int, zones: Iterable[str]) -> bool:
    """True once NSD on 127.0.0.1:`port` serves the SOA of every zone in `zones` (with none, once it answers at
    all); False when `process` exits first or READY_TIMEOUT_S pass. Also how tests/dns_server.py waits."""
    pending = sorted(zones) or ["."]
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        while pending and _nsd_serves(port, pending[0]):
            pending.pop(0)
        if not pending:
            return True
        time.sleep(0.02)
    return False


def _nsd_serves(port: int, zone: str) -> bool:
    query = dns.message.make_query(zone if zone != "." else "ready.invalid.", dns.rdatatype.SOA)
    try:
        response = dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2)
    except (OSError, dns.exception.DNSException):
        return False
    if zone == ".":
        return True  # any answer (REFUSED) means NSD is up
    return response.rcode() == dns.rcode.NOERROR and any(
        rrset.rdtype == dns.rdatatype.SOA for rrset in response.answer
    )


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group `process` leads (started with `start_new_session=True`), SIGKILL after 5 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class NsdServer:
    """NSD in the foreground on a free loopback port, its config, zones and log in a temporary folder."""

    kind = "nsd"

    def __init__(self, zones: dict[str, str], binary: str) -> None:
        self.zones = {z.rstrip(".").lower(): text for z, text in zones.items()}
        self.binary = binary
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="sesbot-demo-nsd-")
        self.workdir = Path(self._tmp.name)

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        for _ in range(5):
            self.port = free_udp_tcp_port()
            conf = self._write()
            with (self.workdir / "nsd.stderr").open("wb") as stderr:
                self.process = subprocess.Popen([self.binary, "-d", "-c", str(conf)], stdin=subprocess.DEVNULL,
                                                stdout=stderr, stderr=stderr, start_new_session=True)
            if self._wait_ready():
                return self
            self._kill()
        log_text = "".join(p.read_text(errors="replace") for p in (self.workdir / "nsd.log",
                                                                     self.workdir / "nsd.stderr") if p.exists())
        self._tmp.cleanup()
        raise RuntimeError(f"nsd did not start: {log_text.strip()[-300:]}")

    def _write(self) -> Path:
        zonedir = self.workdir / "zones"
        zonedir.mkdir(exist_ok=True)
        zone_files = {}
        for zone, text in sorted(self.zones.items()):
            path = zonedir / f"{zone}.zone"
            path.write_text(text)
            zone_files[zone] = path
        return write_nsd_conf(self.workdir, self.port, zonedir, zone_files, verbosity=0)

    def _wait_ready(self) -> bool:
        assert self.process is not None
        return wait_for_nsd(self.process, self.port, self.zones)

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process)

    def stop(self) -> None:
        self._kill()
        self._tmp.cleanup()


def start_local_dns(zones: dict[str, str], *, prefer_nsd: bool = True) -> LocalDns:
    """NSD when installed (and `prefer_nsd`), else the in-process server; either serves `zones` on loopback."""
    binary = nsd_binary() if prefer_nsd else None
    if binary is not None:
        try:
            return NsdServer(zones, binary).start()
        except (OSError, RuntimeError) as exc:
            log.warning("NSD could not start (%s); using the in-process DNS server", exc)
    return DnspythonServer(zones).start()
