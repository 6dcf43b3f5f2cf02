"""POST /sns, GET /healthz and GET /metrics over real HTTP: the real WebApp, a real Redis, signed SNS messages."""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from bot.archive import Archive
from bot.events import SES_TOPIC_VALIDATION
from bot.ingest import Ingestor
from bot.settings import Settings
from bot.sns_verify import CertificateStore
from bot.store import Store
from bot.web import MAX_BODY, WebApp, WebDeps
from tests import factory as f
from tests.http_server import serve_wsgi
from tests.redis_server import RedisServer
from tests.sns_samples import SAMPLES, real_cert_dir
from tests.sns_signer import SnsSigner, notification, subscription_confirmation, unsubscribe_confirmation

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:someone-elses-topic"
CAMPAIGN = "spring-042"
SAMPLE_TOPIC = "arn:aws:sns:us-east-1:364852123998:test-email"
REAL_SAMPLES = {
    "django-ses__sns-http-Notification-eventpub-Complaint-signed__1.json":
        ("0100017fd2f875c4-c2929163-2767-49b1-8513-1a29e428e134-000000", "complaint@simulator.amazonses.com",
         "Complaint"),
    "django-ses__sns-http-Notification-identity-Bounce-signed-no-subject__1.json":
        ("0100017fe7043e8e-fc9c357d-a9a4-49bc-a4b4-fa984009d568-000000", "bounce@simulator.amazonses.com",
         "Bounce"),
}


# --- the app under test -----------------------------------------------------------------------------------


class RecordingFetch:
    """Stands in for the HTTPS GET of a SubscribeURL; records every URL."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return b"<ConfirmSubscriptionResponse/>"


def _offline(url: str) -> bytes:
    raise AssertionError(f"unexpected certificate fetch of {url}")


@dataclass
class Web:
    url: str
    store: Store
    fetch: RecordingFetch
    archive_dir: Path

    def post(self, message: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Reply:
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        sent = sns_headers(message) if isinstance(message, dict) else sns_headers_for(body)
        return request(self.url, "POST", "/sns", body, {**sent, **(headers or {})})

    def get(self, path: str) -> Reply:
        return request(self.url, "GET", path)

    def archived(self) -> list[bytes]:
        return archived_lines(self.archive_dir)


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        assert self.content_type == "application/json", self.content_type
        return json.loads(self.body)


def sns_headers(message: dict[str, Any]) -> dict[str, str]:
    """The headers SNS sends with an HTTP(S) delivery."""
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "User-Agent": "Amazon Simple Notification Service Agent",
        "x-amz-sns-message-type": str(message.get("Type")),
        "x-amz-sns-message-id": str(message.get("MessageId")),
        "x-amz-sns-topic-arn": str(message.get("TopicArn")),
    }
    if message.get("Type") == "Notification":
        headers["x-amz-sns-subscription-arn"] = f"{message.get('TopicArn')}:0f2f8c2e-5e0b-4f0b-9b1e-6c1d7c3f9a11"
    return headers


def sns_headers_for(body: bytes) -> dict[str, str]:
    """SNS-style headers for a raw body: taken from the body when it is an SNS message, else a Notification's."""
    try:
        message = json.loads(body)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        message = {"Type": "Notification", "MessageId": "00000000-0000-0000-0000-000000000000", "TopicArn": TOPIC}
    return sns_headers(message)


def request(base_url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
            ) -> Reply:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body if method == "POST" else None, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        conn.close()


def archived_lines(folder: Path) -> list[bytes]:
    lines: list[bytes] = []
    for path in sorted(folder.rglob("*.jsonl.gz")):
        lines.extend(line for line in gzip.decompress(path.read_bytes()).split(b"\n") if line)
    return lines


