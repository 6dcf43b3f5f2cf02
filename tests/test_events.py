import base64
import json

import pytest

from bot.events import FLAG_COMPLAINED, FLAG_SUPPRESSED, SES_TOPIC_VALIDATION, parse_payload, parse_time
from tests import factory as f

MID = f.message_id(1)


def test_send_with_tags_names_campaign_and_config_set():
    parsed = parse_payload(json.dumps(f.send(MID, ["A@Example.NET"])))
    assert parsed.rejected == []
    (event,) = parsed.events
    assert (event.type, event.recipient, event.campaign, event.config_set) == ("Send", "a@example.net",
                                                                               "spring-042", "marketing")
    assert event.time_ms == event.send_ms == parse_time(f.ts(f.T0))
    assert event.domain == "example.net"


def test_campaign_tag_name_is_configurable():
    record = f.send(MID, ["a@x.test"])
    record["mail"]["tags"]["cid"] = ["autumn"]
    assert parse_payload(record, campaign_tag="cid").events[0].campaign == "autumn"
    assert parse_payload(record, campaign_tag="missing").events[0].campaign == ""


def test_identity_notification_has_no_campaign_until_its_send_is_known():
    (event,) = parse_payload(f.identity_notification(f.bounce(MID, ["a@x.test"]))).events
    assert event.campaign is None and event.type == "Bounce"


def test_multi_recipient_partial_bounce_yields_one_event_per_bounced_recipient():
    record = f.bounce(MID, ["a@x.test"])
    record["mail"]["destination"] = ["a@x.test", "b@x.test"]
    assert [e.recipient for e in parse_payload(record).events] == ["a@x.test"]


def test_suppression_bounce_and_complaint_flags():
    (suppressed,) = parse_payload(f.bounce(MID, ["a@x.test"], sub_type="OnAccountSuppressionList")).events
    (global_list,) = parse_payload(f.bounce(MID, ["a@x.test"], sub_type="Suppressed")).events
    (general,) = parse_payload(f.bounce(MID, ["a@x.test"])).events
    (real,) = parse_payload(f.complaint(MID, ["a@x.test"])).events
    (listed,) = parse_payload(f.complaint(MID, ["a@x.test"], sub_type="OnAccountSuppressionList")).events
    assert suppressed.flags == global_list.flags == FLAG_SUPPRESSED
    assert general.flags == 0
    assert real.flags == FLAG_COMPLAINED and listed.flags == FLAG_SUPPRESSED
    assert "Permanent/OnAccountSuppressionList" in suppressed.detail


def test_delivery_delay_keeps_type_and_expiry():
    (event,) = parse_payload(f.delay(MID, ["a@x.test"], delay_type="MailboxFull", expires_after=3600)).events
    assert event.detail.startswith("MailboxFull 4.4.1")
    assert event.expires_ms == event.send_ms + 3_600_000


def test_reject_and_rendering_failure_apply_to_every_recipient():
    for kind in ("Reject", "Rendering Failure"):
        events = parse_payload(f.simple(kind, MID, ["a@x.test", "b@x.test"])).events
        assert [e.type for e in events] == [kind, kind]


def test_unknown_event_type_is_kept():
    (event,) = parse_payload(f.simple("FutureThing", MID, ["a@x.test"], after=5)).events
    assert event.type == "FutureThing" and event.time_ms == event.send_ms + 5000


@pytest.mark.parametrize("wrap", ["sns", "sns-lambda", "sqs-lambda", "eventbridge", "firehose", "list"])
def test_envelopes_unwrap_to_the_same_event(wrap):
    record = f.delivery(MID, ["a@x.test"])
    inner = json.dumps(record)
    payload = {
        "sns": f.sns_envelope(record),
        "sns-lambda": {"Records": [{"EventSource": "aws:sns", "Sns": f.sns_envelope(record) | {"Subject": None}}]},
        "sqs-lambda": {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(f.sns_envelope(record))}]},
        "eventbridge": {"version": "0", "source": "aws.ses", "detail-type": "Email Delivered", "detail": record},
        "firehose": {"invocationId": "i", "deliveryStreamArn": "arn:x",
                     "records": [{"recordId": "1", "data": base64.b64encode(inner.encode()).decode()}]},
        "list": [record],
    }[wrap]
    parsed = parse_payload(json.dumps(payload))
    assert parsed.rejected == [] and [(e.type, e.recipient) for e in parsed.events] == [("Delivery", "a@x.test")]


def test_topic_validation_message_is_ignored_not_rejected():
    for payload in (SES_TOPIC_VALIDATION, f.sns_envelope(SES_TOPIC_VALIDATION)):
        parsed = parse_payload(payload if isinstance(payload, str) else json.dumps(payload))
        assert (parsed.ignored, parsed.rejected, parsed.events) == (1, [], [])


def test_other_sources_are_ignored():
    parsed = parse_payload({"source": "aws.s3", "detail-type": "Object Created", "detail": {}})
    assert parsed.ignored == 1 and not parsed.rejected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"plain text", "not JSON"),
        (b"42", "not JSON"),
        ({"eventType": "Send"}, "no 'mail' object"),
        ({"eventType": "Send", "mail": {"timestamp": "2026-01-01T00:00:00Z"}}, "no mail.messageId"),
        ({"eventType": "Send", "mail": {"messageId": "m", "timestamp": "yesterday"}}, "not ISO-8601"),
        ({"eventType": "Send", "mail": {"messageId": "m", "timestamp": "2026-01-01T00:00:00Z", "destination": 7}},
         "not a list"),
        ({"eventType": "Send", "mail": {"messageId": "m", "timestamp": "2026-01-01T00:00:00Z",
                                        "destination": ["nobody"]}}, "not an email address"),
        ({"eventType": "Bounce", "mail": {"messageId": "m", "timestamp": "2026-01-01T00:00:00Z"}, "bounce": "x"},
         "expected an object"),
        ({"hello": "world"}, "not an SES record"),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(payload, reason):
    parsed = parse_payload(payload)
    assert parsed.events == [] and len(parsed.rejected) == 1 and reason in parsed.rejected[0]


def test_one_bad_record_in_a_batch_does_not_stop_the_others():
    batch = {"Records": [{"eventSource": "aws:sqs", "body": "{broken"},
                         {"eventSource": "aws:sqs", "body": json.dumps(f.send(MID, ["a@x.test"]))}]}
    parsed = parse_payload(batch)
    assert len(parsed.events) == 1 and len(parsed.rejected) == 1


def test_timestamps_in_documented_variants():
    assert parse_time("2018-10-08T14:05:45 +0000") == parse_time("2018-10-08T14:05:45Z")
    assert parse_time("2016-10-14T05:02:16.645Z") % 1000 == 645
