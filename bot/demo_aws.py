"""Put a simulated `AwsState` into the local AWS endpoint (`bot.aws_emulator.LocalAws`), through the same APIs
a real account is configured with (boto3 over HTTP: SESv2, SNS, CloudWatch) plus the emulator's controls for what
no public API sets (the account's GetAccount figures, suppression-list dates, DKIM status).

The emulator answers for the account moto picks for a request: run it with ``MOTO_ACCOUNT_ID`` set to the state's
account (``local_aws_environment`` does), so topic ARNs in the state match the topics created here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from bot.aws import CONFIG_SET_DIMENSION, SES_NAMESPACE
from bot.aws_emulator import LocalAws
from bot.simulate import AwsState

METRIC_BATCH = 500
# AWS SDK variables that would send the demo to a real account or make it read local profiles.
_SDK_OVERRIDES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                  "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


@contextmanager
def local_aws_environment(endpoint_url: str, region: str, account_id: str) -> Iterator[None]:
    """Point the AWS SDK of this process at `endpoint_url` with throw-away credentials (and moto at `account_id`);
    restore the environment afterwards."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AWS_") or k == "MOTO_ACCOUNT_ID"}
    try:
        for name in list(os.environ):
            if name in _SDK_OVERRIDES or name.startswith("AWS_ENDPOINT_URL_"):
                del os.environ[name]
        os.environ.update({
            "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true",
            "MOTO_ACCOUNT_ID": account_id,
        })
        yield
    finally:
        for name in list(os.environ):
            if name.startswith("AWS_") or name == "MOTO_ACCOUNT_ID":
                del os.environ[name]
        os.environ.update(saved)


def load_aws_state(aws: LocalAws, state: AwsState) -> list[str]:
    """Configure the running emulator as `state` says. Returns the Easy DKIM tokens the emulator issued for the
    identity (publish those in DNS: they are what GetEmailIdentity reports)."""
    session = boto3.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name=state.region)
    clients = {name: session.client(name, endpoint_url=aws.endpoint_url) for name in ("sesv2", "sns", "cloudwatch")}
    try:
        _account(aws, state)
        _topics(aws, clients["sns"], state)
        _configuration_sets(clients["sesv2"], state)
        tokens = _identity(aws, clients["sesv2"], state)
        _metrics(clients["cloudwatch"], state)
    finally:
        for client in clients.values():
            client.close()
    return tokens


def _account(aws: LocalAws, state: AwsState) -> None:
    account, quota = state.account, state.account.get("quota", {})
    aws.set_account(
        sending_enabled=bool(account.get("sending_enabled", True)),
        enforcement_status=account.get("enforcement_status") or "HEALTHY",
        production_access=bool(account.get("production_access_enabled", True)),
        max_24h=quota.get("max_24_hour_send"), max_send_rate=quota.get("max_send_rate"),
        sent_last_24h=quota.get("sent_last_24_hours"),
        suppressed_reasons=list(account.get("suppressed_reasons") or []),
        region=state.region, account_id=state.account_id,
    )
    for email, reason, when in state.suppressed_destinations:
        aws.suppress(email, reason, last_update=when, region=state.region, account_id=state.account_id)


def _topics(aws: LocalAws, sns: Any, state: AwsState) -> None:
    for arn, topic in state.sns_topics.items():
        created = sns.create_topic(Name=arn.rsplit(":", 1)[1])["TopicArn"]
        for sub in topic.get("subscriptions", []):
            sns.subscribe(TopicArn=created, Protocol=sub["protocol"], Endpoint=sub["endpoint"])
            if sub.get("status") == "Confirmed" and sub["protocol"] in ("http", "https", "email", "email-json"):
                aws.confirm_subscription(created, sub["endpoint"], region=state.region, account_id=state.account_id)


def _configuration_sets(sesv2: Any, state: AwsState) -> None:
    for name, cs in state.configuration_sets.items():
        delivery: dict[str, Any] = {"TlsPolicy": cs.get("tls_policy") or "OPTIONAL"}
        if cs.get("max_delivery_seconds") is not None:
            delivery["MaxDeliverySeconds"] = int(cs["max_delivery_seconds"])
        sesv2.create_configuration_set(
            ConfigurationSetName=name,
            SendingOptions={"SendingEnabled": bool(cs.get("sending_enabled", True))},
            DeliveryOptions=delivery,
            ReputationOptions={"ReputationMetricsEnabled": bool(cs.get("reputation_metrics_enabled", False))},
        )
        if cs.get("suppressed_reasons") is not None:
            sesv2.put_configuration_set_suppression_options(ConfigurationSetName=name,
                                                             SuppressedReasons=list(cs["suppressed_reasons"]))
        for dest in cs.get("event_destinations", []):
            target: dict[str, Any] = {"Enabled": bool(dest.get("enabled", True)),
                                      "MatchingEventTypes": list(dest["matching_types"])}
            if dest.get("sns_topic_arn"):
                target["SnsDestination"] = {"TopicArn": dest["sns_topic_arn"]}
            sesv2.create_configuration_set_event_destination(ConfigurationSetName=name,
                                                             EventDestinationName=dest["name"],
                                                             EventDestination=target)


def _identity(aws: LocalAws, sesv2: Any, state: AwsState) -> list[str]:
    ident = state.identity
    domain = ident["domain"]
    created = sesv2.create_email_identity(EmailIdentity=domain)
    if ident.get("mail_from_domain"):
        sesv2.put_email_identity_mail_from_attributes(EmailIdentity=domain, MailFromDomain=ident["mail_from_domain"],
                                                      BehaviorOnMxFailure="USE_DEFAULT_VALUE")
    aws.set_identity(domain, dkim_status=ident.get("dkim_status"), verified=ident.get("verified"),
                     mail_from_status=ident.get("mail_from_status"), region=state.region,
                     account_id=state.account_id)
    return list(created.get("DkimAttributes", {}).get("Tokens", []))


def _metrics(cloudwatch: Any, state: AwsState) -> None:
    data = [
        {"MetricName": metric, "Dimensions": [{"Name": CONFIG_SET_DIMENSION, "Value": cs}], "Timestamp": when,
         "Value": float(value), "Unit": "Count"}
        for cs, metrics in state.cloudwatch.items() for metric, points in metrics.items() for when, value in points
    ]
    for start in range(0, len(data), METRIC_BATCH):
        cloudwatch.put_metric_data(Namespace=SES_NAMESPACE, MetricData=data[start : start + METRIC_BATCH])
