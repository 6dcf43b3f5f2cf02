"""Ingestion: any source of SES records (files, folders, S3 prefixes, HTTP bodies, queue messages) into the store.

Parsing of the next batch overlaps the Redis round trip of the previous one (a writer thread), so a backfill is
bounded by the slower of the two, not their sum.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import json
import logging
import queue
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from bot.events import Event, Parsed, parse_payload
from bot.store import PreparedBatch, RecordResult, Store

log = logging.getLogger(__name__)

BATCH_EVENTS = 20_000  # records per Store.record call: ~100+ events per campaign shard script call
MAX_REASONS = 10
WRITER_SWITCH_INTERVAL_S = 0.001  # GIL hand-over interval while a writer thread runs (Python's default: 5 ms)
SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz", ".txt")


@dataclass
class IngestSummary:
    read: int = 0  # input records read: file lines or documents, HTTP bodies, queue messages
    ingested: int = 0  # events that changed the store
    duplicates: int = 0  # events the store already had (or older than what it had for that type)
    waiting: int = 0  # events without tags waiting for their Send (identity notifications)
    ignored: int = 0  # recognised, not SES events: topic validation, confirmations, other sources
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str, where: str = "") -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(f"{where}: {reason}" if where else reason)

    def add_parsed(self, parsed: Parsed, where: str = "") -> None:
        self.ignored += parsed.ignored
        for reason in parsed.rejected:
            self.reject(reason, where)

    def add_result(self, result: RecordResult) -> None:
        self.ingested += result.changed
        self.duplicates += result.unchanged
        self.waiting += result.waiting

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "ingested": self.ingested,
            "duplicates": self.duplicates,
            "waiting": self.waiting,
            "ignored": self.ignored,
            "rejected": self.rejected,
            "reasons": self.reasons,
        }


class BatchWriter:
    """Writes event batches to the store from a thread while the caller parses the next one.

    The caller's thread also prepares each batch (`Store.prepare`: hashing, grouping per hash slot, packing), so
    the writer thread only sends it and waits for Redis, and Redis merges one batch while Python builds the next."""

    def __init__(self, store: Store, summary: IngestSummary) -> None:
        self.store = store
        self.summary = summary
        self._queue: queue.Queue[PreparedBatch | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sesbot-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self.summary.add_result(self.store.commit(batch))
            except BaseException as exc:  # handed to the caller's thread by close()
                self._error = exc

    def put(self, batch: list[Event]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(self.store.prepare(batch))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class Progress:
    """A one-line progress report on stderr for large inputs (only on a terminal, or when forced)."""

    def __init__(self, total_bytes: int, enabled: bool | None = None, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = total_bytes
        self.enabled = (self.stream.isatty() and total_bytes > 5_000_000) if enabled is None else enabled
        self.started = time.monotonic()
        self._last = 0.0

    def update(self, done_bytes: int, summary: IngestSummary, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not final and now - self._last < 0.5:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-6)
        share = f"{100 * done_bytes / self.total:5.1f}% " if self.total else ""
        line = (f"\r{share}{done_bytes / 1e6:,.0f} MB, {summary.read:,} records, "
                f"{summary.read / elapsed:,.0f}/s, {summary.rejected:,} rejected")
        self.stream.write(line + ("\n" if final else ""))
        self.stream.flush()


def iter_sources(paths: Iterable[str], s3_client_factory: Callable[[], Any] | None = None) -> Iterator[Source]:
    for raw in paths:
        if raw.startswith("s3://"):
            try:
                found = list(_s3_sources(raw, s3_client_factory))
            except Exception as exc:  # no such bucket, no credentials, endpoint down: name it, go on with the rest
                yield MissingSource(raw, f"cannot list ({_error_text(exc)})")
                continue
            yield from found
            continue
        path = Path(raw)
        if path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.name.endswith(SUFFIXES) or "." not in child.name:
                    yield FileSource(child)
        elif path.is_file() or raw == "-":
            yield FileSource(path)
        else:
            yield MissingSource(raw)


class Source:
    name: str
    size: int = 0

    def open(self) -> IO[bytes]:
        raise NotImplementedError


class FileSource(Source):
    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self.size = path.stat().st_size if str(path) != "-" else 0

    def open(self) -> IO[bytes]:
        return sys.stdin.buffer if str(self.path) == "-" else self.path.open("rb")


class MissingSource(Source):
    def __init__(self, name: str, reason: str = "no such file or folder") -> None:
        self.name = name
        self.reason = reason

    def open(self) -> IO[bytes]:
        raise FileNotFoundError(self.reason)  # reported with the source's name


def _error_text(exc: Exception) -> str:
    """'NoSuchBucket: The specified bucket does not exist' for botocore's ClientError, else type and message."""
    error = getattr(exc, "response", {}).get("Error", {}) if isinstance(getattr(exc, "response", None), dict) else {}
    if error.get("Code"):
        return f"{error['Code']}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


