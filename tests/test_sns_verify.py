"""SNS signature verification: real AWS-signed samples, then the project signer, URLs, certificates, confirmation."""

from __future__ import annotations

import http.client
import http.server
import json
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from bot.sns_verify import (
    CertificateStore,
    CertificateUnavailable,
    SnsUnavailable,
    SnsVerificationError,
    confirm_subscription,
    fetch_https,
    is_allowed_cert_url,
    is_allowed_sns_url,
    string_to_sign,
    verify_message,
)
from tests.sns_samples import SAMPLES, real_cert_dir
from tests.sns_signer import (
    NOT_AFTER,
    SnsSigner,
    lambda_spelling,
    notification,
    sns_timestamp,
    subscription_confirmation,
    unsubscribe_confirmation,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
BAD_SIGNATURE = "signature does not match"
# Pinned so that a PROVENANCE.md the parser misreads cannot silently shrink the real-sample tests.
KNOWN_VERIFYING = {
    "aws-sdk-java-v2__sns-http-SubscriptionConfirmation-sigv1__1.json",
    "aws-sdk-java-v2__sns-http-UnsubscribeConfirmation-sigv2__1.json",
    "aws-php-sns-message-validator__sns-lambda-Notification-sigv2-subject-null__4.json",
    "django-ses__sns-http-Notification-identity-Bounce-signed-no-subject__1.json",
    "aws-sdk-java__sns-http-Notification-sigv1-with-subject-messageattributes__1.json",
}
KNOWN_NOT_VERIFYING = {
    "fx-private-relay__sns-http-Notification-identity-Bounce-OnAccountSuppressionList__1.json",
    "lambda-local__sns-lambda-Notification-identity-Delivery__1.json",
}


# --- real samples -----------------------------------------------------------------------------------------


def _provenance_rows() -> dict[str, tuple[str, str]]:
    """file name -> (class, signature) from the table in PROVENANCE.md; empty when the folder is absent."""
    path = SAMPLES / "PROVENANCE.md"
    if not path.is_file():
        return {}
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


ROWS = _provenance_rows()
VERIFYING = sorted(n for n, (cls, sig) in ROWS.items() if cls.startswith("REAL-SIGNED") and "VERIFIES" in sig)
NOT_VERIFYING = sorted(n for n, (_, sig) in ROWS.items() if "does NOT verify" in sig)
ABSENT = pytest.mark.skip(reason=f"AWS samples folder not found at {SAMPLES}")


def _params(names: list[str]) -> list:
    return names or [pytest.param("absent", marks=ABSENT)]


def _load_sample(name: str) -> dict:
    document = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    if "Records" in document:  # SNS -> Lambda event: the message is Records[0].Sns
        return document["Records"][0]["Sns"]
    return document


def _offline(url: str) -> bytes:
    pytest.fail(f"unexpected certificate fetch of {url}")


@pytest.fixture
def real_certs(tmp_path: Path) -> CertificateStore:
    """The real AWS certificates of the samples folder, under the names their URLs end in."""
    return CertificateStore(cert_dir=real_cert_dir(tmp_path / "real-certs"), fetch=_offline)


def _other_char(char: str) -> str:
    return "1" if char == "0" else "0" if char.isdigit() else "X" if char != "X" else "Y"


def _tamper(value: str, index: int) -> str:
    return value[:index] + _other_char(value[index]) + value[index + 1 :]


def test_provenance_lists_the_known_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"AWS samples folder not found at {SAMPLES}")
    assert len(VERIFYING) >= 17
    assert set(VERIFYING) >= KNOWN_VERIFYING
    assert set(NOT_VERIFYING) >= KNOWN_NOT_VERIFYING
    for name in VERIFYING + NOT_VERIFYING:
        assert (SAMPLES / name).is_file(), name


@pytest.mark.parametrize("name", _params(VERIFYING))
def test_real_sample_verifies(name: str, real_certs: CertificateStore) -> None:
    verify_message(_load_sample(name), real_certs)


