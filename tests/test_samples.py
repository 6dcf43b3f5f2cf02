"""Every public sample in ../shared/samples/ses-events through `parse_payload` and the `Ingestor` into a real Redis.

The folder listing drives the parametrization, so a sample added later is covered by the generic checks at once
(no crash, every input accounted for as events, ignored or rejected with a reason, re-ingest changes nothing).
The tables below pin what each known sample must yield: SES records their recipients, state, campaign and
configuration set; envelopes of other publishers, confirmations and the topic-validation text are ignored;
documentation fragments, header-only captures and LocalStack's placeholder records are rejected with a reason.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.events import parse_payload
from bot.ingest import Ingestor
from bot.store import Store

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "ses-events"
PAYLOAD_SUFFIXES = (".json", ".txt", ".http")
CAMPAIGN_TAG = "myCustomTag1"  # the AWS documentation samples carry this sender tag: it plays the campaign tag
JOINED = "joined-campaign"  # campaign of the Send that arrives after an identity notification

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"sample folder {SAMPLES} is absent "
                                "(the public SES/SNS samples live beside the repository, in ../shared/samples)")


def sample_names() -> list[str]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p.name for p in SAMPLES.iterdir() if p.is_file() and p.suffix in PAYLOAD_SUFFIXES)


def payload_of(name: str) -> tuple[bytes, bool]:
    """(what a sesbot input would receive, enveloped): the body of an .http capture; a .txt is an SQS body with
    raw delivery, i.e. an SNS Message already (see `parse_payload(enveloped=True)`)."""
    data = (SAMPLES / name).read_bytes()
    if name.endswith(".http"):
        data = data.replace(b"\r\n", b"\n")
        _head, _, body = data.partition(b"\n\n")
        return body, False
    return data, name.endswith(".txt")


def ses_record(payload: Any) -> dict[str, Any]:
    """The SES record inside a sample, whatever wraps it (for building the Send that belongs to it)."""
    if isinstance(payload, bytes | str):
        payload = json.loads(payload)
    if isinstance(payload, dict):
        if "mail" in payload and ("eventType" in payload or "notificationType" in payload):
            return payload
        for key in ("Records", "Sns", "Message", "detail", "body"):
            if key in payload:
                try:
                    return ses_record(payload[key])
                except LookupError:
                    continue
    if isinstance(payload, list):
        for item in payload:
            try:
                return ses_record(item)
            except LookupError:
                continue
    raise LookupError("no SES record in this sample")


def send_for(record: dict[str, Any], tags: dict[str, list[str]] | None) -> dict[str, Any]:
    """The Send event of the same message: same mail object; tags as given (an identity notification has none)."""
    mail = dict(record["mail"])
    if tags is not None:
        mail["tags"] = tags
    return {"eventType": "Send", "mail": mail, "send": {}}


@dataclass(frozen=True)
class Expect:
    type: str
    alone: dict[str, str]  # recipient -> state with only this sample ingested
    with_send: dict[str, str]  # recipient -> state once the message's Send is in too
    campaign: str | None  # None: an identity notification (no tags): waits for its Send
    config_set: str | None = "ConfigSet"

    @property
    def identity(self) -> bool:
        return self.campaign is None


R = "recipient@example.com"
JANE, MARY, RICHARD = "jane@example.com", "mary@example.com", "richard@example.com"
SIM = "@simulator.amazonses.com"


def _outcome(event_type: str, recipient: str, state: str, campaign: str | None, config_set: str | None = "ConfigSet",
             others: tuple[str, ...] = ()) -> Expect:
    """An outcome event alone is `unknown` (no Send yet); with the Send its state, and `others` (recipients of the
    message the event does not name) are send_only."""
    with_send = {recipient: state, **dict.fromkeys(others, "send_only")}
    return Expect(event_type, {recipient: "unknown"}, with_send, campaign, config_set)


def _identity(event_type: str, recipients: dict[str, str], others: tuple[str, ...] = ()) -> Expect:
    return Expect(event_type, dict.fromkeys(recipients, "unknown"),
                  {**recipients, **dict.fromkeys(others, "send_only")}, None, None)


SES_SAMPLES: dict[str, Expect] = {
    # configuration-set event publishing, bare records from the SES developer guide
    "aws-ses-docs__Send__1.json": Expect("Send", {R: "send_only"}, {R: "send_only"}, "myCustomTagValue1"),
    "aws-ses-docs__Bounce__1.json": _outcome("Bounce", R, "bounced", ""),
    "aws-ses-docs__Click__1.json": _outcome("Click", R, "send_only", "myCustomValue1"),
    "aws-ses-docs__Complaint__1.json": _outcome("Complaint", R, "complained", ""),
    "aws-ses-docs__DeliveryDelay__1.json": _outcome("DeliveryDelay", R, "delayed", ""),
    "aws-ses-docs__Delivery__1.json": _outcome("Delivery", R, "delivered", "myCustomTagValue1"),
    "aws-ses-docs__Open__1.json": _outcome("Open", R, "send_only", "myCustomValue1"),
    "aws-ses-docs__Reject__1.json": _outcome("Reject", "sender@example.com", "rejected", "myCustomTagValue1"),
    "aws-ses-docs__RenderingFailure__1.json": _outcome("Rendering Failure", R, "rendering_failed", ""),
    "aws-ses-docs__Subscription__1.json": _outcome("Subscription", R, "send_only", "myCustomValue1"),
    # identity notifications (no tags): joined to their Send when it arrives
    "aws-ses-docs__notification-Bounce__1.json": _identity("Bounce", {JANE: "bounced"}, (MARY, RICHARD)),
    "aws-ses-docs__notification-Bounce__2.json": _identity("Bounce", {JANE: "bounced", RICHARD: "bounced"}, (MARY,)),
    "aws-ses-docs__notification-Complaint__1.json": _identity("Complaint", {RICHARD: "complained"}, (JANE, MARY)),
    "aws-ses-docs__notification-Complaint__2.json": _identity("Complaint", {RICHARD: "complained"}, (JANE, MARY)),
    "aws-ses-docs__notification-Delivery__1.json": _identity("Delivery", {JANE: "delivered"}),
    # real captures: SNS HTTP bodies, SNS-to-Lambda records, bare notifications from the mailbox simulator
    "django-ses__sns-http-Notification-eventpub-Complaint-signed__1.json":
        _outcome("Complaint", "complaint" + SIM, "complained", "", "test-set"),
    "django-ses__sns-http-Notification-identity-Bounce-signed-no-subject__1.json":
        _identity("Bounce", {"bounce" + SIM: "bounced"}),
    "fx-private-relay__notification-Bounce-simulator-bounce__1.json":
        _identity("Bounce", {"bounce" + SIM: "bounced"}),
    "fx-private-relay__notification-Bounce-simulator-ooto-transient__1.json":
        _identity("Bounce", {"ooto" + SIM: "bounced"}),
    # the simulator's suppression-list address bounces Permanent/General ("blacklisted address"), not Suppressed
    "fx-private-relay__notification-Bounce-simulator-suppressionlist__1.json":
        _identity("Bounce", {"suppressionlist" + SIM: "bounced"}),
    "fx-private-relay__notification-Complaint-simulator__1.json":
        _identity("Complaint", {"complaint" + SIM: "complained"}),
    "fx-private-relay__notification-Delivery-simulator-complaint__1.json":
        _identity("Delivery", {"complaint" + SIM: "delivered"}),
    "fx-private-relay__notification-Delivery-simulator-ooto__1.json":
        _identity("Delivery", {"ooto" + SIM: "delivered"}),
    "fx-private-relay__notification-Delivery-simulator-success__1.json":
        _identity("Delivery", {"success" + SIM: "delivered"}),
    "fx-private-relay__sns-http-Notification-identity-Bounce-OnAccountSuppressionList__1.json":
        _identity("Bounce", {"relayuser@test.com": "suppressed"}),
    "janis-commerce-aws-listener-test__sns-lambda-Notification-identity-Bounce-partial-recipients__1.json":
        _identity("Bounce", {"joe.doe@example.com": "bounced"}, ("john.doe@example.com",)),
    "lambda-local__sns-lambda-Notification-identity-Delivery__1.json":
        _identity("Delivery", {"jeff@amazon.com": "delivered"}),
    "powertools__sns-lambda-Notification-eventpub-Send__1.json":
        Expect("Send", {"success" + SIM: "send_only"}, {"success" + SIM: "send_only"}, "",
               "my-first-configuration-set"),
}

_FRAGMENT = "not an SES record or a known envelope"
REJECTED_SAMPLES: dict[str, str] = {  # name -> part of the reason
    "aws-ses-docs__fragment-bounce-object__1.json": _FRAGMENT,
    "aws-ses-docs__fragment-bouncedRecipient-object__1.json": _FRAGMENT,
    "aws-ses-docs__fragment-complainedRecipient-object__1.json": _FRAGMENT,
    "aws-ses-docs__fragment-complaint-object__1.json": _FRAGMENT,
    "aws-ses-docs__fragment-delivery-object__1.json": _FRAGMENT,
    "aws-ses-docs__fragment-mail-object__1.json": _FRAGMENT,
    "aws-sns-docs__http-Notification-headers-only__1.http": "empty",  # the capture has headers and no body
    "localstack-snapshot__sns-http-Notification-raw-headers__1.json": _FRAGMENT,  # HTTP headers only
    # LocalStack replaced the send time by the word 'timestamp': no send time, no record
    **{f"localstack-snapshot__sns-Notification-eventpub-{kind}__{n}.json": "timestamp 'timestamp' is not ISO-8601"
       for kind, n in (("Delivery-SendEmail", 1), ("Delivery-SendRawEmail", 3), ("Delivery-SendTemplatedEmail", 2),
                       ("Send-SendEmail", 1), ("Send-SendRawEmail", 3), ("Send-SendTemplatedEmail", 2))},
}

IGNORED_SAMPLES: tuple[str, ...] = (
    # SNS messages of other publishers ("Hello world"), in HTTP bodies, Lambda records and SQS bodies
    *(f"aws-php-sns-message-validator__sns-{kind}.json" for kind in (
        "http-Notification-sigv1-no-subject-2017__2", "http-Notification-sigv1-no-subject-2022__1",
        "http-Notification-sigv1-with-subject-2017__1", "http-Notification-sigv1-with-subject-2022__3",
        "http-Notification-sigv2-no-subject-2022__2", "http-Notification-sigv2-with-subject-2022__4",
        "lambda-Notification-sigv1-subject-null__3", "lambda-Notification-sigv2-subject-null__4")),
    "aws-sdk-java-v2__sns-http-Notification-sigv1-no-subject__1.json",
    "aws-sdk-java-v2__sns-http-Notification-sigv1-with-subject__1.json",
    "aws-sdk-java-v2__sns-http-Notification-sigv2-no-subject__1.json",
    "aws-sdk-java__sns-http-Notification-sigv1-with-subject-messageattributes__1.json",
    "aws-sns-docs__http-Notification__1.http",
    "aws-sns-docs__http-Notification__1.json",
    "aws-sns-docs__sqs-body-nonraw__1.json",
    "aws-sns-docs__sqs-body-raw__1.txt",
    "localstack-snapshot__sns-http-Notification-with-headers__1.json",
    "powertools__sqs-body-sns-nonraw__1.json",
    "powertools__sqs-body-sns-raw__1.json",
    # other AWS sources: S3 through EventBridge, a Firehose transformation record (and its decoded data)
    "powertools__eventbridge-envelope-s3__1.json",
    "powertools__sqs-body-eventbridge-envelope__1.json",
    "powertools__firehose-transform-sns-record__1.json",
    "powertools__firehose-transform-sns-record__1.decoded-data.json",
    # SNS subscription control messages and the SES topic-validation text
    "aws-sdk-java-v2__sns-http-SubscriptionConfirmation-sigv1__1.json",
    "aws-sdk-java-v2__sns-http-UnsubscribeConfirmation-sigv2__1.json",
    "aws-sns-docs__http-SubscriptionConfirmation__1.http",
    "aws-sns-docs__http-SubscriptionConfirmation__1.json",
    "aws-sns-docs__http-UnsubscribeConfirmation__1.http",
    "aws-sns-docs__http-UnsubscribeConfirmation__1.json",
    "fx-private-relay__sns-http-SubscriptionConfirmation-signed__1.json",
    "localstack-snapshot__sns-http-SubscriptionConfirmation-with-headers__1.json",
    "localstack-snapshot__sns-http-UnsubscribeConfirmation-with-headers__1.json",
    "localstack-snapshot__sns-Notification-ses-topic-validation__1.json",
)


@pytest.fixture
def store(redis_url: str) -> Iterator[Store]:
    client = redis.Redis.from_url(redis_url)
    yield Store(client)
    client.close()


def ingest(store: Store, *payloads: Any, enveloped: bool = False):
    return Ingestor(store, CAMPAIGN_TAG).ingest_payloads(payloads, where="sample", enveloped=enveloped)


def states(store: Store, message_id: str) -> dict[str, str]:
    record = store.message(message_id)
    assert record is not None, f"message {message_id} not in the store"
    return {r.recipient: r.state for r in record.recipients}


# --------------------------------------------------------------------------- every file, generic checks


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_is_handled_without_a_crash_and_re_ingest_changes_nothing(name: str, store: Store) -> None:
    payload, enveloped = payload_of(name)
    parsed = parse_payload(payload, CAMPAIGN_TAG, enveloped=enveloped)
    assert parsed.events or parsed.ignored or parsed.rejected, "the sample was neither read, ignored nor rejected"
    assert all(isinstance(reason, str) and reason.strip() for reason in parsed.rejected)

    first = ingest(store, payload, enveloped=enveloped)
    assert (first.read, first.ignored, first.rejected) == (1, parsed.ignored, len(parsed.rejected))
    assert first.ingested + first.duplicates + first.waiting == len(parsed.events)
    message_ids = sorted({e.message_id for e in parsed.events})
    before = {mid: store.message(mid) for mid in message_ids}
    for event in parsed.events:
        record = before[event.message_id]
        assert record is not None
        assert event.recipient in {r.recipient for r in record.recipients}

    again = ingest(store, payload, enveloped=enveloped)
    assert again.ingested == 0
    assert {mid: store.message(mid) for mid in message_ids} == before


def test_every_sample_has_an_expectation_here() -> None:
    """A new sample is covered by the generic test at once; this names the ones still without a precise one."""
    known = set(SES_SAMPLES) | set(REJECTED_SAMPLES) | set(IGNORED_SAMPLES)
    assert not known - set(sample_names()), "the tables name samples that are no longer in the folder"
    assert not set(sample_names()) - known, "new samples: add what they must yield to the tables above"


# --------------------------------------------------------------------------- SES samples, precisely


@pytest.mark.parametrize("name", sorted(SES_SAMPLES))
def test_ses_sample_yields_its_recipients_state_and_campaign(name: str, store: Store) -> None:
    expect = SES_SAMPLES[name]
    payload, enveloped = payload_of(name)
    parsed = parse_payload(payload, CAMPAIGN_TAG, enveloped=enveloped)
    assert parsed.rejected == [] and parsed.ignored == 0
    assert {e.type for e in parsed.events} == {expect.type}
    assert [e.recipient for e in parsed.events] == list(expect.alone)
    assert {e.campaign for e in parsed.events} == {expect.campaign}
    assert {e.config_set for e in parsed.events} == {expect.config_set}
    (message_id,) = {e.message_id for e in parsed.events}

    summary = ingest(store, payload, enveloped=enveloped)
    assert summary.rejected == 0
    assert states(store, message_id) == expect.alone
    alone = store.message(message_id)
    assert alone is not None and alone.campaign == expect.campaign
    if expect.identity:
        assert summary.waiting == len(parsed.events), "an identity notification waits for its Send"

    record = ses_record(payload)
    tags = {CAMPAIGN_TAG: [JOINED], "ses:configuration-set": ["joined-set"]} if expect.identity else None
    summary = ingest(store, send_for(record, tags))
    assert summary.rejected == 0
    assert states(store, message_id) == expect.with_send
    joined = store.message(message_id)
    assert joined is not None
    campaign = JOINED if expect.identity else expect.campaign
    assert joined.campaign == campaign
    assert joined.configuration_set == ("joined-set" if expect.identity else expect.config_set)
    summary_of_campaign = store.campaign_summary(campaign)
    assert summary_of_campaign is not None
    assert {s: n for s, n in summary_of_campaign.totals.items() if n} == Counter(expect.with_send.values())


def test_identity_notification_joins_its_send_whichever_arrives_first(store: Store) -> None:
    name = "janis-commerce-aws-listener-test__sns-lambda-Notification-identity-Bounce-partial-recipients__1.json"
    payload, _ = payload_of(name)
    send = send_for(ses_record(payload), {CAMPAIGN_TAG: [JOINED]})
    ingest(store, send)
    ingest(store, payload)
    first_send = store.message(ses_record(payload)["mail"]["messageId"])
    store.client.flushall()
    ingest(store, payload)
    ingest(store, send)
    first_bounce = store.message(ses_record(payload)["mail"]["messageId"])
    assert first_send == first_bounce
    assert first_send is not None and first_send.campaign == JOINED
    assert {r.recipient: r.state for r in first_send.recipients} == {"joe.doe@example.com": "bounced",
                                                                     "john.doe@example.com": "send_only"}


@pytest.mark.parametrize(("sample", "path", "sub_type"), [
    ("fx-private-relay__sns-http-Notification-identity-Bounce-OnAccountSuppressionList__1.json",
     ("bounce", "bounceSubType"), "OnAccountSuppressionList"),
    ("fx-private-relay__sns-http-Notification-identity-Bounce-OnAccountSuppressionList__1.json",
     ("bounce", "bounceSubType"), "Suppressed"),
    ("django-ses__sns-http-Notification-eventpub-Complaint-signed__1.json",
     ("complaint", "complaintSubType"), "OnAccountSuppressionList"),
])
def test_suppression_sub_types_make_the_recipient_suppressed(store: Store, sample: str, path: tuple[str, str],
                                                             sub_type: str) -> None:
    record = copy.deepcopy(ses_record(payload_of(sample)[0]))
    record[path[0]][path[1]] = sub_type
    ingest(store, record, send_for(record, record["mail"].get("tags") or {CAMPAIGN_TAG: [JOINED]}))
    assert set(states(store, record["mail"]["messageId"]).values()) == {"suppressed"}


# --------------------------------------------------------------------------- ignored and rejected samples


@pytest.mark.parametrize("name", IGNORED_SAMPLES)
def test_other_publishers_confirmations_and_topic_validation_are_ignored(name: str, store: Store) -> None:
    payload, enveloped = payload_of(name)
    summary = ingest(store, payload, enveloped=enveloped)
    assert (summary.ignored, summary.rejected, summary.ingested, summary.waiting) == (1, 0, 0, 0), summary.reasons
    assert store.campaigns() == []


@pytest.mark.parametrize("name", sorted(REJECTED_SAMPLES))
def test_fragments_and_placeholder_records_are_rejected_with_a_reason(name: str, store: Store) -> None:
    payload, enveloped = payload_of(name)
    summary = ingest(store, payload, enveloped=enveloped)
    assert (summary.rejected, summary.ingested, summary.waiting) == (1, 0, 0)
    (reason,) = summary.reasons
    assert REJECTED_SAMPLES[name] in reason
    assert store.campaigns() == []


# --------------------------------------------------------------------------- wrong types in real records

WRONG_VALUES: tuple[Any, ...] = (None, 7, 2.5, True, "", "not-a-date", [], [None], ["x"], {}, {"a": 1}, [{}])


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))


def _replaced(record: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(record)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


@pytest.mark.parametrize("name", [n for n in sorted(SES_SAMPLES) if "headers" not in n])
def test_any_value_of_the_wrong_type_is_read_or_rejected_never_a_crash(name: str, store: Store) -> None:
    """Every value of the SES record (headers aside) replaced by values of other types, wrapped in SNS; whatever
    the parser accepts, the store accepts too."""
    record = ses_record(payload_of(name)[0])
    record = {**record, "mail": {k: v for k, v in record["mail"].items() if k not in ("headers", "commonHeaders")}}
    variants = [_replaced(record, path, value) for path in _leaf_paths(record) for value in WRONG_VALUES]
    envelopes = [{"Type": "Notification", "MessageId": str(i), "Message": json.dumps(v)}
                 for i, v in enumerate(variants)]
    for envelope in envelopes:
        parsed = parse_payload(envelope, CAMPAIGN_TAG)
        assert parsed.events or parsed.rejected or parsed.ignored
    summary = ingest(store, *envelopes)
    assert summary.read == len(envelopes)
    assert summary.rejected > 0 and summary.ingested + summary.waiting > 0
