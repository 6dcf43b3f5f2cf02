"""The one seam over boto3: what the investigation steps read from SESv2, SNS and CloudWatch, as plain dicts.

Every method returns TypedDicts (JSON-friendly apart from datetimes), never boto3 responses. Failures are two
exceptions the steps map to their status:

* `AwsUnavailable(reason)`: the call could not be made (no credentials, no region, endpoint unreachable); the step
  says `skipped`.
* `AwsCallError(reason, code, operation)`: AWS answered with an error (throttling, access denied, ...), or did not
  answer in time; the step says `error`.

"Not found" is data, not an error: `configuration_set`, `event_destinations`, `identity`, `suppressed_destination`
and `sns_subscriptions` return None for a resource that does not exist.

boto3 reads the SDK's own environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_PROFILE`, ...). Short timeouts and one
retry keep a slow AWS from holding up a Slack answer. Credentials are never logged.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypedDict, TypeVar

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

SES_NAMESPACE = "AWS/SES"
CONFIG_SET_DIMENSION = "ses:configuration-set"
SES_METRICS = ("Send", "Delivery", "Bounce", "Complaint", "Reject", "RenderingFailure", "DeliveryDelay")
DEFAULT_MAX_DELIVERY_SECONDS = 50_400  # SES's retry window when a configuration set sets none
EVENT_TYPES = ("SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "DELIVERY_DELAY", "REJECT", "RENDERING_FAILURE")

THROTTLING_CODES = frozenset(
    {
        "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
        "RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown", "Throttled",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation",
        "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken",
        "ExpiredTokenException", "InvalidSignatureException", "MissingAuthenticationToken",
    }
)
_NOT_FOUND_CODES = frozenset({"NotFoundException", "NotFound", "ResourceNotFoundException"})
_UNAVAILABLE = (
    NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, TokenRetrievalError, SSOError,
    ProfileNotFound, NoRegionError, EndpointConnectionError, ConnectionClosedError,
)

DEFAULT_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"total_max_attempts": 2, "mode": "standard"},  # one retry
    user_agent_extra="sesbot",
)


class AwsError(Exception):
    """Base of the seam's errors; `reason` is one line, safe to show to a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AwsUnavailable(AwsError):
    """The call could not be made: no credentials or region, or the endpoint is unreachable."""


class AwsCallError(AwsError):
    """AWS answered with an error (or did not answer in time); `code` is AWS's error code."""

    def __init__(self, reason: str, *, code: str, operation: str) -> None:
        super().__init__(reason)
        self.code = code
        self.operation = operation

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLING_CODES

    @property
    def access_denied(self) -> bool:
        return self.code in ACCESS_DENIED_CODES


class SuppressedDestination(TypedDict):
    email: str
    reason: str  # BOUNCE or COMPLAINT
    last_update: datetime


class SuppressedDestinationDetail(SuppressedDestination):
    message_id: str | None
    feedback_id: str | None


class AccountInfo(TypedDict):
    sending_enabled: bool
    enforcement_status: str | None  # HEALTHY, PROBATION, SHUTDOWN
    production_access: bool
    max_24h: float | None
    sent_last_24h: float | None
    max_send_rate: float | None
    suppressed_reasons: list[str]  # reasons the account suppression list is applied for


class ConfigurationSetInfo(TypedDict):
    name: str
    sending_enabled: bool
    max_delivery_seconds: int | None  # None: SES's default, DEFAULT_MAX_DELIVERY_SECONDS
    tls_policy: str  # REQUIRE or OPTIONAL
    sending_pool: str | None
    # None: the account's suppression settings apply; a list (maybe empty) overrides them for this set.
    suppressed_reasons: list[str] | None
    reputation_metrics_enabled: bool


class EventDestinationInfo(TypedDict):
    name: str
    enabled: bool
    matching_types: list[str]  # SEND, DELIVERY, BOUNCE, ... as in the API
    kind: str  # sns, cloudwatch, firehose, eventbridge, pinpoint, unknown
    sns_topic_arn: str | None
    target: str | None  # the destination's ARN (topic, stream, bus, application), None for CloudWatch