@pytest.mark.parametrize("name", _params(VERIFYING))
def test_real_sample_with_one_char_of_message_changed_fails(name: str, real_certs: CertificateStore) -> None:
    message = _load_sample(name)
    message["Message"] = _tamper(message["Message"], len(message["Message"]) // 2)
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message(message, real_certs)


@pytest.mark.parametrize("name", _params(VERIFYING))
def test_real_sample_with_one_char_of_timestamp_changed_fails(name: str, real_certs: CertificateStore) -> None:
    message = _load_sample(name)
    message["Timestamp"] = _tamper(message["Timestamp"], len(message["Timestamp"]) - 2)  # last ms digit
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message(message, real_certs)


@pytest.mark.parametrize("name", _params(NOT_VERIFYING))
def test_real_sample_marked_not_verifying_fails(name: str, real_certs: CertificateStore) -> None:
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message(_load_sample(name), real_certs)


def test_real_certificate_is_expired_today_but_checked_at_the_message_timestamp(
    real_certs: CertificateStore,
) -> None:
    message = _load_sample("fx-private-relay__sns-http-SubscriptionConfirmation-signed__1.json")
    cert = real_certs.get(message["SigningCertURL"])
    assert cert.not_valid_after_utc < datetime.now(UTC)
    verify_message(message, real_certs)
    message["Timestamp"] = "2030-04-19T20:25:48.950Z"
    with pytest.raises(SnsVerificationError, match="not valid at the message Timestamp"):
        verify_message(message, real_certs)


# --- the project signer -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> SnsSigner:
    return SnsSigner.create(tmp_path_factory.mktemp("sns-certs"))


@pytest.fixture
def store(signer: SnsSigner) -> CertificateStore:
    return CertificateStore(cert_dir=signer.cert_dir, fetch=_offline)


SUBJECTS = {"subject": "Amazon SES Email Event Notification", "no-subject": None}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("subject", SUBJECTS.values(), ids=SUBJECTS.keys())
def test_signed_notification_verifies(
    signer: SnsSigner, store: CertificateStore, version: int, subject: str | None
) -> None:
    message = signer.sign(notification(TOPIC, '{"eventType":"Send"}', subject=subject), version)
    assert message["SignatureVersion"] == str(version)
    assert ("Subject" in message) is (subject is not None)
    verify_message(message, store)


def test_subject_null_is_the_same_as_absent(signer: SnsSigner, store: CertificateStore) -> None:
    message = signer.sign(notification(TOPIC, "hello"))
    verify_message({**message, "Subject": None}, store)


@pytest.mark.parametrize("version", [1, 2])
def test_adding_or_removing_a_subject_after_signing_fails(
    signer: SnsSigner, store: CertificateStore, version: int
) -> None:
    without = signer.sign(notification(TOPIC, "hello"), version)
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message({**without, "Subject": "added"}, store)
    with_subject = signer.sign(notification(TOPIC, "hello", subject="s"), version)
    del with_subject["Subject"]
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message(with_subject, store)


@pytest.mark.parametrize("field", ["Message", "MessageId", "Subject", "Timestamp", "TopicArn"])
def test_changing_a_signed_notification_field_fails(signer: SnsSigner, store: CertificateStore, field: str) -> None:
    message = signer.sign(notification(TOPIC, "hello", subject="s"))
    message[field] = _tamper(message[field], len(message[field]) - 2)
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message(message, store)


def test_unsigned_fields_may_change(signer: SnsSigner, store: CertificateStore) -> None:
    message = signer.sign(notification(TOPIC, "hello"))
    message["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=1"
    message["MessageAttributes"] = {"a": {"Type": "String", "Value": "b"}}
    verify_message(message, store)


@pytest.mark.parametrize("version", [1, 2])
def test_lambda_record_spelling_verifies(signer: SnsSigner, store: CertificateStore, version: int) -> None:
    record = lambda_spelling(signer.sign(notification(TOPIC, "hello"), version))
    assert "SigningCertURL" not in record and "SigningCertUrl" in record and record["Subject"] is None
    verify_message(record, store)


def test_lambda_record_with_a_foreign_cert_url_is_refused(signer: SnsSigner, store: CertificateStore) -> None:
    record = lambda_spelling(signer.sign(notification(TOPIC, "hello")))
    record["SigningCertUrl"] = "https://evil.example/" + signer.cert_url.rsplit("/", 1)[1]
    with pytest.raises(SnsVerificationError, match="not an SNS certificate URL"):
        verify_message(record, store)


def test_signature_version_is_bound_to_its_hash(signer: SnsSigner, store: CertificateStore) -> None:
    message = signer.sign(notification(TOPIC, "hello"), version=1)
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message({**message, "SignatureVersion": "2"}, store)


def test_signature_from_another_key_fails(signer: SnsSigner, store: CertificateStore) -> None:
    other = SnsSigner.create(signer.cert_dir)
    message = other.sign(notification(TOPIC, "hello"))
    verify_message(message, store)
    with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
        verify_message({**message, "SigningCertURL": signer.cert_url}, store)


CONFIRMATIONS: dict[str, Callable[[str], dict]] = {
    "subscribe": subscription_confirmation,
    "unsubscribe": unsubscribe_confirmation,
}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("build", CONFIRMATIONS.values(), ids=CONFIRMATIONS.keys())
def test_signed_confirmation_verifies_and_its_token_and_url_are_signed(
    signer: SnsSigner, store: CertificateStore, version: int, build: Callable[[str], dict]
) -> None:
    message = signer.sign(build(TOPIC), version)
    verify_message(message, store)
    for field in ("Token", "SubscribeURL"):
        tampered = {**message, field: _tamper(message[field], len(message[field]) - 1)}
        with pytest.raises(SnsVerificationError, match=BAD_SIGNATURE):
            verify_message(tampered, store)


def test_string_to_sign_of_a_notification_is_exact() -> None:
    message = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Subject": "S",
        "Message": "line1\nline2",
        "Timestamp": "2024-01-02T03:04:05.678Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        "SignatureVersion": "1",
    }
    expected = (
        "Message\nline1\nline2\nMessageId\nm-1\nSubject\nS\n"
        f"Timestamp\n2024-01-02T03:04:05.678Z\nTopicArn\n{TOPIC}\nType\nNotification\n"
    )
    assert string_to_sign(message) == expected.encode()
    del message["Subject"]
    assert b"Subject" not in string_to_sign(message)


def test_string_to_sign_of_a_confirmation_is_exact() -> None:
    message = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "m-2",
        "Token": "tok",
        "TopicArn": TOPIC,
        "Message": "confirm me",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "Timestamp": "2024-01-02T03:04:05.678Z",
        "Subject": "ignored for confirmations",
    }
    expected = (
        "Message\nconfirm me\nMessageId\nm-2\n"
        "SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription\n"
        f"Timestamp\n2024-01-02T03:04:05.678Z\nToken\ntok\nTopicArn\n{TOPIC}\nType\nSubscriptionConfirmation\n"
    )
    assert string_to_sign(message) == expected.encode()


