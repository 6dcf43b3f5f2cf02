"""The raw-event archive: every envelope sesbot accepted, as gzipped NDJSON, to rebuild Redis from.

Files are `<dir>/YYYY/MM/DD/HH-<host>-<pid>.jsonl.gz`, appended one gzip member per batch (readers such as
`sesbot ingest <dir>` and `zcat` read all members). `sesbot ingest <dir>` replays it; the merge is idempotent, so
replaying more than needed is harmless.
"""

from __future__ import annotations

import gzip
import logging
import os
import socket
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class Archive:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._tag = f"{socket.gethostname()}-{os.getpid()}"

    def path_for(self, moment: datetime) -> Path:
        return self.folder / f"{moment:%Y/%m/%d}" / f"{moment:%H}-{self._tag}.jsonl.gz"

    def append(self, records: Iterable[bytes], now: datetime | None = None) -> None:
        lines = [r.replace(b"\r", b"").replace(b"\n", b" ").strip() for r in records]
        lines = [line for line in lines if line]
        if not lines:
            return
        path = self.path_for(now or datetime.now(UTC))
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(path, "ab", compresslevel=6) as out:
                out.write(b"\n".join(lines) + b"\n")
