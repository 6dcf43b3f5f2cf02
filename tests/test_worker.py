"""`sesbot worker` (bot/worker.py) against moto's SQS and SNS over HTTP (LocalAws) and a real redis-server.

Bodies raw, SNS-wrapped and EventBridge; a real SNS -> SQS subscription with and without raw delivery; messages
deleted only once Redis has their events; poison messages left for the redrive policy, counted and logged, while
the rest of their batch goes through; a stop (SIGTERM) in the middle of a batch finishes that batch.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis

from bot.archive import Archive
from bot.aws_emulator import LocalAws
from bot.commands import open_store
from bot.events import SES_TOPIC_VALIDATION
from bot.settings import Settings
from bot.store import Store
from bot.worker import SqsWorker
from tests import factory as f
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
CAMPAIGN = "spring-042"
WAIT_LIMIT_S = 60  # how long a test waits for something that should happen much sooner (not a timed assertion)


def wait_for(condition: Callable[[], bool], what: str, limit_s: float = WAIT_LIMIT_S) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def sqs(aws_session: boto3.Session) -> Any:
    return aws_session.client("sqs")


@pytest.fixture
def sns(aws_session: boto3.Session) -> Any:
    return aws_session.client("sns")


def make_queue(sqs: Any, name: str, *, visibility_s: int = 30, max_receives: int | None = None) -> str:
    attributes = {"VisibilityTimeout": str(visibility_s)}
    if max_receives is not None:
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        attributes["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq),
                                                  "maxReceiveCount": max_receives})
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def on_queue(sqs: Any, url: str) -> int:
    """Messages still on the queue: visible plus in flight (received, not deleted)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def send_bodies(sqs: Any, url: str, bodies: list[str]) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)


def eventbridge(record: dict[str, Any], detail_type: str) -> dict[str, Any]:
    return {"version": "0", "id": "5b2f4a1e-0000-4000-8000-000000000001", "detail-type": detail_type,
            "source": "aws.ses", "account": "123456789012", "time": record["mail"]["timestamp"],
            "region": "us-east-1", "resources": ["arn:aws:ses:us-east-1:123456789012:configuration-set/marketing"],
            "detail": record}


def states(store: Store, message_id: str) -> dict[str, str]:
    record = store.message(message_id)
    return {} if record is None else {r.recipient: r.state for r in record.recipients}


@pytest.fixture
def store(redis_url: str) -> Store:
    return open_store(Settings(redis_url=redis_url))


def worker_for(sqs: Any, url: str, store: Store, **kw: Any) -> SqsWorker:
    kw.setdefault("wait_s", 0)
    return SqsWorker(sqs, url, store, **kw)


# --------------------------------------------------------------------------- envelopes


def test_raw_sns_wrapped_and_eventbridge_bodies_are_ingested_then_deleted(sqs: Any, store: Store,
                                                                          tmp_path: Path) -> None:
    url = make_queue(sqs, "ses-events")
    mid = f.message_id(1)
    people = ["a@gmail.test", "b@outlook.test", "c@yahoo.test"]
    bodies = [
        json.dumps(f.send(mid, people)),  # raw delivery
        json.dumps(f.sns_envelope(f.delivery(mid, people[:1]))),  # SNS envelope, raw delivery off
        json.dumps(eventbridge(f.bounce(mid, people[1:2]), "Email Bounced")),  # EventBridge rule -> SQS
        json.dumps(f.sns_envelope(SES_TOPIC_VALIDATION)),  # SES's first message on a new destination
        "This is a test message.",  # someone else's message on the topic, raw delivery
    ]
    send_bodies(sqs, url, bodies)
    worker = worker_for(sqs, url, store, archive=Archive(tmp_path / "archive"))
    assert worker.poll_once() == 5
    assert states(store, mid) == {"a@gmail.test": "delivered", "b@outlook.test": "bounced",
                                  "c@yahoo.test": "send_only"}
    assert store.message(mid).campaign == CAMPAIGN
    assert on_queue(sqs, url) == 0
    assert (worker.stats.received, worker.stats.deleted, worker.stats.poison) == (5, 5, 0)
    summary = worker.stats.summary
    assert (summary.read, summary.ingested, summary.ignored, summary.rejected) == (5, 5, 2, 0)
    counters = store.counters()
    assert (counters["sqs:read"], counters["sqs:ingested"], counters["sqs:ignored"]) == (5, 5, 2)
    archived = b"".join(gzip.decompress(p.read_bytes()) for p in sorted((tmp_path / "archive").rglob("*.gz")))
    assert sorted(archived.decode().splitlines()) == sorted(bodies[:3]), "the bodies that held events, one a line"


