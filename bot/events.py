"""SES records into normalized per-recipient events.

Accepts every envelope SES events arrive in (DESIGN §2): bare event-publishing and notification records, SNS HTTP
bodies, SNS-to-Lambda and SQS-to-Lambda batches, SQS bodies (raw or SNS-wrapped), EventBridge events and Firehose
records. Unknown event types, sub-types and fields are kept; a malformed record is rejected with a reason and never
stops the records around it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

SES_TOPIC_VALIDATION = "Successfully validated SNS topic for Amazon SES event publishing."
DETAIL_MAX = 120

# Event types with a fixed code (bit positions in the store); anything else is kept by name.
TYPE_CODES: dict[str, int] = {
    "Send": 1,
    "Delivery": 2,
    "Bounce": 3,
    "Complaint": 4,
    "DeliveryDelay": 5,
    "Reject": 6,
    "Rendering Failure": 7,
    "Open": 8,
    "Click": 9,
    "Subscription": 10,
}
TYPE_NAMES: dict[int, str] = {code: name for name, code in TYPE_CODES.items()}
# Record key holding the per-type object, for types whose key is not simply the lower-camel type name.
_TYPE_OBJECT = {"Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay"}
_BODY_KEYS = {name: _TYPE_OBJECT.get(name, name[:1].lower() + name[1:]) for name in TYPE_CODES}
# Notifications that are about the SNS wiring, not a message.
_IGNORED_NOTIFICATIONS = {"AmazonSnsSubscriptionSucceeded"}

FLAG_SUPPRESSED = 1  # a bounce or complaint showing SES suppressed the address: SES never sent it
FLAG_COMPLAINED = 2  # a real complaint (not a suppression-list one)
SUPPRESSION_SUBTYPES = {"OnAccountSuppressionList", "Suppressed"}

STATES = (
    "send_only", "delayed", "delivered", "bounced", "suppressed", "complained",
    "rejected", "rendering_failed", "unknown",
)


class RecordError(ValueError):
    """A record that cannot be read; the message is the reason shown to whoever sent it."""


@dataclass(slots=True)
class Event:
    """One SES event for one recipient of one message."""

    message_id: str
    recipient: str
    type: str
    time_ms: int
    send_ms: int
    campaign: str | None  # None: the record carries no tags (identity notification); "": tags but no campaign
    config_set: str | None
    from_domain: str | None
    outgoing_ip: str | None
    detail: str = ""
    flags: int = 0
    expires_ms: int = 0

    @property
    def domain(self) -> str:
        return self.recipient.rpartition("@")[2]


@dataclass
class Parsed:
    """What one input (a file line, an HTTP body, an SQS message) held."""

    events: list[Event] = field(default_factory=list)
    records: int = 0  # SES records found
    ignored: int = 0  # recognised but not SES events: topic validation, confirmations, other sources
    rejected: list[str] = field(default_factory=list)


def parse_time(value: Any) -> int:
    """ISO-8601 (as SES writes it, or '2018-10-08T14:05:45 +0000' as some docs do) to epoch milliseconds."""
    if not isinstance(value, str) or not value:
        raise RecordError(f"timestamp {value!r} is not an ISO-8601 string")
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        text = text.replace(" +", "+").replace(" -", "-")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise RecordError(f"timestamp {value!r} is not ISO-8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def normalize_address(value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError(f"recipient {value!r} is not a string")
    text = value.strip()
    if text.endswith(">") and "<" in text:
        text = text[text.rindex("<") + 1 : -1].strip()
    if "@" not in text or len(text) > 320:
        raise RecordError(f"recipient {value[:80]!r} is not an email address")
    return text.lower()


def _first_tag(tags: dict[str, Any], name: str) -> str | None:
    values = tags.get(name)
    if isinstance(values, list) and values and isinstance(values[0], str):
        return values[0]
    if isinstance(values, str):
        return values
    return None


def _clip(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"


def _object(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"'{key}' is {type(value).__name__}, expected an object")
    return value


def _recipient_list(items: Any, what: str) -> list[tuple[str, dict[str, Any]]]:
    """[(address, per-recipient object)] from a list of strings or of {'emailAddress': ...} objects."""
    if not isinstance(items, list):
        raise RecordError(f"'{what}' is not a list")
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, dict):
            out.append((normalize_address(item.get("emailAddress")), item))
        else:
            out.append((normalize_address(item), {}))
    return out


def _join(*parts: Any) -> str:
    return _clip(" ".join(p for p in parts if isinstance(p, str) and p))


def _name(value: Any) -> str | None:
    """A type or sub-type name: a non-empty string, else None (wrong types must not crash the lookup)."""
    return value if isinstance(value, str) and value else None


def ses_record_events(record: dict[str, Any], campaign_tag: str = "campaign") -> list[Event]:
    """Events of one SES record (event publishing or notification). Raises RecordError with the reason."""
    event_type = record.get("eventType", record.get("notificationType"))
    if not isinstance(event_type, str) or not event_type:
        raise RecordError("no eventType or notificationType")
    mail = record.get("mail")
    if not isinstance(mail, dict):
        raise RecordError(f"{event_type} record has no 'mail' object")
    message_id = mail.get("messageId")
    if not isinstance(message_id, str) or not message_id.strip():
        raise RecordError(f"{event_type} record has no mail.messageId")
    message_id = message_id.strip()
    send_ms = parse_time(mail.get("timestamp"))
    destination = _recipient_list(mail.get("destination", []), "mail.destination")

    tags = mail.get("tags")
    if tags is not None and not isinstance(tags, dict):
        raise RecordError("mail.tags is not an object")
    if tags is None:
        campaign = "" if event_type == "Send" else None
        config_set = from_domain = outgoing_ip = None
    else:
        campaign = _first_tag(tags, campaign_tag) or ""
        config_set = _first_tag(tags, "ses:configuration-set")
        from_domain = _first_tag(tags, "ses:from-domain")
        outgoing_ip = _first_tag(tags, "ses:outgoing-ip")
    if from_domain is None and isinstance(mail.get("source"), str) and "@" in mail["source"]:
        from_domain = mail["source"].rstrip(">").rpartition("@")[2].strip().lower() or None

    detail = ""
    flags = 0
    expires_ms = 0
    body_key = _BODY_KEYS.get(event_type)
    if body_key is None:
        body_key = event_type[:1].lower() + event_type[1:].replace(" ", "")
    body = _object(record, body_key)
    per_recipient: list[tuple[str, dict[str, Any]]]
    if event_type == "Delivery":
        delivered = body.get("recipients")
        if delivered is None or delivered == mail.get("destination"):  # the usual case: no second normalization
            per_recipient = destination
        else:
            per_recipient = _recipient_list(delivered, "delivery.recipients")
    elif event_type == "Bounce":
        per_recipient = _recipient_list(body.get("bouncedRecipients", []), "bounce.bouncedRecipients")
        sub_type = _name(body.get("bounceSubType"))
        detail = _clip(f"{_name(body.get('bounceType')) or '?'}/{sub_type or '?'}")
        if sub_type in SUPPRESSION_SUBTYPES:
            flags = FLAG_SUPPRESSED
    elif event_type == "Complaint":
        per_recipient = _recipient_list(body.get("complainedRecipients", []), "complaint.complainedRecipients")
        sub_type = _name(body.get("complaintSubType"))
        detail = _join(_name(body.get("complaintFeedbackType")) or "complaint", sub_type)
        flags = FLAG_SUPPRESSED if sub_type == "OnAccountSuppressionList" else FLAG_COMPLAINED
    elif event_type == "DeliveryDelay":
        per_recipient = _recipient_list(body.get("delayedRecipients", []), "deliveryDelay.delayedRecipients")
        detail = _clip(_name(body.get("delayType")) or "Undetermined")
        if body.get("expirationTime"):
            expires_ms = parse_time(body["expirationTime"])
    elif event_type == "Reject":
        per_recipient = destination
        detail = _clip(body.get("reason"))
    elif event_type == "Rendering Failure":
        per_recipient = destination
        detail = _join(body.get("templateName"), body.get("errorMessage"))
    else:  # Send, Open, Click, Subscription and types SES adds later: they concern the whole message
        per_recipient = destination
    if not per_recipient:
        raise RecordError(f"{event_type} record names no recipients")

    time_value = body.get("timestamp") or body.get("arrivalDate") if event_type != "Send" else None
    time_ms = parse_time(time_value) if time_value else send_ms

    events = []
    for address, item in per_recipient:
        recipient_detail = detail
        if item and event_type in ("Bounce", "DeliveryDelay"):
            recipient_detail = _join(detail, item.get("status"), item.get("diagnosticCode"))
        events.append(Event(message_id, address, event_type, time_ms, send_ms, campaign, config_set,
                            from_domain, outgoing_ip, recipient_detail, flags, expires_ms))
    return events


def _loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"not JSON ({exc.args[0].split(':')[0]})") from None


def parse_payload(payload: Any, campaign_tag: str = "campaign", parsed: Parsed | None = None, *,
                  enveloped: bool = False) -> Parsed:
    """Unwrap any envelope of DESIGN §2 into events; never raises for bad input (reasons go to `rejected`).

    `enveloped`: the payload is the Message of an SNS envelope already (an SQS body with raw delivery), so text
    that is not JSON is another publisher's message on the same topic: ignored, not rejected."""
    out = parsed if parsed is not None else Parsed()
    try:
        _unwrap(payload, campaign_tag, out, depth=1 if enveloped else 0)
    except RecordError as exc:
        out.rejected.append(str(exc))
    return out


