"""The local AWS endpoint through boto3 over HTTP: the SESv2, SNS and CloudWatch behaviour sesbot relies on.

Every response here goes through the output-shape check of tests/aws_fixtures.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.aws_emulator import LocalAws
from tests.aws_fixtures import ResponseShapeError, ShapeValidator

TOPIC = "ses-events"


@pytest.fixture
def sesv2(aws_session: boto3.Session) -> Any:
    return aws_session.client("sesv2")


def error_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


# ---- suppression list ------------------------------------------------------------------------------------------------


def test_suppressed_destination_put_get_delete(sesv2: Any) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    sesv2.put_suppressed_destination(EmailAddress="jane@example.net", Reason="BOUNCE")

    got = sesv2.get_suppressed_destination(EmailAddress="jane@example.net")["SuppressedDestination"]
    assert got["EmailAddress"] == "jane@example.net"
    assert got["Reason"] == "BOUNCE"
    assert got["LastUpdateTime"] >= before

    sesv2.put_suppressed_destination(EmailAddress="jane@example.net", Reason="COMPLAINT")
    assert sesv2.get_suppressed_destination(EmailAddress="jane@example.net")["SuppressedDestination"]["Reason"] == (
        "COMPLAINT"
    )

    sesv2.delete_suppressed_destination(EmailAddress="jane@example.net")
    with pytest.raises(ClientError) as exc:
        sesv2.get_suppressed_destination(EmailAddress="jane@example.net")
    assert error_of(exc) == ("NotFoundException", 404)
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.delete_suppressed_destination(EmailAddress="jane@example.net")


def test_suppressed_destination_rejects_unknown_reason(sesv2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sesv2.put_suppressed_destination(EmailAddress="jane@example.net", Reason="UNSUBSCRIBE")
    assert error_of(exc) == ("BadRequestException", 400)


def test_list_suppressed_destinations_pages(sesv2: Any) -> None:
    emails = [f"user{i}@example.net" for i in range(7)]
    for i, email in enumerate(emails):
        sesv2.put_suppressed_destination(EmailAddress=email, Reason="BOUNCE" if i % 2 else "COMPLAINT")

    seen: list[str] = []
    pages = 0
    kwargs: dict[str, Any] = {"PageSize": 3}
    while True:
        page = sesv2.list_suppressed_destinations(**kwargs)
        pages += 1
        assert len(page["SuppressedDestinationSummaries"]) <= 3
        seen += [s["EmailAddress"] for s in page["SuppressedDestinationSummaries"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pages == 3
    assert sorted(seen) == sorted(emails)
    assert len(set(seen)) == len(seen)

    bounces = sesv2.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]
    assert sorted(s["EmailAddress"] for s in bounces) == [e for i, e in enumerate(emails) if i % 2]


def test_list_suppressed_destinations_date_filter(sesv2: Any, local_aws: LocalAws) -> None:
    now = datetime.now(UTC)
    local_aws.suppress("old@example.net", "BOUNCE", last_update=now - timedelta(days=30))
    local_aws.suppress("week@example.net", "COMPLAINT", last_update=now - timedelta(days=7))
    sesv2.put_suppressed_destination(EmailAddress="new@example.net", Reason="BOUNCE")

    def listed(**kwargs: Any) -> list[str]:
        return sorted(s["EmailAddress"] for s in sesv2.list_suppressed_destinations(**kwargs)[
            "SuppressedDestinationSummaries"])

    assert listed() == ["new@example.net", "old@example.net", "week@example.net"]
    assert listed(StartDate=now - timedelta(days=10)) == ["new@example.net", "week@example.net"]
    assert listed(EndDate=now - timedelta(days=10)) == ["old@example.net"]
    assert listed(StartDate=now - timedelta(days=10), EndDate=now - timedelta(days=1)) == ["week@example.net"]


def test_list_suppressed_destinations_bad_token(sesv2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sesv2.list_suppressed_destinations(NextToken="not-a-token")
    assert error_of(exc)[0] == "InvalidNextTokenException"


# ---- account ---------------------------------------------------------------------------------------------------------


def test_get_account_defaults_and_sending_disabled(sesv2: Any, local_aws: LocalAws) -> None:
    account = sesv2.get_account()
    assert account["SendingEnabled"] is True
    assert account["EnforcementStatus"] == "HEALTHY"
    assert account["ProductionAccessEnabled"] is True
    assert account["SuppressionAttributes"]["SuppressedReasons"] == ["BOUNCE", "COMPLAINT"]

    sesv2.put_account_sending_attributes(SendingEnabled=False)
    sesv2.put_account_suppression_attributes(SuppressedReasons=["COMPLAINT"])
    local_aws.set_account(enforcement_status="SHUTDOWN", max_24h=200, sent_last_24h=150, max_send_rate=1)

    account = sesv2.get_account()
    assert account["SendingEnabled"] is False
    assert account["EnforcementStatus"] == "SHUTDOWN"
    assert account["SuppressionAttributes"]["SuppressedReasons"] == ["COMPLAINT"]
    assert account["SendQuota"] == {"Max24HourSend": 200.0, "MaxSendRate": 1.0, "SentLast24Hours": 150.0}

    sesv2.put_account_sending_attributes(SendingEnabled=True)
    assert sesv2.get_account()["SendingEnabled"] is True


def test_reset_forgets_layer_and_moto_state(sesv2: Any, local_aws: LocalAws) -> None:
    sesv2.put_account_sending_attributes(SendingEnabled=False)
    sesv2.put_suppressed_destination(EmailAddress="jane@example.net", Reason="BOUNCE")
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    local_aws.reset()
    assert sesv2.get_account()["SendingEnabled"] is True
    assert sesv2.list_suppressed_destinations()["SuppressedDestinationSummaries"] == []
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_configuration_set(ConfigurationSetName="marketing")


# ---- configuration sets ----------------------------------------------------------------------------------------------


def test_configuration_set_defaults(sesv2: Any) -> None:
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    got = sesv2.get_configuration_set(ConfigurationSetName="marketing")
    assert got["ConfigurationSetName"] == "marketing"
    assert got["SendingOptions"] == {"SendingEnabled": True}  # moto says False
    assert "MaxDeliverySeconds" not in got["DeliveryOptions"]
    assert "SuppressionOptions" not in got


def test_configuration_set_paused_with_delivery_window(sesv2: Any) -> None:
    sesv2.create_configuration_set(
        ConfigurationSetName="marketing",
        SendingOptions={"SendingEnabled": False},
        DeliveryOptions={"MaxDeliverySeconds": 600, "TlsPolicy": "REQUIRE"},
        SuppressionOptions={"SuppressedReasons": ["BOUNCE"]},
    )
    got = sesv2.get_configuration_set(ConfigurationSetName="marketing")
    assert got["SendingOptions"]["SendingEnabled"] is False
    assert got["DeliveryOptions"]["MaxDeliverySeconds"] == 600
    assert got["DeliveryOptions"]["TlsPolicy"] == "REQUIRE"
    assert got["SuppressionOptions"]["SuppressedReasons"] == ["BOUNCE"]

    sesv2.put_configuration_set_sending_options(ConfigurationSetName="marketing", SendingEnabled=True)
    sesv2.put_configuration_set_delivery_options(ConfigurationSetName="marketing", MaxDeliverySeconds=900)
    sesv2.put_configuration_set_suppression_options(ConfigurationSetName="marketing", SuppressedReasons=[])
    sesv2.put_configuration_set_reputation_options(ConfigurationSetName="marketing", ReputationMetricsEnabled=True)
    got = sesv2.get_configuration_set(ConfigurationSetName="marketing")
    assert got["SendingOptions"]["SendingEnabled"] is True
    assert got["DeliveryOptions"]["MaxDeliverySeconds"] == 900
    assert got["SuppressionOptions"]["SuppressedReasons"] == []
    assert got["ReputationOptions"]["ReputationMetricsEnabled"] is True


def test_configuration_set_errors(sesv2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sesv2.get_configuration_set(ConfigurationSetName="missing")
    assert error_of(exc) == ("NotFoundException", 404)
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.put_configuration_set_sending_options(ConfigurationSetName="missing", SendingEnabled=True)
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.delete_configuration_set(ConfigurationSetName="missing")  # moto: 500
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    with pytest.raises(ClientError) as exc:
        sesv2.put_configuration_set_delivery_options(ConfigurationSetName="marketing", MaxDeliverySeconds=90_000)
    assert error_of(exc) == ("BadRequestException", 400)


# ---- event destinations ----------------------------------------------------------------------------------------------


def test_event_destinations_crud(sesv2: Any) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:ses-events"
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    sesv2.create_configuration_set_event_destination(
        ConfigurationSetName="marketing",
        EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY"], "SnsDestination": {
            "TopicArn": topic}},
    )
    sesv2.create_configuration_set_event_destination(
        ConfigurationSetName="marketing",
        EventDestinationName="to-cw",
        EventDestination={
            "MatchingEventTypes": ["SEND", "BOUNCE"],
            "CloudWatchDestination": {"DimensionConfigurations": [{
                "DimensionName": "ses:configuration-set", "DimensionValueSource": "MESSAGE_TAG",
                "DefaultDimensionValue": "none"}]},
        },
    )
    destinations = sesv2.get_configuration_set_event_destinations(ConfigurationSetName="marketing")[
        "EventDestinations"]
    by_name = {d["Name"]: d for d in destinations}
    assert by_name["to-sns"]["Enabled"] is True
    assert by_name["to-sns"]["MatchingEventTypes"] == ["SEND", "DELIVERY"]
    assert "BOUNCE" not in by_name["to-sns"]["MatchingEventTypes"]
    assert by_name["to-sns"]["SnsDestination"] == {"TopicArn": topic}
    assert by_name["to-cw"]["Enabled"] is False  # Enabled left out

    with pytest.raises(ClientError) as exc:
        sesv2.create_configuration_set_event_destination(
            ConfigurationSetName="marketing", EventDestinationName="to-sns",
            EventDestination={"MatchingEventTypes": ["SEND"], "SnsDestination": {"TopicArn": topic}},
        )
    assert error_of(exc)[0] == "AlreadyExistsException"

    sesv2.update_configuration_set_event_destination(
        ConfigurationSetName="marketing", EventDestinationName="to-sns",
        EventDestination={"Enabled": True, "MatchingEventTypes": ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT"],
                          "SnsDestination": {"TopicArn": topic}},
    )
    sesv2.delete_configuration_set_event_destination(ConfigurationSetName="marketing", EventDestinationName="to-cw")
    destinations = sesv2.get_configuration_set_event_destinations(ConfigurationSetName="marketing")[
        "EventDestinations"]
    assert [(d["Name"], d["MatchingEventTypes"]) for d in destinations] == [
        ("to-sns", ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT"])]

    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.delete_configuration_set_event_destination(ConfigurationSetName="marketing", EventDestinationName="x")
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_configuration_set_event_destinations(ConfigurationSetName="missing")

    # deleting the configuration set drops its destinations
    sesv2.delete_configuration_set(ConfigurationSetName="marketing")
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    assert sesv2.get_configuration_set_event_destinations(ConfigurationSetName="marketing")["EventDestinations"] == []


def test_event_destination_needs_types_and_one_target(sesv2: Any) -> None:
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    for definition in (
        {"MatchingEventTypes": [], "SnsDestination": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}},
        {"MatchingEventTypes": ["SEND"]},
    ):
        with pytest.raises(sesv2.exceptions.BadRequestException):
            sesv2.create_configuration_set_event_destination(
                ConfigurationSetName="marketing", EventDestinationName="d", EventDestination=definition
            )


# ---- identities ------------------------------------------------------------------------------------------------------


def test_domain_identity_has_dkim_tokens_and_mail_from(sesv2: Any, local_aws: LocalAws) -> None:
    created = sesv2.create_email_identity(EmailIdentity="example.com")
    tokens = created["DkimAttributes"]["Tokens"]
    assert len(tokens) == 3
    assert all(len(t) == 32 and t.isalnum() for t in tokens)

    got = sesv2.get_email_identity(EmailIdentity="example.com")
    assert got["IdentityType"] == "DOMAIN"
    assert got["DkimAttributes"]["Tokens"] == tokens  # stable
    assert got["DkimAttributes"]["SigningEnabled"] is True
    assert got["DkimAttributes"]["Status"] == "SUCCESS"
    assert got["DkimAttributes"]["SigningAttributesOrigin"] == "AWS_SES"
    assert "MailFromAttributes" not in got

    sesv2.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com", MailFromDomain="bounce.example.com", BehaviorOnMxFailure="REJECT_MESSAGE"
    )
    local_aws.set_identity("example.com", dkim_status="FAILED", mail_from_status="PENDING")
    got = sesv2.get_email_identity(EmailIdentity="example.com")
    assert got["DkimAttributes"]["Status"] == "FAILED"
    assert got["MailFromAttributes"] == {
        "MailFromDomain": "bounce.example.com", "MailFromDomainStatus": "PENDING",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }

    sesv2.put_email_identity_dkim_attributes(EmailIdentity="example.com", SigningEnabled=False)
    assert sesv2.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["SigningEnabled"] is False

    with pytest.raises(sesv2.exceptions.BadRequestException):
        sesv2.put_email_identity_mail_from_attributes(EmailIdentity="example.com", MailFromDomain="bounce.other.org")
    with pytest.raises(sesv2.exceptions.NotFoundException):
        sesv2.get_email_identity(EmailIdentity="missing.example")


def test_other_domains_get_other_tokens(sesv2: Any) -> None:
    a = sesv2.create_email_identity(EmailIdentity="a.example")["DkimAttributes"]["Tokens"]
    b = sesv2.create_email_identity(EmailIdentity="b.example")["DkimAttributes"]["Tokens"]
    assert set(a).isdisjoint(b)


# ---- SNS -------------------------------------------------------------------------------------------------------------


def test_sns_https_subscription_pending_until_confirmed(aws_session: boto3.Session, local_aws: LocalAws) -> None:
    sns = aws_session.client("sns")
    sqs = aws_session.client("sqs")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    assert sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://bot.example/sns")[
        "SubscriptionArn"] == "pending confirmation"
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    subs = {s["Protocol"]: s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert subs["https"]["SubscriptionArn"] == "PendingConfirmation"
    assert subs["sqs"]["SubscriptionArn"].startswith(f"{topic}:")

    [pending] = local_aws.pending_subscriptions()
    assert pending["endpoint"] == "https://bot.example/sns"
    with pytest.raises(ClientError) as exc:
        sns.confirm_subscription(TopicArn=topic, Token="wrong")
    assert error_of(exc)[0] == "InvalidParameter"
    arn = sns.confirm_subscription(TopicArn=topic, Token=pending["token"])["SubscriptionArn"]
    assert arn == pending["subscription_arn"]

    subs = {s["Protocol"]: s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]}
    assert subs["https"]["SubscriptionArn"] == arn
    assert local_aws.pending_subscriptions() == []


def test_sns_confirm_by_control_and_attributes(aws_session: boto3.Session, local_aws: LocalAws) -> None:
    sns = aws_session.client("sns")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com", ReturnSubscriptionArn=True)[
        "SubscriptionArn"]
    assert arn.startswith(f"{topic}:")
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "true"
    assert local_aws.confirm_subscription(topic, "ops@example.com") == arn
    assert sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]["PendingConfirmation"] == "false"
    [sub] = sns.list_subscriptions()["Subscriptions"]
    assert sub["SubscriptionArn"] == arn


# ---- CloudWatch ------------------------------------------------------------------------------------------------------


def put_ses_metrics(cloudwatch: Any, when: datetime) -> None:
    def datum(value: float, dimensions: list[dict[str, str]], name: str = "Send") -> dict[str, Any]:
        return {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": when, "Unit": "Count"}

    cs = [{"Name": "ses:configuration-set", "Value": "marketing"}]
    cloudwatch.put_metric_data(Namespace="AWS/SES", MetricData=[
        datum(5, cs),
        datum(3, cs),
        datum(7, [{"Name": "ses:configuration-set", "Value": "transactional"}]),
        datum(100, []),
        datum(1000, [*cs, {"Name": "campaign", "Value": "spring"}]),
        datum(2, cs, name="Delivery"),
    ])
    cloudwatch.put_metric_data(Namespace="MyApp", MetricData=[datum(10_000, cs)])


def test_get_metric_statistics_matches_dimensions_exactly(aws_session: boto3.Session) -> None:
    cloudwatch = aws_session.client("cloudwatch")
    now = datetime.now(UTC).replace(microsecond=0)
    put_ses_metrics(cloudwatch, now - timedelta(minutes=5))

    def total(dimensions: list[dict[str, str]]) -> float:
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/SES", MetricName="Send", Dimensions=dimensions, StartTime=now - timedelta(hours=1),
            EndTime=now + timedelta(minutes=1), Period=3600, Statistics=["Sum", "SampleCount"],
        )["Datapoints"]
        return sum(p["Sum"] for p in points)

    assert total([{"Name": "ses:configuration-set", "Value": "marketing"}]) == 8  # moto: 1008 (and 10008)
    assert total([{"Name": "ses:configuration-set", "Value": "transactional"}]) == 7
    assert total([]) == 100  # moto: everything
    assert total([{"Name": "ses:configuration-set", "Value": "other"}]) == 0


def test_get_metric_data_matches_namespace_and_dimensions(aws_session: boto3.Session) -> None:
    cloudwatch = aws_session.client("cloudwatch")
    now = datetime.now(UTC).replace(microsecond=0)
    put_ses_metrics(cloudwatch, now - timedelta(minutes=5))
    cs = [{"Name": "ses:configuration-set", "Value": "marketing"}]
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "send", "MetricStat": {"Metric": {"Namespace": "AWS/SES", "MetricName": "Send", "Dimensions": cs},
                                          "Period": 3600, "Stat": "Sum"}},
            {"Id": "delivery", "MetricStat": {
                "Metric": {"Namespace": "AWS/SES", "MetricName": "Delivery", "Dimensions": cs},
                "Period": 3600, "Stat": "Sum"}},
            {"Id": "bounce", "MetricStat": {
                "Metric": {"Namespace": "AWS/SES", "MetricName": "Bounce", "Dimensions": cs},
                "Period": 3600, "Stat": "Sum"}},
        ],
        StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=1),
    )
    sums = {r["Id"]: sum(r["Values"]) for r in result["MetricDataResults"]}
    assert sums == {"send": 8, "delivery": 2, "bounce": 0}  # moto counts MyApp's 10,000 as Send


# ---- injected failures and pass-through ------------------------------------------------------------------------------


def test_fail_next_in_each_wire_format(aws_session: boto3.Session, local_aws: LocalAws) -> None:
    from botocore.config import Config

    no_retry = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    sesv2 = aws_session.client("sesv2", config=no_retry)
    sns = aws_session.client("sns", config=no_retry)
    cloudwatch = aws_session.client("cloudwatch", config=no_retry)

    local_aws.fail_next("GetAccount", "TooManyRequestsException")
    with pytest.raises(ClientError) as exc:
        sesv2.get_account()
    assert error_of(exc) == ("TooManyRequestsException", 429)
    assert sesv2.get_account()["SendingEnabled"] is True  # only the next call

    local_aws.fail_next("ListSubscriptionsByTopic", "AuthorizationError")
    with pytest.raises(ClientError) as exc:
        sns.list_subscriptions_by_topic(TopicArn="arn:aws:sns:us-east-1:123456789012:t")
    assert error_of(exc) == ("AuthorizationError", 403)

    local_aws.fail_next("GetMetricData", "Throttling", times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            cloudwatch.get_metric_data(
                MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {"Namespace": "AWS/SES", "MetricName": "Send"},
                                                               "Period": 60, "Stat": "Sum"}}],
                StartTime=datetime.now(UTC) - timedelta(hours=1), EndTime=datetime.now(UTC),
            )
        assert error_of(exc) == ("Throttling", 400)


def test_other_services_pass_through_to_moto(aws_session: boto3.Session) -> None:
    sqs = aws_session.client("sqs")
    url = sqs.create_queue(QueueName="events")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["hello"]
    s3 = aws_session.client("s3")
    s3.create_bucket(Bucket="archive")
    s3.put_object(Bucket="archive", Key="a.ndjson.gz", Body=b"x")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="archive")["Contents"]] == ["a.ndjson.gz"]
    sesv2 = aws_session.client("sesv2")
    sesv2.create_configuration_set(ConfigurationSetName="marketing")
    assert sesv2.list_configuration_sets()["ConfigurationSets"] == ["marketing"]


# ---- the shape check itself ------------------------------------------------------------------------------------------


def test_shape_validator_rejects_what_moto_returns_for_get_configuration_set(aws_session: boto3.Session) -> None:
    """moto's own GetConfigurationSet (TrackingOptions without its required CustomRedirectDomain) would fail."""
    sesv2 = aws_session.client("sesv2")
    model = sesv2.meta.service_model.operation_model("GetConfigurationSet")

    class Http:
        status_code = 200

    moto_answer = {"ConfigurationSetName": "m", "TrackingOptions": {}, "SendingOptions": {"SendingEnabled": False}}
    with pytest.raises(ResponseShapeError, match="CustomRedirectDomain"):
        ShapeValidator()(http_response=Http(), parsed=moto_answer, model=model)
    ShapeValidator()(http_response=Http(), parsed={"ConfigurationSetName": "m"}, model=model)