def test_redelivered_messages_merge_idempotently(sqs: Any, store: Store) -> None:
    url = make_queue(sqs, "ses-events")
    mid = f.message_id(2)
    bodies = [json.dumps(f.send(mid, ["a@x.test"])), json.dumps(f.sns_envelope(f.delivery(mid, ["a@x.test"])))]
    send_bodies(sqs, url, bodies + bodies)  # SQS is at-least-once: the same messages again
    worker = worker_for(sqs, url, store)
    while worker.poll_once():
        pass
    assert states(store, mid) == {"a@x.test": "delivered"}
    assert (worker.stats.summary.ingested, worker.stats.summary.duplicates) == (2, 2)
    assert store.campaign_summary(CAMPAIGN).totals["delivered"] == 1


@pytest.mark.parametrize("raw_delivery", [True, False], ids=["raw", "sns-envelope"])
def test_real_sns_to_sqs_subscription(sqs: Any, sns: Any, store: Store, raw_delivery: bool) -> None:
    url = make_queue(sqs, "ses-events")
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url),
                                 ReturnSubscriptionArn=True)["SubscriptionArn"]
    sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="RawMessageDelivery",
                                    AttributeValue="true" if raw_delivery else "false")
    mid = f.message_id(3)
    people = ["a@x.test", "b@y.test"]
    sns.publish(TopicArn=topic, Message=SES_TOPIC_VALIDATION)
    for record in (f.send(mid, people), f.delivery(mid, people[:1]),
                   f.identity_notification(f.bounce(mid, people[1:]))):
        sns.publish(TopicArn=topic, Message=json.dumps(record), Subject="Amazon SES Email Event Notification")
    peeked = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    enveloped = ['"TopicArn"' in m["Body"] and '"Type"' in m["Body"] for m in peeked]
    assert len(peeked) == 4 and set(enveloped) == {not raw_delivery}

    worker = worker_for(sqs, url, store)
    wait_for(lambda: worker.poll_once() >= 0 and on_queue(sqs, url) == 0, "the queue to be drained")
    assert states(store, mid) == {"a@x.test": "delivered", "b@y.test": "bounced"}
    assert (worker.stats.summary.ignored, worker.stats.summary.rejected, worker.stats.deleted) == (1, 0, 4)


# --------------------------------------------------------------------------- poison


