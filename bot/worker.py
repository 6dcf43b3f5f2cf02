"""`sesbot worker`: SES events from SQS (SNS-wrapped, raw or EventBridge bodies) into the store.

A message is deleted only after Redis has its events. A message that cannot be read (poison: not JSON, wrong
types, not an SES record) is left on the queue, so its redrive policy moves it to the dead-letter queue after
maxReceiveCount tries; it is logged with its reason and counted, and the rest of its batch goes on. A message
that only carries something else than SES events (another publisher's text on the topic, the SES
topic-validation message, subscription notices) is deleted as ignored. SIGTERM (or `stop()`) lets the batch in
hand finish (write, delete) and then stops; when Redis or SQS is unreachable the worker backs off and retries,
and the messages come back after their visibility timeout.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError

from bot.archive import Archive
from bot.events import Event, parse_payload
from bot.ingest import MAX_REASONS, IngestSummary
from bot.settings import ConfigError, Settings
from bot.store import Store

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
_MISSING_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


@dataclass
class WorkerStats:
    received: int = 0  # receives (a message that comes back is counted again)
    deleted: int = 0
    poison: int = 0  # receives of messages left for the redrive policy
    batches: int = 0  # receive calls, empty ones too
    store_errors: int = 0
    queue_errors: int = 0
    summary: IngestSummary = field(default_factory=IngestSummary)

    def add(self, batch: IngestSummary) -> None:
        total = self.summary
        total.read += batch.read
        total.ingested += batch.ingested
        total.duplicates += batch.duplicates
        total.waiting += batch.waiting
        total.ignored += batch.ignored
        total.rejected += batch.rejected
        total.reasons.extend(batch.reasons[: max(0, MAX_REASONS - len(total.reasons))])


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
        """Signal handler too: only sets a flag, so the batch in hand is written and deleted before the loop ends."""
        if not self.stopping.is_set():
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
                continue
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.stats.store_errors += 1
                log.error("Redis unavailable (%s); the messages stay on the queue, retrying in %.0f s", exc, backoff)
            except ClientError as exc:
                if _error_code(exc) in _MISSING_QUEUE:
                    raise
                self.stats.queue_errors += 1
                log.error("SQS call failed (%s); retrying in %.0f s", _error_code(exc), backoff)
            except BotoCoreError as exc:
                self.stats.queue_errors += 1
                log.error("SQS unreachable (%s); retrying in %.0f s", exc, backoff)
            self.stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        return self.stats

    def poll_once(self) -> int:
        """One receive, write and delete. Returns the number of messages deleted."""
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
        batch = IngestSummary()
        events: list[Event] = []
        done: list[dict[str, Any]] = []
        archived: list[bytes] = []
        for message in messages:
            body = message.get("Body", "")
            batch.read += 1
            # A raw-delivered body is an SNS Message already: text that is not JSON is another publisher's.
            parsed = parse_payload(body, self.campaign_tag, enveloped=True)
            if parsed.rejected:
                self._poison(message, parsed.rejected, batch)
                continue
            batch.ignored += parsed.ignored
            events.extend(parsed.events)
            done.append(message)
            if parsed.events:
                archived.append(body.encode())
        if events:
            batch.add_result(self.store.record(events))  # raises if Redis is down: then nothing gets deleted
        if self.archive is not None and archived:
            try:
                self.archive.append(archived)
            except OSError as exc:  # Redis has the events; the archive is the backup, so log and go on
                log.error("could not archive SQS messages: %s", exc)
        self._delete(done)
        self.stats.add(batch)
        self.stats.poison += batch.rejected
        self.store.count("sqs", read=batch.read, ingested=batch.ingested, duplicates=batch.duplicates,
                         ignored=batch.ignored, rejected=batch.rejected)
        log.debug("SQS batch: %s messages, %s events ingested, %s duplicates, %s ignored, %s left for redrive",
                  len(messages), batch.ingested, batch.duplicates, batch.ignored, batch.rejected)
        return len(done)

    def _poison(self, message: dict[str, Any], reasons: list[str], batch: IngestSummary) -> None:
        message_id = message.get("MessageId", "?")
        tries = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
        log.warning("SQS message %s left on the queue for its redrive policy (receive %s): %s",
                    message_id, tries, "; ".join(reasons[:3]))
        batch.reject(reasons[0], f"sqs {message_id}")

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            reply = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            self.stats.deleted += len(reply.get("Successful", []))
            for failure in reply.get("Failed", []):
                log.warning("SQS delete failed (%s): %s; the message will come back and merge idempotently",
                            failure.get("Code"), failure.get("Message"))


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "unknown"))


def check_queue(sqs: Any, queue_url: str) -> None:
    """Fail at start-up, in one line, on a queue that does not exist; warn when poison has nowhere to go."""
    try:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    except ClientError as exc:
        raise ConfigError([f"SESBOT_SQS_QUEUE_URL={queue_url}: {_error_code(exc)}"]) from None
    except BotoCoreError as exc:
        raise ConfigError([f"SESBOT_SQS_QUEUE_URL={queue_url}: {exc}"]) from None
    if "RedrivePolicy" not in attributes.get("Attributes", {}):
        log.warning("queue %s has no redrive policy: unreadable messages will come back until they expire",
                    queue_url)


def run_worker(settings: Settings) -> int:
    import boto3

    from bot.commands import open_store

    store = open_store(settings)
    queue_url = settings.sqs_queue_url or ""
    sqs = boto3.client("sqs", region_name=settings.aws_region or _region_of(queue_url))
    check_queue(sqs, queue_url)
    worker = SqsWorker(sqs, queue_url, store, campaign_tag=settings.campaign_tag, wait_s=settings.sqs_wait_s,
                       archive=Archive(settings.archive_dir) if settings.archive_dir else None)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    log.info("consuming %s", queue_url)
    started = time.monotonic()
    try:
        stats = worker.run()
    except ClientError as exc:  # the queue went away while running
        log.error("stopping: SQS says %s for %s", _error_code(exc), queue_url)
        return 3
    log.info("stopped after %.0f s: %s messages received, %s deleted, %s left for redrive; %s events ingested, "
             "%s duplicates", time.monotonic() - started, stats.received, stats.deleted, stats.poison,
             stats.summary.ingested, stats.summary.duplicates)
    return 0


def _region_of(queue_url: str) -> str | None:
    """us-east-1 from https://sqs.us-east-1.amazonaws.com/123456789012/name (None for other hosts)."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) >= 4 and parts[0] == "sqs" else None
