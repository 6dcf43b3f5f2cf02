"""Load a simulated campaign's AWS state (`bot.simulate.AwsState`) into the local AWS endpoint
(`bot.aws_emulator.LocalAws`) through the public APIs, so `sesbot why` reads it exactly as it reads real AWS.

Used by the tests and the demo. The emulator issues its own Easy DKIM tokens and account id, so the loader returns
what it created (`LoadedAws`) and `zones_with_tokens` rewrites the simulated DNS zones to match those tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3

from bot.aws_emulator import LocalAws
from bot.simulate import DKIM_TOKENS, AwsState
from checks.reputation import SES_SENDING_RANGES

CLOUDWATCH_BATCH = 500


@dataclass
class LoadedAws:
    dkim_tokens: list[str]
    topic_arns: dict[str, str] = field(default_factory=dict)  # simulated ARN -> ARN in the emulator


def _clients(local_aws: LocalAws, session: boto3.Session | None, region: str) -> tuple[Any, Any, Any]:
    session = session or boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                       region_name=region)
    url = local_aws.endpoint_url
    return (session.client("sesv2", endpoint_url=url, region_name=region),
            session.client("sns", endpoint_url=url, region_name=region),
            session.client("cloudwatch", endpoint_url=url, region_name=region))


def load_aws_state(state: AwsState, local_aws: LocalAws, session: boto3.Session | None = None) -> LoadedAws:
    """Create the identity, account settings, suppression list, configuration sets with their event
    destinations, SNS topics and subscriptions, and the CloudWatch counts of `state` in the emulator."""
    region = state.region
    sesv2, sns, cloudwatch = _clients(local_aws, session, region)

    identity = state.identity
    domain = identity["domain"]
    sesv2.create_email_identity(EmailIdentity=domain)
    if identity.get("mail_from_domain"):
        sesv2.put_email_identity_mail_from_attributes(EmailIdentity=domain,
                                                      MailFromDomain=identity["mail_from_domain"])
    local_aws.set_identity(domain, dkim_status=identity.get("dkim_status") or "SUCCESS",
                           verified=bool(identity.get("verified", True)),
                           mail_from_status=identity.get("mail_from_status") or "SUCCESS", region=region)
    tokens = list(sesv2.get_email_identity(EmailIdentity=domain)["DkimAttributes"].get("Tokens", []))

    account = state.account
    sesv2.put_account_sending_attributes(SendingEnabled=bool(account.get("sending_enabled", True)))
    sesv2.put_account_suppression_attributes(SuppressedReasons=list(account.get("suppressed_reasons") or []))
    quota = account.get("quota") or {}
    local_aws.set_account(enforcement_status=account.get("enforcement_status") or "HEALTHY",
                          production_access=bool(account.get("production_access_enabled", True)),
                          max_24h=quota.get("max_24_hour_send"), max_send_rate=quota.get("max_send_rate"),
                          sent_last_24h=quota.get("sent_last_24_hours"), region=region)
    for email, reason, last_update in state.suppressed_destinations:
        local_aws.suppress(email, reason, last_update=last_update, region=region)

    loaded = LoadedAws(tokens)
    for sim_arn, topic in state.sns_topics.items():
        arn = sns.create_topic(Name=sim_arn.rsplit(":", 1)[1])["TopicArn"]
        loaded.topic_arns[sim_arn] = arn
        for sub in topic.get("subscriptions", []):
            sns.subscribe(TopicArn=arn, Protocol=sub["protocol"], Endpoint=sub["endpoint"])
            if sub.get("status") == "Confirmed" and sub["protocol"] in ("http", "https", "email", "email-json"):
                local_aws.confirm_subscription(arn, sub["endpoint"], region=region)

    for name, cs in state.configuration_sets.items():
        kwargs: dict[str, Any] = {
            "ConfigurationSetName": name,
            "SendingOptions": {"SendingEnabled": bool(cs.get("sending_enabled", True))},
            "ReputationOptions": {"ReputationMetricsEnabled": bool(cs.get("reputation_metrics_enabled", False))},
        }
        delivery: dict[str, Any] = {"TlsPolicy": cs.get("tls_policy") or "OPTIONAL"}
        if cs.get("max_delivery_seconds"):
            delivery["MaxDeliverySeconds"] = int(cs["max_delivery_seconds"])
        kwargs["DeliveryOptions"] = delivery
        if cs.get("suppressed_reasons") is not None:
            kwargs["SuppressionOptions"] = {"SuppressedReasons": list(cs["suppressed_reasons"])}
        sesv2.create_configuration_set(**kwargs)
        for dest in cs.get("event_destinations", []):
            definition: dict[str, Any] = {"Enabled": bool(dest.get("enabled", True)),
                                          "MatchingEventTypes": list(dest["matching_types"])}
            if dest.get("sns_topic_arn"):
                topic_arn = loaded.topic_arns.get(dest["sns_topic_arn"])
                if topic_arn is None:  # a topic the state does not list: create it, with no subscription
                    topic_arn = sns.create_topic(Name=dest["sns_topic_arn"].rsplit(":", 1)[1])["TopicArn"]
                    loaded.topic_arns[dest["sns_topic_arn"]] = topic_arn
                definition["SnsDestination"] = {"TopicArn": topic_arn}
            sesv2.create_configuration_set_event_destination(
                ConfigurationSetName=name, EventDestinationName=dest["name"], EventDestination=definition)

    metric_data: list[dict[str, Any]] = []
    for cs_name, metrics in state.cloudwatch.items():
        for metric, points in metrics.items():
            for timestamp, value in points:
                metric_data.append({
                    "MetricName": metric, "Timestamp": timestamp, "Value": float(value), "Unit": "Count",
                    "Dimensions": [{"Name": "ses:configuration-set", "Value": cs_name}],
                })
    for start in range(0, len(metric_data), CLOUDWATCH_BATCH):
        cloudwatch.put_metric_data(Namespace="AWS/SES", MetricData=metric_data[start : start + CLOUDWATCH_BATCH])
    for client in (sesv2, sns, cloudwatch):
        client.close()
    return loaded


# The SPF record that `include:amazonses.com` reaches (its real content), so SPF checks of the simulated domains
# can be completed by a local server that holds only these zones.
AMAZONSES_ZONE = "\n".join((
    "$ORIGIN amazonses.com.",
    "$TTL 300",
    "@\tIN\tSOA\tns1.amazonses.com. hostmaster.amazonses.com. ( 2026030201 3600 600 1209600 300 )",
    "@\tIN\tNS\tns1.amazonses.com.",
    "ns1\tIN\tA\t127.0.0.1",
    '@\tIN\tTXT\t"v=spf1 ' + " ".join(f"ip4:{net}" for net in SES_SENDING_RANGES) + ' -all"',
)) + "\n"


def zones_with_tokens(zones: dict[str, str], tokens: list[str]) -> dict[str, str]:
    """The simulated zones with the simulator's Easy DKIM tokens replaced by `tokens` (the emulator's), plus an
    `amazonses.com` zone holding the SPF record the From domain includes."""
    out = {}
    for zone, text in zones.items():
        for old, new in zip(DKIM_TOKENS, tokens, strict=False):
            text = text.replace(old, new)
        out[zone] = text
    out.setdefault("amazonses.com", AMAZONSES_ZONE)
    return out