def _unwrap(payload: Any, campaign_tag: str, out: Parsed, depth: int) -> None:
    if depth > 6:
        raise RecordError("envelopes nested too deeply")
    if isinstance(payload, bytes) and payload[:1] == b"{":  # the common case (file lines, bodies): no decode
        with contextlib.suppress(orjson.JSONDecodeError):  # invalid UTF-8 or JSON: the text path decides below
            payload = orjson.loads(payload)
    if isinstance(payload, _TEXT_TYPES):
        text = payload.strip() if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace").strip()
        if text == SES_TOPIC_VALIDATION:
            out.ignored += 1
            return
        if not text and depth == 0:
            raise RecordError("empty: no SES record or envelope")
        if not text.startswith(("{", "[")):
            if depth > 0:  # an envelope carrying something else than SES (a test message, another service)
                out.ignored += 1
                return
            raise RecordError("not JSON (expected an SES record or an envelope)")
        payload = _loads(text)
    if isinstance(payload, list):
        for item in payload:
            _each(item, campaign_tag, out, depth)
        return
    if not isinstance(payload, dict):
        raise RecordError(f"a JSON {type(payload).__name__} is not an SES record or envelope")

    if "eventType" in payload or "notificationType" in payload:
        if _name(payload.get("notificationType")) in _IGNORED_NOTIFICATIONS:
            out.ignored += 1
            return
        out.records += 1
        out.events.extend(ses_record_events(payload, campaign_tag))
    elif isinstance(payload.get("Records"), list):  # Lambda batch: SNS or SQS records
        for record in payload["Records"]:
            _each(record, campaign_tag, out, depth)
    elif "Sns" in payload and isinstance(payload["Sns"], dict):
        _unwrap(payload["Sns"], campaign_tag, out, depth + 1)
    elif payload.get("eventSource") == "aws:sqs" and "body" in payload:
        _unwrap(payload["body"], campaign_tag, out, depth + 1)
    elif ("Type" in payload and "Message" in payload) or _name(payload.get("Type")) in _SNS_CONTROL:
        if payload.get("Type") != "Notification":
            out.ignored += 1  # subscription confirmations reach /sns, not files or queues
            return
        _unwrap(payload["Message"], campaign_tag, out, depth + 1)
    elif isinstance(payload.get("headers"), dict) and "body" in payload:  # a captured HTTP request
        _unwrap(payload["body"], campaign_tag, out, depth + 1)
    elif "detail-type" in payload and "source" in payload:
        if payload.get("source") != "aws.ses":
            out.ignored += 1
            return
        _unwrap(payload.get("detail"), campaign_tag, out, depth + 1)
    elif isinstance(payload.get("records"), list) and ("deliveryStreamArn" in payload or "invocationId" in payload):
        for record in payload["records"]:
            _each_firehose(record, campaign_tag, out, depth)
    else:
        keys = ", ".join(sorted(payload)[:5]) or "none"
        raise RecordError(f"not an SES record or a known envelope (keys: {keys})")


_SNS_CONTROL = {"SubscriptionConfirmation", "UnsubscribeConfirmation"}
_TEXT_TYPES = (bytes, bytearray, memoryview, str)  # a tuple: `bytes | str` would build a union on every call


def _each(item: Any, campaign_tag: str, out: Parsed, depth: int) -> None:
    try:
        _unwrap(item, campaign_tag, out, depth + 1)
    except RecordError as exc:
        out.rejected.append(str(exc))


def _each_firehose(record: Any, campaign_tag: str, out: Parsed, depth: int) -> None:
    try:
        if not isinstance(record, dict) or not isinstance(record.get("data"), str):
            raise RecordError("Firehose record has no base64 'data'")
        try:
            data = base64.b64decode(record["data"], validate=True)
        except (binascii.Error, ValueError):
            raise RecordError("Firehose record 'data' is not base64") from None
        _unwrap(data, campaign_tag, out, depth + 1)
    except RecordError as exc:
        out.rejected.append(str(exc))


def parse_many(payloads: Iterable[Any], campaign_tag: str = "campaign") -> Parsed:
    out = Parsed()
    for payload in payloads:
        parse_payload(payload, campaign_tag, out)
    return out