def test_poison_messages_stay_for_the_redrive_policy_and_do_not_block_their_batch(
    sqs: Any, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    url = make_queue(sqs, "ses-events", visibility_s=1, max_receives=2)
    dlq = url + "-dlq"
    mid = f.message_id(4)
    poison = {
        "malformed": '{"eventType": "Send", "mail": {',
        "wrong-types": json.dumps({"eventType": "Send", "mail": {"messageId": mid, "timestamp": 12,
                                                                 "destination": "a@x.test"}}),
        "not-ses": json.dumps({"hello": "world"}),
        "wrapped-bad-record": json.dumps(f.sns_envelope(json.dumps({"eventType": "Delivery", "mail": []}))),
    }
    good = [json.dumps(f.send(mid, ["a@x.test", "b@x.test"])), json.dumps(f.delivery(mid, ["a@x.test"]))]
    send_bodies(sqs, url, [good[0], poison["malformed"], poison["wrong-types"], good[1], poison["not-ses"],
                           poison["wrapped-bad-record"]])
    worker = worker_for(sqs, url, store)
    with caplog.at_level(logging.WARNING, logger="bot.worker"):
        assert worker.poll_once() == 2
    assert worker.stats.received == 6, "all six in one batch: the poison did not hold the good ones back"
    assert states(store, mid) == {"a@x.test": "delivered", "b@x.test": "send_only"}
    assert on_queue(sqs, url) == 4
    assert (worker.stats.deleted, worker.stats.poison) == (2, 4)
    assert store.counters()["sqs:rejected"] == 4
    reasons = worker.stats.summary.reasons
    assert len(reasons) == 4 and all(r.startswith("sqs ") for r in reasons)
    assert any("not JSON" in r for r in reasons)
    assert any("timestamp 12" in r or "destination" in r for r in reasons)
    assert any("not an SES record" in r for r in reasons)
    warnings = [r.getMessage() for r in caplog.records if "left on the queue" in r.getMessage()]
    assert len(warnings) == 4 and all("receive 1" in w for w in warnings)

    # They come back after the visibility timeout, are refused again, and the redrive policy moves them aside.
    wait_for(lambda: worker.poll_once() == 0 and on_queue(sqs, dlq) == 4, "the poison in the dead-letter queue")
    assert on_queue(sqs, url) == 0
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in dead) == sorted(poison.values())
    assert states(store, mid) == {"a@x.test": "delivered", "b@x.test": "send_only"}


# --------------------------------------------------------------------------- Redis down


def test_nothing_is_deleted_while_redis_is_down_and_the_messages_are_ingested_once_it_is_back(
    tmp_path: Path, sqs: Any
) -> None:
    server = RedisServer(tmp_path / "redis")  # our own server: the shared one keeps running for other tests
    server.workdir.mkdir()
    server.start()
    try:
        store = open_store(Settings(redis_url=server.url))
        url = make_queue(sqs, "ses-events", visibility_s=1)
        mid = f.message_id(5)
        send_bodies(sqs, url, [json.dumps(f.send(mid, ["a@x.test", "b@x.test"]))])
        worker = worker_for(sqs, url, store, wait_s=1)
        assert worker.poll_once() == 1
        store.client.save()  # a persistent Redis keeps its data across the restart below
        server.stop()

        send_bodies(sqs, url, [json.dumps(f.delivery(mid, ["a@x.test"])),
                               json.dumps(f.sns_envelope(f.bounce(mid, ["b@x.test"])))])
        with pytest.raises(redis.ConnectionError):
            worker.poll_once()
        assert worker.stats.deleted == 1 and on_queue(sqs, url) == 2

        runner = threading.Thread(target=worker.run, name="worker-under-test")
        runner.start()
        try:
            wait_for(lambda: worker.stats.store_errors >= 1, "the worker to meet the Redis outage")
            assert worker.stats.deleted == 1 and on_queue(sqs, url) == 2
            server.start()  # the same port and data folder
            wait_for(lambda: on_queue(sqs, url) == 0, "the messages to be ingested and deleted")
        finally:
            worker.stop()
            runner.join(WAIT_LIMIT_S)
        assert not runner.is_alive()
        assert states(store, mid) == {"a@x.test": "delivered", "b@x.test": "bounced"}
        assert worker.stats.deleted == 3
        assert worker.stats.received >= 5, "the two messages were received during the outage and again after it"
    finally:
        server.stop()


# --------------------------------------------------------------------------- stopping