def build_app(redis_url: str, cert_dir: Path, archive_dir: Path, topics: tuple[str, ...] = (TOPIC,),
              ) -> tuple[WebApp, Store, RecordingFetch]:
    store = Store(redis.Redis.from_url(redis_url))
    fetch = RecordingFetch()
    deps = WebDeps(
        settings=Settings(redis_url=redis_url, sns_topic_arns=topics, sns_certs=cert_dir),
        store=store,
        certs=CertificateStore(cert_dir=cert_dir, fetch=_offline),
        ingestor=Ingestor(store),
        archive=Archive(archive_dir),
        confirm_fetch=fetch,
    )
    return WebApp(deps), store, fetch


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SnsSigner:
    return SnsSigner.create(tmp_path_factory.mktemp("sns-certs"))


@pytest.fixture
def web(redis_url: str, tmp_path: Path, signer: SnsSigner) -> Iterator[Web]:
    app, store, fetch = build_app(redis_url, signer.cert_dir, tmp_path / "archive")
    with serve_wsgi(app) as url:
        yield Web(url, store, fetch, tmp_path / "archive")
    store.client.close()


# --- messages ---------------------------------------------------------------------------------------------

A, B = "a@x.test", "b@y.test"


def signed(signer: SnsSigner, record: dict[str, Any] | str, *, version: int = 1, subject: str | None = None,
           topic: str = TOPIC, message_id: str | None = None) -> dict[str, Any]:
    text = record if isinstance(record, str) else json.dumps(record)
    return signer.sign(notification(topic, text, subject=subject, message_id=message_id), version=version)


def states(store: Store, message_id: str) -> dict[str, str]:
    record = store.message(message_id)
    assert record is not None, f"{message_id} is not in the store"
    return {r.recipient: r.state for r in record.recipients}


# --- notifications ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2], ids=["sigv1", "sigv2"])
@pytest.mark.parametrize("subject", ["Amazon SES Email Event Notification", None], ids=["subject", "no-subject"])
def test_signed_send_notification_is_ingested(web: Web, signer: SnsSigner, version: int, subject: str | None) -> None:
    mid = f.message_id(1)
    message = signed(signer, f.send(mid, [A, B]), version=version, subject=subject)
    assert ("Subject" in message) is (subject is not None)

    reply = web.post(message)

    assert reply.status == 200, reply.body
    assert reply.json == {"status": "ok", "ingested": 2, "duplicates": 0, "ignored": 0}
    record = web.store.message(mid)
    assert record is not None
    assert (record.campaign, record.configuration_set, record.send_ms) == (CAMPAIGN, "marketing",
                                                                           int(f.T0.timestamp() * 1000))
    assert states(web.store, mid) == {A: "send_only", B: "send_only"}
    assert web.store.campaign_summary(CAMPAIGN).totals["send_only"] == 2
    assert web.store.counters() == {"sns:read": 1, "sns:ingested": 2}


def test_outcome_after_send_moves_the_state(web: Web, signer: SnsSigner) -> None:
    mid = f.message_id(2)
    assert web.post(signed(signer, f.send(mid, [A, B]))).status == 200
    assert web.post(signed(signer, f.delivery(mid, [A]), version=2)).status == 200
    assert web.post(signed(signer, f.bounce(mid, [B]))).status == 200
    assert states(web.store, mid) == {A: "delivered", B: "bounced"}


def test_same_message_again_is_a_duplicate_and_changes_nothing(web: Web, signer: SnsSigner) -> None:
    mid = f.message_id(3)
    message = signed(signer, f.send(mid, [A, B]))
    assert web.post(message).json["ingested"] == 2
    before = (web.store.message(mid), web.store.campaign_summary(CAMPAIGN))

    reply = web.post(message)  # SNS retries with the same MessageId and body

    assert reply.status == 200
    assert reply.json == {"status": "ok", "ingested": 0, "duplicates": 2, "ignored": 0}
    assert (web.store.message(mid), web.store.campaign_summary(CAMPAIGN)) == before
    assert web.store.counters() == {"sns:read": 2, "sns:ingested": 2, "sns:duplicates": 2}