def test_string_to_sign_is_utf8() -> None:
    message = notification(TOPIC, "café ✓")
    assert "Message\ncafé ✓\n".encode() in string_to_sign(message)


# --- malformed messages -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    ["not base64!", "abc", "QUJD\nREVG", " QUJDREVG", "", "QQ==QUJD", "=QUJD", "QUJDé"],
    ids=["punctuation", "bad-padding", "newline", "space", "empty", "after-padding", "leading-padding", "non-ascii"],
)
def test_bad_base64_signature_is_refused(signer: SnsSigner, store: CertificateStore, signature: str) -> None:
    message = {**signer.sign(notification(TOPIC, "hello")), "Signature": signature}
    with pytest.raises(SnsVerificationError, match=r"^Signature is (not valid base64|empty)$"):
        verify_message(message, store)


@pytest.mark.parametrize("version", ["3", "0", "", "1.0", 1, None])
def test_unknown_signature_version_is_refused(signer: SnsSigner, store: CertificateStore, version: object) -> None:
    message = {**signer.sign(notification(TOPIC, "hello")), "SignatureVersion": version}
    with pytest.raises(SnsVerificationError, match="SignatureVersion"):
        verify_message(message, store)


@pytest.mark.parametrize(
    "field",
    ["Type", "Message", "MessageId", "Timestamp", "TopicArn", "Signature", "SignatureVersion", "SigningCertURL"],
)
def test_missing_notification_field_is_refused(signer: SnsSigner, store: CertificateStore, field: str) -> None:
    message = signer.sign(notification(TOPIC, "hello"))
    del message[field]
    with pytest.raises(SnsVerificationError, match=f"missing field {field}"):
        verify_message(message, store)