def test_sigterm_in_the_middle_of_a_batch_finishes_that_batch(sqs: Any, store: Store) -> None:
    url = make_queue(sqs, "ses-events")
    message_ids = [f.message_id(600 + i) for i in range(14)]  # more than one receive can hold (10)
    send_bodies(sqs, url, [json.dumps(f.send(mid, [f"r{i}@x.test"])) for i, mid in enumerate(message_ids)])
    worker = worker_for(sqs, url, store, wait_s=1)
    signalled: list[int] = []

    def sigterm_once_a_batch_is_in_hand(parsed: dict[str, Any], **_: Any) -> None:
        if parsed.get("Messages") and not signalled:
            signalled.append(len(parsed["Messages"]))
            os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread, handled by worker.stop

    sqs.meta.events.register("after-call.sqs.ReceiveMessage", sigterm_once_a_batch_is_in_hand)
    previous = signal.signal(signal.SIGTERM, worker.stop)
    try:
        stats = worker.run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        sqs.meta.events.unregister("after-call.sqs.ReceiveMessage", sigterm_once_a_batch_is_in_hand)
    assert signalled and stats.batches == 1, "stopped after the batch in hand, without another receive"
    in_hand = signalled[0]
    assert stats.received == stats.deleted == stats.summary.ingested == in_hand
    assert sum(store.message(mid) is not None for mid in message_ids) == in_hand
    assert on_queue(sqs, url) == len(message_ids) - in_hand


def _worker_env(redis_url: str, queue_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SESBOT_")}
    env.update(REDIS_URL=redis_url, SESBOT_SQS_WAIT_S="1", PYTHONUNBUFFERED="1")
    if queue_url is not None:
        env["SESBOT_SQS_QUEUE_URL"] = queue_url
    return env


def test_sesbot_worker_process_ingests_and_exits_cleanly_on_sigterm(
    local_aws: LocalAws, sqs: Any, store: Store, redis_url: str
) -> None:
    url = make_queue(sqs, "ses-events", max_receives=3)
    mid = f.message_id(7)
    send_bodies(sqs, url, [json.dumps(f.send(mid, ["a@x.test"])), json.dumps(f.delivery(mid, ["a@x.test"]))])
    process = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=_worker_env(redis_url, url),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (states(store, mid) == {"a@x.test": "delivered"} and on_queue(sqs, url) == 0)
                 or process.poll() is not None, "the worker process to ingest the messages")
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=WAIT_LIMIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "stopping after the batch in hand" in err and "2 deleted" in err


def test_sesbot_worker_configuration_problems_are_one_line_and_exit_2(
    local_aws: LocalAws, sqs: Any, redis_url: str
) -> None:
    for queue_url, expected in ((None, "SESBOT_SQS_QUEUE_URL is not set"),
                                (f"{local_aws.endpoint_url}/123456789012/no-such-queue", "SESBOT_SQS_QUEUE_URL=")):
        result = subprocess.run([sys.executable, "-m", "bot", "worker"], cwd=ROOT, capture_output=True, text=True,
                                env=_worker_env(redis_url, queue_url), timeout=WAIT_LIMIT_S)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.startswith("sesbot:")]
        assert len(lines) == 1 and lines[0].startswith("sesbot: configuration: ") and expected in lines[0]
        assert "Traceback" not in result.stderr


def test_messages_written_after_redis_lost_its_data_can_be_looked_up(tmp_path: Path, sqs: Any) -> None:
    server = RedisServer(tmp_path / "redis")
    server.workdir.mkdir()
    server.start()
    try:
        url = make_queue(sqs, "ses-events")
        worker = worker_for(sqs, url, open_store(Settings(redis_url=server.url)))
        send_bodies(sqs, url, [json.dumps(f.send(f.message_id(8), ["a@x.test"]))])
        assert worker.poll_once() == 1
        server.stop()
        server.start()  # no persistence: Redis comes back empty (or a replica without the data takes over)
        send_bodies(sqs, url, [json.dumps(f.send(f.message_id(9), ["b@x.test"]))])
        wait_for(lambda: worker.poll_once() == 1 or worker.stats.deleted == 2, "the second message")
        reader = open_store(Settings(redis_url=server.url))  # another process: `sesbot message`, the web app
        assert reader.message(f.message_id(9)) is not None
        assert [m.message_id for m in reader.recipient("b@x.test")] == [f.message_id(9)]
    finally:
        server.stop()