def test_topic_validation_message_is_ignored_with_200(web: Web, signer: SnsSigner) -> None:
    message = signed(signer, SES_TOPIC_VALIDATION)
    reply = web.post(message)
    assert reply.status == 200
    assert reply.json == {"status": "ok", "ingested": 0, "duplicates": 0, "ignored": 1}
    assert web.store.campaigns() == []
    assert web.store.counters() == {"sns:read": 1, "sns:ignored": 1}


def test_unsubscribe_confirmation_is_acknowledged(web: Web, signer: SnsSigner) -> None:
    reply = web.post(signer.sign(unsubscribe_confirmation(TOPIC), version=2))
    assert reply.status == 200 and reply.json == {"status": "unsubscribe noted"}
    assert web.fetch.urls == []


# --- refused: signature, certificate URL, topic -----------------------------------------------------------


def _assert_refused(web: Web, reply: Reply, status: int, reason: str, message_id: str | None = None) -> None:
    assert reply.status == status, reply.body
    assert reason in reply.json["error"], reply.json
    if message_id is not None:
        assert web.store.message(message_id) is None
    assert web.archived() == []


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: {**m, "Message": m["Message"].replace(A, "z@x.test")},
        lambda m: {**m, "Timestamp": m["Timestamp"][:-2] + ("1" if m["Timestamp"][-2] != "1" else "2") + "Z"},
        lambda m: {**m, "Subject": "added after signing"},
        lambda m: {**m, "MessageId": "6f3e2f6c-0000-0000-0000-000000000000"},
        lambda m: {**m, "SignatureVersion": "2"},
    ],
    ids=["message", "timestamp", "subject-added", "message-id", "signature-version"],
)
def test_tampered_notification_is_403(web: Web, signer: SnsSigner, tamper: Callable[[dict], dict]) -> None:
    mid = f.message_id(4)
    message = tamper(signed(signer, f.send(mid, [A])))
    _assert_refused(web, web.post(message), 403, "signature does not match", mid)
    assert web.store.campaigns() == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/{name}",
        "https://sns.us-east-1.amazonaws.com.evil.example/{name}",
        "http://sns.us-east-1.amazonaws.com/{name}",
        "https://sns.us-east-1.amazonaws.com@evil.example/{name}",
        "https://sns.us-east-1.amazonaws.com/{name}?x=1",
    ],
    ids=["foreign-host", "suffix-host", "plain-http", "userinfo", "query"],
)
def test_certificate_url_outside_aws_is_403(web: Web, signer: SnsSigner, url: str) -> None:
    mid = f.message_id(5)
    message = signed(signer, f.send(mid, [A]))
    # The signature is good and the certificate file is in cert_dir under this name: only the URL is wrong.
    message["SigningCertURL"] = url.format(name=signer.cert_path.name)
    _assert_refused(web, web.post(message), 403, "not an SNS certificate URL", mid)


def test_topic_not_allowed_is_403(web: Web, signer: SnsSigner) -> None:
    mid = f.message_id(6)
    reply = web.post(signed(signer, f.send(mid, [A]), topic=OTHER_TOPIC))
    _assert_refused(web, reply, 403, "not in SESBOT_SNS_TOPIC_ARNS", mid)
    assert web.store.counters() == {"sns:rejected": 1}


def test_subscription_confirmation_for_an_allowed_topic_is_confirmed(web: Web, signer: SnsSigner) -> None:
    message = signer.sign(subscription_confirmation(TOPIC), version=2)
    reply = web.post(message)
    assert reply.status == 200 and reply.json == {"status": "subscription confirmed"}
    assert web.fetch.urls == [message["SubscribeURL"]]
    assert web.store.campaigns() == []


def test_subscription_confirmation_for_another_topic_is_403_and_not_fetched(web: Web, signer: SnsSigner) -> None:
    reply = web.post(signer.sign(subscription_confirmation(OTHER_TOPIC)))
    _assert_refused(web, reply, 403, "not in SESBOT_SNS_TOPIC_ARNS")
    assert web.fetch.urls == []


