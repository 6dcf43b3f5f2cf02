"""SNS message signature verification and subscription confirmation.

The only module that fetches SNS signing certificates or confirms subscriptions. The rules (DESIGN.md §2):
SignatureVersion "1" is RSA PKCS#1 v1.5 with SHA1, "2" the same with SHA256, over ``key\\nvalue\\n`` of a
fixed list of fields per message type. The signing certificate must come from an https URL on
``sns.<region>.amazonaws.com`` (or ``.amazonaws.com.cn``), ending in ``.pem``.

Accepts both the HTTP-body spelling (``SigningCertURL``) and the SNS-to-Lambda record spelling
(``SigningCertUrl``, ``Subject: null``).
"""

from __future__ import annotations

import binascii
import http.client
import logging
import re
import threading
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import SplitResult, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 5.0
FETCH_MAX_BYTES = 64 * 1024

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"

# Fields covered by the signature, in signing order. Subject is optional (Notification only).
_NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_SIGNED_FIELDS = {
    NOTIFICATION: _NOTIFICATION_FIELDS,
    SUBSCRIPTION_CONFIRMATION: _CONFIRMATION_FIELDS,
    UNSUBSCRIBE_CONFIRMATION: _CONFIRMATION_FIELDS,
}
_OPTIONAL_FIELDS = frozenset({"Subject"})
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}

# sns.<region>.amazonaws.com[.cn]; a region is one DNS label such as us-east-1, us-gov-west-1, cn-northwest-1.
_SNS_HOST = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-[0-9]+\.amazonaws\.com(?:\.cn)?")
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
_CERT_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.pem")

Fetch = Callable[[str], bytes]


class SnsVerificationError(Exception):
    """A message that must be refused (HTTP 400/403). ``str(e)`` is a short reason without secrets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SnsUnavailable(SnsVerificationError):
    """AWS could not be reached or answered badly: our side's problem, worth a retry (HTTP 5xx)."""


class CertificateUnavailable(SnsUnavailable):
    """The signing certificate could not be obtained or parsed."""


# --- URL allow-list ---------------------------------------------------------------------------------------


def _split_sns_url(url: str) -> SplitResult | None:
    """The parts of an https URL on an SNS host, or None when the URL is not one."""
    if not isinstance(url, str) or not _VISIBLE_ASCII.fullmatch(url):
        return None  # whitespace and control characters are silently dropped by urlsplit: refuse them
    parts = urlsplit(url)
    if parts.scheme != "https" or "@" in parts.netloc or "\\" in parts.netloc:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    if port not in (None, 443) or parts.hostname is None:
        return None
    if not _SNS_HOST.fullmatch(parts.hostname):
        return None
    return parts


def is_allowed_sns_url(url: str) -> bool:
    """True for an https URL on an SNS host (SubscribeURL, UnsubscribeURL); any path and query."""
    return _split_sns_url(url) is not None


def is_allowed_cert_url(url: str) -> bool:
    """True for an https URL on an SNS host whose path ends in ``.pem``, with no query or fragment."""
    parts = _split_sns_url(url)
    if parts is None or parts.query or parts.fragment or "#" in url or "?" in url:
        return False
    return parts.path.endswith(".pem")


# --- string to sign ---------------------------------------------------------------------------------------


def _get(message: dict, key: str) -> object:
    """``message[key]``, also under the Lambda spelling (``...Url`` for ``...URL``); None when absent."""
    if key in message:
        return message[key]
    if key.endswith("URL"):
        return message.get(key[:-3] + "Url")
    return None


def _require_str(message: dict, key: str) -> str:
    value = _get(message, key)
    if value is None:
        raise SnsVerificationError(f"missing field {key}")
    if not isinstance(value, str):
        raise SnsVerificationError(f"field {key} is not a string")
    return value


def _message_type(message: dict) -> str:
    kind = _require_str(message, "Type")
    if kind not in _SIGNED_FIELDS:
        raise SnsVerificationError("unknown message Type")
    return kind


def string_to_sign(message: dict) -> bytes:
    """The bytes SNS signs: ``key\\nvalue\\n`` for each signed field of the message's Type, in order."""
    if not isinstance(message, dict):
        raise SnsVerificationError("message is not a JSON object")
    lines: list[str] = []
    for key in _SIGNED_FIELDS[_message_type(message)]:
        if key in _OPTIONAL_FIELDS and _get(message, key) is None:
            continue
        lines.append(f"{key}\n{_require_str(message, key)}\n")
    return "".join(lines).encode("utf-8")


# --- certificates -----------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None  # urllib then raises HTTPError for the 3xx


_OPENER = urllib.request.build_opener(_NoRedirect)


def fetch_https(url: str, timeout: float = FETCH_TIMEOUT_S, max_bytes: int = FETCH_MAX_BYTES) -> bytes:
    """GET an https URL (TLS-verified, no redirects); OSError on any failure or an oversized body."""
    if urlsplit(url).scheme != "https":
        raise OSError("refusing a non-https URL")
    with _OPENER.open(url, timeout=timeout) as response:
        body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise OSError(f"response larger than {max_bytes} bytes")
    return body


