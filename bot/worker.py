"""`sesbot worker`: SES events from SQS (SNS-wrapped, raw or EventBridge bodies) into the store.

A message is deleted only after Redis has its events. A message that cannot be read is left on the queue, so
its redrive policy moves it to the dead-letter queue after maxReceiveCount tries; it is logged and counted.
SIGTERM finishes the batch in hand (write, delete) and stops.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from bot.archive import Archive
from bot.events import parse_payload
from bot.ingest import IngestSummary
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    received: int = 0
    deleted: int = 0
    poison: int = 0
    batches: int = 0
    store_errors: int = 0
    summary: IngestSummary = field(default_factory=IngestSummary)


class SqsWorker:
    def __init__(self, sqs: Any, queue_url: str, store: Store, *, campaign_tag: str = "campaign",
                 archive: Archive | None = None, wait_s: int = 20, max_messages: int = 10,
                 visibility_timeout: int | None = None) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.store = store
        self.campaign_tag = campaign_tag
        self.archive = archive
        self.wait_s = wait_s
        self.max_messages = max_messages
        self.visibility_timeout = visibility_timeout
        self.stopping = threading.Event()
        self.stats = WorkerStats()

    def stop(self, *_: Any) -> None:
        log.info("stopping after the batch in hand")
        self.stopping.set()

    def run(self, max_batches: int | None = None) -> WorkerStats:
        backoff = 1.0
        while not self.stopping.is_set():
            if max_batches is not None and self.stats.batches >= max_batches:
                break
            try:
                self.poll_once()
                backoff = 1.0
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.stats.store_errors += 1
                log.error("Redis unavailable (%s); messages stay on the queue, retrying in %.0f s", exc, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, 60)
        return self.stats

    def poll_once(self) -> int:
        request: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": self.max_messages,
            "WaitTimeSeconds": self.wait_s,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount"],
        }
        if self.visibility_timeout is not None:
            request["VisibilityTimeout"] = self.visibility_timeout
        messages = self.sqs.receive_message(**request).get("Messages", [])
        self.stats.batches += 1
        if not messages:
            return 0
        self.stats.received += len(messages)
        events = []
        done: list[dict[str, Any]] = []
        bodies: list[bytes] = []
        summary = self.stats.summary
        for message in messages:
            summary.read += 1
            parsed = parse_payload(message.get("Body", ""), self.campaign_tag)
            summary.ignored += parsed.ignored
            if parsed.rejected:
                self.stats.poison += 1
                summary.rejected += 1
                tries = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
                log.warning("SQS message %s left for the redrive policy (receive %s): %s",
                            message.get("MessageId"), tries, "; ".join(parsed.rejected[:3]))
                if len(summary.reasons) < 10:
                    summary.reasons.append(f"sqs {message.get('MessageId')}: {parsed.rejected[0]}")
                continue
            events.extend(parsed.events)
            done.append(message)
            bodies.append(message.get("Body", "").encode())
        changed = 0
        if events:
            result = self.store.record(events)  # raises if Redis is down: then nothing gets deleted
            summary.add_result(result)
            changed = result.changed
        if self.archive is not None and bodies:
            try:
                self.archive.append(bodies)
            except OSError as exc:
                log.error("could not archive SQS messages: %s", exc)
        self._delete(done)
        self.store.count("sqs", read=len(messages), rejected=len(messages) - len(done), ingested=changed)
        return len(done)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            reply = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            self.stats.deleted += len(reply.get("Successful", []))
            for failure in reply.get("Failed", []):
                log.warning("SQS delete failed (%s): %s; the message will come back and merge idempotently",
                            failure.get("Code"), failure.get("Message"))


def run_worker(settings: Settings) -> int:
    import boto3

    from bot.commands import open_store

    store = open_store(settings)
    worker = SqsWorker(boto3.client("sqs", region_name=settings.aws_region), settings.sqs_queue_url or "", store,
                       campaign_tag=settings.campaign_tag,
                       archive=Archive(settings.archive_dir) if settings.archive_dir else None)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    log.info("consuming %s", settings.sqs_queue_url)
    started = time.monotonic()
    stats = worker.run()
    log.info("stopped after %.0f s: %s messages received, %s deleted, %s left for redrive", time.monotonic() - started,
             stats.received, stats.deleted, stats.poison)
    return 0