def test_forged_subscription_confirmation_is_403_and_not_fetched(web: Web, signer: SnsSigner) -> None:
    message = signer.sign(subscription_confirmation(TOPIC))
    message["SubscribeURL"] = message["SubscribeURL"].replace("Token=", "Token=0")
    _assert_refused(web, web.post(message), 403, "signature does not match")
    assert web.fetch.urls == []


# --- malformed requests -----------------------------------------------------------------------------------


def _good_one_still_ingests(web: Web, signer: SnsSigner, n: int) -> None:
    mid = f.message_id(100 + n)
    reply = web.post(signed(signer, f.send(mid, [A])))
    assert reply.status == 200 and reply.json["ingested"] == 1
    assert states(web.store, mid) == {A: "send_only"}


def _destination_a_number(signer: SnsSigner) -> dict[str, Any]:
    record = f.send(f.message_id(7), [A])
    record["mail"]["destination"] = 42
    return signed(signer, record)


def _tags_a_list(signer: SnsSigner) -> dict[str, Any]:
    record = f.delivery(f.message_id(7), [A])
    record["mail"]["tags"] = ["campaign", CAMPAIGN]
    return signed(signer, record)


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (lambda s: b"{not json", 400, "body is not JSON"),
        (lambda s: b"", 400, "empty body"),
        (lambda s: b"[1, 2, 3]", 400, "not an SNS message"),
        (lambda s: json.dumps({"Type": 7, "Message": "x"}).encode(), 400, "not an SNS message"),
        (lambda s: json.dumps({"Type": "Notification", "TopicArn": TOPIC, "Message": {"a": 1}}).encode(), 403,
         "field Message is not a string"),
        (lambda s: json.dumps({**s.sign(notification(TOPIC, "x")), "Type": "Surprise"}).encode(), 403,
         "unknown message Type"),
        (lambda s: json.dumps(_destination_a_number(s)).encode(), 400, "'mail.destination' is not a list"),
        (lambda s: json.dumps(_tags_a_list(s)).encode(), 400, "mail.tags is not an object"),
        (lambda s: json.dumps(signed(s, '{"eventType": "Send"}')).encode(), 400, "has no 'mail' object"),
        (lambda s: json.dumps(signed(s, '{"eventType": "Send", "mail": ')).encode(), 400, "not JSON"),
    ],
    ids=["not-json", "empty", "json-array", "type-number", "message-object", "unknown-type", "destination-number",
         "tags-list", "no-mail", "message-not-json"],
)
def test_malformed_body_is_4xx_with_a_reason_and_loses_nothing_else(
    web: Web, signer: SnsSigner, body: Callable[[SnsSigner], bytes], status: int, reason: str
) -> None:
    _good_one_still_ingests(web, signer, 0)
    reply = web.post(body(signer))
    assert reply.status == status, reply.body
    assert reason in reply.json["error"], reply.json
    assert set(reply.json) == {"error"}
    _good_one_still_ingests(web, signer, 1)
    assert web.store.campaign_summary(CAMPAIGN).totals["send_only"] == 2
    assert web.store.message(f.message_id(7)) is None
    assert len(web.archived()) == 2  # the two good ones, not the bad one
    assert web.store.counters()["sns:rejected"] == 1