_FETCH_ERRORS = (OSError, http.client.HTTPException, ValueError)


class CertificateStore:
    """Signing certificates by URL: from ``cert_dir`` (``SESBOT_SNS_CERTS``), else fetched; cached (LRU)."""

    def __init__(self, cert_dir: Path | None = None, fetch: Fetch | None = None, max_entries: int = 64) -> None:
        self._cert_dir = cert_dir
        self._fetch = fetch or fetch_https
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._cache: OrderedDict[str, x509.Certificate] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, url: str) -> x509.Certificate:
        if not is_allowed_cert_url(url):
            raise SnsVerificationError("signing certificate URL is not an SNS certificate URL")
        cached = self._cached(url)
        if cached is not None:
            return cached
        cert = _parse_pem(self._load(url))
        self._store(url, cert)
        return cert

    def _cached(self, url: str) -> x509.Certificate | None:
        with self._lock:
            cert = self._cache.get(url)
            if cert is not None:
                self._cache.move_to_end(url)
            return cert

    def _store(self, url: str, cert: x509.Certificate) -> None:
        with self._lock:
            self._cache[url] = cert
            self._cache.move_to_end(url)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)

    def _local_path(self, url: str) -> Path | None:
        if self._cert_dir is None:
            return None
        name = PurePosixPath(urlsplit(url).path).name
        if not _CERT_FILE_NAME.fullmatch(name):
            return None
        path = self._cert_dir / name
        return path if path.is_file() else None

    def _load(self, url: str) -> bytes:
        path = self._local_path(url)
        try:
            return path.read_bytes() if path is not None else self._fetch(url)
        except SnsVerificationError:
            raise
        except _FETCH_ERRORS as exc:
            logger.warning("SNS signing certificate %s unavailable: %r", url, exc)
            raise CertificateUnavailable("signing certificate could not be fetched") from exc


def _parse_pem(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise CertificateUnavailable("signing certificate is not a PEM certificate") from exc


# --- verification -----------------------------------------------------------------------------------------


def _parse_timestamp(message: dict) -> datetime:
    raw = _require_str(message, "Timestamp")
    try:
        stamp = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise SnsVerificationError("Timestamp is not ISO-8601") from exc
    if stamp.tzinfo is None:
        raise SnsVerificationError("Timestamp has no time zone")
    return stamp


def _decode_signature(message: dict) -> bytes:
    try:
        signature = binascii.a2b_base64(_require_str(message, "Signature"), strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise SnsVerificationError("Signature is not valid base64") from exc
    if not signature:
        raise SnsVerificationError("Signature is empty")
    return signature


def _hash_for(message: dict) -> hashes.HashAlgorithm:
    version = _require_str(message, "SignatureVersion")
    if version not in _HASHES:
        raise SnsVerificationError("unsupported SignatureVersion")
    return _HASHES[version]()


def _check_age(stamp: datetime, max_age: timedelta | None, now: datetime | None) -> None:
    if max_age is None:
        return
    current = now or datetime.now(UTC)
    if abs(current - stamp) > max_age:
        raise SnsVerificationError("Timestamp is outside the accepted age")


def _check_validity(cert: x509.Certificate, stamp: datetime) -> None:
    if not cert.not_valid_before_utc <= stamp <= cert.not_valid_after_utc:
        raise SnsVerificationError("signing certificate was not valid at the message Timestamp")


def verify_message(
    message: dict,
    certs: CertificateStore,
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> None:
    """Raise SnsVerificationError unless the message is signed by its SNS certificate.

    The certificate must have been valid at the message's Timestamp (not at the current clock). With
    ``max_age``, the Timestamp must also lie within ``max_age`` of ``now`` (default: the clock), either way.
    Topic allow-listing is the caller's job.
    """
    payload = string_to_sign(message)
    digest = _hash_for(message)
    signature = _decode_signature(message)
    stamp = _parse_timestamp(message)
    _check_age(stamp, max_age, now)
    cert = certs.get(_require_str(message, "SigningCertURL"))
    _check_validity(cert, stamp)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsVerificationError("signing certificate does not hold an RSA key")
    try:
        key.verify(signature, payload, padding.PKCS1v15(), digest)
    except InvalidSignature as exc:
        raise SnsVerificationError("signature does not match the message") from exc


# --- subscription confirmation ----------------------------------------------------------------------------


def confirm_subscription(message: dict, fetch: Fetch | None = None) -> None:
    """GET the SubscribeURL of a (verified) SubscriptionConfirmation; SnsUnavailable if AWS fails."""
    if _get(message, "Type") != SUBSCRIPTION_CONFIRMATION:
        raise SnsVerificationError("not a SubscriptionConfirmation")
    url = _require_str(message, "SubscribeURL")
    if not is_allowed_sns_url(url):
        raise SnsVerificationError("SubscribeURL is not an SNS URL")
    try:
        (fetch or fetch_https)(url)
    except _FETCH_ERRORS as exc:
        logger.warning("SNS subscription confirmation for %s failed: %r", _get(message, "TopicArn"), exc)
        raise SnsUnavailable("subscription could not be confirmed") from exc