@pytest.mark.parametrize("field", ["SubscribeURL", "Token"])
def test_missing_confirmation_field_is_refused(signer: SnsSigner, store: CertificateStore, field: str) -> None:
    message = signer.sign(subscription_confirmation(TOPIC))
    del message[field]
    with pytest.raises(SnsVerificationError, match=f"missing field {field}"):
        verify_message(message, store)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"Type": "Bogus"}, "unknown message Type"),
        ({"Message": {"eventType": "Send"}}, "field Message is not a string"),
        ({"Timestamp": "yesterday"}, "Timestamp is not ISO-8601"),
        ({"Timestamp": "2024-01-02T03:04:05"}, "Timestamp has no time zone"),
    ],
)
def test_malformed_fields_are_refused(signer: SnsSigner, store: CertificateStore, changes: dict, reason: str) -> None:
    message = {**signer.sign(notification(TOPIC, "hello")), **changes}
    with pytest.raises(SnsVerificationError, match=reason):
        verify_message(message, store)


def test_non_object_message_is_refused(store: CertificateStore) -> None:
    with pytest.raises(SnsVerificationError, match="not a JSON object"):
        verify_message(["Type", "Notification"], store)  # type: ignore[arg-type]


def test_timestamp_outside_the_certificate_validity_fails(signer: SnsSigner, store: CertificateStore) -> None:
    late = signer.sign(notification(TOPIC, "hello", timestamp=NOT_AFTER + timedelta(days=1)))
    with pytest.raises(SnsVerificationError, match="not valid at the message Timestamp"):
        verify_message(late, store)


def test_max_age(signer: SnsSigner, store: CertificateStore) -> None:
    sent = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    message = signer.sign(notification(TOPIC, "hello", timestamp=sent))
    hour = timedelta(hours=1)
    verify_message(message, store)  # no max_age: any age
    verify_message(message, store, max_age=hour, now=sent + timedelta(minutes=59))
    with pytest.raises(SnsVerificationError, match="outside the accepted age"):
        verify_message(message, store, max_age=hour, now=sent + timedelta(minutes=61))
    with pytest.raises(SnsVerificationError, match="outside the accepted age"):
        verify_message(message, store, max_age=hour, now=sent - timedelta(minutes=61))
    with pytest.raises(SnsVerificationError, match="outside the accepted age"):
        verify_message(message, store, max_age=hour)  # default now: the clock, years later


