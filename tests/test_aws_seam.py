"""bot.aws.SesAccount through boto3 over HTTP to the local AWS endpoint (responses checked against the API shapes)."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bot.aws import (
    CONFIG_SET_DIMENSION,
    DEFAULT_MAX_DELIVERY_SECONDS,
    SES_METRICS,
    AwsCallError,
    AwsUnavailable,
    SesAccount,
)
from bot.aws_emulator import LocalAws
from tests.aws_fixtures import register_shape_validation

TOPIC_NAME = "ses-events"


@pytest.fixture
def sesv2(aws_session: boto3.Session) -> Any:
    return aws_session.client("sesv2")


def count_calls(session: boto3.Session) -> list[str]:
    calls: list[str] = []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    return calls


# ---- suppression -----------------------------------------------------------------------------------------------------


def test_suppressed_destinations_reads_every_page(aws_session: boto3.Session, local_aws: LocalAws) -> None:
    calls = count_calls(aws_session)
    account = SesAccount(aws_session)
    now = datetime.now(UTC)
    for i in range(11):
        local_aws.suppress(f"u{i:02}@example.net", "COMPLAINT" if i == 3 else "BOUNCE",
                           last_update=now - timedelta(days=i))

    everything = account.suppressed_destinations(page_size=4)
    assert sorted(d["email"] for d in everything) == [f"u{i:02}@example.net" for i in range(11)]
    assert calls.count("ListSuppressedDestinations") == 3
    u03 = next(d for d in everything if d["email"] == "u03@example.net")
    assert u03["reason"] == "COMPLAINT"
    assert abs(u03["last_update"] - (now - timedelta(days=3))) < timedelta(seconds=1)

    recent = account.suppressed_destinations(now - timedelta(days=4, hours=12), page_size=2)
    assert sorted(d["email"] for d in recent) == ["u00@example.net", "u01@example.net", "u02@example.net",
                                                  "u03@example.net", "u04@example.net"]
    assert [d["email"] for d in account.suppressed_destinations(reasons=["COMPLAINT"])] == ["u03@example.net"]


def test_suppressed_destination_found_missing_and_cached(aws_session: boto3.Session, sesv2: Any) -> None:
    calls = count_calls(aws_session)
    account = SesAccount(aws_session, cache_ttl=60)
    sesv2.put_suppressed_destination(EmailAddress="jane@example.net", Reason="BOUNCE")

    found = account.suppressed_destination("jane@example.net")
    assert found is not None
    assert (found["email"], found["reason"]) == ("jane@example.net", "BOUNCE")
    assert isinstance(found["last_update"], datetime)
    assert account.suppressed_destination("bob@example.net") is None

    assert account.suppressed_destination("Jane@Example.net") == found
    assert account.suppressed_destination("bob@example.net") is None
    assert calls.count("GetSuppressedDestination") == 2  # the repeats came from the cache

    uncached = SesAccount(aws_session, cache_ttl=0)
    sesv2.delete_suppressed_destination(EmailAddress="jane@example.net")
    assert uncached.suppressed_destination("jane@example.net") is None


# ---- account and configuration set -----------------------------------------------------------------------------------


def test_account_with_sending_disabled(ses_account: SesAccount, sesv2: Any, local_aws: LocalAws) -> None:
    healthy = ses_account.account()
    assert healthy["sending_enabled"] is True
    assert healthy["enforcement_status"] == "HEALTHY"

    sesv2.put_account_sending_attributes(SendingEnabled=False)
    sesv2.put_account_suppression_attributes(SuppressedReasons=["BOUNCE"])
    local_aws.set_account(enforcement_status="PROBATION", production_access=False, max_24h=200, sent_last_24h=198,
                          max_send_rate=1)
    assert ses_account.account() == {
        "sending_enabled": False,
        "enforcement_status": "PROBATION",
        "production_access": False,
        "max_24h": 200.0,
        "sent_last_24h": 198.0,
        "max_send_rate": 1.0,
        "suppressed_reasons": ["BOUNCE"],
    }


def test_configuration_set_paused_with_delivery_window(ses_account: SesAccount, sesv2: Any) -> None:
    sesv2.create_configuration_set(
        ConfigurationSetName="marketing",
        SendingOptions={"SendingEnabled": False},
        DeliveryOptions={"MaxDeliverySeconds": 900, "TlsPolicy": "REQUIRE"},
    )
    assert ses_account.configuration_set("marketing") == {
        "name": "marketing",
        "sending_enabled": False,
        "max_delivery_seconds": 900,
        "tls_policy": "REQUIRE",
        "sending_pool": None,
        "suppressed_reasons": None,
        "reputation_metrics_enabled": False,
    }
    sesv2.put_configuration_set_suppression_options(ConfigurationSetName="marketing", SuppressedReasons=[])
    assert ses_account.configuration_set("marketing")["suppressed_reasons"] == []  # type: ignore[index]

    sesv2.create_configuration_set(ConfigurationSetName="plain")
    plain = ses_account.configuration_set("plain")
    assert plain is not None
    assert plain["sending_enabled"] is True
    assert plain["max_delivery_seconds"] is None
    assert DEFAULT_MAX_DELIVERY_SECONDS == 50_400

    assert ses_account.configuration_set("missing") is None


def test_event_destinations_missing_bounce(ses_account: SesAccount, sesv2: Any) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    sesv2.create_configuration_set_event_destination(
        ConfigurationSetName="marketing", EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "COMPLAINT"],
                          "SnsDestination": {"TopicArn": topic}},
    )
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/default"
    sesv2.create_configuration_set_event_destination(
        ConfigurationSetName="marketing", EventDestinationName="to-bus",
        EventDestination={"Enabled": False, "MatchingEventTypes": ["BOUNCE"],
                          "EventBridgeDestination": {"EventBusArn": bus}},
    )
    destinations = ses_account.event_destinations("marketing")
    assert destinations == [
        {"name": "to-sns", "enabled": True, "matching_types": ["SEND", "DELIVERY", "COMPLAINT"], "kind": "sns",
         "sns_topic_arn": topic, "target": topic},
        {"name": "to-bus", "enabled": False, "matching_types": ["BOUNCE"], "kind": "eventbridge",
         "sns_topic_arn": None, "target": bus},
    ]
    enabled_types = {t for d in destinations if d["enabled"] for t in d["matching_types"]}
    assert "BOUNCE" not in enabled_types

    sesv2.create_configuration_set(ConfigurationSetName="silent")
    assert ses_account.event_destinations("silent") == []
    assert ses_account.event_destinations("missing") is None


def test_identity_dkim_and_mail_from(ses_account: SesAccount, sesv2: Any, local_aws: LocalAws) -> None:
    tokens = sesv2.create_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Tokens"]
    sesv2.put_email_identity_mail_from_attributes(EmailIdentity="example.com", MailFromDomain="mail.example.com")
    local_aws.set_identity("example.com", dkim_status="PENDING")

    assert ses_account.identity("example.com") == {
        "identity": "example.com",
        "type": "DOMAIN",
        "verified_for_sending": True,
        "verification_status": "SUCCESS",
        "dkim_signing_enabled": True,
        "dkim_status": "PENDING",
        "dkim_tokens": tokens,
        "dkim_origin": "AWS_SES",
        "mail_from_domain": "mail.example.com",
        "mail_from_status": "SUCCESS",
        "mail_from_behavior": "USE_DEFAULT_VALUE",
    }
    assert len(tokens) == 3
    assert ses_account.identity("missing.example") is None

    sesv2.create_email_identity(EmailIdentity="plain.example")
    plain = ses_account.identity("plain.example")
    assert plain is not None
    assert plain["mail_from_domain"] is None


# ---- SNS -------------------------------------------------------------------------------------------------------------


def test_sns_subscriptions_pending_and_confirmed(
    ses_account: SesAccount, aws_session: boto3.Session, local_aws: LocalAws
) -> None:
    sns = aws_session.client("sns")
    sqs = aws_session.client("sqs")
    topic = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://bot.example/sns")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    subs = {s["protocol"]: s for s in ses_account.sns_subscriptions(topic) or []}
    assert subs["https"] == {"subscription_arn": None, "protocol": "https", "endpoint": "https://bot.example/sns",
                             "confirmed": False}
    assert subs["sqs"]["confirmed"] is True
    assert subs["sqs"]["subscription_arn"] is not None

    arn = local_aws.confirm_subscription(topic, "https://bot.example/sns")
    subs = {s["protocol"]: s for s in ses_account.sns_subscriptions(topic) or []}
    assert subs["https"]["confirmed"] is True
    assert subs["https"]["subscription_arn"] == arn

    assert ses_account.sns_subscriptions(topic + "-missing") is None


# ---- CloudWatch ------------------------------------------------------------------------------------------------------


def test_cloudwatch_counts_use_the_exact_dimension(ses_account: SesAccount, aws_session: boto3.Session) -> None:
    cloudwatch = aws_session.client("cloudwatch")
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(hours=2), now

    def put(namespace: str, metric: str, value: float, dimensions: list[dict[str, str]], when: datetime) -> None:
        cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
            {"MetricName": metric, "Dimensions": dimensions, "Value": value, "Timestamp": when, "Unit": "Count"}])

    marketing = [{"Name": CONFIG_SET_DIMENSION, "Value": "marketing"}]
    put("AWS/SES", "Send", 40, marketing, now - timedelta(minutes=90))
    put("AWS/SES", "Send", 60, marketing, now - timedelta(minutes=10))
    put("AWS/SES", "Delivery", 70, marketing, now - timedelta(minutes=9))
    put("AWS/SES", "Bounce", 4, marketing, now - timedelta(minutes=8))
    put("AWS/SES", "DeliveryDelay", 2, marketing, now - timedelta(minutes=8))
    # not this configuration set, or not only it, or not SES's namespace, or outside the window:
    put("AWS/SES", "Send", 500, [{"Name": CONFIG_SET_DIMENSION, "Value": "transactional"}], now - timedelta(minutes=5))
    put("AWS/SES", "Send", 7000, [], now - timedelta(minutes=5))
    put("AWS/SES", "Send", 900, [*marketing, {"Name": "ses:from-domain", "Value": "example.com"}],
        now - timedelta(minutes=5))
    put("MyApp", "Send", 30_000, marketing, now - timedelta(minutes=5))
    put("AWS/SES", "Send", 11, marketing, now - timedelta(hours=3))

    counts = ses_account.cloudwatch_counts("marketing", start, end)
    assert counts == {"Send": 100, "Delivery": 70, "Bounce": 4, "Complaint": 0, "Reject": 0, "RenderingFailure": 0,
                      "DeliveryDelay": 2}
    assert tuple(counts) == SES_METRICS
    assert ses_account.cloudwatch_counts("transactional", start, end)["Send"] == 500
    assert ses_account.cloudwatch_counts("nothing", start, end) == dict.fromkeys(SES_METRICS, 0)
    with pytest.raises(ValueError):
        ses_account.cloudwatch_counts("marketing", end, start)


# ---- errors ----------------------------------------------------------------------------------------------------------


def test_throttling_is_an_aws_call_error(ses_account: SesAccount, local_aws: LocalAws) -> None:
    local_aws.fail_next("GetAccount", "TooManyRequestsException", times=5)
    with pytest.raises(AwsCallError) as exc:
        ses_account.account()
    assert exc.value.code == "TooManyRequestsException"
    assert exc.value.throttled
    assert exc.value.operation == "GetAccount"
    assert "TooManyRequestsException" in exc.value.reason


def test_one_throttle_is_retried(ses_account: SesAccount, local_aws: LocalAws) -> None:
    local_aws.fail_next("GetMetricData", "Throttling", times=1)
    start = datetime.now(UTC) - timedelta(hours=1)
    assert ses_account.cloudwatch_counts("marketing", start, datetime.now(UTC))["Send"] == 0


def test_access_denied_is_an_aws_call_error(ses_account: SesAccount, local_aws: LocalAws) -> None:
    local_aws.fail_next("GetConfigurationSet", "AccessDeniedException")
    with pytest.raises(AwsCallError) as exc:
        ses_account.configuration_set("marketing")
    assert exc.value.code == "AccessDeniedException"
    assert exc.value.access_denied
    assert not exc.value.throttled

    local_aws.fail_next("ListSubscriptionsByTopic", "AuthorizationError")
    with pytest.raises(AwsCallError) as exc:
        ses_account.sns_subscriptions("arn:aws:sns:us-east-1:123456789012:ses-events")
    assert exc.value.access_denied


def test_other_client_errors_carry_their_code(ses_account: SesAccount, local_aws: LocalAws) -> None:
    local_aws.fail_next("GetEmailIdentity", "BadRequestException", message="Invalid identity")
    with pytest.raises(AwsCallError) as exc:
        ses_account.identity("example.com")
    assert exc.value.code == "BadRequestException"
    assert "Invalid identity" in exc.value.reason
    # a server error is retried once, then reported
    local_aws.fail_next("GetSuppressedDestination", "InternalFailure", times=2)
    with pytest.raises(AwsCallError) as exc:
        ses_account.suppressed_destination("jane@example.net")
    assert exc.value.code == "InternalFailure"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_endpoint_is_unavailable_quickly(local_aws: LocalAws) -> None:
    account = SesAccount(boto3.Session(), endpoint_url=f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(AwsUnavailable) as exc:
        account.account()
    assert time.monotonic() - started < 5
    assert "unreachable" in exc.value.reason


def test_unanswered_endpoint_times_out(local_aws: LocalAws) -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        account = SesAccount(boto3.Session(), endpoint_url=url,
                             config=Config(read_timeout=0.3, retries={"total_max_attempts": 1}))
        started = time.monotonic()
        with pytest.raises((AwsCallError, AwsUnavailable)):
            account.account()
        assert time.monotonic() - started < 5


def test_no_credentials_is_unavailable(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    account = SesAccount(boto3.Session())
    with pytest.raises(AwsUnavailable) as exc:
        account.account()
    assert exc.value.reason == "sesv2 GetAccount: no AWS credentials"


def test_no_region_is_unavailable(local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(AwsUnavailable, match="no AWS region"):
        SesAccount(boto3.Session()).account()


def test_errors_and_logs_never_carry_the_secret(
    local_aws: LocalAws, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "wJalrXUtnFEMI-not-a-real-secret"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    session = boto3.Session()
    register_shape_validation(session.events)
    account = SesAccount(session)
    caplog.set_level(logging.DEBUG, logger="bot")
    account.account()
    local_aws.fail_next("GetAccount", "SignatureDoesNotMatch", status=403, times=3)
    with pytest.raises(AwsCallError) as exc:
        account.account()
    assert exc.value.access_denied
    assert secret not in exc.value.reason
    assert caplog.records
    assert all(secret not in record.getMessage() for record in caplog.records)
