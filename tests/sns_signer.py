"""A project-owned SNS sender's signing half: a throwaway key and certificate, signing per the SNS spec.

moto signs without Subject and sends no confirmations (DESIGN.md §6), so tests sign their own messages:

    signer = SnsSigner.create(tmp_path)           # writes SimpleNotificationService-<hex>.pem into tmp_path
    body = signer.sign(notification(TOPIC, "hello"), version=2)
    store = CertificateStore(cert_dir=tmp_path)   # what SESBOT_SNS_CERTS=tmp_path gives the app
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bot.sns_verify import string_to_sign

NOT_BEFORE = datetime(2010, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2040, 1, 1, tzinfo=UTC)
_HASHES = {1: hashes.SHA1, 2: hashes.SHA256}


def _region(topic_arn: str) -> str:
    """The region field of ``arn:aws:sns:<region>:<account>:<name>``."""
    return topic_arn.split(":")[3]


def sns_timestamp(when: datetime | None = None) -> str:
    """SNS's Timestamp format: UTC, milliseconds, ``Z``."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class SnsSigner:
    """Signs SNS messages with its own key; its certificate is in ``cert_dir`` under the URL's file name."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    cert_url: str
    cert_dir: Path

    @classmethod
    def create(cls, cert_dir: Path, region: str = "us-east-1") -> SnsSigner:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _self_signed(key)
        file_name = f"SimpleNotificationService-{uuid.uuid4().hex}.pem"
        cert_dir.mkdir(parents=True, exist_ok=True)
        (cert_dir / file_name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(key, cert, f"https://sns.{region}.amazonaws.com/{file_name}", cert_dir)

    @property
    def cert_path(self) -> Path:
        return self.cert_dir / self.cert_url.rsplit("/", 1)[1]

    def sign(self, message: dict, version: int = 1) -> dict:
        """A copy of ``message`` with SignatureVersion, Signature and SigningCertURL filled per the spec."""
        digest = _HASHES[version]()
        signature = self.key.sign(string_to_sign(message), padding.PKCS1v15(), digest)
        return {
            **message,
            "SignatureVersion": str(version),
            "Signature": base64.b64encode(signature).decode("ascii"),
            "SigningCertURL": self.cert_url,
        }


def notification(
    topic_arn: str,
    message: str,
    subject: str | None = None,
    message_id: str | None = None,
    timestamp: datetime | None = None,
) -> dict:
    """An unsigned SNS HTTP Notification body (no Subject key when ``subject`` is None)."""
    region = _region(topic_arn)
    body: dict = {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn,
        "Message": message,
        "Timestamp": sns_timestamp(timestamp),
        "UnsubscribeURL": (
            f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{uuid.uuid4()}"
        ),
    }
    if subject is not None:
        body["Subject"] = subject
    return body


def _confirmation(kind: str, topic_arn: str, text: str, token: str | None, timestamp: datetime | None) -> dict:
    token = token or uuid.uuid4().hex * 4
    subscribe_url = (
        f"https://sns.{_region(topic_arn)}.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={quote(topic_arn, safe=':')}&Token={token}"
    )
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": text,
        "SubscribeURL": subscribe_url,
        "Timestamp": sns_timestamp(timestamp),
    }


def subscription_confirmation(topic_arn: str, token: str | None = None, timestamp: datetime | None = None) -> dict:
    """An unsigned SubscriptionConfirmation body, worded as SNS words it."""
    text = (
        f"You have chosen to subscribe to the topic {topic_arn}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message."
    )
    return _confirmation("SubscriptionConfirmation", topic_arn, text, token, timestamp)


def unsubscribe_confirmation(topic_arn: str, token: str | None = None, timestamp: datetime | None = None) -> dict:
    """An unsigned UnsubscribeConfirmation body."""
    text = (
        f"You have chosen to deactivate subscription {topic_arn}:{uuid.uuid4()}.\n"
        "To cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
    )
    return _confirmation("UnsubscribeConfirmation", topic_arn, text, token, timestamp)


def lambda_spelling(signed: dict) -> dict:
    """The SNS-to-Lambda ``Records[].Sns`` shape of a signed body: ``...Url`` keys, ``Subject: null``."""
    renames = {"SigningCertURL": "SigningCertUrl", "UnsubscribeURL": "UnsubscribeUrl"}
    record = {renames.get(key, key): value for key, value in signed.items()}
    record.setdefault("Subject", None)
    record.setdefault("MessageAttributes", {})
    return record