def test_non_rsa_certificate_is_refused(signer: SnsSigner, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2010, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "SimpleNotificationService-ec.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    message = signer.sign(notification(TOPIC, "hello"))
    message["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-ec.pem"
    with pytest.raises(SnsVerificationError, match="RSA"):
        verify_message(message, CertificateStore(cert_dir=tmp_path, fetch=_offline))


# --- URL allow-list ---------------------------------------------------------------------------------------

PEM = "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"
ALLOWED_CERT_URLS = [
    f"https://sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.eu-central-2.amazonaws.com/{PEM}",
    f"https://sns.ap-southeast-4.amazonaws.com/{PEM}",
    f"https://sns.us-gov-west-1.amazonaws.com/{PEM}",
    f"https://sns.us-gov-east-1.amazonaws.com/{PEM}",
    f"https://sns.cn-north-1.amazonaws.com.cn/{PEM}",
    f"https://sns.cn-northwest-1.amazonaws.com.cn/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:443/{PEM}",
    f"https://SNS.US-EAST-1.AMAZONAWS.COM/{PEM}",
    f"HTTPS://sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com/some/dir/{PEM}",
]
REFUSED_CERT_URLS = [
    f"http://sns.us-east-1.amazonaws.com/{PEM}",
    f"ftp://sns.us-east-1.amazonaws.com/{PEM}",
    f"//sns.us-east-1.amazonaws.com/{PEM}",
    f"sns.us-east-1.amazonaws.com/{PEM}",
    "",
    f"https://sns.us-east-1.amazonaws.com.evil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com.cn.evil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.comx/{PEM}",
    f"https://evil.com/sns.us-east-1.amazonaws.com/{PEM}",
    f"https://evilsns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.evil.amazonaws.com/{PEM}",
    f"https://sns.evil.amazonaws.com/{PEM}",
    f"https://sns.amazonaws.com/{PEM}",
    f"https://s3.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com./{PEM}",
    f"https://user@sns.us-east-1.amazonaws.com/{PEM}",
    f"https://user:pw@sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com@evil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com\\@evil.com/{PEM}",
    f"https://evil.com#@sns.us-east-1.amazonaws.com/{PEM}",
    f"https://evil.com?@sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com%2Eevil.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:8443/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:80/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:abc/{PEM}",
    f"https://sns.us-east-1.amazonaws.com:/{PEM}x",
    "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7ff5.txt",
    "https://sns.us-east-1.amazonaws.com/",
    "https://sns.us-east-1.amazonaws.com",
    f"https://sns.us-east-1.amazonaws.com/{PEM}/",
    f"https://sns.us-east-1.amazonaws.com/{PEM}?x=1",
    f"https://sns.us-east-1.amazonaws.com/{PEM}?",
    f"https://sns.us-east-1.amazonaws.com/{PEM}#frag",
    f"https://sns.us-east-1.amazonaws.com/x?{PEM}",
    f"https://sns.us-east-1.amazon\naws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com/\t{PEM}",
    f" https://sns.us-east-1.amazonaws.com/{PEM}",
    f"https://sns.us-east-1.amazonaws.com/{PEM} ",
    f"https://snѕ.us-east-1.amazonaws.com/{PEM}",  # Cyrillic "ѕ"
    f"https://[::1]/{PEM}",
    f"https://127.0.0.1/{PEM}",
]


@pytest.mark.parametrize("url", ALLOWED_CERT_URLS)
def test_allowed_cert_url(url: str) -> None:
    assert is_allowed_cert_url(url)
    assert is_allowed_sns_url(url)


@pytest.mark.parametrize("url", REFUSED_CERT_URLS)
def test_refused_cert_url(url: str) -> None:
    assert not is_allowed_cert_url(url)


def test_non_string_urls_are_refused() -> None:
    assert not is_allowed_cert_url(None)  # type: ignore[arg-type]
    assert not is_allowed_sns_url(b"https://sns.us-east-1.amazonaws.com/")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:x&Token=abc",
        "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:1:t:u",
        "https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription",
        "https://sns.us-gov-west-1.amazonaws.com/",
        "https://sns.us-east-1.amazonaws.com",
    ],
)
def test_allowed_sns_url(url: str) -> None:
    assert is_allowed_sns_url(url)
    assert not is_allowed_cert_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
        "https://evil.com/?u=https://sns.us-east-1.amazonaws.com/",
        "https://a@sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com:8080/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com/?Action=Confirm Subscription",
    ],
)
def test_refused_sns_url(url: str) -> None:
    assert not is_allowed_sns_url(url)


# --- certificate store ------------------------------------------------------------------------------------


