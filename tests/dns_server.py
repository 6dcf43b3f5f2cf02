"""A real NSD serving test zones on a free loopback port (UDP and TCP), for the DNS-backed checks.

Zones are zone-file text written from Python. A zone without an SOA gets a default SOA/NS header, so a test
can write only its records:

    dns_server.add_zones({"good.test": '@ TXT "v=spf1 include:amazonses.com ~all"'})
    resolver = dns_server.resolver()

`add_zones` restarts NSD with the union of all zones added so far (about 0.3 s); add all a module needs at once.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.demo_dns import free_udp_tcp_port, nsd_binary, stop_process_group, wait_for_nsd, write_nsd_conf
from bot.dns_resolver import DnsResolver

DEFAULT_TTL = 300


def closed_port() -> int:
    """A loopback UDP port nobody listens on (for 'nameserver unreachable' tests)."""
    return free_udp_tcp_port()


def zone_text(zone: str, records: str) -> str:
    """Complete `records` into a loadable zone file: $ORIGIN, $TTL and a default SOA/NS when missing."""
    header = []
    if not re.search(r"^\$ORIGIN\b", records, re.MULTILINE):
        header.append(f"$ORIGIN {zone}.")
    if not re.search(r"^\$TTL\b", records, re.MULTILINE):
        header.append(f"$TTL {DEFAULT_TTL}")
    if not re.search(r"\bSOA\b", records):
        header.append(f"@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 {DEFAULT_TTL}")
        header.append(f"@ IN NS ns.{zone}.")
    body = "\n".join(line.strip() for line in records.strip().splitlines())
    return "\n".join([*header, body, ""])


class NsdServer:
    """One NSD process in the foreground (`nsd -d`), its config, zones, pid and log under `workdir`."""

    def __init__(self, workdir: Path, binary: str) -> None:
        self.workdir = workdir
        self.binary = binary
        self.zones: dict[str, str] = {}
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    # --- public ---------------------------------------------------------------------------------------

    @classmethod
    def start(cls, zones: dict[str, str], tmp_path: Path) -> NsdServer:
        """Start NSD serving `zones` ({zone name: zone-file text}); skip the test if nsd is not installed."""
        binary = nsd_binary()
        if binary is None:
            why = "nsd is not installed (apt-get install -y nsd): the DNS tests need a real NSD"
            if os.environ.get("SESBOT_REQUIRE_NSD"):
                pytest.fail(why)
            pytest.skip(why)
        server = cls(Path(tmp_path), binary)
        server.zones = {cls._zone_name(z): text for z, text in zones.items()}
        server._launch()
        return server

    @property
    def nameserver(self) -> str:
        """In the `SESBOT_DNS_NAMESERVERS` format."""
        return f"127.0.0.1:{self.port}"

    def resolver(self, **kwargs: Any) -> DnsResolver:
        kwargs.setdefault("timeout", 1.0)
        return DnsResolver([("127.0.0.1", self.port)], **kwargs)

    def add_zones(self, zones: dict[str, str]) -> None:
        """Serve these zones too (a zone already served is replaced); restarts NSD if anything changed."""
        new = {self._zone_name(z): text for z, text in zones.items()}
        if all(self.zones.get(z) == text for z, text in new.items()):
            return
        self.zones.update(new)
        self.stop()
        self._launch(keep_port=True)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process)

    # --- internals ------------------------------------------------------------------------------------

    @staticmethod
    def _zone_name(zone: str) -> str:
        return zone.strip().rstrip(".").lower()

    def _write(self) -> Path:
        zonedir = self.workdir / "zones"
        zonedir.mkdir(parents=True, exist_ok=True)
        zone_files = {}
        for zone, records in sorted(self.zones.items()):
            path = zonedir / f"{zone}.zone"
            path.write_text(zone_text(zone, records))
            checked = subprocess.run(
                [self.binary + "-checkzone", zone, str(path)], capture_output=True, text=True, check=False
            ) if os.access(self.binary + "-checkzone", os.X_OK) else None
            if checked is not None and checked.returncode != 0:
                pytest.fail(f"test zone {zone} does not load:\n{checked.stdout}{checked.stderr}\n{path.read_text()}")
            zone_files[zone] = path
        return write_nsd_conf(self.workdir, self.port, zonedir, zone_files, verbosity=1)

    def _launch(self, *, keep_port: bool = False) -> None:
        last_log = ""
        for attempt in range(5):
            if not (keep_port and attempt == 0 and self.port):
                self.port = free_udp_tcp_port()
            conf = self._write()
            log = self.workdir / "nsd.log"
            log.unlink(missing_ok=True)
            with (self.workdir / "nsd.stderr").open("wb") as stderr:
                self.process = subprocess.Popen(
                    [self.binary, "-d", "-c", str(conf)],
                    stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True,
                )
            if self._wait_ready():
                return
            self.stop()
            last_log = "".join(
                path.read_text(errors="replace") for path in (log, self.workdir / "nsd.stderr") if path.exists()
            )
            if "bind" not in last_log.lower() and "address already in use" not in last_log.lower():
                break
        pytest.fail(f"nsd did not start on 127.0.0.1:{self.port}:\n{last_log}")

    def _wait_ready(self) -> bool:
        """True once NSD answers on UDP and serves the SOA of every zone (about 0.3 s)."""
        assert self.process is not None
        return wait_for_nsd(self.process, self.port, self.zones)


@pytest.fixture(scope="session")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NsdServer]:
    """One NSD for the session; test modules call `dns_server.add_zones(...)` from a module fixture."""
    server = NsdServer.start({}, tmp_path_factory.mktemp("nsd"))
    yield server
    server.stop()
