"""The project's own SES record builders for tests (shapes as SES publishes them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def ts(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message_id(n: int) -> str:
    return f"0100019{n:09x}-{n:08x}-1a2b-3c4d-5e6f-{n:012x}-000000"


def mail(mid: str, recipients: list[str], sent: datetime, *, campaign: str | None = "spring-042",
         config_set: str = "marketing", tags: bool = True, outgoing_ip: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timestamp": ts(sent),
        "source": "news@shop.example",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/shop.example",
        "sendingAccountId": "123456789012",
        "messageId": mid,
        "destination": recipients,
        "headersTruncated": False,
        "commonHeaders": {"from": ["news@shop.example"], "to": recipients, "subject": "Spring sale"},
    }
    if tags:
        t: dict[str, list[str]] = {
            "ses:configuration-set": [config_set],
            "ses:from-domain": ["shop.example"],
            "ses:source-ip": ["192.0.2.10"],
            "ses:caller-identity": ["sender"],
        }
        if campaign is not None:
            t["campaign"] = [campaign]
        if outgoing_ip:
            t["ses:outgoing-ip"] = [outgoing_ip]
        body["tags"] = t
    return body


def send(mid: str, recipients: list[str], sent: datetime = T0, **kw: Any) -> dict[str, Any]:
    return {"eventType": "Send", "mail": mail(mid, recipients, sent, **kw), "send": {}}


def delivery(mid: str, recipients: list[str], sent: datetime = T0, after: float = 3, **kw: Any) -> dict[str, Any]:
    kw.setdefault("outgoing_ip", "54.240.8.1")
    return {
        "eventType": "Delivery",
        "mail": mail(mid, recipients, sent, **kw),
        "delivery": {"timestamp": ts(sent + timedelta(seconds=after)), "processingTimeMillis": int(after * 1000),
                     "recipients": recipients, "smtpResponse": "250 2.0.0 OK", "reportingMTA": "a1.smtp-out.example"},
    }


def bounce(mid: str, recipients: list[str], sent: datetime = T0, after: float = 2, *, bounce_type: str = "Permanent",
           sub_type: str = "General", **kw: Any) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "mail": mail(mid, recipients, sent, **kw),
        "bounce": {"bounceType": bounce_type, "bounceSubType": sub_type,
                   "timestamp": ts(sent + timedelta(seconds=after)), "feedbackId": f"fb-{mid}",
                   "bouncedRecipients": [{"emailAddress": r, "status": "5.1.1", "action": "failed",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown"} for r in recipients]},
    }


def complaint(mid: str, recipients: list[str], sent: datetime = T0, after: float = 600, *,
              sub_type: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "mail": mail(mid, recipients, sent, **kw),
        "complaint": {"timestamp": ts(sent + timedelta(seconds=after)), "complaintSubType": sub_type,
                      "complaintFeedbackType": "abuse", "feedbackId": f"c-{mid}",
                      "complainedRecipients": [{"emailAddress": r} for r in recipients]},
    }


def delay(mid: str, recipients: list[str], sent: datetime = T0, after: float = 300, *,
          delay_type: str = "TransientCommunicationFailure", expires_after: float = 14 * 3600, **kw: Any) -> dict:
    return {
        "eventType": "DeliveryDelay",
        "mail": mail(mid, recipients, sent, **kw),
        "deliveryDelay": {"timestamp": ts(sent + timedelta(seconds=after)), "delayType": delay_type,
                          "expirationTime": ts(sent + timedelta(seconds=expires_after)),
                          "delayedRecipients": [{"emailAddress": r, "status": "4.4.1",
                                                 "diagnosticCode": "smtp; 421 4.4.1 try later"} for r in recipients]},
    }


def simple(event_type: str, mid: str, recipients: list[str], sent: datetime = T0, after: float = 60,
           **kw: Any) -> dict[str, Any]:
    """Open, Click, Reject, Rendering Failure and types SES may add later."""
    record: dict[str, Any] = {"eventType": event_type, "mail": mail(mid, recipients, sent, **kw)}
    key = {"Rendering Failure": "failure"}.get(event_type, event_type[:1].lower() + event_type[1:])
    record[key] = {"timestamp": ts(sent + timedelta(seconds=after))}
    if event_type == "Reject":
        record[key] = {"reason": "Bad content"}
    if event_type == "Rendering Failure":
        record[key] = {"templateName": "spring", "errorMessage": "Attribute 'name' is not present"}
    return record


def identity_notification(record: dict[str, Any]) -> dict[str, Any]:
    """The identity-notification form of an event-publishing record: notificationType, no tags."""
    out = {k: v for k, v in record.items() if k != "eventType"}
    out["notificationType"] = record["eventType"]
    out["mail"] = {k: v for k, v in record["mail"].items() if k != "tags"}
    return out


def sns_envelope(record: dict[str, Any] | str, topic: str = "arn:aws:sns:us-east-1:123456789012:ses-events") -> dict:
    import json

    return {"Type": "Notification", "MessageId": "11111111-2222-3333-4444-555555555555", "TopicArn": topic,
            "Message": record if isinstance(record, str) else json.dumps(record), "Timestamp": ts(T0),
            "SignatureVersion": "1", "Signature": "x", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem"}