class S3Source(Source):
    def __init__(self, client: Any, bucket: str, key: str, size: int) -> None:
        self.client, self.bucket, self.key, self.size = client, bucket, key, size
        self.name = f"s3://{bucket}/{key}"

    def open(self) -> IO[bytes]:
        return self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"]


def _s3_sources(url: str, factory: Callable[[], Any] | None) -> Iterator[Source]:
    import boto3

    bucket, _, prefix = url[len("s3://") :].partition("/")
    client = factory() if factory else boto3.client("s3")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not item["Key"].endswith("/"):
                yield S3Source(client, bucket, item["Key"], int(item.get("Size", 0)))


def iter_records(stream: IO[bytes]) -> Iterator[bytes]:
    """Records of one input, streamed: NDJSON lines, a whole (pretty-printed) JSON document, or JSON objects
    written back to back (after the first line of an NDJSON input, a line holding several objects is yielded
    whole: `split_concatenated_line` splits it when it does not parse). Gzip (several members too) is detected
    by its magic number, not the name. A truncated or corrupt gzip raises TruncatedInput after the records before
    the damage."""
    reader = io.BufferedReader(_Raw(stream), buffer_size=1 << 20)
    source: IO[bytes] = gzip.GzipFile(fileobj=reader) if reader.peek(2)[:2] == b"\x1f\x8b" else reader
    try:
        lines = iter(source)
        first = b""
        for line in lines:
            first = line.strip()
            if first:
                break
        if not first:
            return
        if _is_json(first):
            yield from _split_line(first)
            for line in lines:  # not searched for "}{" here: that costs more than reading (Ingestor splits them)
                line = line.strip()
                if line:
                    yield line
            return
        document = first + b"\n" + b"".join(lines)
        if _is_json(document):
            yield document
        else:
            yield from _split_concatenated(document)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise TruncatedInput(f"truncated or corrupt gzip ({exc})") from None


class TruncatedInput(ValueError):
    pass


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


def split_concatenated_line(line: bytes) -> list[bytes] | None:
    """The objects of a line that holds several written back to back, or None when it is not such a line."""
    if line.startswith(b"{") and b"}{" in line and not _is_json(line):
        return list(_split_concatenated(line))
    return None


def _split_line(line: bytes) -> Iterator[bytes]:
    if line.startswith(b"{") and b"}{" in line and not _is_json(line):
        yield from _split_concatenated(line)
    else:
        yield line


def _split_concatenated(data: bytes) -> Iterator[bytes]:
    text = data.decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(text):
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:  # the bad record ends where a line starts the next whole object
            end = _next_object_line(text, decoder, pos)
            yield text[pos:end].rstrip().encode()
        else:
            yield text[pos:end].encode()
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1


def _next_object_line(text: str, decoder: json.JSONDecoder, pos: int) -> int:
    """Start of the first line after `pos` that begins (at its first column) a whole JSON object; the end of
    `text` when none does. So a torn first line of NDJSON, or a broken document, does not take the rest along."""
    start = text.find("\n", pos)
    while start != -1:
        start += 1
        if text.startswith("{", start):
            try:
                decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                pass
            else:
                return start
        start = text.find("\n", start)
    return len(text)