def _raw_request(base_url: str, headers: dict[str, str], body: bytes = b"") -> Reply:
    """A request whose Content-Length is whatever `headers` says, whatever the body."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.putrequest("POST", "/sns")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        return Reply(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        conn.close()


def test_body_over_one_mib_is_413_without_reading_it(web: Web, signer: SnsSigner) -> None:
    headers = {**sns_headers_for(b""), "Content-Length": str(MAX_BODY + 1)}
    reply = _raw_request(web.url, headers)  # only the headers: the app must refuse before reading the body
    assert reply.status == 413
    assert "over the 1048576 byte limit" in reply.json["error"]
    _good_one_still_ingests(web, signer, 2)


def test_body_of_exactly_one_mib_is_read(web: Web, signer: SnsSigner) -> None:
    mid = f.message_id(8)
    message = signed(signer, f.send(mid, [A]))
    body = json.dumps(message).encode()
    body += b" " * (MAX_BODY - len(body))  # JSON allows trailing white space
    reply = web.post(body)
    assert reply.status == 200, reply.body
    assert states(web.store, mid) == {A: "send_only"}


def test_content_length_not_a_number_is_400(web: Web) -> None:
    reply = _raw_request(web.url, {**sns_headers_for(b""), "Content-Length": "many"})
    assert reply.status == 400 and "Content-Length" in reply.json["error"]


def test_header_type_mismatch_is_400(web: Web, signer: SnsSigner) -> None:
    mid = f.message_id(9)
    message = signed(signer, f.send(mid, [A]))
    reply = web.post(message, headers={"x-amz-sns-message-type": "SubscriptionConfirmation"})
    _assert_refused(web, reply, 400, "does not match Type Notification", mid)


def test_get_on_sns_is_405(web: Web) -> None:
    assert web.get("/sns").status == 405


# --- Redis down -------------------------------------------------------------------------------------------


def test_redis_down_is_503_nothing_archived_and_the_retry_is_ingested(tmp_path: Path, signer: SnsSigner) -> None:
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis")  # our own server: the shared one keeps running for other tests
    server.start()
    try:
        app, store, _ = build_app(server.url, signer.cert_dir, tmp_path / "archive")
        with serve_wsgi(app) as url:
            assert request(url, "GET", "/healthz").status == 200
            server.stop()
            mid = f.message_id(10)
            message = signed(signer, f.send(mid, [A, B]), version=2)
            body = json.dumps(message).encode()

            reply = request(url, "POST", "/sns", body, sns_headers(message))
            assert reply.status == 503, reply.body
            assert reply.json == {"error": "store unavailable, retry later"}
            assert archived_lines(tmp_path / "archive") == []
            health = request(url, "GET", "/healthz")
            assert health.status == 503 and health.json["status"] == "unhealthy"
            assert "sesbot_redis_up 0" in request(url, "GET", "/metrics").body.decode()

            server.start()  # the same port: SNS's retry of the same message now gets through
            assert request(url, "GET", "/healthz").status == 200
            retry = request(url, "POST", "/sns", body, sns_headers(message))
            assert retry.status == 200 and retry.json["ingested"] == 2
            assert states(store, mid) == {A: "send_only", B: "send_only"}
            assert archived_lines(tmp_path / "archive") == [body]
        store.client.close()
    finally:
        server.stop()


# --- the archive ------------------------------------------------------------------------------------------


def test_archive_holds_the_accepted_bodies_and_rebuilds_the_same_state(
    web: Web, signer: SnsSigner, redis_url: str
) -> None:
    m1, m2, m3 = f.message_id(11), f.message_id(12), f.message_id(13)
    first = signed(signer, f.send(m1, [A, B]))
    accepted = [
        first,
        signed(signer, f.send(m2, ["c@x.test", "d@z.test"]), version=2, subject="Amazon SES Email Event"),
        signed(signer, f.delivery(m1, [A])),
        signed(signer, f.bounce(m1, [B])),
        signed(signer, f.delay(m2, ["c@x.test"]), version=2),
        first,  # SNS's retry of the same message: accepted and archived again, harmless on replay
        signed(signer, f.complaint(m3, ["e@x.test"])),  # an outcome without its Send
        signed(signer, f.identity_notification(f.delivery(m2, ["d@z.test"]))),  # no tags: joins m2 by id
        signed(signer, SES_TOPIC_VALIDATION),
    ]
    refused = [
        {**signed(signer, f.delivery(m2, ["c@x.test"])), "Message": "{}"},
        signed(signer, f.bounce(m2, ["c@x.test"]), topic=OTHER_TOPIC),
        _destination_a_number(signer),
    ]
    bodies = []
    for message in accepted + refused:
        body = json.dumps(message).encode()
        reply = web.post(body)
        assert (reply.status == 200) is (message in accepted), (reply.status, reply.body)
        if reply.status == 200:
            bodies.append(body)

    assert web.archived() == bodies
    files = list(web.archive_dir.rglob("*"))
    assert all(p.name.endswith(".jsonl.gz") for p in files if p.is_file())

    fresh = Store(redis.Redis.from_url(redis_url.rsplit("/", 1)[0] + "/1"))
    assert fresh.campaigns() == []
    summary = Ingestor(fresh).ingest_paths([str(web.archive_dir)])
    assert (summary.read, summary.rejected, summary.ignored) == (len(bodies), 0, 1), summary.reasons

    original = web.store.campaign_summary(CAMPAIGN)
    assert original is not None and original.totals["bounced"] == 1
    assert fresh.campaign_summary(CAMPAIGN) == original
    assert fresh.campaigns() == web.store.campaigns()
    for mid in (m1, m2, m3):
        assert fresh.message(mid) == web.store.message(mid)
    assert states(fresh, m2) == {"c@x.test": "delayed", "d@z.test": "delivered"}
    fresh.client.close()


# --- health and metrics -----------------------------------------------------------------------------------


def test_healthz(web: Web) -> None:
    reply = web.get("/healthz")
    assert reply.status == 200 and reply.json == {"status": "ok"}


def test_metrics_count_ingestion(web: Web, signer: SnsSigner) -> None:
    assert web.post(signed(signer, f.send(f.message_id(14), [A, B]))).status == 200
    assert web.post(signed(signer, f.send(f.message_id(15), [A]), topic=OTHER_TOPIC)).status == 403
    reply = web.get("/metrics")
    assert reply.status == 200 and reply.content_type.startswith("text/plain")
    text = reply.body.decode()
    assert "# TYPE sesbot_ingest_total counter" in text
    assert 'sesbot_ingest_total{path="sns",outcome="ingested"} 2' in text.splitlines()
    assert 'sesbot_ingest_total{path="sns",outcome="rejected"} 1' in text.splitlines()
    assert "sesbot_redis_up 1" in text.splitlines()
    assert "sesbot_campaigns 1" in text.splitlines()


def test_unknown_path_is_404(web: Web) -> None:
    reply = web.get("/nope")
    assert reply.status == 404 and "no route" in reply.json["error"]


# --- real AWS-signed samples ------------------------------------------------------------------------------


@pytest.fixture
def real_web(redis_url: str, tmp_path: Path) -> Iterator[Web]:
    """The app with SESBOT_SNS_CERTS-style folder of the samples' real AWS certificates (named as in their URLs)."""
    cert_dir = real_cert_dir(tmp_path / "real-certs")
    app, store, fetch = build_app(redis_url, cert_dir, tmp_path / "archive", topics=(SAMPLE_TOPIC,))
    with serve_wsgi(app) as url:
        yield Web(url, store, fetch, tmp_path / "archive")
    store.client.close()