class CountingFetch:
    """A fetch function that serves one PEM for every URL and counts its calls."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.urls: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, url: str) -> bytes:
        with self._lock:
            self.urls.append(url)
        return self.body


def _pem(signer: SnsSigner) -> bytes:
    return signer.cert_path.read_bytes()


def test_fetched_certificate_is_cached(signer: SnsSigner) -> None:
    fetch = CountingFetch(_pem(signer))
    store = CertificateStore(fetch=fetch)
    first = signer.sign(notification(TOPIC, "one"))
    second = signer.sign(notification(TOPIC, "two"), version=2)
    verify_message(first, store)
    verify_message(second, store)
    assert store.get(signer.cert_url) is store.get(signer.cert_url)
    assert fetch.urls == [signer.cert_url]


def test_cache_is_bounded_least_recently_used_first(signer: SnsSigner) -> None:
    fetch = CountingFetch(_pem(signer))
    store = CertificateStore(fetch=fetch, max_entries=2)
    a, b, c = (f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem" for n in "abc")
    store.get(a)
    store.get(b)
    store.get(a)  # a is now the most recently used
    store.get(c)  # evicts b
    store.get(a)
    assert fetch.urls == [a, b, c]
    store.get(b)
    assert fetch.urls == [a, b, c, b]


def test_max_entries_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CertificateStore(max_entries=0)


def test_cert_dir_is_used_before_fetching(signer: SnsSigner, tmp_path: Path) -> None:
    fetch = CountingFetch(b"never used")
    store = CertificateStore(cert_dir=signer.cert_dir, fetch=fetch)
    assert store.get(signer.cert_url) == signer.certificate
    nested = signer.cert_url.replace(".com/", ".com/some/dir/")
    assert store.get(nested) == signer.certificate  # looked up by the URL's last path component
    assert fetch.urls == []


def test_missing_file_in_cert_dir_falls_back_to_fetch(signer: SnsSigner, tmp_path: Path) -> None:
    fetch = CountingFetch(_pem(signer))
    store = CertificateStore(cert_dir=tmp_path, fetch=fetch)
    assert store.get(signer.cert_url) == signer.certificate
    assert fetch.urls == [signer.cert_url]


def test_refused_url_is_never_fetched(signer: SnsSigner) -> None:
    fetch = CountingFetch(_pem(signer))
    store = CertificateStore(cert_dir=signer.cert_dir, fetch=fetch)
    url = "https://evil.example/" + signer.cert_url.rsplit("/", 1)[1]
    with pytest.raises(SnsVerificationError) as caught:
        store.get(url)
    assert not isinstance(caught.value, CertificateUnavailable)
    assert fetch.urls == []


@pytest.mark.parametrize(
    "error",
    [ConnectionRefusedError("refused"), TimeoutError("timed out"), http.client.IncompleteRead(b"")],
    ids=["refused", "timeout", "incomplete-read"],
)
def test_fetch_failure_is_certificate_unavailable(signer: SnsSigner, error: Exception) -> None:
    def failing(url: str) -> bytes:
        raise error

    message = signer.sign(notification(TOPIC, "hello"))
    with pytest.raises(CertificateUnavailable, match="could not be fetched") as caught:
        verify_message(message, CertificateStore(fetch=failing))
    assert isinstance(caught.value, SnsUnavailable) and isinstance(caught.value, SnsVerificationError)
    assert caught.value.reason == str(caught.value)


def test_failed_fetch_is_not_cached(signer: SnsSigner) -> None:
    calls = []

    def flaky(url: str) -> bytes:
        calls.append(url)
        if len(calls) == 1:
            raise ConnectionResetError("reset")
        return _pem(signer)

    store = CertificateStore(fetch=flaky)
    with pytest.raises(CertificateUnavailable):
        store.get(signer.cert_url)
    assert store.get(signer.cert_url) == signer.certificate
    assert len(calls) == 2


def test_fetched_garbage_is_certificate_unavailable(signer: SnsSigner) -> None:
    store = CertificateStore(fetch=CountingFetch(b"<html>not a certificate</html>"))
    with pytest.raises(CertificateUnavailable, match="not a PEM certificate"):
        store.get(signer.cert_url)


def test_store_is_safe_across_threads(signer: SnsSigner) -> None:
    fetch = CountingFetch(_pem(signer))
    store = CertificateStore(fetch=fetch, max_entries=3)
    urls = [f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{n}.pem" for n in range(5)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for round_ in range(40):
                assert store.get(urls[round_ % len(urls)]) == signer.certificate
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store._cache) <= 3


# --- the default fetch, against a local HTTPS server ------------------------------------------------------


def _tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA, and a server certificate for 127.0.0.1 it signed: (ca.pem, server.pem, server.key)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sesbot test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2010, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2010, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2040, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / "ca.pem", directory / "server.pem", directory / "server.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


_ROUTES = {
    "/small.pem": (200, b"x" * 100),
    "/big.pem": (200, b"x" * (64 * 1024 + 1)),
    "/exact.pem": (200, b"x" * (64 * 1024)),
    "/missing.pem": (404, b"no"),
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect.pem":
            self.send_response(302)
            self.send_header("Location", "/small.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, body = _ROUTES.get(self.path, (404, b""))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local HTTPS server: (base URL, CA file that trusts it)."""
    ca, cert, key = _tls_files(tmp_path_factory.mktemp("tls"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", ca
    server.shutdown()
    server.server_close()


@pytest.fixture
def trusted(https_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    base, ca = https_server
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return base


def test_fetch_https_reads_a_small_body(trusted: str) -> None:
    assert fetch_https(f"{trusted}/small.pem") == b"x" * 100
    assert len(fetch_https(f"{trusted}/exact.pem")) == 64 * 1024


@pytest.mark.parametrize("path", ["/big.pem", "/redirect.pem", "/missing.pem"])
def test_fetch_https_refuses_oversize_redirects_and_errors(trusted: str, path: str) -> None:
    with pytest.raises(OSError):
        fetch_https(f"{trusted}{path}")


def test_fetch_https_verifies_the_server_certificate(
    https_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base, _ = https_server
    (tmp_path / "empty.pem").write_bytes(b"")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "empty.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
        fetch_https(f"{base}/small.pem")


def test_fetch_https_refuses_plain_http() -> None:
    with pytest.raises(OSError, match="non-https"):
        fetch_https("http://127.0.0.1:9/x.pem")


# --- subscription confirmation ----------------------------------------------------------------------------


def test_confirm_subscription_gets_the_subscribe_url(signer: SnsSigner) -> None:
    message = signer.sign(subscription_confirmation(TOPIC))
    fetch = CountingFetch(b"<ConfirmSubscriptionResponse/>")
    confirm_subscription(message, fetch=fetch)
    assert fetch.urls == [message["SubscribeURL"]]
    assert message["Token"] in fetch.urls[0]


@pytest.mark.parametrize(
    "message",
    [
        unsubscribe_confirmation(TOPIC),
        notification(TOPIC, "hello"),
        {**subscription_confirmation(TOPIC), "SubscribeURL": "https://evil.example/?Action=ConfirmSubscription"},
        {**subscription_confirmation(TOPIC), "SubscribeURL": "http://sns.us-east-1.amazonaws.com/?Action=x"},
        {key: v for key, v in subscription_confirmation(TOPIC).items() if key != "SubscribeURL"},
    ],
    ids=["unsubscribe", "notification", "foreign-host", "plain-http", "no-url"],
)
def test_confirm_subscription_refuses_without_fetching(message: dict) -> None:
    fetch = CountingFetch(b"")
    with pytest.raises(SnsVerificationError) as caught:
        confirm_subscription(message, fetch=fetch)
    assert not isinstance(caught.value, SnsUnavailable)
    assert fetch.urls == []


def test_confirm_subscription_failure_is_retryable() -> None:
    def failing(url: str) -> bytes:
        raise ConnectionResetError("reset by peer")

    with pytest.raises(SnsUnavailable, match="could not be confirmed") as caught:
        confirm_subscription(subscription_confirmation(TOPIC), fetch=failing)
    assert "Token" not in caught.value.reason and "reset" not in caught.value.reason


def test_signer_timestamp_format() -> None:
    assert sns_timestamp(datetime(2024, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)) == "2024-01-02T03:04:05.678Z"