class IdentityInfo(TypedDict):
    identity: str
    type: str  # DOMAIN, EMAIL_ADDRESS, MANAGED_DOMAIN
    verified_for_sending: bool
    verification_status: str | None
    dkim_signing_enabled: bool
    dkim_status: str | None  # PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED
    dkim_tokens: list[str]  # Easy DKIM: CNAME <token>._domainkey.<domain> -> <token>.dkim.amazonses.com
    dkim_origin: str | None  # AWS_SES (Easy DKIM) or EXTERNAL (BYODKIM)
    mail_from_domain: str | None
    mail_from_status: str | None
    mail_from_behavior: str | None  # USE_DEFAULT_VALUE or REJECT_MESSAGE


class SnsSubscription(TypedDict):
    subscription_arn: str | None  # None while pending confirmation
    protocol: str
    endpoint: str
    confirmed: bool


class SesAccount:
    """SES, SNS and CloudWatch as the investigation steps see them, for one account and region."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        config: Config | None = None,
        cache_ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._region = region
        self._endpoint_url = endpoint_url
        self._config = DEFAULT_CONFIG.merge(config) if config else DEFAULT_CONFIG
        self._cache_ttl = cache_ttl
        self._clock = clock
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, SuppressedDestinationDetail | None]] = {}

    # ---- plumbing --------------------------------------------------------------------------------------------------

    @property
    def region(self) -> str | None:
        if self._region:
            return self._region
        session = self._session or boto3.Session()
        return session.region_name

    def _client(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                with self._translate(service, "create client"):
                    if self._session is None:
                        self._session = boto3.Session()
                    client = self._session.client(
                        service, region_name=self._region, endpoint_url=self._endpoint_url, config=self._config
                    )
                self._clients[service] = client
            return client

    @contextmanager
    def _translate(self, service: str, operation: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "Unknown"))
            message = str(error.get("Message") or "").strip()
            reason = f"{service} {operation}: {code}" + (f" ({message})" if message else "")
            logger.info("AWS call failed: %s", reason)
            raise AwsCallError(reason, code=code, operation=operation) from exc
        except _UNAVAILABLE as exc:
            reason = f"{service} {operation}: {_unavailable_reason(exc)}"
            logger.info("AWS unavailable: %s", reason)
            raise AwsUnavailable(reason) from exc
        except ParamValidationError:
            raise  # a bug in the caller, not a failure to check
        except ReadTimeoutError as exc:
            reason = f"{service} {operation}: no answer in time"
            raise AwsCallError(reason, code="Timeout", operation=operation) from exc
        except BotoCoreError as exc:
            reason = f"{service} {operation}: {type(exc).__name__}"
            raise AwsCallError(reason, code=type(exc).__name__, operation=operation) from exc

    def _call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        client = self._client(service)
        method = getattr(client, xform_name(operation))
        logger.debug("AWS %s %s", service, operation)
        with self._translate(service, operation):
            return method(**kwargs)

    def _call_or_none(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        try:
            return self._call(service, operation, **kwargs)
        except AwsCallError as exc:
            if exc.code in _NOT_FOUND_CODES:
                return None
            raise

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # ---- suppression -----------------------------------------------------------------------------------------------

    def suppressed_destinations(
        self,
        start: datetime | None = None,
        *,
        end: datetime | None = None,
        reasons: list[str] | None = None,
        page_size: int = 1000,
    ) -> list[SuppressedDestination]:
        """Every address on the account suppression list (updated at or after `start`), all pages."""
        kwargs: dict[str, Any] = {"PageSize": page_size}
        if start is not None:
            kwargs["StartDate"] = start
        if end is not None:
            kwargs["EndDate"] = end
        if reasons:
            kwargs["Reasons"] = list(reasons)
        found: list[SuppressedDestination] = []
        while True:
            page = self._call("sesv2", "ListSuppressedDestinations", **kwargs)
            for item in page.get("SuppressedDestinationSummaries", []):
                found.append(
                    {"email": item["EmailAddress"], "reason": item["Reason"], "last_update": item["LastUpdateTime"]}
                )
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def suppressed_destination(self, email: str) -> SuppressedDestinationDetail | None:
        """The suppression entry of one address, or None; answers (found or not) are cached for `cache_ttl`."""
        key = email.strip().lower()
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        response = self._call_or_none("sesv2", "GetSuppressedDestination", EmailAddress=email.strip())
        result: SuppressedDestinationDetail | None = None
        if response is not None:
            item = response["SuppressedDestination"]
            attributes = item.get("Attributes", {})
            result = {
                "email": item["EmailAddress"],
                "reason": item["Reason"],
                "last_update": item["LastUpdateTime"],
                "message_id": attributes.get("MessageId"),
                "feedback_id": attributes.get("FeedbackId"),
            }
        if self._cache_ttl > 0:
            with self._lock:
                self._cache[key] = (now + self._cache_ttl, result)
        return result

    # ---- account and configuration set -----------------------------------------------------------------------------

    def account(self) -> AccountInfo:
        response = self._call("sesv2", "GetAccount")
        quota = response.get("SendQuota", {})
        return {
            "sending_enabled": bool(response.get("SendingEnabled", False)),
            "enforcement_status": response.get("EnforcementStatus"),
            "production_access": bool(response.get("ProductionAccessEnabled", False)),
            "max_24h": quota.get("Max24HourSend"),
            "sent_last_24h": quota.get("SentLast24Hours"),
            "max_send_rate": quota.get("MaxSendRate"),
            "suppressed_reasons": list(response.get("SuppressionAttributes", {}).get("SuppressedReasons", [])),
        }

    def configuration_set(self, name: str) -> ConfigurationSetInfo | None:
        response = self._call_or_none("sesv2", "GetConfigurationSet", ConfigurationSetName=name)
        if response is None:
            return None
        delivery = response.get("DeliveryOptions", {})
        suppression = response.get("SuppressionOptions")
        max_delivery = delivery.get("MaxDeliverySeconds")
        return {
            "name": response.get("ConfigurationSetName", name),
            "sending_enabled": bool(response.get("SendingOptions", {}).get("SendingEnabled", True)),
            "max_delivery_seconds": int(max_delivery) if max_delivery is not None else None,
            "tls_policy": delivery.get("TlsPolicy", "OPTIONAL"),
            "sending_pool": delivery.get("SendingPoolName"),
            "suppressed_reasons": (
                list(suppression["SuppressedReasons"])
                if suppression and "SuppressedReasons" in suppression
                else None
            ),
            "reputation_metrics_enabled": bool(
                response.get("ReputationOptions", {}).get("ReputationMetricsEnabled", False)
            ),
        }

    def event_destinations(self, config_set: str) -> list[EventDestinationInfo] | None:
        """The configuration set's event destinations, or None when the configuration set does not exist."""
        response = self._call_or_none(
            "sesv2", "GetConfigurationSetEventDestinations", ConfigurationSetName=config_set
        )
        if response is None:
            return None
        return [_event_destination(item) for item in response.get("EventDestinations", [])]

    def identity(self, domain: str) -> IdentityInfo | None:
        response = self._call_or_none("sesv2", "GetEmailIdentity", EmailIdentity=domain)
        if response is None:
            return None
        dkim = response.get("DkimAttributes", {})
        mail_from = response.get("MailFromAttributes") or {}
        return {
            "identity": domain,
            "type": response.get("IdentityType", "DOMAIN"),
            "verified_for_sending": bool(response.get("VerifiedForSendingStatus", False)),
            "verification_status": response.get("VerificationStatus"),
            "dkim_signing_enabled": bool(dkim.get("SigningEnabled", False)),
            "dkim_status": dkim.get("Status"),
            "dkim_tokens": list(dkim.get("Tokens", [])),
            "dkim_origin": dkim.get("SigningAttributesOrigin"),
            "mail_from_domain": mail_from.get("MailFromDomain") or None,
            "mail_from_status": mail_from.get("MailFromDomainStatus"),
            "mail_from_behavior": mail_from.get("BehaviorOnMxFailure"),
        }

    # ---- SNS -------------------------------------------------------------------------------------------------------

    def sns_subscriptions(self, topic_arn: str) -> list[SnsSubscription] | None:
        """The topic's subscriptions (all pages), or None when the topic does not exist."""
        kwargs: dict[str, Any] = {"TopicArn": topic_arn}
        found: list[SnsSubscription] = []
        while True:
            page = self._call_or_none("sns", "ListSubscriptionsByTopic", **kwargs)
            if page is None:
                return None
            for item in page.get("Subscriptions", []):
                arn = item.get("SubscriptionArn", "")
                confirmed = arn.startswith("arn:")  # "PendingConfirmation" (or "Deleted") otherwise
                found.append(
                    {
                        "subscription_arn": arn if confirmed else None,
                        "protocol": item.get("Protocol", ""),
                        "endpoint": item.get("Endpoint", ""),
                        "confirmed": confirmed,
                    }
                )
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    # ---- CloudWatch ------------------------------------------------------------------------------------------------

    def cloudwatch_counts(self, config_set: str, start: datetime, end: datetime) -> dict[str, int]:
        """Sum of each SES metric (SES_METRICS) of the configuration set over [start, end), 0 when none.

        One GetMetricData call; each query names exactly the dimension SES publishes
        (`ses:configuration-set` = name), so metrics of other sets or with more dimensions are not counted.
        """
        start, end = _utc(start), _utc(end)
        if end <= start:
            raise ValueError("end must be after start")
        # One period covering the window (a multiple of 60 s; of 3600 s past 15 days, as CloudWatch requires).
        step = 3600 if (datetime.now(UTC) - start).total_seconds() > 15 * 86400 else 60
        period = max(step, math.ceil((end - start).total_seconds() / step) * step)
        queries = [
            {
                "Id": f"m{i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": SES_NAMESPACE,
                        "MetricName": metric,
                        "Dimensions": [{"Name": CONFIG_SET_DIMENSION, "Value": config_set}],
                    },
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for i, metric in enumerate(SES_METRICS)
        ]
        totals = dict.fromkeys(SES_METRICS, 0.0)
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
        while True:
            page = self._call("cloudwatch", "GetMetricData", **kwargs)
            for result in page.get("MetricDataResults", []):
                metric = SES_METRICS[int(result["Id"][1:])]
                totals[metric] += sum(result.get("Values", []))
            token = page.get("NextToken")
            if not token:
                return {metric: round(value) for metric, value in totals.items()}
            kwargs["NextToken"] = token


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _unavailable_reason(exc: BaseException) -> str:
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials"
    if isinstance(exc, CredentialRetrievalError | TokenRetrievalError | SSOError):
        return "AWS credentials could not be loaded"
    if isinstance(exc, ProfileNotFound):
        return "AWS profile not found"
    if isinstance(exc, NoRegionError):
        return "no AWS region (set AWS_REGION)"
    if isinstance(exc, EndpointConnectionError):
        return f"endpoint unreachable ({getattr(exc, 'kwargs', {}).get('endpoint_url', 'unknown')})"
    return "connection closed"


_KINDS = {
    "SnsDestination": ("sns", "TopicArn"),
    "CloudWatchDestination": ("cloudwatch", None),
    "KinesisFirehoseDestination": ("firehose", "DeliveryStreamArn"),
    "EventBridgeDestination": ("eventbridge", "EventBusArn"),
    "PinpointDestination": ("pinpoint", "ApplicationArn"),
}


def _event_destination(item: dict[str, Any]) -> EventDestinationInfo:
    kind, target = "unknown", None
    for key, (name, arn_field) in _KINDS.items():
        if key in item:
            kind = name
            target = item[key].get(arn_field) if arn_field else None
            break
    return {
        "name": item["Name"],
        "enabled": bool(item.get("Enabled", False)),
        "matching_types": list(item.get("MatchingEventTypes", [])),
        "kind": kind,
        "sns_topic_arn": target if kind == "sns" else None,
        "target": target,
    }