@pytest.mark.parametrize("name", sorted(REAL_SAMPLES))
def test_real_aws_signed_sample_is_ingested(real_web: Web, name: str) -> None:
    mid, recipient, event_type = REAL_SAMPLES[name]
    body = (SAMPLES / name).read_bytes()  # as captured: SNS posts pretty-printed JSON

    reply = real_web.post(body)

    assert reply.status == 200, reply.body
    record = real_web.store.message(mid)
    assert record is not None
    (only,) = record.recipients
    assert only.recipient == recipient
    assert only.state == "unknown"  # an outcome whose Send was never seen
    assert [e.type for e in only.events] == [event_type]
    assert len(real_web.archived()) == 1


@pytest.mark.parametrize("name", sorted(REAL_SAMPLES))
def test_real_aws_signed_sample_with_one_char_changed_is_403(real_web: Web, name: str) -> None:
    mid, _, _ = REAL_SAMPLES[name]
    message = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    text = message["Message"]
    at = text.index("simulator.amazonses.com")  # a letter inside the recipient: still valid JSON, wrong signature
    message["Message"] = text[:at] + "S" + text[at + 1 :]

    reply = real_web.post(message)

    assert reply.status == 403
    assert "signature does not match" in reply.json["error"]
    assert real_web.store.message(mid) is None
    assert real_web.archived() == []
