"""Scenario simulator: realistic SES configuration-set event-publishing records, plus the AWS and DNS state
that goes with them, for tests, the demo and benchmarks.

Everything is deterministic from a seed. Two entry points:

* :func:`simulate` builds one campaign for a named scenario (:data:`SCENARIOS`): the records sesbot's pipeline
  would have captured by ``now`` (in arrival order, with SNS-style duplicates), the ground truth AWS state
  (suppression list, account, configuration set, identity, SNS subscriptions, CloudWatch per-minute counts of what
  SES really did), NSD zone files for the From domain and the recipient domains, and what the investigation should
  conclude (``expected_cause``, ``expected_totals``).
* :func:`iter_events_fast` streams millions of NDJSON lines from pre-compiled string templates, for ingest
  benchmarks (:func:`write_ndjson` writes them to a file, optionally gzipped).

Facts the simulation follows (DESIGN §2 and the SES documentation):

* Records are the event-publishing shape: ``eventType``, ``mail`` (``timestamp`` = send time, ``messageId`` in
  SES's format whose first 16 hex digits are ``0100`` + the send time in milliseconds, ``destination``,
  ``headers``, ``commonHeaders``, ``tags`` as name -> list of strings) and one per-type object. ``ses:outgoing-ip``
  appears from the first delivery attempt on (Delivery, remote Bounce, DeliveryDelay, Complaint), never on Send,
  on bounces of suppressed addresses (SES never connected) or on Open/Click.
* Suppressed recipients still get a Send, then at once a ``Permanent`` bounce with sub-type
  ``OnAccountSuppressionList`` (reason BOUNCE) or a Complaint with ``complaintSubType: OnAccountSuppressionList``
  (reason COMPLAINT); ``reportingMTA`` is ``dns; amazonses.com`` and bounce timestamps are whole seconds, as in
  real captures. A configuration set that does not publish those types leaves them Send-only.
* Hard bounces and complaints add the address to the account suppression list (``last_update`` = the event
  time) when the account suppresses that reason, whether or not the event was published.
* Deferring providers produce ``DeliveryDelay`` events (first one 4-12 minutes after the send, then about every
  hour and a half while SES keeps retrying) whose ``expirationTime`` is send + ``MaxDeliverySeconds`` (14 h when
  the configuration set does not set it); past expiry a ``Transient`` bounce (``554 4.4.7 Message expired``).
* Delivery a few seconds after Send (``processingTimeMillis`` = delivery - send), opens minutes later (Apple Mail
  Privacy Protection and Google's image proxy open early and often), complaints hours later.
* Arrival order: each record arrives 0.2-5 s after its event (2 % take an SNS retry of 20-240 s), records that
  would arrive after ``now`` are not there yet, and ~0.6 % are delivered twice, byte-identical (at-least-once).

``AwsState.cloudwatch`` counts, per configuration set and metric, the *events SES produced* per minute (one per
event, not per recipient; Send per message), whether or not an event destination published them: it is what a
CloudWatch event destination or the ``AWS/SES`` namespace would show, the ground truth to set against what the
pipeline captured. Minutes with no events have no datapoint, as CloudWatch returns them.
"""

from __future__ import annotations

import argparse
import gzip
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import IO, Any

import orjson

__all__ = [
    "CAUSES",
    "DEFAULT_START",
    "MATCHING_TYPES",
    "PROVIDERS",
    "SCENARIOS",
    "STATES",
    "AwsState",
    "ScenarioSpec",
    "SimulatedCampaign",
    "dns_zones",
    "event_timestamp",
    "expected_state_counts",
    "fast_campaign_name",
    "iter_campaign_fast",
    "iter_events_fast",
    "simulate",
    "support_zones",
    "write_lines",
    "write_ndjson",
    "write_scenario",
]

# --------------------------------------------------------------------------------------------------------------
# Vocabulary and fixed identity
# --------------------------------------------------------------------------------------------------------------

CAUSES = ("suppression", "missing_events", "temporary_failure", "account_controls", "still_in_flight", "unknown",
          "none")
STATES = ("send_only", "delayed", "delivered", "bounced", "suppressed", "complained", "rejected",
          "rendering_failed", "unknown")
# SESv2 EventType values, as in an event destination's MatchingEventTypes.
MATCHING_TYPES = ("SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE",
                  "DELIVERY_DELAY", "SUBSCRIPTION")
EVENT_TO_MATCHING = {
    "Send": "SEND", "Reject": "REJECT", "Bounce": "BOUNCE", "Complaint": "COMPLAINT", "Delivery": "DELIVERY",
    "Open": "OPEN", "Click": "CLICK", "Rendering Failure": "RENDERING_FAILURE", "DeliveryDelay": "DELIVERY_DELAY",
    "Subscription": "SUBSCRIPTION",
}
# The record key holding each type's own object.
BODY_KEY = {
    "Send": "send", "Reject": "reject", "Bounce": "bounce", "Complaint": "complaint", "Delivery": "delivery",
    "Open": "open", "Click": "click", "Rendering Failure": "failure", "DeliveryDelay": "deliveryDelay",
    "Subscription": "subscription",
}
CLOUDWATCH_METRIC = {"Rendering Failure": "RenderingFailure"}  # every other metric is named like the event type

REGION = "us-east-1"
ACCOUNT_ID = "111122223333"
MESSAGE_ID_REGION_PREFIX = "0100"  # us-east-1 message ids start 0100 + 12 hex digits of the send time in ms
FROM_DOMAIN = "acme-shop.test"
MAIL_FROM_DOMAIN = f"bounce.{FROM_DOMAIN}"
SENDER = f"news@{FROM_DOMAIN}"
SOURCE = f'"Acme Shop" <{SENDER}>'
REPLY_TO = f"support@{FROM_DOMAIN}"
CALLER_IDENTITY = "campaign-sender"
SOURCE_IP = "203.0.113.25"  # the sending application's host (TEST-NET-3)
SNS_ENDPOINT = f"https://sesbot.{FROM_DOMAIN}/sns"
# Shared SES us-east-1 sending IPs; their PTR names are a<3rd octet>-<4th octet>.smtp-out.amazonses.com.
SES_OUTGOING_IPS = ("54.240.8.35", "54.240.8.87", "54.240.9.112", "54.240.27.19", "54.240.48.111",
                    "54.240.11.204")
DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEFAULT_MAX_DELIVERY_SECONDS = 14 * 3600
IN_FLIGHT_WINDOW_S = 15 * 60
SUPPRESSION_BOUNCE_DIAG = (
    "Amazon SES did not send the message to this address because it is on the suppression list for your "
    "account. For more information about removing addresses from the suppression list, see the Amazon SES "
    "Developer Guide at https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)
GLOBAL_SUPPRESSION_DIAG = (
    "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid "
    "address. For more information about how to remove an address from the suppression list, see the Amazon SES "
    "Developer Guide: http://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html "
)


def _identity_tokens() -> list[str]:
    """Easy DKIM tokens (32 characters of [a-z0-9]); fixed, so every scenario shares one identity and its DNS."""
    rng = random.Random("sesbot-identity")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return ["".join(rng.choice(alphabet) for _ in range(32)) for _ in range(3)]


DKIM_TOKENS = _identity_tokens()

# --------------------------------------------------------------------------------------------------------------
# Recipient domains (reserved .test names) and the providers their MX implies
# --------------------------------------------------------------------------------------------------------------

PROVIDERS = ("google", "microsoft", "yahoo", "apple", "proofpoint", "mimecast", "other")


@dataclass(frozen=True)
class _Domain:
    name: str
    provider: str
    weight: float
    mx: tuple[tuple[int, str], ...]
    remote_ips: tuple[str, ...]


RECIPIENT_DOMAINS: tuple[_Domain, ...] = (
    _Domain("mail-google.test", "google", 0.34,
            ((5, "gmail-smtp-in.l.google.com."), (10, "alt1.gmail-smtp-in.l.google.com."),
             (20, "alt2.gmail-smtp-in.l.google.com."), (30, "alt3.gmail-smtp-in.l.google.com."),
             (40, "alt4.gmail-smtp-in.l.google.com.")),
            ("142.250.27.26", "142.251.16.27", "74.125.136.26", "64.233.184.27")),
    _Domain("mail-outlook.test", "microsoft", 0.09, ((0, "outlook-com.olc.protection.outlook.com."),),
            ("52.101.68.5", "52.101.9.17", "40.107.22.33")),
    _Domain("mail-hotmail.test", "microsoft", 0.06, ((0, "hotmail-com.olc.protection.outlook.com."),),
            ("52.101.42.8", "52.101.11.2")),
    _Domain("corp-m365.test", "microsoft", 0.07, ((0, "corp-m365-test.mail.protection.outlook.com."),),
            ("52.101.194.10", "40.107.236.41")),
    _Domain("mail-yahoo.test", "yahoo", 0.10,
            ((1, "mta5.am0.yahoodns.net."), (1, "mta6.am0.yahoodns.net."), (1, "mta7.am0.yahoodns.net.")),
            ("67.195.204.74", "98.136.96.91", "67.195.228.110")),
    _Domain("mail-aol.test", "yahoo", 0.03, ((10, "mx-aol.mail.gm0.yahoodns.net."),), ("67.195.204.77",)),
    _Domain("mail-icloud.test", "apple", 0.08, ((10, "mx01.mail.icloud.com."), (10, "mx02.mail.icloud.com.")),
            ("17.57.155.34", "17.42.251.62")),
    _Domain("corp-proofpoint.test", "proofpoint", 0.07,
            ((10, "mx0a-00123401.pphosted.com."), (10, "mx0b-00123401.pphosted.com.")),
            ("148.163.156.1", "148.163.158.5")),
    _Domain("corp-mimecast.test", "mimecast", 0.05,
            ((10, "us-smtp-inbound-1.mimecast.com."), (10, "us-smtp-inbound-2.mimecast.com.")),
            ("207.211.30.40", "205.139.110.61")),
    _Domain("mail-gmx.test", "other", 0.03, ((10, "mx00.gmx.net."), (10, "mx01.gmx.net.")),
            ("212.227.17.5", "212.227.15.9")),
    _Domain("corp-selfhosted.test", "other", 0.04, ((10, "mx1.corp-selfhosted.test."),), ("192.0.2.25",)),
)
_DOMAIN_BY_NAME = {d.name: d for d in RECIPIENT_DOMAINS}

_FIRST = ("jane", "john", "maria", "wei", "amit", "sofia", "lucas", "emma", "noah", "olivia", "liam", "ava",
          "mateo", "mia", "ethan", "chloe", "yuki", "fatima", "omar", "lena", "pierre", "anna", "tomas", "ines")
_LAST = ("doe", "smith", "garcia", "chen", "patel", "rossi", "muller", "kim", "silva", "novak", "jones",
         "brown", "tanaka", "nguyen", "dubois", "kowalski", "okafor", "larsen", "ivanova", "moreau")

_SMTP_OK = {
    "google": "250 2.0.0 OK  {epoch} {tok}si{n}.{m} - gsmtp",
    "microsoft": ("250 2.6.0 <{mid}@email.amazonses.com> [InternalId={n}{m}, "
                  "Hostname=DM6PR11MB{m}.namprd11.prod.outlook.com] {size} bytes in 0.{m}, 91.{n} KB/sec "
                  "Queued mail for delivery"),
    "yahoo": "250 ok dirdel",
    "apple": "250 2.0.0 Ok: queued as {tok}",
    "proofpoint": "250 2.0.0 3w{tok}-1 Message accepted for delivery",
    "mimecast": "250 2.0.0 Ok: queued as {tok}",
    "other": "250 2.0.0 Ok: queued as {TOK}",
}

_HARD_BOUNCE = {
    "google": ("5.1.1", "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try "
                        "double-checking the recipient's email address for typos or unnecessary spaces. For more "
                        "information, go to https://support.google.com/mail/?p=NoSuchUser {tok}si{n}.{m} - gsmtp"),
    "microsoft": ("5.5.0", "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
                           "[BN1NAM02FT047.eop-nam02.prod.protection.outlook.com]"),
    "yahoo": ("5.0.0", "smtp; 554 delivery error: dd This user doesn't have a {domain} account ({rcpt}) [0] - "
                       "mta{m}.mail.gq1.yahoo.com"),
    "apple": ("5.1.1", "smtp; 550 5.1.1 <{rcpt}>: user does not exist"),
    "other": ("5.1.1", "smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox "
                       "table"),
}

_DEFERRAL = {
    # provider -> [(weight, delayType, status, diagnosticCode)]
    "microsoft": (
        (0.6, "IPFailure", "4.7.650",
         "smtp; 451 4.7.650 The mail server [{ip}] has been temporarily rate limited due to IP reputation. For "
         "e-mail delivery information, see https://aka.ms/postmaster (S775) [Name=Protocol Filter Agent]"
         "[AGT=PFA][MxId=11BA{tok}] [BN1NAM02FT063.eop-nam02.prod.protection.outlook.com]"),
        (0.25, "RecipientServerError", "4.7.500",
         "smtp; 451 4.7.500 Server busy. Please try again later from [{ip}]. (S77714) "
         "[DB5EUR03FT054.eop-EUR03.prod.protection.outlook.com]"),
        (0.15, "TransientCommunicationFailure", "4.4.2", "smtp; 421 4.4.2 Connection dropped due to SocketError"),
    ),
    "google": (
        (0.8, "IPFailure", "4.7.28",
         "smtp; 421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP "
         "address. To protect our users from spam, mail sent from your IP address has been temporarily rate "
         "limited. https://support.google.com/mail/?p=UnsolicitedRateLimitError {tok}si{n}.{m} - gsmtp"),
        (0.2, "TransientCommunicationFailure", "4.4.1", "smtp; 421 4.4.1 Unable to connect to remote host"),
    ),
    "yahoo": (
        (1.0, "IPFailure", "4.7.0",
         "smtp; 421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume or user "
         "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes"),
    ),
    "other": (
        (0.7, "TransientCommunicationFailure", "4.4.1", "smtp; 421 4.4.1 Unable to connect to remote host"),
        (0.3, "RecipientServerError", "4.3.0", "smtp; 451 4.3.0 Temporary server error. Please try again later"),
    ),
}
_GREYLIST = ("RecipientServerError", "4.2.0",
             "smtp; 450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
             "https://postgrey.schweikert.ch/help/{domain}.html")

_OPENERS = {
    # provider -> (share of delivered recipients who open, (ip prefix, user agent), median minutes to first open)
    "apple": (0.75, ("17.58.{a}.{b}", "Mozilla/5.0"), 4.0),
    "google": (0.30, ("66.249.84.{b}", "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com "
                                       "GoogleImageProxy)"), 25.0),
    "yahoo": (0.22, ("98.137.{a}.{b}", "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"),
              30.0),
    "microsoft": (0.18, ("198.51.100.{b}", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, "
                                           "like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0"), 40.0),
    "other": (0.15, ("203.0.113.{b}", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
                                      "(KHTML, like Gecko) Mobile/15E148"), 45.0),
}
_CLICK_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/122.0.0.0 Safari/537.36")
_COMPLAINT_UA = {"yahoo": "Yahoo!-Mail-Feedback/2.0", "microsoft": "Microsoft Junk Mail Reporting Program",
                 "other": "ARF-Reporter/1.0"}

# --------------------------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------------------------

_ALL_PUBLISHED = ("SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE",
                  "DELIVERY_DELAY")
_NO_BOUNCE_COMPLAINT = ("SEND", "DELIVERY", "OPEN", "CLICK", "DELIVERY_DELAY")


@dataclass(frozen=True)
class ScenarioSpec:
    """How one scenario's campaign is generated. Shares are fractions of the intended recipients."""

    name: str
    description: str
    expected_cause: str
    campaign_prefix: str
    configuration_set: str
    secondary_causes: tuple[str, ...] = ()
    window_minutes: float = 45.0  # the sending window: sends spread over it
    now_minutes: float = 180.0  # evaluation time, minutes after the first send
    matching_types: tuple[str, ...] = _ALL_PUBLISHED  # of the (single) SNS event destination
    suppressed_share: float = 0.01  # on the account suppression list before the campaign
    global_suppressed_share: float = 0.0
    hard_bounce_share: float = 0.012
    soft_bounce_share: float = 0.003  # Transient MailboxFull
    complaint_share: float = 0.0015  # of delivered on providers that send ARF feedback (not Google)
    click_share: float = 0.12  # of openers
    multi_recipient_share: float = 0.02  # messages with two recipients
    duplicate_share: float = 0.006
    delivery_latency_s: tuple[float, float] = (2.5, 0.6)  # lognormal (median, sigma) of send -> delivery
    greylist_share: float = 0.0  # of recipients on self-hosted servers: one DeliveryDelay, then delivered
    deferring_provider: str | None = None
    deferral_share: float = 0.0  # of the deferring provider's recipients
    deferral_recovery_share: float = 0.35  # of deferred recipients eventually delivered before expiry
    max_delivery_seconds: int | None = None  # DeliveryOptions.MaxDeliverySeconds; None = SES default (14 h)
    outcome_cutoff_minute: float | None = None  # missing_events: outcome events lost from this minute on
    pause_minute: float | None = None  # account_controls: sending paused from this minute on
    pause_scope: str = "configuration_set"  # or "account"


SCENARIOS: dict[str, ScenarioSpec] = {
    s.name: s
    for s in (
        ScenarioSpec(
            name="healthy",
            description=("Everything published and delivered: ~95% delivered, ~1.5% hard/soft bounces, ~1% "
                         "suppressed (visible as OnAccountSuppressionList bounces), a few greylisted "
                         "recipients delayed then delivered, no Send-only recipient."),
            expected_cause="none", campaign_prefix="spring-sendout", configuration_set="marketing-main",
            greylist_share=0.3,
        ),
        ScenarioSpec(
            name="suppression_no_bounce_events",
            description=("12% of recipients are on the account suppression list and the configuration set "
                         "publishes only SEND, DELIVERY, DELIVERY_DELAY, OPEN and CLICK (bounces and complaints go "
                         "to identity notifications sesbot does not see), so the suppressed recipients, and the "
                         "campaign's fresh hard bounces, stay Send-only; the suppression list names them all."),
            expected_cause="suppression", campaign_prefix="winback-reactivation",
            configuration_set="marketing-winback", matching_types=_NO_BOUNCE_COMPLAINT, suppressed_share=0.12,
        ),
        ScenarioSpec(
            name="missing_events",
            description=("Send events go to one SNS topic, outcomes to another whose sesbot subscription broke "
                         "at minute 15: after that only Send events arrive while sending goes on to minute 45; "
                         "CloudWatch shows the deliveries SES made."),
            expected_cause="missing_events", campaign_prefix="weekly-digest", configuration_set="newsletter",
            outcome_cutoff_minute=15.0, now_minutes=120.0,
        ),
        ScenarioSpec(
            name="provider_deferral",
            description=("Microsoft (outlook/hotmail/M365 domains) rate-limits the sending IPs: 65% of its "
                         "recipients get DeliveryDelay events (IPFailure 4.7.650 mostly), about a third of those "
                         "are delivered hours later, the rest are still pending at now; other providers deliver."),
            expected_cause="temporary_failure", campaign_prefix="product-launch", configuration_set="launches",
            deferring_provider="microsoft", deferral_share=0.65, now_minutes=180.0,
        ),
        ScenarioSpec(
            name="still_in_flight",
            description=("The campaign was just sent: a burst over 10 minutes, evaluated at minute 9 while SES "
                         "works through its queue (deliveries take minutes); every Send-only recipient is younger "
                         "than 15 minutes."),
            expected_cause="still_in_flight", campaign_prefix="flash-sale", configuration_set="marketing-flash",
            window_minutes=10.0, now_minutes=9.0, delivery_latency_s=(100.0, 0.9),
        ),
        ScenarioSpec(
            name="mixed",
            description=("10% suppressed with BOUNCE and COMPLAINT not published (Send-only) plus Microsoft "
                         "deferring 35% of its recipients, with MaxDeliverySeconds 4 h and now at 4 h 20 min so the "
                         "earliest deferred messages have expired (their Transient bounces unpublished)."),
            expected_cause="suppression", secondary_causes=("temporary_failure",), campaign_prefix="newsletter-march",
            configuration_set="newsletter-eu", matching_types=_NO_BOUNCE_COMPLAINT, suppressed_share=0.10,
            deferring_provider="microsoft", deferral_share=0.35, deferral_recovery_share=0.25,
            max_delivery_seconds=4 * 3600, window_minutes=60.0, now_minutes=260.0,
        ),
        ScenarioSpec(
            name="account_paused",
            description=("Sending on the configuration set was paused at minute 22 of a planned 60-minute "
                         "sendout. SES rejects later SendEmail calls (SendingPausedException), so no Send event "
                         "exists after the pause; messages accepted before it are delivered normally. The sender "
                         "sees fewer recipients than planned; CloudWatch and the events both show Send stopping."),
            expected_cause="account_controls", campaign_prefix="promo-weekend", configuration_set="promotions",
            window_minutes=60.0, pause_minute=22.0, now_minutes=90.0,
        ),
        ScenarioSpec(
            name="account_sending_disabled",
            description=("Like account_paused, but the whole account's sending was disabled at minute 30 "
                         "(GetAccount SendingEnabled false)."),
            expected_cause="account_controls", campaign_prefix="loyalty-update", configuration_set="loyalty",
            window_minutes=50.0, pause_minute=30.0, pause_scope="account", now_minutes=75.0,
        ),
    )
}


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


@dataclass(frozen=True)
class AwsState:
    """What the AWS APIs would say at ``now`` (snake_case, JSON-friendly apart from datetimes).

    * ``suppressed_destinations``: account suppression list entries ``(email, reason, last_update)``, reason
      ``BOUNCE`` or ``COMPLAINT``; includes addresses not in the campaign and those this campaign added.
    * ``account``: ``sending_enabled``, ``enforcement_status`` (HEALTHY/PROBATION/SHUTDOWN),
      ``production_access_enabled``, ``suppressed_reasons`` (account-level), ``quota``
      (``max_24_hour_send``, ``max_send_rate``, ``sent_last_24_hours``).
    * ``configuration_sets``: name -> ``sending_enabled``, ``max_delivery_seconds`` (None = SES default 14 h),
      ``suppressed_reasons`` (None = the configuration set does not override the account), ``tls_policy``,
      ``reputation_metrics_enabled``, ``event_destinations``: [{``name``, ``enabled``, ``matching_types``,
      ``sns_topic_arn``}].
    * ``identity``: ``domain``, ``dkim_tokens``, ``dkim_status``, ``mail_from_domain``, ``mail_from_status``,
      ``verified``.
    * ``sns_topics``: topic ARN -> {``subscriptions``: [{``protocol``, ``endpoint``, ``status``}]}, status
      ``Confirmed`` or ``PendingConfirmation`` (what ListSubscriptionsByTopic shows as the SubscriptionArn).
    * ``cloudwatch``: configuration set -> metric (Send, Delivery, Bounce, Complaint, DeliveryDelay, Open,
      Click, ...) -> [(minute, count)], the ground truth even for events the pipeline never received.
    """

    region: str
    account_id: str
    suppressed_destinations: list[tuple[str, str, datetime]]
    account: dict[str, Any]
    configuration_sets: dict[str, dict[str, Any]]
    identity: dict[str, Any]
    cloudwatch: dict[str, dict[str, list[tuple[datetime, float]]]]
    sns_topics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_id": self.account_id,
            "suppressed_destinations": [
                {"email": e, "reason": r, "last_update": _iso(t)} for e, r, t in self.suppressed_destinations
            ],
            "account": self.account,
            "configuration_sets": self.configuration_sets,
            "identity": self.identity,
            "sns_topics": self.sns_topics,
            "cloudwatch": {
                cs: {m: [[_iso(t), v] for t, v in points] for m, points in metrics.items()}
                for cs, metrics in self.cloudwatch.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AwsState:
        return cls(
            region=data["region"],
            account_id=data["account_id"],
            suppressed_destinations=[
                (d["email"], d["reason"], _parse_iso(d["last_update"])) for d in data["suppressed_destinations"]
            ],
            account=data["account"],
            configuration_sets=data["configuration_sets"],
            identity=data["identity"],
            cloudwatch={
                cs: {m: [(_parse_iso(t), float(v)) for t, v in points] for m, points in metrics.items()}
                for cs, metrics in data["cloudwatch"].items()
            },
            sns_topics=data.get("sns_topics", {}),
        )


@dataclass(frozen=True)
class SimulatedCampaign:
    """One simulated campaign: the captured records, the AWS and DNS state, and what sesbot should conclude.

    ``expected_totals`` are recipients per DESIGN §3 state computed from ``events`` (what sesbot should count);
    ``expected_send_only`` has ``count``, ``stuck_count`` (age >= 15 min at ``now``), ``in_flight_count`` and
    ``oldest_age_s``. ``intended_recipients`` is what the sender meant to send (fewer were sent when paused).
    """

    campaign: str
    scenario: str
    now: datetime
    events: list[dict[str, Any]]
    expected_cause: str
    aws: AwsState
    dns_zones: dict[str, str]
    recipient_domains: dict[str, str]
    configuration_set: str = ""
    campaign_tag: str = "campaign"
    start: datetime = DEFAULT_START
    expected_causes: tuple[str, ...] = ()
    expected_totals: dict[str, int] = field(default_factory=dict)
    expected_send_only: dict[str, Any] = field(default_factory=dict)
    intended_recipients: int = 0
    description: str = ""


# --------------------------------------------------------------------------------------------------------------
# Record building
# --------------------------------------------------------------------------------------------------------------


def _ms_iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _message_id(rng: random.Random, ms: int) -> str:
    g = rng.getrandbits
    return (f"{MESSAGE_ID_REGION_PREFIX}{ms:012x}-{g(32):08x}-{g(16):04x}-{g(16):04x}-{g(16):04x}-{g(48):012x}"
            "-000000")


def _mta_host(ip: str) -> str:
    _, _, c, d = ip.split(".")
    return f"a{c}-{d}.smtp-out.amazonses.com"


def event_timestamp(record: dict[str, Any]) -> datetime:
    """When the record's event happened (the per-type timestamp; ``mail.timestamp`` for Send/Reject)."""
    et = record.get("eventType") or record.get("notificationType")
    body = record.get(BODY_KEY.get(str(et), ""))
    ts = body.get("timestamp") if isinstance(body, dict) else None
    return _parse_iso(ts or record["mail"]["timestamp"])


@dataclass
class _Ctx:
    campaign: str
    campaign_tag: str
    configuration_set: str
    subject: str
    template: str
    audience: str


def _tags(ctx: _Ctx, outgoing_ip: str | None) -> dict[str, list[str]]:
    tags = {
        "ses:operation": ["SendBulkEmail"],
        "ses:configuration-set": [ctx.configuration_set],
        "ses:source-ip": [SOURCE_IP],
        "ses:from-domain": [FROM_DOMAIN],
        "ses:caller-identity": [CALLER_IDENTITY],
    }
    if outgoing_ip is not None:
        tags["ses:outgoing-ip"] = [outgoing_ip]
    tags[ctx.campaign_tag] = [ctx.campaign]
    tags["template"] = [ctx.template]
    tags["audience"] = [ctx.audience]
    return tags


def _mail_object(ctx: _Ctx, mid: str, ts: str, date_header: str, destination: list[str], to_header: str,
                 boundary: str, unsub_token: str, outgoing_ip: str | None) -> dict[str, Any]:
    """The ``mail`` object, in SES's key order."""
    return {
        "timestamp": ts,
        "source": SOURCE,
        "sourceArn": f"arn:aws:ses:{REGION}:{ACCOUNT_ID}:identity/{FROM_DOMAIN}",
        "sendingAccountId": ACCOUNT_ID,
        "messageId": mid,
        "destination": destination,
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": SOURCE},
            {"name": "Reply-To", "value": REPLY_TO},
            {"name": "To", "value": to_header},
            {"name": "Subject", "value": ctx.subject},
            {"name": "MIME-Version", "value": "1.0"},
            {"name": "Content-Type", "value": f'multipart/alternative; boundary="{boundary}"'},
            {"name": "List-Unsubscribe",
             "value": f"<https://{FROM_DOMAIN}/unsubscribe/{unsub_token}>, <mailto:unsubscribe@{FROM_DOMAIN}>"},
            {"name": "List-Unsubscribe-Post", "value": "List-Unsubscribe=One-Click"},
            {"name": "X-SES-CONFIGURATION-SET", "value": ctx.configuration_set},
            {"name": "X-SES-MESSAGE-TAGS",
             "value": f"{ctx.campaign_tag}={ctx.campaign}, template={ctx.template}, audience={ctx.audience}"},
        ],
        "commonHeaders": {
            "from": [SOURCE],
            "replyTo": [REPLY_TO],
            "date": date_header,
            "to": destination if to_header == ", ".join(destination) else [to_header],
            "messageId": mid,
            "subject": ctx.subject,
        },
        "tags": _tags(ctx, outgoing_ip),
    }


@dataclass
class _Message:
    mid: str
    send_ms: int
    recipients: list[str]
    outgoing_ip: str
    mail_plain: dict[str, Any]
    mail_out: dict[str, Any]


@dataclass
class _TrueEvent:
    """An event SES really produced (published or not)."""

    etype: str
    ms: int
    msg: _Message
    body: dict[str, Any]
    attempted: bool  # SES attempted delivery: the mail object carries ses:outgoing-ip


_SUBJECTS = {
    "healthy": "Spring is here: 20% off everything this week",
    "suppression_no_bounce_events": "We miss you! Here's 15% off to come back",
    "missing_events": "Your weekly digest: 5 stories picked for you",
    "provider_deferral": "Introducing the Acme One - available today",
    "still_in_flight": "Flash sale: 3 hours only",
    "mixed": "March newsletter: what's new at Acme",
    "account_paused": "Weekend promo: free shipping on all orders",
    "account_sending_disabled": "Your loyalty points are about to expire",
}


class _Simulation:
    def __init__(self, spec: ScenarioSpec, recipients: int, seed: int, campaign: str, now: datetime | None,
                 campaign_tag: str) -> None:
        self.spec = spec
        self.rng = random.Random(f"sesbot:{spec.name}:{seed}")
        self.n = recipients
        if now is None:
            start = DEFAULT_START
            now = start + timedelta(minutes=spec.now_minutes)
        else:
            now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
            start = now - timedelta(minutes=spec.now_minutes)
        self.start = start
        self.now = now
        self.start_ms = int(start.timestamp() * 1000)
        self.now_ms = int(now.timestamp() * 1000)
        self.max_delivery_s = spec.max_delivery_seconds or DEFAULT_MAX_DELIVERY_SECONDS
        self.ctx = _Ctx(campaign=campaign, campaign_tag=campaign_tag, configuration_set=spec.configuration_set,
                        subject=_SUBJECTS.get(spec.name, "News from Acme Shop"),
                        template=f"{spec.campaign_prefix}-v{1 + seed % 5}",
                        audience=self.rng.choice(("eu-subscribers", "us-subscribers", "all-active", "vip")))
        self.true_events: list[_TrueEvent] = []
        self.suppressed: dict[str, tuple[str, int]] = {}  # email -> (reason, last_update ms)
        self.account_suppresses = ("BOUNCE", "COMPLAINT")

    # -- recipients ---------------------------------------------------------------------------------------
    def _recipients(self) -> list[str]:
        rng = self.rng
        names = [d.name for d in RECIPIENT_DOMAINS]
        weights = [d.weight for d in RECIPIENT_DOMAINS]
        seen: set[str] = set()
        out: list[str] = []
        while len(out) < self.n:
            domain = rng.choices(names, weights)[0]
            sep = rng.choice((".", "_", ""))
            local = f"{rng.choice(_FIRST)}{sep}{rng.choice(_LAST)}{rng.randrange(1, 999) if rng.random() < 0.7 else ''}"
            addr = f"{local}@{domain}"
            if addr not in seen:
                seen.add(addr)
                out.append(addr)
        return out

    # -- helpers ------------------------------------------------------------------------------------------
    def _tok(self, n: int = 10) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))

    def _fmt(self, template: str, msg: _Message, rcpt: str) -> str:
        rng = self.rng
        return template.format(
            epoch=msg.send_ms // 1000, tok=self._tok(), TOK=self._tok(10).upper(), n=rng.randrange(10**6, 10**7),
            m=rng.randrange(100, 999), mid=msg.mid, size=rng.randrange(18000, 64000), ip=msg.outgoing_ip,
            rcpt=rcpt, domain=rcpt.split("@", 1)[1],
        )

    def _feedback_id(self, ms: int) -> str:
        return _message_id(self.rng, ms)

    def _add(self, etype: str, ms: int, msg: _Message, body: dict[str, Any], attempted: bool = True) -> None:
        if ms <= self.now_ms:
            self.true_events.append(_TrueEvent(etype, ms, msg, body, attempted))

    def _suppress(self, email: str, reason: str, ms: int) -> None:
        if ms <= self.now_ms and reason in self.account_suppresses:
            self.suppressed[email] = (reason, ms)

    # -- per-recipient outcomes -----------------------------------------------------------------------------
    def _delivered(self, msg: _Message, rcpt: str, ms: int) -> None:
        rng = self.rng
        dom = _DOMAIN_BY_NAME[rcpt.split("@", 1)[1]]
        prov = dom.provider if dom.provider in _SMTP_OK else "other"
        self._add("Delivery", ms, msg, {
            "timestamp": _ms_iso(ms),
            "processingTimeMillis": ms - msg.send_ms,
            "recipients": [rcpt],
            "smtpResponse": self._fmt(_SMTP_OK[prov], msg, rcpt),
            "remoteMtaIp": rng.choice(dom.remote_ips),
            "reportingMTA": _mta_host(msg.outgoing_ip),
        })
        oprov = dom.provider if dom.provider in _OPENERS else "other"
        share, (ip_tpl, ua), median_min = _OPENERS[oprov]
        if rng.random() < share:
            t = ms + int(rng.lognormvariate(math.log(median_min * 60_000), 1.0))
            opens = 1 + (rng.random() < 0.25) + (rng.random() < 0.1)
            for _ in range(opens):
                ip = ip_tpl.format(a=rng.randrange(1, 250), b=rng.randrange(1, 250))
                self._add("Open", t, msg, {"timestamp": _ms_iso(t), "userAgent": ua, "ipAddress": ip}, False)
                if rng.random() < self.spec.click_share:
                    c = t + rng.randrange(3_000, 180_000)
                    self._add("Click", c, msg, {
                        "timestamp": _ms_iso(c),
                        "ipAddress": f"198.51.100.{rng.randrange(1, 250)}",
                        "userAgent": _CLICK_UA,
                        "link": f"https://{FROM_DOMAIN}/{self.spec.campaign_prefix}?utm_source=ses&utm_medium=email"
                                f"&utm_campaign={self.ctx.campaign}",
                        "linkTags": {"link": [rng.choice(("hero-cta", "footer", "product-1", "product-2"))]},
                    }, False)
                t += int(rng.expovariate(1 / 3_600_000))
        if dom.provider in _COMPLAINT_UA and rng.random() < self.spec.complaint_share * 4:
            # ARF feedback comes from Yahoo, Microsoft and smaller ISPs, not Gmail: scale up on those.
            c = ms + rng.randrange(600_000, 6 * 3_600_000)
            self._add("Complaint", c, msg, {
                "feedbackId": self._feedback_id(c),
                "complaintSubType": None,
                "complainedRecipients": [{"emailAddress": rcpt}],
                "timestamp": _ms_iso(c),
                "userAgent": _COMPLAINT_UA[dom.provider],
                "complaintFeedbackType": "abuse",
                "arrivalDate": _ms_iso(c - rng.randrange(1_000, 60_000)),
            })
            self._suppress(rcpt, "COMPLAINT", c)

    def _bounce(self, msg: _Message, rcpt: str, ms: int, btype: str, sub: str, status: str, diag: str,
                *, remote: bool = True) -> None:
        ms = ms - ms % 1000  # SES bounce timestamps are whole seconds
        dom = _DOMAIN_BY_NAME[rcpt.split("@", 1)[1]]
        body: dict[str, Any] = {
            "feedbackId": self._feedback_id(ms),
            "bounceType": btype,
            "bounceSubType": sub,
            "bouncedRecipients": [{"emailAddress": rcpt, "action": "failed", "status": status,
                                   "diagnosticCode": diag}],
            "timestamp": _ms_iso(ms),
        }
        if remote:
            body["remoteMtaIp"] = self.rng.choice(dom.remote_ips)
            body["reportingMTA"] = f"dsn; {_mta_host(msg.outgoing_ip)}"
        else:
            body["reportingMTA"] = "dns; amazonses.com"
        self._add("Bounce", ms, msg, body, attempted=remote)

    def _delay(self, msg: _Message, rcpt: str, ms: int, delay_type: str, status: str, diag: str) -> None:
        self._add("DeliveryDelay", ms, msg, {
            "timestamp": _ms_iso(ms),
            "delayType": delay_type,
            "expirationTime": _ms_iso(msg.send_ms + self.max_delivery_s * 1000),
            "delayedRecipients": [{"emailAddress": rcpt, "status": status, "diagnosticCode": diag}],
            "reportingMTA": _mta_host(msg.outgoing_ip),
        })

    def _deferred(self, msg: _Message, rcpt: str, provider: str) -> None:
        rng = self.rng
        options = _DEFERRAL.get(provider, _DEFERRAL["other"])
        _, delay_type, status, diag_t = rng.choices(options, [o[0] for o in options])[0]
        diag = self._fmt(diag_t, msg, rcpt)
        expiry = msg.send_ms + self.max_delivery_s * 1000
        recovers = rng.random() < self.spec.deferral_recovery_share
        end = msg.send_ms + rng.randrange(25 * 60_000, 240 * 60_000) if recovers else expiry
        end = min(end, expiry)
        t = msg.send_ms + rng.randrange(4 * 60_000, 12 * 60_000)
        while t < end:
            self._delay(msg, rcpt, t, delay_type, status, diag)
            t += rng.randrange(50 * 60_000, 130 * 60_000)
        if recovers and end < expiry:
            self._delivered(msg, rcpt, end)
        else:
            minutes = self.max_delivery_s // 60
            code = diag.split("; ", 1)[-1]
            self._bounce(msg, rcpt, expiry + rng.randrange(1_000, 90_000), "Transient", "General", "4.4.7",
                         f"smtp; 554 4.4.7 Message expired: unable to deliver in {minutes} minutes.<{code}>")

    def _outcome(self, msg: _Message, rcpt: str, fate: str) -> None:
        rng = self.rng
        spec = self.spec
        dom = _DOMAIN_BY_NAME[rcpt.split("@", 1)[1]]
        s = msg.send_ms
        if fate == "suppressed":
            reason = self.suppressed[rcpt][0]
            t = s + rng.randrange(150, 900)
            if reason == "COMPLAINT":
                self._add("Complaint", t, msg, {
                    "feedbackId": self._feedback_id(t),
                    "complaintSubType": "OnAccountSuppressionList",
                    "complainedRecipients": [{"emailAddress": rcpt}],
                    "timestamp": _ms_iso(t - t % 1000),
                }, attempted=False)
            else:
                self._bounce(msg, rcpt, t, "Permanent", "OnAccountSuppressionList", "5.1.1",
                             SUPPRESSION_BOUNCE_DIAG, remote=False)
        elif fate == "global_suppressed":
            self._bounce(msg, rcpt, s + rng.randrange(150, 900), "Permanent", "Suppressed", "5.1.1",
                         GLOBAL_SUPPRESSION_DIAG, remote=False)
        elif fate == "deferred":
            self._deferred(msg, rcpt, dom.provider)
        elif fate == "greylisted":
            t = s + rng.randrange(5 * 60_000, 8 * 60_000)
            self._delay(msg, rcpt, t, _GREYLIST[0], _GREYLIST[1], self._fmt(_GREYLIST[2], msg, rcpt))
            self._delivered(msg, rcpt, t + rng.randrange(4 * 60_000, 25 * 60_000))
        elif fate == "hard_bounce":
            status, diag_t = _HARD_BOUNCE.get(dom.provider, _HARD_BOUNCE["other"])
            t = s + int(rng.lognormvariate(math.log(2_500), 0.7))
            self._bounce(msg, rcpt, t, "Permanent", "General", status, self._fmt(diag_t, msg, rcpt))
            self._suppress(rcpt, "BOUNCE", t - t % 1000)
        elif fate == "soft_bounce":
            t = s + rng.randrange(2_000, 40_000)
            self._bounce(msg, rcpt, t, "Transient", "MailboxFull", "5.2.2",
                         "smtp; 552 5.2.2 The email account that you tried to reach is over quota.")
        else:
            median, sigma = spec.delivery_latency_s
            self._delivered(msg, rcpt, s + max(300, int(rng.lognormvariate(math.log(median * 1000), sigma))))

    def _fate(self, rcpt: str) -> str:
        spec = self.spec
        rng = self.rng
        dom = _DOMAIN_BY_NAME[rcpt.split("@", 1)[1]]
        if rcpt in self.suppressed:
            return "suppressed"
        if rng.random() < spec.global_suppressed_share:
            return "global_suppressed"
        if spec.deferring_provider and dom.provider == spec.deferring_provider and rng.random() < spec.deferral_share:
            return "deferred"
        if dom.name == "corp-selfhosted.test" and rng.random() < spec.greylist_share:
            return "greylisted"
        u = rng.random()
        if u < spec.hard_bounce_share:
            return "hard_bounce"
        if u < spec.hard_bounce_share + spec.soft_bounce_share:
            return "soft_bounce"
        return "delivered"

    # -- the run ------------------------------------------------------------------------------------------
    def run(self) -> SimulatedCampaign:
        spec, rng, ctx = self.spec, self.rng, self.ctx
        recipients = self._recipients()
        # Suppression list before the campaign: some of the campaign's recipients, plus unrelated addresses.
        for r in rng.sample(recipients, round(spec.suppressed_share * len(recipients))):
            reason = "COMPLAINT" if rng.random() < 0.15 else "BOUNCE"
            self.suppressed[r] = (reason, self.start_ms - rng.randrange(86_400_000, 500 * 86_400_000))
        for i in range(max(5, len(recipients) // 20)):
            addr = f"old.subscriber{i}@{rng.choice(RECIPIENT_DOMAINS).name}"
            self.suppressed[addr] = ("BOUNCE", self.start_ms - rng.randrange(86_400_000, 900 * 86_400_000))
        fates = {r: self._fate(r) for r in recipients}

        # Group recipients into messages (a few messages go to two people of the same household / company).
        groups: list[list[str]] = []
        i = 0
        while i < len(recipients):
            if i + 1 < len(recipients) and rng.random() < spec.multi_recipient_share:
                groups.append([recipients[i], recipients[i + 1]])
                i += 2
            else:
                groups.append([recipients[i]])
                i += 1
        window_ms = int(spec.window_minutes * 60_000)
        send_offsets = sorted(rng.randrange(0, window_ms) for _ in groups)
        send_offsets[0] = 0
        pause_ms = self.start_ms + int(spec.pause_minute * 60_000) if spec.pause_minute is not None else None

        messages: list[_Message] = []
        for group, off in zip(groups, send_offsets, strict=True):
            send_ms = self.start_ms + off
            if send_ms > self.now_ms or (pause_ms is not None and send_ms >= pause_ms):
                continue  # not sent yet / rejected by SES with SendingPausedException: no events at all
            mid = _message_id(rng, send_ms)
            ip = rng.choice(SES_OUTGOING_IPS)
            ts = _ms_iso(send_ms)
            date = format_datetime(datetime.fromtimestamp(send_ms // 1000, UTC))
            boundary = f"----=_Part_{rng.randrange(10**6, 10**7)}_{rng.randrange(10**8, 10**9)}.{send_ms}"
            token = self._tok(22)
            args = (ctx, mid, ts, date, list(group), ", ".join(group), boundary, token)
            msg = _Message(mid, send_ms, list(group), ip, _mail_object(*args, None), _mail_object(*args, ip))
            messages.append(msg)
            self._add("Send", send_ms, msg, {}, attempted=False)
            for r in group:
                self._outcome(msg, r, fates[r])

        events = self._capture()
        cloudwatch = self._cloudwatch()
        totals, send_only = expected_state_counts(events, self.now, ctx.campaign_tag)
        causes = (spec.expected_cause, *spec.secondary_causes)
        return SimulatedCampaign(
            campaign=ctx.campaign, scenario=spec.name, now=self.now, events=events,
            expected_cause=spec.expected_cause, aws=self._aws_state(messages, cloudwatch),
            dns_zones=dns_zones(), recipient_domains={d.name: d.provider for d in RECIPIENT_DOMAINS},
            configuration_set=spec.configuration_set, campaign_tag=ctx.campaign_tag, start=self.start,
            expected_causes=causes, expected_totals=totals, expected_send_only=send_only,
            intended_recipients=len(recipients), description=spec.description,
        )

    def _record(self, ev: _TrueEvent) -> dict[str, Any]:
        mail = ev.msg.mail_out if ev.attempted else ev.msg.mail_plain
        return {"eventType": ev.etype, "mail": mail, BODY_KEY[ev.etype]: ev.body}

    def _capture(self) -> list[dict[str, Any]]:
        """What the pipeline received by ``now``: published types, arrival lag, duplicates, cut-offs."""
        spec, rng = self.spec, self.rng
        published = set(spec.matching_types)
        cutoff = (self.start_ms + int(spec.outcome_cutoff_minute * 60_000)
                  if spec.outcome_cutoff_minute is not None else None)
        arrivals: list[tuple[int, int, bytes]] = []
        send_arrival: dict[str, int] = {}
        seq = 0
        for ev in sorted(self.true_events, key=lambda e: (e.etype != "Send", e.ms)):
            if EVENT_TO_MATCHING[ev.etype] not in published:
                continue
            lag = 200 + int(rng.expovariate(1 / 1_200))
            if rng.random() < 0.02:
                lag += rng.randrange(20_000, 240_000)  # SNS retry after a failed first attempt
            arrival = ev.ms + lag
            if ev.etype == "Send":
                send_arrival[ev.msg.mid] = arrival
            elif ev.etype in ("Open", "Click"):
                arrival = max(arrival, send_arrival.get(ev.msg.mid, 0) + 1_000)
            copies = [arrival]
            if rng.random() < spec.duplicate_share:
                copies.append(arrival + rng.randrange(1_000, 600_000))
            raw = orjson.dumps(self._record(ev))
            for a in copies:
                if a > self.now_ms:
                    continue
                if cutoff is not None and ev.etype != "Send" and a >= cutoff:
                    continue  # the outcomes topic's subscription stopped delivering
                arrivals.append((a, seq, raw))
                seq += 1
        arrivals.sort()
        return [orjson.loads(raw) for _, _, raw in arrivals]

    def _cloudwatch(self) -> dict[str, dict[str, list[tuple[datetime, float]]]]:
        counts: dict[str, Counter[int]] = defaultdict(Counter)
        for ev in self.true_events:
            counts[CLOUDWATCH_METRIC.get(ev.etype, ev.etype)][ev.ms // 60_000] += 1
        return {self.spec.configuration_set: {
            metric: [(datetime.fromtimestamp(minute * 60, UTC), float(n)) for minute, n in sorted(c.items())]
            for metric, c in sorted(counts.items())
        }}

    def _aws_state(self, messages: list[_Message], cloudwatch: dict[str, Any]) -> AwsState:
        spec, rng = self.spec, self.rng
        cs = spec.configuration_set
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:ses-events-{cs}"
        if spec.outcome_cutoff_minute is not None:
            send_topic = f"{topic}-send"
            destinations = [
                {"name": "sesbot-send", "enabled": True, "matching_types": ["SEND"], "sns_topic_arn": send_topic},
                {"name": "sesbot-outcomes", "enabled": True,
                 "matching_types": [t for t in spec.matching_types if t != "SEND"], "sns_topic_arn": topic},
            ]
            topics = {
                send_topic: {"subscriptions": [{"protocol": "https", "endpoint": SNS_ENDPOINT,
                                                "status": "Confirmed"}]},
                # The subscription was deleted and re-created at the cut-off, and never confirmed.
                topic: {"subscriptions": [{"protocol": "https", "endpoint": SNS_ENDPOINT,
                                           "status": "PendingConfirmation"}]},
            }
        else:
            destinations = [{"name": "sesbot", "enabled": True, "matching_types": list(spec.matching_types),
                             "sns_topic_arn": topic}]
            topics = {topic: {"subscriptions": [{"protocol": "https", "endpoint": SNS_ENDPOINT,
                                                 "status": "Confirmed"}]}}
        paused = spec.pause_minute is not None
        account_disabled = paused and spec.pause_scope == "account"
        cs_disabled = paused and spec.pause_scope != "account"
        sent_24h = sum(len(m.recipients) for m in messages) + rng.randrange(5_000, 20_000)
        return AwsState(
            region=REGION,
            account_id=ACCOUNT_ID,
            suppressed_destinations=sorted(
                ((e, r, datetime.fromtimestamp(ms / 1000, UTC)) for e, (r, ms) in self.suppressed.items()),
                key=lambda x: (x[2], x[0]),
            ),
            account={
                "sending_enabled": not account_disabled,
                "enforcement_status": "HEALTHY",
                "production_access_enabled": True,
                "suppressed_reasons": list(self.account_suppresses),
                "quota": {"max_24_hour_send": 200_000.0, "max_send_rate": 50.0,
                          "sent_last_24_hours": float(sent_24h)},
            },
            configuration_sets={cs: {
                "sending_enabled": not cs_disabled,
                "max_delivery_seconds": spec.max_delivery_seconds,
                "suppressed_reasons": None,
                "tls_policy": "OPTIONAL",
                "reputation_metrics_enabled": True,
                "event_destinations": destinations,
            }},
            identity={
                "domain": FROM_DOMAIN,
                "verified": True,
                "dkim_tokens": list(DKIM_TOKENS),
                "dkim_status": "SUCCESS",
                "mail_from_domain": MAIL_FROM_DOMAIN,
                "mail_from_status": "SUCCESS",
            },
            cloudwatch=cloudwatch,
            sns_topics=topics,
        )


# --------------------------------------------------------------------------------------------------------------
# Reference state counts (the oracle the pipeline's totals are tested against)
# --------------------------------------------------------------------------------------------------------------

_RANK = {s: i for i, s in enumerate(("send_only", "delayed", "delivered", "rendering_failed", "rejected",
                                     "bounced", "suppressed", "complained"))}
_SUPPRESSION_SUBTYPES = ("OnAccountSuppressionList", "Suppressed")


def _outcomes(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(recipient, state) pairs a record asserts; Send and engagement assert none."""
    et = record.get("eventType")
    if et == "Delivery":
        return [(r, "delivered") for r in record["delivery"].get("recipients", [])]
    if et == "Bounce":
        b = record["bounce"]
        st = "suppressed" if b.get("bounceSubType") in _SUPPRESSION_SUBTYPES else "bounced"
        return [(r["emailAddress"], st) for r in b.get("bouncedRecipients", [])]
    if et == "Complaint":
        c = record["complaint"]
        st = "suppressed" if c.get("complaintSubType") == "OnAccountSuppressionList" else "complained"
        return [(r["emailAddress"], st) for r in c.get("complainedRecipients", [])]
    if et == "DeliveryDelay":
        return [(r["emailAddress"], "delayed") for r in record["deliveryDelay"].get("delayedRecipients", [])]
    if et == "Reject":
        return [(r, "rejected") for r in record["mail"]["destination"]]
    if et == "Rendering Failure":
        return [(r, "rendering_failed") for r in record["mail"]["destination"]]
    return []


def expected_state_counts(events: Iterable[dict[str, Any]], now: datetime, campaign_tag: str = "campaign",
                          in_flight_s: int = IN_FLIGHT_WINDOW_S) -> tuple[dict[str, int], dict[str, Any]]:
    """Recipients per DESIGN §3 state from records (any order, duplicates allowed), and Send-only ages."""
    sent: dict[tuple[str, str], datetime] = {}
    best: dict[tuple[str, str], str] = {}
    for rec in events:
        mail = rec["mail"]
        mid = mail["messageId"]
        if rec.get("eventType") == "Send":
            ts = _parse_iso(mail["timestamp"])
            for r in mail["destination"]:
                sent[(mid, r)] = ts
        for r, st in _outcomes(rec):
            key = (mid, r)
            if key not in best or _RANK[st] > _RANK[best[key]]:
                best[key] = st
    totals = dict.fromkeys(STATES, 0)
    ages: list[float] = []
    for key in set(sent) | set(best):
        if key not in sent:
            totals["unknown"] += 1
        elif key in best:
            totals[best[key]] += 1
        else:
            totals["send_only"] += 1
            ages.append((now - sent[key]).total_seconds())
    stuck = sum(1 for a in ages if a >= in_flight_s)
    return totals, {"count": len(ages), "stuck_count": stuck, "in_flight_count": len(ages) - stuck,
                    "oldest_age_s": max(ages, default=0.0)}


# --------------------------------------------------------------------------------------------------------------
# DNS zones
# --------------------------------------------------------------------------------------------------------------


def _zone_header(zone: str, serial: int) -> list[str]:
    return [
        f"$ORIGIN {zone}.",
        "$TTL 300",
        f"@\tIN\tSOA\tns1.{zone}. hostmaster.{zone}. ( {serial} 3600 600 1209600 300 )",
        f"@\tIN\tNS\tns1.{zone}.",
        "ns1\tIN\tA\t127.0.0.1",
    ]


def dns_zones(serial: int = 2026030201, dkim_tokens: Iterable[str] | None = None) -> dict[str, str]:
    """NSD zone files: the From domain (SPF, Easy DKIM CNAMEs, DMARC, custom MAIL FROM) and each recipient
    domain (MX records at the provider hosts). ``dkim_tokens`` replaces the identity's fixed tokens, for an
    emulator that issues its own (the demo publishes the tokens its local SES reports)."""
    tokens = list(DKIM_TOKENS if dkim_tokens is None else dkim_tokens)
    mail_from = MAIL_FROM_DOMAIN.removesuffix(f".{FROM_DOMAIN}")
    lines = [
        *_zone_header(FROM_DOMAIN, serial),
        "@\tIN\tA\t192.0.2.80",
        f"@\tIN\tMX\t10 mx1.{FROM_DOMAIN}.",
        "mx1\tIN\tA\t192.0.2.81",
        '@\tIN\tTXT\t"v=spf1 include:amazonses.com ~all"',
        f'_dmarc\tIN\tTXT\t"v=DMARC1; p=quarantine; pct=100; rua=mailto:dmarc-reports@{FROM_DOMAIN}; '
        'adkim=r; aspf=r"',
        *(f"{t}._domainkey\tIN\tCNAME\t{t}.dkim.amazonses.com." for t in tokens),
        f"{mail_from}\tIN\tMX\t10 feedback-smtp.{REGION}.amazonses.com.",
        f'{mail_from}\tIN\tTXT\t"v=spf1 include:amazonses.com ~all"',
        "sesbot\tIN\tA\t192.0.2.90",
    ]
    zones = {FROM_DOMAIN: "\n".join(lines) + "\n"}
    for d in RECIPIENT_DOMAINS:
        body = [*_zone_header(d.name, serial), *(f"@\tIN\tMX\t{pref} {host}" for pref, host in d.mx)]
        for _, host in d.mx:
            if host.endswith(f".{d.name}."):
                body.append(f"{host.removesuffix(f'.{d.name}.')}\tIN\tA\t{d.remote_ips[0]}")
        zones[d.name] = "\n".join(body) + "\n"
    return zones


# SES's own published records (as of 2026) and the DNS blocklists the reputation step queries: a local resolver
# for the simulated world needs them too. The blocklist zones are empty: nothing simulated is listed.
AMAZONSES_SPF = ("v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 ip4:54.240.0.0/18 ip4:69.169.224.0/20 "
                 "ip4:23.249.208.0/20 ip4:23.251.224.0/19 ip4:76.223.176.0/20 ip4:54.240.64.0/19 "
                 "ip4:54.240.96.0/19 ip4:76.223.128.0/19 ip4:216.221.160.0/19 ip4:206.55.144.0/20 -all")
BLOCKLIST_ZONES = ("zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "dbl.spamhaus.org",
                   "multi.surbl.org")


def support_zones(serial: int = 2026030201, dkim_tokens: Iterable[str] | None = None) -> dict[str, str]:
    """Zones outside the simulated domains that the checks resolve: ``amazonses.com`` (the SPF record that
    ``include:amazonses.com`` pulls in, the Easy DKIM key names) and one empty zone per DNS blocklist (every
    look-up answers NXDOMAIN: not listed)."""
    tokens = list(DKIM_TOKENS if dkim_tokens is None else dkim_tokens)
    lines = [*_zone_header("amazonses.com", serial), f'@\tIN\tTXT\t"{AMAZONSES_SPF}"',
             *(f'{t}.dkim\tIN\tTXT\t"p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA{t}"' for t in tokens),
             f"feedback-smtp.{REGION}\tIN\tA\t54.240.8.1"]
    zones = {"amazonses.com": "\n".join(lines) + "\n"}
    for zone in BLOCKLIST_ZONES:
        zones[zone] = "\n".join(_zone_header(zone, serial)) + "\n"
    return zones


# --------------------------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------------------------


def simulate(scenario: str, *, recipients: int = 2000, seed: int = 7, campaign: str | None = None,
             now: datetime | None = None, campaign_tag: str = "campaign") -> SimulatedCampaign:
    """Simulate one campaign of ``scenario`` with ``recipients`` intended recipients.

    ``now`` is the evaluation time (default: the scenario's offset after 2026-03-02T09:00Z); the campaign is
    placed ``spec.now_minutes`` before it. ``campaign`` defaults to ``<scenario prefix>-<seed:03d>``.

    The ``account_paused``/``account_sending_disabled`` scenarios follow what SES does: a paused configuration
    set (``SendingEnabled`` false) or account makes SES refuse new ``SendEmail`` calls
    (``SendingPausedException`` / ``AccountSendingPausedException``), so messages after the pause get **no**
    Send event at all (they never became SES messages), while messages accepted before it keep their normal
    outcomes. The evidence is therefore Send stopping mid-window (in the events and in CloudWatch), fewer Sends
    than ``intended_recipients``, and ``sending_enabled: false``, not a pile of Send-only recipients.
    """
    spec = SCENARIOS.get(scenario)
    if spec is None:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(sorted(SCENARIOS))}")
    if recipients < 1:
        raise ValueError("recipients must be at least 1")
    name = campaign or f"{spec.campaign_prefix}-{seed:03d}"
    return _Simulation(spec, recipients, seed, name, now, campaign_tag).run()


def write_scenario(sim: SimulatedCampaign, folder: Path, *, gzip_events: bool = False) -> dict[str, Path]:
    """Write ``events.jsonl`` (``events.jsonl.gz`` with ``gzip_events``), ``aws_state.json``, ``zones/<zone>.zone``
    and ``scenario.json`` into ``folder``. Returns what it wrote: ``events``, ``aws_state``, ``zones`` (the
    folder), ``scenario``."""
    folder = Path(folder)
    (folder / "zones").mkdir(parents=True, exist_ok=True)
    events_path = folder / ("events.jsonl.gz" if gzip_events else "events.jsonl")
    opener = gzip.open(events_path, "wb", compresslevel=6) if gzip_events else open(events_path, "wb")  # noqa: SIM115
    with opener as fh:
        fh.write(b"".join(orjson.dumps(rec) + b"\n" for rec in sim.events))
    (folder / "aws_state.json").write_bytes(orjson.dumps(sim.aws.to_json(), option=orjson.OPT_INDENT_2))
    for zone, text in sim.dns_zones.items():
        (folder / "zones" / f"{zone}.zone").write_text(text)
    meta = {
        "campaign": sim.campaign,
        "scenario": sim.scenario,
        "now": _iso(sim.now),
        "start": _iso(sim.start),
        "expected_cause": sim.expected_cause,
        "expected_causes": list(sim.expected_causes),
        "expected_totals": sim.expected_totals,
        "expected_send_only": sim.expected_send_only,
        "configuration_set": sim.configuration_set,
        "campaign_tag": sim.campaign_tag,
        "intended_recipients": sim.intended_recipients,
        "recipient_domains": sim.recipient_domains,
        "description": sim.description,
    }
    (folder / "scenario.json").write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    return {"events": events_path, "aws_state": folder / "aws_state.json", "zones": folder / "zones",
            "scenario": folder / "scenario.json"}


# --------------------------------------------------------------------------------------------------------------
# Fast NDJSON generator for benchmarks
# --------------------------------------------------------------------------------------------------------------

_BENCH_CAMPAIGNS = ("spring-sendout", "weekly-digest", "product-launch", "winback", "newsletter", "flash-sale",
                    "loyalty-update", "promo-weekend", "onboarding", "black-friday")
_BENCH_SUBJECTS = ("Spring is here: 20% off everything this week", "Your weekly digest: 5 stories for you",
                   "Introducing the Acme One - available today", "We miss you! Here's 15% off",
                   "March newsletter: what's new at Acme", "Flash sale: 3 hours only")
_PLACEHOLDER = re.compile(r'"##(\w+)##"|@@(\w+)@@')


def _compile(obj: Any) -> Callable[..., str]:
    """Turn a JSON-able object holding ``@@name@@`` (inside strings) and ``"##name##"`` (raw JSON) placeholders
    into a fast ``f(**names) -> str`` built on one f-string."""
    text = orjson.dumps(obj).decode()
    names: list[str] = []
    parts: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(text):
        parts.append(text[pos:m.start()].replace("{", "{{").replace("}", "}}"))
        name = m.group(1) or m.group(2)
        parts.append("{" + name + "}")
        if name not in names:
            names.append(name)
        pos = m.end()
    parts.append(text[pos:].replace("{", "{{").replace("}", "}}"))
    src = f"lambda {', '.join(names)}: f{''.join(parts)!r}"
    return eval(src, {})  # our own template text, never external input


def _ses_id(ms: int, getrandbits: Callable[[int], int]) -> str:
    """An SES message or feedback id for a moment: the time in hex, then random groups."""
    gb = getrandbits
    return f"0100{ms:012x}-{gb(32):08x}-{gb(16):04x}-{gb(16):04x}-{gb(16):04x}-{gb(48):012x}-000000"


def _fast_texts() -> tuple[dict[str, str], dict[str, tuple[str, str]], dict[str, tuple[str, str]], dict[str, str]]:
    """What the fast generators write, rendered once: per recipient domain the Delivery smtpResponse, the hard
    Bounce's (status, diagnosticCode with "{rcpt}" left to fill), the openers' (IP prefix, user agent); per
    outgoing IP the reporting MTA."""
    smtp_by_dom = {d.name: _SMTP_OK.get(d.provider, _SMTP_OK["other"]).format(
        epoch=1709370000, tok="d75a77b69052e-42f1c3a5b1e", TOK="7A1B2C3D4E", n=1234567, m=123,
        mid="0100018e0000", size=34567) for d in RECIPIENT_DOMAINS}
    hard_by_dom = {}
    open_by_dom = {}
    for d in RECIPIENT_DOMAINS:
        status, diag = _HARD_BOUNCE.get(d.provider, _HARD_BOUNCE["other"])
        hard_by_dom[d.name] = (status, diag.format(tok="41be03b00d2f7-5dbc1234abc", n=1234567, m=345,
                                                   domain=d.name, rcpt="{rcpt}"))
        ip_tpl, ua = _OPENERS.get(d.provider, _OPENERS["other"])[1]
        open_by_dom[d.name] = (ip_tpl.format(a=84, b="").rstrip("."), ua)
    mta_by_ip = {ip: _mta_host(ip) for ip in SES_OUTGOING_IPS}
    return smtp_by_dom, hard_by_dom, open_by_dom, mta_by_ip


def _stamp_formatters(cache_seconds: int = 200_000) -> tuple[Callable[[int], str], Callable[[int], str]]:
    """(iso, rfc_date) of epoch ms: "2024-03-02T09:00:00.123Z" and the Date header's "Sat, 02 Mar 2024 09:00:00
    +0000", both formatted once per second (the cache is emptied past ``cache_seconds`` entries)."""
    cache: dict[int, tuple[str, str]] = {}
    gmtime = time.gmtime
    strftime = time.strftime

    def iso(ms: int) -> str:
        sec = ms // 1000
        hit = cache.get(sec)
        if hit is None:
            tm = gmtime(sec)
            hit = (strftime("%Y-%m-%dT%H:%M:%S", tm), strftime("%a, %d %b %Y %H:%M:%S +0000", tm))
            if len(cache) > cache_seconds:
                cache.clear()
            cache[sec] = hit
        return f"{hit[0]}.{ms % 1000:03d}Z"

    def rfc_date(ms: int) -> str:
        iso(ms)
        return cache[ms // 1000][1]

    return iso, rfc_date


class _FastCampaign:
    def __init__(self, i: int, seed: int) -> None:
        rng = random.Random(f"sesbot-fast:{seed}:{i}")
        name = fast_campaign_name(seed, i)
        ctx = _Ctx(campaign=name, campaign_tag="campaign",
                   configuration_set=rng.choice(("marketing-main", "newsletter", "launches", "promotions")),
                   subject=rng.choice(_BENCH_SUBJECTS), template=f"{name}-v{rng.randrange(1, 6)}",
                   audience=rng.choice(("eu-subscribers", "us-subscribers", "all-active", "vip")))
        self.name = name
        boundary = f"----=_Part_{rng.randrange(10**6, 10**7)}_{rng.randrange(10**8, 10**9)}.1709370000000"
        token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(22))
        mail_args = (ctx, "@@mid@@", "@@ts@@", "@@date@@", ["##dest##"], "@@to@@", boundary, token)
        plain = _mail_object(*mail_args, None)
        plain["commonHeaders"]["to"] = ["##dest##"]
        out = _mail_object(*mail_args, "@@ip@@")
        out["commonHeaders"]["to"] = ["##dest##"]

        # The mail object is rendered once per message (plain, and with ses:outgoing-ip when attempted); each
        # event template wraps a rendered one.
        self.mail_plain = _compile(plain)
        self.mail_out = _compile(out)

        def rec(etype: str, _mail: Any, body: Any) -> Callable[..., str]:
            return _compile({"eventType": etype, "mail": "##mail##", BODY_KEY[etype]: body})

        self.send = rec("Send", plain, {})
        self.delivery = rec("Delivery", out, {
            "timestamp": "@@ets@@", "processingTimeMillis": "##ptm##", "recipients": ["@@rcpt@@"],
            "smtpResponse": "@@smtp@@", "remoteMtaIp": "@@rip@@", "reportingMTA": "@@mta@@"})
        self.bounce = rec("Bounce", out, {
            "feedbackId": "@@fid@@", "bounceType": "@@btype@@", "bounceSubType": "@@bsub@@",
            "bouncedRecipients": [{"emailAddress": "@@rcpt@@", "action": "failed", "status": "@@status@@",
                                   "diagnosticCode": "@@diag@@"}],
            "timestamp": "@@ets@@", "remoteMtaIp": "@@rip@@", "reportingMTA": "dsn; @@mta@@"})
        self.suppressed = rec("Bounce", plain, {
            "feedbackId": "@@fid@@", "bounceType": "Permanent", "bounceSubType": "OnAccountSuppressionList",
            "bouncedRecipients": [{"emailAddress": "@@rcpt@@", "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": SUPPRESSION_BOUNCE_DIAG}],
            "timestamp": "@@ets@@", "reportingMTA": "dns; amazonses.com"})
        self.delay = rec("DeliveryDelay", out, {
            "timestamp": "@@ets@@", "delayType": "@@dtype@@", "expirationTime": "@@exp@@",
            "delayedRecipients": [{"emailAddress": "@@rcpt@@", "status": "@@status@@", "diagnosticCode": "@@diag@@"}],
            "reportingMTA": "@@mta@@"})
        self.complaint = rec("Complaint", out, {
            "feedbackId": "@@fid@@", "complaintSubType": None, "complainedRecipients": [{"emailAddress": "@@rcpt@@"}],
            "timestamp": "@@ets@@", "userAgent": "@@ua@@", "complaintFeedbackType": "abuse",
            "arrivalDate": "@@ets@@"})
        self.open = rec("Open", plain, {"timestamp": "@@ets@@", "userAgent": "@@ua@@", "ipAddress": "@@oip@@"})
        self.click = rec("Click", plain, {
            "timestamp": "@@ets@@", "ipAddress": "@@oip@@", "userAgent": _CLICK_UA,
            "link": f"https://{FROM_DOMAIN}/{name}?utm_source=ses&utm_medium=email&utm_campaign={name}",
            "linkTags": {"link": ["hero-cta"]}})


def iter_events_fast(n_events: int, *, campaigns: int = 10, seed: int = 1,
                     start: datetime | None = None) -> Iterator[bytes]:
    """Yield exactly ``n_events`` compact JSON records (bytes, no newline) for ingest benchmarks.

    Mix per recipient: Send, then Delivery ~75 % (Open on ~27 % of those, Click on some openers, Complaint
    ~0.15 %), Bounce ~3 % (a quarter of them OnAccountSuppressionList), DeliveryDelay ~3 %, nothing ~19 %
    (Send-only). ~3 % of messages have 2-3 recipients. Lines are 1.2-1.6 KB like real records. Records go
    through a 4,096-line shuffle buffer (so Delivery sometimes precedes its Send) and ~1 % are duplicated.
    Timestamps follow a virtual clock of ~200 messages/s from ``start``; engagement timestamps run minutes ahead
    of the stream position (they are not held back for hours as a real stream would).
    """
    if n_events <= 0:
        return
    rng = random.Random(f"sesbot-fast:{seed}")
    rnd = rng.random
    gb = rng.getrandbits
    camps = [_FastCampaign(i, seed) for i in range(max(1, campaigns))]
    # Skewed campaign sizes: the first campaigns are the big ones.
    pick = [c for i, c in enumerate(camps) for _ in range(max(1, 2 * len(camps) - 2 * i))]
    npick = len(pick)
    domains = [d for d in RECIPIENT_DOMAINS for _ in range(round(d.weight * 100))]
    pool_size = max(1000, min(200_000, n_events // 2))
    pool = []
    dom_of = []
    for i in range(pool_size):
        d = domains[int(rnd() * len(domains))]
        pool.append(f"{_FIRST[i % len(_FIRST)]}.{_LAST[(i // len(_FIRST)) % len(_LAST)]}{i}@{d.name}")
        dom_of.append(d)
    smtp_by_dom, hard_by_dom, open_by_dom, mta_by_ip = _fast_texts()
    ips = SES_OUTGOING_IPS
    nips = len(ips)
    t0 = int((start or DEFAULT_START).timestamp() * 1000)
    stamp, rfc_date = _stamp_formatters()

    window = 4096
    buf: list[str] = []
    produced = 0
    now_ms = t0
    group: list[str] = []
    while produced < n_events:
        now_ms += int(rnd() * 10) + 1
        s = now_ms
        ts = stamp(s)
        date = rfc_date(s)
        c = pick[int(rnd() * npick)]
        mid = _ses_id(s, gb)
        ip = ips[int(rnd() * nips)]
        mta = mta_by_ip[ip]
        k = int(rnd() * pool_size)
        idx = [k]
        if rnd() < 0.03:  # a few messages to 2-3 recipients
            idx.append((k + 7919) % pool_size)
            if rnd() < 0.3:
                idx.append((k + 104729) % pool_size)
        rcpts = [pool[j] for j in idx]
        dest = '"' + '","'.join(rcpts) + '"'
        to = ", ".join(rcpts)
        mp = c.mail_plain(ts=ts, mid=mid, date=date, dest=dest, to=to)
        mo = ""  # rendered on first use: Send-only and suppressed recipients never need it
        group.clear()
        group.append(c.send(mail=mp))
        for j in idx:
            rcpt = pool[j]
            d = dom_of[j]
            u = rnd()
            if u < 0.75:
                e = s + 400 + int(rnd() * 6000)
                mo = mo or c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=to, ip=ip)
                group.append(c.delivery(mail=mo, ets=stamp(e),
                                        ptm=e - s, rcpt=rcpt, smtp=smtp_by_dom[d.name],
                                        rip=d.remote_ips[0], mta=mta))
                v = rnd()
                if v < 0.27:
                    o = e + 60_000 + int(rnd() * 3_600_000)
                    oprefix, ua = open_by_dom[d.name]
                    oip = f"{oprefix}.{1 + int(rnd() * 250)}"
                    group.append(c.open(mail=mp, ets=stamp(o), ua=ua, oip=oip))
                    if v < 0.03:
                        group.append(c.click(mail=mp,
                                             ets=stamp(o + 5000 + int(rnd() * 60_000)), oip=oip))
                elif v > 0.9985:
                    q = e + 3_600_000 + int(rnd() * 20_000_000)
                    mo = mo or c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=to, ip=ip)
                    group.append(c.complaint(mail=mo,
                                             fid=_ses_id(q, gb),
                                             rcpt=rcpt, ets=stamp(q), ua=_COMPLAINT_UA["yahoo"]))
            elif u < 0.78:
                e = s + 1000 + int(rnd() * 8000)
                e -= e % 1000
                fid = _ses_id(e, gb)
                if u < 0.7575:
                    group.append(c.suppressed(mail=mp, fid=fid, rcpt=rcpt,
                                              ets=stamp(e)))
                else:
                    status, diag = hard_by_dom[d.name]
                    mo = mo or c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=to, ip=ip)
                    group.append(c.bounce(mail=mo, fid=fid,
                                          btype="Permanent", bsub="General", rcpt=rcpt, status=status,
                                          diag=diag.replace("{rcpt}", rcpt), ets=stamp(e),
                                          rip=d.remote_ips[0], mta=mta))
            elif u < 0.81:
                e = s + 240_000 + int(rnd() * 600_000)
                mo = mo or c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=to, ip=ip)
                group.append(c.delay(mail=mo, ets=stamp(e),
                                     dtype="TransientCommunicationFailure", exp=stamp(s + 50_400_000),
                                     rcpt=rcpt, status="4.4.1",
                                     diag="smtp; 421 4.4.1 Unable to connect to remote host", mta=mta))
        if rnd() < 0.02:  # ~1 % of lines delivered twice (SNS at-least-once), byte-identical
            group.append(group[int(rnd() * len(group))])
        if produced + len(group) > n_events:
            del group[n_events - produced:]
        produced += len(group)
        if len(buf) < window:
            room = window - len(buf)
            buf.extend(group[:room])
            group = group[room:]
        for line in group:
            i = int(rnd() * window)
            out = buf[i]
            buf[i] = line
            yield out.encode()
    rng.shuffle(buf)
    for line in buf:
        yield line.encode()


def write_ndjson(path: str | Path, n_events: int, *, campaigns: int = 10, seed: int = 1,
                 start: datetime | None = None, gzip_output: bool | None = None, compresslevel: int = 1) -> int:
    """Write :func:`iter_events_fast` lines to ``path`` (gzipped if it ends in ``.gz`` or ``gzip_output``).
    Returns the number of lines written."""
    path = Path(path)
    zipped = path.suffix == ".gz" if gzip_output is None else gzip_output
    fh = gzip.open(path, "wb", compresslevel=compresslevel) if zipped else open(path, "wb")  # noqa: SIM115
    with fh:
        return write_lines(fh, iter_events_fast(n_events, campaigns=campaigns, seed=seed, start=start))


def write_lines(fh: IO[bytes], lines: Iterable[bytes], batch_size: int = 2000) -> int:
    """Write NDJSON lines to an open binary file in batches of joined lines; returns how many were written."""
    n = 0
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= batch_size:
            fh.write(b"\n".join(batch) + b"\n")
            n += len(batch)
            batch.clear()
    if batch:
        fh.write(b"\n".join(batch) + b"\n")
        n += len(batch)
    return n


def fast_campaign_name(seed: int = 1, index: int = 0) -> str:
    """The campaign name :func:`iter_events_fast` / :func:`iter_campaign_fast` give campaign ``index``."""
    return f"{_BENCH_CAMPAIGNS[index % len(_BENCH_CAMPAIGNS)]}-{seed % 1000:03d}-{index:02d}"


def iter_campaign_fast(recipients: int, send_only: int, *, seed: int = 1, start: datetime | None = None,
                       window_minutes: float = 60.0, delayed_share: float = 0.03, bounce_share: float = 0.02,
                       open_share: float = 0.10) -> Iterator[bytes]:
    """One big campaign (:func:`fast_campaign_name` ``(seed)``) as compact JSON records, for the ``why``
    benchmark: ``recipients`` single-recipient messages sent evenly over ``window_minutes`` from ``start``, of
    which exactly ``send_only`` (spread evenly) get no event after their Send. Of the others, ``delayed_share``
    get a DeliveryDelay still pending (expiry 14 h after the send), ``bounce_share`` a Bounce (a quarter of them
    OnAccountSuppressionList), the rest a Delivery, ``open_share`` of those an Open and 0.1 % a Complaint.
    Records pass through a 4,096-line shuffle buffer (out of order) and ~0.5 % are delivered twice; neither
    changes what the recipients' states are."""
    if not 0 <= send_only <= recipients:
        raise ValueError("send_only must be between 0 and recipients")
    rng = random.Random(f"sesbot-campaign-fast:{seed}")
    rnd = rng.random
    gb = rng.getrandbits
    c = _FastCampaign(0, seed)
    domains = [d for d in RECIPIENT_DOMAINS for _ in range(round(d.weight * 100))]
    smtp_by_dom, hard_by_dom, open_by_dom, mta_by_ip = _fast_texts()
    t0 = int((start or DEFAULT_START).timestamp() * 1000)
    step_ms = window_minutes * 60_000 / max(1, recipients)
    iso, rfc_date = _stamp_formatters()

    def new_id(ms: int) -> str:
        return _ses_id(ms, gb)

    window = 4096
    buf: list[str] = []
    group: list[str] = []
    for i in range(recipients):
        s = t0 + int(i * step_ms)
        ts, date = iso(s), rfc_date(s)
        d = domains[int(rnd() * len(domains))]
        rcpt = f"{_FIRST[i % len(_FIRST)]}.{_LAST[(i // len(_FIRST)) % len(_LAST)]}{i}@{d.name}"
        mid = new_id(s)
        ip = SES_OUTGOING_IPS[int(rnd() * len(SES_OUTGOING_IPS))]
        dest = f'"{rcpt}"'
        mp = c.mail_plain(ts=ts, mid=mid, date=date, dest=dest, to=rcpt)
        group.clear()
        group.append(c.send(mail=mp))
        if (i * send_only) // recipients == ((i + 1) * send_only) // recipients:  # not one of the Send-only
            u = rnd()
            if u < delayed_share:
                e = s + 240_000 + int(rnd() * 600_000)
                mo = c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=rcpt, ip=ip)
                group.append(c.delay(mail=mo, ets=iso(e), dtype="IPFailure", exp=iso(s + 50_400_000), rcpt=rcpt,
                                     status="4.7.0", diag="smtp; 421 4.7.0 Temporarily deferred, try again later",
                                     mta=mta_by_ip[ip]))
            elif u < delayed_share + bounce_share:
                e = s + 1000 + int(rnd() * 8000)
                e -= e % 1000
                if rnd() < 0.25:
                    group.append(c.suppressed(mail=mp, fid=new_id(e), rcpt=rcpt, ets=iso(e)))
                else:
                    status, diag = hard_by_dom[d.name]
                    mo = c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=rcpt, ip=ip)
                    group.append(c.bounce(mail=mo, fid=new_id(e), btype="Permanent", bsub="General", rcpt=rcpt,
                                          status=status, diag=diag.replace("{rcpt}", rcpt), ets=iso(e),
                                          rip=d.remote_ips[0], mta=mta_by_ip[ip]))
            else:
                e = s + 400 + int(rnd() * 6000)
                mo = c.mail_out(ts=ts, mid=mid, date=date, dest=dest, to=rcpt, ip=ip)
                group.append(c.delivery(mail=mo, ets=iso(e), ptm=e - s, rcpt=rcpt, smtp=smtp_by_dom[d.name],
                                        rip=d.remote_ips[0], mta=mta_by_ip[ip]))
                v = rnd()
                if v < open_share:
                    oprefix, ua = open_by_dom[d.name]
                    group.append(c.open(mail=mp, ets=iso(e + 60_000 + int(rnd() * 3_600_000)), ua=ua,
                                        oip=f"{oprefix}.{1 + int(rnd() * 250)}"))
                elif v > 0.999:
                    q = e + 3_600_000 + int(rnd() * 3_600_000)
                    group.append(c.complaint(mail=mo, fid=new_id(q), rcpt=rcpt, ets=iso(q),
                                             ua=_COMPLAINT_UA["yahoo"]))
        if rnd() < 0.005:
            group.append(group[int(rnd() * len(group))])
        for line in group:
            if len(buf) < window:
                buf.append(line)
                continue
            j = int(rnd() * window)
            out, buf[j] = buf[j], line
            yield out.encode()
    rng.shuffle(buf)
    for line in buf:
        yield line.encode()


# --------------------------------------------------------------------------------------------------------------
# Command line: python -m bot.simulate {scenario,fast,bench,list}
# --------------------------------------------------------------------------------------------------------------


def _main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bot.simulate", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sc = sub.add_parser("scenario", help="write one scenario's folder")
    sc.add_argument("name", choices=sorted(SCENARIOS))
    sc.add_argument("folder", type=Path)
    sc.add_argument("--recipients", type=int, default=2000)
    sc.add_argument("--seed", type=int, default=7)
    sc.add_argument("--campaign")
    sc.add_argument("--campaign-tag", default="campaign")
    sc.add_argument("--now", type=_parse_iso)
    fa = sub.add_parser("fast", help="write benchmark NDJSON (gzipped if PATH ends in .gz)")
    fa.add_argument("path", type=Path)
    fa.add_argument("-n", "--events", type=int, default=1_000_000)
    fa.add_argument("--campaigns", type=int, default=10)
    fa.add_argument("--seed", type=int, default=1)
    be = sub.add_parser("bench", help="measure iter_events_fast throughput")
    be.add_argument("-n", "--events", type=int, default=200_000)
    sub.add_parser("list", help="list scenarios")
    args = p.parse_args(argv)
    if args.cmd == "scenario":
        sim = simulate(args.name, recipients=args.recipients, seed=args.seed, campaign=args.campaign,
                       now=args.now, campaign_tag=args.campaign_tag)
        write_scenario(sim, args.folder)
        print(f"{sim.campaign}: {len(sim.events)} records, now {_iso(sim.now)}, expected {sim.expected_cause}, "
              f"totals {sim.expected_totals}")
    elif args.cmd == "fast":
        t = time.perf_counter()
        n = write_ndjson(args.path, args.events, campaigns=args.campaigns, seed=args.seed)
        print(f"{n} lines -> {args.path} in {time.perf_counter() - t:.1f}s")
    elif args.cmd == "bench":
        t = time.perf_counter()
        size = sum(len(line) for line in iter_events_fast(args.events))
        dt = time.perf_counter() - t
        print(f"{args.events} lines in {dt:.2f}s: {args.events / dt:,.0f} lines/s, "
              f"{size / args.events:,.0f} bytes/line")
    else:
        for spec in SCENARIOS.values():
            print(f"{spec.name:28} {spec.expected_cause:18} {spec.description}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