class _Raw(io.RawIOBase):
    """Any object with read(n) (files, stdin, botocore streaming bodies) as a raw stream for BufferedReader."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A backfill allocates millions of short-lived objects (parsed JSON, events, script arguments) that reference
    counting frees; none form cycles. Python's cycle collector would still walk the live ones every few thousand
    allocations (a third of the parse and batch time on a million events), so it is paused for the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextlib.contextmanager
def _short_switch_interval() -> Iterator[None]:
    """The writer thread wakes from each socket read of Redis' replies needing the GIL, which the parsing thread
    hands over only every switch interval: at Python's 5 ms the writer waited ~8 us per event of a backfill in those
    hand-overs (benchmarks/ingest.py: Store.commit 18.5 -> 11 us, ~47k -> ~57k events/s at 1 ms). Process-wide,
    so it is shortened while any backfill runs and put back after the last one."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, WRITER_SWITCH_INTERVAL_S))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


class Ingestor:
    def __init__(self, store: Store, campaign_tag: str = "campaign", batch_events: int = BATCH_EVENTS,
                 keep: Callable[[Event], bool] | None = None) -> None:
        self.store = store
        self.campaign_tag = campaign_tag
        self.batch_events = batch_events
        self.keep = keep  # ingest_paths writes only the events this accepts (a rebuild of one campaign)

    def ingest_payloads(self, payloads: Iterable[Any], where: str = "", *, enveloped: bool = False) -> IngestSummary:
        """Synchronous: returns once Redis has every event (callers acknowledge after this). `enveloped`: each
        payload is an SNS Message already (raw delivery), see `parse_payload`."""
        summary = IngestSummary()
        events: list[Event] = []
        for payload in payloads:
            summary.read += 1
            parsed = parse_payload(payload, self.campaign_tag, enveloped=enveloped)
            summary.add_parsed(parsed, where)
            events.extend(parsed.events)
        if events:
            summary.add_result(self.store.record(events))
        return summary

    def ingest_paths(self, paths: Iterable[str], *, progress: bool | None = None,
                     s3_client_factory: Callable[[], Any] | None = None) -> IngestSummary:
        with _cyclic_gc_paused(), _short_switch_interval():
            return self._ingest_paths(paths, progress, s3_client_factory)

    def _ingest_paths(self, paths: Iterable[str], progress: bool | None,
                      s3_client_factory: Callable[[], Any] | None) -> IngestSummary:
        summary = IngestSummary()
        sources = list(iter_sources(paths, s3_client_factory))
        meter = Progress(sum(s.size for s in sources), progress)
        writer = BatchWriter(self.store, summary)
        parsed = Parsed()  # one for the whole run: records append their events to the batch in parsed.events
        done_bytes = 0
        try:
            for source in sources:
                for number, record in self._records(source, summary):
                    summary.read += 1
                    parse_payload(record, self.campaign_tag, parsed)
                    if parsed.rejected and (pieces := split_concatenated_line(record)) is not None:
                        parsed.rejected = []  # not JSON as a whole: objects back to back, each one a record
                        summary.read += len(pieces) - 1
                        for piece in pieces:
                            parse_payload(piece, self.campaign_tag, parsed)
                    if parsed.ignored or parsed.rejected:
                        summary.add_parsed(parsed, f"{source.name}:{number}")
                        parsed.ignored, parsed.rejected = 0, []
                    if len(parsed.events) >= self.batch_events:
                        writer.put(self._kept(parsed.events))
                        parsed.events = []
                        meter.update(done_bytes, summary)
                done_bytes += source.size
            if parsed.events:
                writer.put(self._kept(parsed.events))
        finally:
            writer.close()
        meter.update(done_bytes, summary, final=True)
        return summary

    def _kept(self, events: list[Event]) -> list[Event]:
        return events if self.keep is None else [e for e in events if self.keep(e)]

    def _records(self, source: Source, summary: IngestSummary) -> Iterator[tuple[int, bytes]]:
        """(record number, record) of one source; reading errors are rejected with the source's name."""
        number = 0
        try:
            with source.open() as stream:
                for number, record in enumerate(iter_records(stream), start=1):
                    yield number, record
        except TruncatedInput as exc:
            summary.reject(str(exc), f"{source.name} after record {number}")
        except OSError as exc:
            summary.reject(exc.strerror or str(exc), source.name)
        except Exception as exc:  # S3 errors and the like: name the source, go on with the others
            summary.reject(f"cannot read ({type(exc).__name__}: {exc})", source.name)


