"""A local AWS endpoint for `sesbot demo` and the tests: moto's server behind a small project-owned layer.

moto (5.x) serves SNS, SQS, S3 and most of CloudWatch well, but for what sesbot reads it is missing or wrong:

* SESv2 has no suppression list, no `GetAccount`, no `PutAccount*Attributes`, no configuration-set event
  destinations and no `PutConfigurationSet*Options` (all 404);
* `GetConfigurationSet` reports `SendingEnabled` false for a set created without `SendingOptions` and returns an
  empty `TrackingOptions` that violates the API's output shape;
* `GetEmailIdentity` has no DKIM tokens, reports Easy DKIM as `NOT_STARTED` and never has `MailFromAttributes`
  (and `PutEmailIdentityMailFromAttributes` / `PutEmailIdentityDkimAttributes` are 404);
* `DeleteConfigurationSet` of an unknown name fails with a 500 instead of `NotFoundException`;
* SNS confirms every subscription at once (real http, https, email and email-json subscriptions stay
  `PendingConfirmation` until confirmed) and `ConfirmSubscription` accepts any token;
* CloudWatch `GetMetricStatistics` matches dimensions leniently (a query for one dimension also sums metrics that
  carry more dimensions, no dimension sums everything) and `GetMetricData` ignores the namespace of a query with
  dimensions. Real CloudWatch matches the exact dimension set in the given namespace.

The layer below answers those operations itself from its own in-memory state (or from moto's models where moto
keeps the resource, such as configuration sets and identities) and passes every other request through to moto
unchanged. It speaks the real wire protocols (SESv2 REST-JSON, CloudWatch awsJson, SNS query), with the operation,
path and member names taken from botocore's service models, and its responses are validated against botocore's
output shapes by the tests (tests/aws_fixtures.py).

moto keeps its state per process: two `LocalAws` in one process share moto's backends (but not this layer's state),
and `reset()` resets all of moto in the process.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import logging
import os
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

logger = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_AUTH_SCOPE = re.compile(r"Credential=(?P<key>[^/\s,]+)/\d{8}/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)/")
_SNS_XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
_SUPPRESSION_REASONS = ("BOUNCE", "COMPLAINT")
_EVENT_TYPES = frozenset(
    {"SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "OPEN", "CLICK", "RENDERING_FAILURE", "DELIVERY_DELAY",
     "SUBSCRIPTION"}
)
_DESTINATION_KINDS = (
    "SnsDestination", "CloudWatchDestination", "KinesisFirehoseDestination", "EventBridgeDestination",
    "PinpointDestination",
)
# Real SNS keeps these pending until the endpoint confirms; sqs, lambda, firehose, application, sms are confirmed.
_PENDING_PROTOCOLS = frozenset({"http", "https", "email", "email-json"})
_MAX_DELIVERY_SECONDS = (300, 50_400)
_SUPPRESSION_PAGE_MAX = 1000

# HTTP status used by fail_next() when none is given.
_ERROR_STATUS = {
    "TooManyRequestsException": 429,
    "Throttling": 400,
    "ThrottlingException": 400,
    "Throttled": 400,
    "RequestLimitExceeded": 400,
    "AccessDenied": 403,
    "AccessDeniedException": 403,
    "AuthorizationError": 403,
    "NotFoundException": 404,
    "NotFound": 404,
    "InternalFailure": 500,
    "InternalServiceError": 500,
    "ServiceUnavailable": 503,
}


class _ApiError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _not_found(message: str) -> _ApiError:
    return _ApiError("NotFoundException", message, 404)


def _bad_request(message: str) -> _ApiError:
    return _ApiError("BadRequestException", message, 400)


# --------------------------------------------------------------------------------------------------------------------
# State kept by the layer, per (account, region)


@dataclass
class _Suppressed:
    email: str
    reason: str
    last_update: datetime
    message_id: str | None = None
    feedback_id: str | None = None


@dataclass
class _AccountSettings:
    sending_enabled: bool = True
    enforcement_status: str = "HEALTHY"
    production_access: bool = True
    max_24h: float = 50_000.0
    max_send_rate: float = 14.0
    sent_last_24h: float | None = None  # None: count what moto has sent
    suppressed_reasons: list[str] = field(default_factory=lambda: list(_SUPPRESSION_REASONS))
    dedicated_ip_auto_warmup: bool = False


@dataclass
class _IdentityExtra:
    dkim_status: str | None = None
    signing_enabled: bool | None = None
    verified: bool | None = None
    mail_from_domain: str | None = None
    mail_from_status: str = "SUCCESS"
    behavior_on_mx_failure: str = "USE_DEFAULT_VALUE"


@dataclass
class _PendingSubscription:
    subscription_arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    token: str


@dataclass
class _RegionState:
    suppressed: dict[str, _Suppressed] = field(default_factory=dict)
    account: _AccountSettings = field(default_factory=_AccountSettings)
    event_destinations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    identities: dict[str, _IdentityExtra] = field(default_factory=dict)
    pending: dict[str, _PendingSubscription] = field(default_factory=dict)
    confirmed: set[str] = field(default_factory=set)


@dataclass
class _Failure:
    operation: str
    code: str
    status: int
    message: str
    remaining: int


@dataclass
class _Call:
    """One request as the layer sees it."""

    service: str  # "sesv2", "monitoring", "sns", ... or "" when unknown
    operation: str | None
    protocol: str  # "rest-json", "json", "query", "cbor", "other"
    account: str
    region: str
    params: dict[str, Any]
    query: dict[str, list[str]]


# --------------------------------------------------------------------------------------------------------------------
# Wire helpers


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    pattern: re.Pattern[str]
    literal_length: int


@functools.cache
def _sesv2_routes() -> tuple[_Route, ...]:
    """Method + path template of every SESv2 operation, from botocore's model (most specific first)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sesv2")
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        template = http["requestUri"].split("?", 1)[0]
        regex, pos = "", 0
        for m in re.finditer(r"\{(\w+)(\+?)\}", template):
            regex += re.escape(template[pos : m.start()])
            regex += f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
            pos = m.end()
        regex += re.escape(template[pos:])
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        routes.append(_Route(name, http["method"], re.compile(f"^{regex}/?$"), literal))
    routes.sort(key=lambda r: -r.literal_length)
    return tuple(routes)


def _epoch(value: datetime) -> float:
    return value.timestamp()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _parse_time(raw: Any) -> datetime:
    """A timestamp as botocore sends it: epoch seconds (JSON bodies) or ISO 8601 (query strings)."""
    if isinstance(raw, datetime):
        return _aware(raw)
    if isinstance(raw, int | float):
        return datetime.fromtimestamp(float(raw), UTC)
    text = str(raw).strip()
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise _bad_request(f"Invalid timestamp: {text}") from exc


def _request_id() -> str:
    return str(uuid.uuid4())


def _json_response(data: dict[str, Any], status: int = 200, content_type: str = "application/json") -> Response:
    return Response(
        json.dumps(data), status=status, content_type=content_type, headers={"x-amzn-RequestId": _request_id()}
    )


def _dkim_tokens(account: str, region: str, domain: str) -> list[str]:
    """Three stable Easy DKIM tokens (32 characters of [a-z2-7], as SES issues)."""
    tokens = []
    for i in range(3):
        digest = hashlib.sha256(f"{account}/{region}/{domain.lower()}/{i}".encode()).digest()
        tokens.append(base64.b32encode(digest).decode().lower().rstrip("=")[:32])
    return tokens


def _default_account_id() -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)


# --------------------------------------------------------------------------------------------------------------------
# The layer


class EmulatorApp:
    """WSGI application: the project's SESv2 / SNS / CloudWatch overrides in front of moto's server app."""

    def __init__(self, moto_app: WsgiApp | None = None) -> None:
        if moto_app is None:
            from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

            moto_app = DomainDispatcherApplication(create_backend_app)
        self._moto = moto_app
        self._lock = threading.RLock()
        self._states: dict[tuple[str, str], _RegionState] = {}
        self._failures: list[_Failure] = []
        self._before: dict[tuple[str, str], Callable[[_Call], Response | None]] = {
            ("sesv2", "PutSuppressedDestination"): self._put_suppressed_destination,
            ("sesv2", "GetSuppressedDestination"): self._get_suppressed_destination,
            ("sesv2", "DeleteSuppressedDestination"): self._delete_suppressed_destination,
            ("sesv2", "ListSuppressedDestinations"): self._list_suppressed_destinations,
            ("sesv2", "GetAccount"): self._get_account,
            ("sesv2", "PutAccountSendingAttributes"): self._put_account_sending_attributes,
            ("sesv2", "PutAccountSuppressionAttributes"): self._put_account_suppression_attributes,
            ("sesv2", "GetConfigurationSet"): self._get_configuration_set,
            ("sesv2", "DeleteConfigurationSet"): self._check_configuration_set_exists,
            ("sesv2", "PutConfigurationSetSendingOptions"): self._put_configuration_set_sending_options,
            ("sesv2", "PutConfigurationSetDeliveryOptions"): self._put_configuration_set_delivery_options,
            ("sesv2", "PutConfigurationSetSuppressionOptions"): self._put_configuration_set_suppression_options,
            ("sesv2", "PutConfigurationSetReputationOptions"): self._put_configuration_set_reputation_options,
            ("sesv2", "CreateConfigurationSetEventDestination"): self._create_event_destination,
            ("sesv2", "GetConfigurationSetEventDestinations"): self._get_event_destinations,
            ("sesv2", "UpdateConfigurationSetEventDestination"): self._update_event_destination,
            ("sesv2", "DeleteConfigurationSetEventDestination"): self._delete_event_destination,
            ("sesv2", "GetEmailIdentity"): self._get_email_identity,
            ("sesv2", "PutEmailIdentityMailFromAttributes"): self._put_mail_from_attributes,
            ("sesv2", "PutEmailIdentityDkimAttributes"): self._put_dkim_attributes,
            ("sns", "ConfirmSubscription"): self._confirm_subscription,
            ("monitoring", "GetMetricStatistics"): self._get_metric_statistics,
            ("monitoring", "GetMetricData"): self._get_metric_data,
        }
        self._after: dict[tuple[str, str], Callable[[_Call, Response], Response]] = {
            ("sesv2", "CreateEmailIdentity"): self._after_create_email_identity,
            ("sesv2", "DeleteEmailIdentity"): self._after_delete_email_identity,
            ("sesv2", "DeleteConfigurationSet"): self._after_delete_configuration_set,
            ("sns", "Subscribe"): self._after_subscribe,
            ("sns", "ListSubscriptionsByTopic"): self._after_list_subscriptions,
            ("sns", "ListSubscriptions"): self._after_list_subscriptions,
            ("sns", "GetSubscriptionAttributes"): self._after_get_subscription_attributes,
            ("sns", "Unsubscribe"): self._after_unsubscribe,
        }

    # ---- control (used by LocalAws) --------------------------------------------------------------------------------

    def state(self, account: str, region: str) -> _RegionState:
        with self._lock:
            return self._states.setdefault((account, region), _RegionState())

    def reset(self) -> None:
        with self._lock:
            self._states.clear()
            self._failures.clear()

    def add_failure(self, failure: _Failure) -> None:
        with self._lock:
            self._failures.append(failure)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    # ---- WSGI ------------------------------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        call = self._identify(environ, request, body)
        key = (call.service, call.operation or "")
        try:
            self._raise_injected(call)
            with self._lock:
                before = self._before.get(key)
                response = before(call) if before else None
            if response is None:
                after = self._after.get(key)
                if after is None:
                    return self._moto(environ, start_response)
                response = Response.from_app(self._moto, environ, buffered=True)
                if response.status_code < 300:
                    with self._lock:
                        response = after(call, response)
        except _ApiError as exc:
            response = self._error_response(call, exc)
        return response(environ, start_response)

    def _identify(self, environ: dict[str, Any], request: Request, body: bytes) -> _Call:
        auth = _AUTH_SCOPE.search(request.headers.get("Authorization", ""))
        region = auth.group("region") if auth else DEFAULT_REGION
        account = self._account_for(request, auth.group("key") if auth else "")
        raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or request.full_path
        split = urlsplit(raw_uri)
        query = parse_qs(split.query, keep_blank_values=True)
        path = split.path
        target = request.headers.get("X-Amz-Target", "")
        content_type = request.headers.get("Content-Type", "")

        if path.startswith("/v2/email/"):
            params: dict[str, Any] = {}
            if body:
                try:
                    params = json.loads(body)
                except ValueError:
                    params = {}
            for route in _sesv2_routes():
                if route.method != request.method:
                    continue
                m = route.pattern.match(path)
                if m:
                    params.update({k: unquote(v) for k, v in m.groupdict().items()})
                    return _Call("sesv2", route.operation, "rest-json", account, region, params, query)
            return _Call("sesv2", None, "rest-json", account, region, params, query)
        if target and "." in target:
            prefix, operation = target.rsplit(".", 1)
            service = "monitoring" if prefix.startswith("GraniteServiceVersion") else prefix
            try:
                params = json.loads(body) if body else {}
            except ValueError:
                params = {}
            return _Call(service, operation, "json", account, region, params, query)
        m = re.match(r"^/service/[^/]+/operation/([^/]+)$", path)
        if m:
            service = auth.group("service") if auth else ""
            return _Call(service, m.group(1), "cbor", account, region, {}, query)
        if content_type.startswith("application/x-www-form-urlencoded") and body:
            form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
            if "Action" in form:
                service = auth.group("service") if auth else ""
                return _Call(service, form["Action"], "query", account, region, form, query)
        service = auth.group("service") if auth else ""
        return _Call(service, None, "other", account, region, {}, query)

    @staticmethod
    def _account_for(request: Request, access_key: str) -> str:
        """The account moto will use for this request (same precedence as moto's BaseResponse)."""
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        if "x-moto-account-id" in request.headers:
            return request.headers["x-moto-account-id"]
        from moto.iam.models import get_account_id_from

        return get_account_id_from(access_key)

    def _raise_injected(self, call: _Call) -> None:
        if not call.operation:
            return
        with self._lock:
            for failure in self._failures:
                if failure.operation == call.operation and failure.remaining > 0:
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    raise _ApiError(failure.code, failure.message, failure.status)

    @staticmethod
    def _error_response(call: _Call, exc: _ApiError) -> Response:
        if call.protocol == "query":
            body = (
                f'<ErrorResponse xmlns="{_SNS_XMLNS}"><Error><Type>{"Receiver" if exc.status >= 500 else "Sender"}'
                f"</Type><Code>{escape(exc.code)}</Code><Message>{escape(exc.message)}</Message></Error>"
                f"<RequestId>{_request_id()}</RequestId></ErrorResponse>"
            )
            return Response(body, status=exc.status, content_type="text/xml")
        if call.protocol == "json":
            response = _json_response(
                {"__type": exc.code, "message": exc.message}, exc.status, "application/x-amz-json-1.0"
            )
            response.headers["x-amzn-query-error"] = f"{exc.code};{'Receiver' if exc.status >= 500 else 'Sender'}"
            return response
        response = _json_response({"message": exc.message}, exc.status)
        response.headers["x-amzn-ErrorType"] = exc.code
        return response

    # ---- moto models -----------------------------------------------------------------------------------------------

    @staticmethod
    def _ses_core(call: _Call) -> Any:
        from moto.sesv2.models import sesv2_backends

        return sesv2_backends[call.account][call.region].core_backend

    def _config_set(self, call: _Call, name: str) -> Any:
        config_set = self._ses_core(call).config_sets.get(name)
        if config_set is None:
            raise _not_found(f"Configuration set <{name}> does not exist.")
        return config_set

    def _identity(self, call: _Call, name: str) -> Any:
        identity = self._ses_core(call).email_identities.get(name)
        if identity is None:
            raise _not_found(f"Email identity {name} does not exist.")
        return identity

    # ---- SESv2: suppression list -----------------------------------------------------------------------------------

    def _put_suppressed_destination(self, call: _Call) -> Response:
        email = str(call.params.get("EmailAddress", "")).strip()
        reason = call.params.get("Reason")
        if not email or "@" not in email:
            raise _bad_request("Invalid email address.")
        if reason not in _SUPPRESSION_REASONS:
            raise _bad_request(f"Invalid reason: {reason}. Valid values: BOUNCE, COMPLAINT.")
        state = self.state(call.account, call.region)
        state.suppressed[email.lower()] = _Suppressed(email, reason, datetime.now(UTC))
        return _json_response({})

    def _suppressed_or_404(self, call: _Call) -> _Suppressed:
        email = str(call.params.get("EmailAddress", ""))
        entry = self.state(call.account, call.region).suppressed.get(email.lower())
        if entry is None:
            raise _not_found(f"Email address {email} does not exist on your suppression list.")
        return entry

    def _get_suppressed_destination(self, call: _Call) -> Response:
        entry = self._suppressed_or_404(call)
        destination: dict[str, Any] = {
            "EmailAddress": entry.email,
            "Reason": entry.reason,
            "LastUpdateTime": _epoch(entry.last_update),
        }
        attributes = {k: v for k, v in (("MessageId", entry.message_id), ("FeedbackId", entry.feedback_id)) if v}
        if attributes:
            destination["Attributes"] = attributes
        return _json_response({"SuppressedDestination": destination})

    def _delete_suppressed_destination(self, call: _Call) -> Response:
        entry = self._suppressed_or_404(call)
        del self.state(call.account, call.region).suppressed[entry.email.lower()]
        return _json_response({})

    def _list_suppressed_destinations(self, call: _Call) -> Response:
        reasons = call.query.get("Reason", [])
        if any(r not in _SUPPRESSION_REASONS for r in reasons):
            raise _bad_request("Invalid reason. Valid values: BOUNCE, COMPLAINT.")
        start = _parse_time(call.query["StartDate"][-1]) if "StartDate" in call.query else None
        end = _parse_time(call.query["EndDate"][-1]) if "EndDate" in call.query else None
        try:
            page_size = int(call.query.get("PageSize", [str(_SUPPRESSION_PAGE_MAX)])[-1])
        except ValueError as exc:
            raise _bad_request("PageSize must be an integer.") from exc
        if not 1 <= page_size <= _SUPPRESSION_PAGE_MAX:
            raise _bad_request(f"PageSize must be between 1 and {_SUPPRESSION_PAGE_MAX}.")
        after = ""
        if "NextToken" in call.query:
            try:
                after = json.loads(base64.urlsafe_b64decode(call.query["NextToken"][-1].encode()))["after"]
            except (ValueError, KeyError, TypeError) as exc:
                raise _ApiError("InvalidNextTokenException", "The NextToken is invalid.", 400) from exc
        matching = [
            entry
            for key, entry in sorted(self.state(call.account, call.region).suppressed.items())
            if key > after
            and (not reasons or entry.reason in reasons)
            and (start is None or entry.last_update >= start)
            and (end is None or entry.last_update <= end)
        ]
        page = matching[:page_size]
        result: dict[str, Any] = {
            "SuppressedDestinationSummaries": [
                {"EmailAddress": e.email, "Reason": e.reason, "LastUpdateTime": _epoch(e.last_update)} for e in page
            ]
        }
        if len(matching) > page_size:
            token = json.dumps({"after": page[-1].email.lower()}).encode()
            result["NextToken"] = base64.urlsafe_b64encode(token).decode()
        return _json_response(result)

    # ---- SESv2: account --------------------------------------------------------------------------------------------

    def _get_account(self, call: _Call) -> Response:
        settings = self.state(call.account, call.region).account
        sent = settings.sent_last_24h
        if sent is None:
            sent = float(getattr(self._ses_core(call), "sent_message_count", 0))
        return _json_response(
            {
                "DedicatedIpAutoWarmupEnabled": settings.dedicated_ip_auto_warmup,
                "EnforcementStatus": settings.enforcement_status,
                "ProductionAccessEnabled": settings.production_access,
                "SendQuota": {
                    "Max24HourSend": settings.max_24h,
                    "MaxSendRate": settings.max_send_rate,
                    "SentLast24Hours": sent,
                },
                "SendingEnabled": settings.sending_enabled,
                "SuppressionAttributes": {"SuppressedReasons": list(settings.suppressed_reasons)},
            }
        )

    def _put_account_sending_attributes(self, call: _Call) -> Response:
        self.state(call.account, call.region).account.sending_enabled = bool(call.params.get("SendingEnabled", False))
        return _json_response({})

    def _put_account_suppression_attributes(self, call: _Call) -> Response:
        reasons = list(call.params.get("SuppressedReasons") or [])
        if any(r not in _SUPPRESSION_REASONS for r in reasons):
            raise _bad_request("Invalid suppressed reason. Valid values: BOUNCE, COMPLAINT.")
        self.state(call.account, call.region).account.suppressed_reasons = reasons
        return _json_response({})

    # ---- SESv2: configuration sets (stored in moto's model, rendered here) -----------------------------------------

    def _get_configuration_set(self, call: _Call) -> Response:
        name = call.params["ConfigurationSetName"]
        config_set = self._config_set(call, name)
        sending = config_set.enabled
        sending_enabled = sending.get("SendingEnabled", True) if isinstance(sending, dict) else bool(sending)
        delivery = {"TlsPolicy": "OPTIONAL", **(config_set.delivery_options or {})}
        reputation = {"ReputationMetricsEnabled": False, **(config_set.reputation_options or {})}
        result: dict[str, Any] = {
            "ConfigurationSetName": name,
            "DeliveryOptions": delivery,
            "ReputationOptions": reputation,
            "SendingOptions": {"SendingEnabled": bool(sending_enabled)},
            "Tags": list(config_set.tags or []),
        }
        tracking = config_set.tracking_options or {}
        if tracking.get("CustomRedirectDomain"):
            result["TrackingOptions"] = tracking
        if config_set.suppression_options:
            result["SuppressionOptions"] = config_set.suppression_options
        if config_set.vdm_options:
            result["VdmOptions"] = config_set.vdm_options
        return _json_response(result)

    def _check_configuration_set_exists(self, call: _Call) -> None:
        self._config_set(call, call.params["ConfigurationSetName"])

    def _after_delete_configuration_set(self, call: _Call, response: Response) -> Response:
        self.state(call.account, call.region).event_destinations.pop(call.params["ConfigurationSetName"], None)
        return response

    def _put_configuration_set_sending_options(self, call: _Call) -> Response:
        config_set = self._config_set(call, call.params["ConfigurationSetName"])
        config_set.enabled = {"SendingEnabled": bool(call.params.get("SendingEnabled", False))}
        return _json_response({})

    def _put_configuration_set_delivery_options(self, call: _Call) -> Response:
        config_set = self._config_set(call, call.params["ConfigurationSetName"])
        options = {
            k: call.params[k]
            for k in ("TlsPolicy", "SendingPoolName", "MaxDeliverySeconds", "SharedPoolDeliveryMode")
            if call.params.get(k) is not None
        }
        if options.get("TlsPolicy", "OPTIONAL") not in ("REQUIRE", "OPTIONAL"):
            raise _bad_request("TlsPolicy must be REQUIRE or OPTIONAL.")
        if "MaxDeliverySeconds" in options:
            low, high = _MAX_DELIVERY_SECONDS
            if not isinstance(options["MaxDeliverySeconds"], int) or not low <= options["MaxDeliverySeconds"] <= high:
                raise _bad_request(f"MaxDeliverySeconds must be between {low} and {high}.")
        config_set.delivery_options = options
        return _json_response({})

    def _put_configuration_set_suppression_options(self, call: _Call) -> Response:
        config_set = self._config_set(call, call.params["ConfigurationSetName"])
        reasons = call.params.get("SuppressedReasons")
        if reasons is not None and any(r not in _SUPPRESSION_REASONS for r in reasons):
            raise _bad_request("Invalid suppressed reason. Valid values: BOUNCE, COMPLAINT.")
        options = {
            k: call.params[k]
            for k in ("SuppressedReasons", "SuppressionScope", "ValidationOptions")
            if call.params.get(k) is not None
        }
        config_set.suppression_options = options
        return _json_response({})

    def _put_configuration_set_reputation_options(self, call: _Call) -> Response:
        config_set = self._config_set(call, call.params["ConfigurationSetName"])
        options = dict(config_set.reputation_options or {})
        options["ReputationMetricsEnabled"] = bool(call.params.get("ReputationMetricsEnabled", False))
        config_set.reputation_options = options
        return _json_response({})

    # ---- SESv2: event destinations ---------------------------------------------------------------------------------

    @staticmethod
    def _event_destination(name: str, definition: Any) -> dict[str, Any]:
        if not isinstance(definition, dict):
            raise _bad_request("EventDestination is required.")
        types = definition.get("MatchingEventTypes")
        if not types:
            raise _bad_request("MatchingEventTypes must contain at least one event type.")
        unknown = [t for t in types if t not in _EVENT_TYPES]
        if unknown:
            raise _bad_request(f"Invalid event types: {', '.join(map(str, unknown))}.")
        targets = [k for k in _DESTINATION_KINDS if definition.get(k)]
        if len(targets) != 1:
            raise _bad_request("Specify exactly one destination for the event destination.")
        destination: dict[str, Any] = {
            "Name": name,
            # Enabled is optional in the API and false when left out.
            "Enabled": bool(definition.get("Enabled", False)),
            "MatchingEventTypes": list(dict.fromkeys(types)),
            targets[0]: definition[targets[0]],
        }
        return destination

    def _destinations(self, call: _Call) -> dict[str, dict[str, Any]]:
        name = call.params["ConfigurationSetName"]
        self._config_set(call, name)
        return self.state(call.account, call.region).event_destinations.setdefault(name, {})

    def _create_event_destination(self, call: _Call) -> Response:
        destinations = self._destinations(call)
        name = call.params.get("EventDestinationName")
        if not name:
            raise _bad_request("EventDestinationName is required.")
        if name in destinations:
            raise _ApiError("AlreadyExistsException", f"Event destination {name} already exists.", 400)
        destinations[name] = self._event_destination(name, call.params.get("EventDestination"))
        return _json_response({})

    def _get_event_destinations(self, call: _Call) -> Response:
        return _json_response({"EventDestinations": list(self._destinations(call).values())})

    def _update_event_destination(self, call: _Call) -> Response:
        destinations = self._destinations(call)
        name = call.params["EventDestinationName"]
        if name not in destinations:
            raise _not_found(f"Event destination {name} does not exist.")
        destinations[name] = self._event_destination(name, call.params.get("EventDestination"))
        return _json_response({})

    def _delete_event_destination(self, call: _Call) -> Response:
        destinations = self._destinations(call)
        name = call.params["EventDestinationName"]
        if destinations.pop(name, None) is None:
            raise _not_found(f"Event destination {name} does not exist.")
        return _json_response({})

    # ---- SESv2: identities (stored in moto's model, DKIM and MAIL FROM here) ---------------------------------------

    def _dkim_attributes(self, call: _Call, identity: Any) -> dict[str, Any]:
        extra = self.state(call.account, call.region).identities.get(identity.email_identity, _IdentityExtra())
        signing = identity.dkim_signing_attributes if isinstance(identity.dkim_signing_attributes, dict) else {}
        if identity.identity_type != "DOMAIN":
            return {"SigningEnabled": False, "Status": "NOT_STARTED"}
        key_length = signing.get("NextSigningKeyLength", "RSA_2048_BIT")
        attributes: dict[str, Any] = {
            "SigningEnabled": True if extra.signing_enabled is None else extra.signing_enabled,
            "Status": extra.dkim_status or "SUCCESS",
            "NextSigningKeyLength": key_length,
            "CurrentSigningKeyLength": key_length,
        }
        if signing.get("DomainSigningPrivateKey"):
            attributes["SigningAttributesOrigin"] = "EXTERNAL"
        else:
            attributes["SigningAttributesOrigin"] = "AWS_SES"
            attributes["Tokens"] = _dkim_tokens(call.account, call.region, identity.email_identity)
        return attributes

    def _get_email_identity(self, call: _Call) -> Response:
        name = call.params["EmailIdentity"]
        identity = self._identity(call, name)
        extra = self.state(call.account, call.region).identities.get(name, _IdentityExtra())
        verified = True if extra.verified is None else extra.verified
        result: dict[str, Any] = {
            "IdentityType": identity.identity_type,
            "FeedbackForwardingStatus": True,
            "VerifiedForSendingStatus": verified,
            "DkimAttributes": self._dkim_attributes(call, identity),
            "Policies": dict(identity.policies or {}),
            "Tags": list(identity.tags or []),
            "VerificationStatus": "SUCCESS" if verified else "PENDING",
        }
        if identity.configuration_set_name:
            result["ConfigurationSetName"] = identity.configuration_set_name
        if extra.mail_from_domain:
            result["MailFromAttributes"] = {
                "MailFromDomain": extra.mail_from_domain,
                "MailFromDomainStatus": extra.mail_from_status,
                "BehaviorOnMxFailure": extra.behavior_on_mx_failure,
            }
        return _json_response(result)

    def _after_create_email_identity(self, call: _Call, response: Response) -> Response:
        identity = self._ses_core(call).email_identities.get(call.params.get("EmailIdentity"))
        if identity is None:
            return response
        data = json.loads(response.get_data())
        data["DkimAttributes"] = self._dkim_attributes(call, identity)
        data["VerifiedForSendingStatus"] = True
        return _json_response(data, response.status_code)

    def _after_delete_email_identity(self, call: _Call, response: Response) -> Response:
        self.state(call.account, call.region).identities.pop(call.params.get("EmailIdentity", ""), None)
        return response

    def _put_mail_from_attributes(self, call: _Call) -> Response:
        name = call.params["EmailIdentity"]
        identity = self._identity(call, name)
        extra = self.state(call.account, call.region).identities.setdefault(name, _IdentityExtra())
        domain = (call.params.get("MailFromDomain") or "").strip().lower()
        behavior = call.params.get("BehaviorOnMxFailure") or "USE_DEFAULT_VALUE"
        if behavior not in ("USE_DEFAULT_VALUE", "REJECT_MESSAGE"):
            raise _bad_request("BehaviorOnMxFailure must be USE_DEFAULT_VALUE or REJECT_MESSAGE.")
        parent = name.split("@")[-1].lower()
        if domain and not domain.endswith("." + parent):
            raise _bad_request(f"MAIL FROM domain {domain} must be a subdomain of {parent}.")
        if identity.identity_type != "DOMAIN" and domain:
            raise _bad_request("A custom MAIL FROM domain can only be set on a domain identity.")
        extra.mail_from_domain = domain or None
        extra.behavior_on_mx_failure = behavior
        return _json_response({})

    def _put_dkim_attributes(self, call: _Call) -> Response:
        name = call.params["EmailIdentity"]
        self._identity(call, name)
        extra = self.state(call.account, call.region).identities.setdefault(name, _IdentityExtra())
        extra.signing_enabled = bool(call.params.get("SigningEnabled", False))
        return _json_response({})

    # ---- SNS: pending confirmations --------------------------------------------------------------------------------

    def _after_subscribe(self, call: _Call, response: Response) -> Response:
        protocol = str(call.params.get("Protocol", "")).lower()
        text = response.get_data(as_text=True)
        m = re.search(r"<SubscriptionArn>(.*?)</SubscriptionArn>", text)
        if protocol not in _PENDING_PROTOCOLS or not m:
            return response
        arn = m.group(1)
        state = self.state(call.account, call.region)
        if arn not in state.pending and arn not in state.confirmed:
            state.pending[arn] = _PendingSubscription(
                arn, str(call.params.get("TopicArn", "")), protocol, str(call.params.get("Endpoint", "")),
                secrets.token_hex(32),
            )
        if arn in state.pending and str(call.params.get("ReturnSubscriptionArn", "")).lower() != "true":
            response.set_data(text.replace(m.group(0), "<SubscriptionArn>pending confirmation</SubscriptionArn>"))
        return response

    def _after_list_subscriptions(self, call: _Call, response: Response) -> Response:
        pending = self.state(call.account, call.region).pending
        if not pending:
            return response

        def hide(m: re.Match[str]) -> str:
            return "<SubscriptionArn>PendingConfirmation</SubscriptionArn>" if m.group(1) in pending else m.group(0)

        response.set_data(re.sub(r"<SubscriptionArn>(.*?)</SubscriptionArn>", hide, response.get_data(as_text=True)))
        return response

    def _after_get_subscription_attributes(self, call: _Call, response: Response) -> Response:
        if call.params.get("SubscriptionArn") in self.state(call.account, call.region).pending:
            text = response.get_data(as_text=True).replace(
                "<key>PendingConfirmation</key><value>false</value>",
                "<key>PendingConfirmation</key><value>true</value>",
            )
            response.set_data(text)
        return response

    def _after_unsubscribe(self, call: _Call, response: Response) -> Response:
        state = self.state(call.account, call.region)
        arn = call.params.get("SubscriptionArn", "")
        state.pending.pop(arn, None)
        state.confirmed.discard(arn)
        return response

    def confirm(self, state: _RegionState, subscription: _PendingSubscription) -> str:
        with self._lock:
            state.pending.pop(subscription.subscription_arn, None)
            state.confirmed.add(subscription.subscription_arn)
        return subscription.subscription_arn

    def _confirm_subscription(self, call: _Call) -> Response:
        state = self.state(call.account, call.region)
        topic, token = call.params.get("TopicArn"), call.params.get("Token")
        for subscription in list(state.pending.values()):
            if subscription.topic_arn == topic and subscription.token == token:
                arn = self.confirm(state, subscription)
                body = (
                    f'<ConfirmSubscriptionResponse xmlns="{_SNS_XMLNS}"><ConfirmSubscriptionResult>'
                    f"<SubscriptionArn>{escape(arn)}</SubscriptionArn></ConfirmSubscriptionResult>"
                    f"<ResponseMetadata><RequestId>{_request_id()}</RequestId></ResponseMetadata>"
                    "</ConfirmSubscriptionResponse>"
                )
                return Response(body, content_type="text/xml")
        raise _ApiError("InvalidParameter", "Invalid parameter: Token", 400)

    # ---- CloudWatch: exact dimension matching ----------------------------------------------------------------------

    @staticmethod
    def _metric_data(
        call: _Call, namespace: str, name: str, dimensions: list[dict[str, str]], unit: str | None,
        start: datetime, end: datetime,
    ) -> list[Any]:
        from moto.cloudwatch.models import cloudwatch_backends

        wanted = sorted((d["Name"], d["Value"]) for d in dimensions)
        backend = cloudwatch_backends[call.account][call.region]
        return [
            md
            for md in backend.get_all_metrics()
            if md.namespace == namespace
            and md.name == name
            and sorted((d.name, d.value) for d in md.dimensions) == wanted
            and (not unit or md.unit == unit)
            and start <= _aware(md.timestamp) < end
        ]

    @staticmethod
    def _buckets(data: list[Any], start: datetime, period: int, stats: list[str]) -> list[tuple[datetime, Any]]:
        from moto.cloudwatch.models import Statistics

        buckets: dict[int, Any] = {}
        for md in data:
            index = int((_aware(md.timestamp) - start).total_seconds() // period)
            bucket = buckets.get(index)
            if bucket is None:
                bucket = buckets[index] = Statistics(stats, start + timedelta(seconds=index * period))
            bucket.metric_data.append(md)
        return [(bucket.timestamp, bucket) for _, bucket in sorted(buckets.items())]

    def _get_metric_statistics(self, call: _Call) -> Response | None:
        p = call.params
        if p.get("ExtendedStatistics") or not p.get("Statistics"):
            return None  # moto answers percentiles and the missing-statistics error
        start, end, period = _parse_time(p["StartTime"]), _parse_time(p["EndTime"]), int(p["Period"])
        if start >= end:
            raise _ApiError("InvalidParameterValue", "The parameter StartTime must be less than EndTime.", 400)
        if period < 1:
            raise _ApiError("InvalidParameterValue", "The parameter Period must be positive.", 400)
        data = self._metric_data(
            call, p["Namespace"], p["MetricName"], p.get("Dimensions") or [], p.get("Unit"), start, end
        )
        datapoints = []
        for timestamp, bucket in self._buckets(data, start, period, list(p["Statistics"])):
            point: dict[str, Any] = {"Timestamp": _epoch(timestamp)}
            for stat in p["Statistics"]:
                value = bucket.get_statistics_for_type(stat)
                if value is not None:
                    point[stat] = float(value)
            point["Unit"] = next((md.unit for md in bucket.metric_data if md.unit), None) or "None"
            datapoints.append(point)
        return _json_response({"Label": p["MetricName"], "Datapoints": datapoints}, 200, "application/x-amz-json-1.0")

    def _get_metric_data(self, call: _Call) -> Response | None:
        p = call.params
        queries = p.get("MetricDataQueries") or []
        if not queries or any("MetricStat" not in q for q in queries):
            return None  # metric math and insights queries: moto's answer
        start, end = _parse_time(p["StartTime"]), _parse_time(p["EndTime"])
        if start >= end:
            raise _ApiError("ValidationError", "The parameter EndTime must be greater than StartTime.", 400)
        descending = p.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = []
        for query in queries:
            stat = query["MetricStat"]
            metric = stat["Metric"]
            data = self._metric_data(
                call, metric.get("Namespace", ""), metric.get("MetricName", ""), metric.get("Dimensions") or [],
                stat.get("Unit"), start, end,
            )
            buckets = self._buckets(data, start, int(stat["Period"]), [stat["Stat"]])
            if descending:
                buckets.reverse()
            values = [bucket.get_statistics_for_type(stat["Stat"]) for _, bucket in buckets]
            if query.get("ReturnData", True):
                results.append(
                    {
                        "Id": query["Id"],
                        "Label": query.get("Label") or metric.get("MetricName", query["Id"]),
                        "Timestamps": [_epoch(ts) for ts, _ in buckets],
                        "Values": [float(v) if v is not None else 0.0 for v in values],
                        "StatusCode": "Complete",
                    }
                )
        return _json_response({"MetricDataResults": results, "Messages": []}, 200, "application/x-amz-json-1.0")


# --------------------------------------------------------------------------------------------------------------------
# The server


def _request_handler() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        """moto's handler (keeps underscored headers), logging requests at DEBUG instead of to stderr."""

        def log(self, type: str, message: str, *args: Any) -> None:
            logger.debug("local aws %s: " + message, type, *args)

    return QuietHandler


class LocalAws:
    """moto's server plus the project's layer, on a loopback port in a daemon thread.

    >>> with LocalAws() as aws:              # doctest: +SKIP
    ...     url = aws.endpoint_url           # give it to boto3 as endpoint_url or AWS_ENDPOINT_URL
    """

    def __init__(self) -> None:
        self.app = EmulatorApp()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._endpoint_url: str | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port); returns the endpoint URL."""
        if self._server is not None:
            raise RuntimeError("LocalAws is already started")
        server = make_server(host, port, self.app, threaded=True, request_handler=_request_handler())
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="local-aws", daemon=True)
        self._thread.start()
        bound_host, bound_port = server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self._endpoint_url = f"http://{shown}:{bound_port}"
        logger.info("local AWS endpoint on %s", self._endpoint_url)
        return self._endpoint_url

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._endpoint_url = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def reset(self) -> None:
        """Forget everything: moto's backends (all of them, in this process) and the layer's state and failures."""
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        self.app.reset()

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise RuntimeError("LocalAws is not started")
        return self._endpoint_url

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- control: things no public AWS API sets --------------------------------------------------------------------

    def _state(self, region: str, account_id: str | None) -> _RegionState:
        return self.app.state(account_id or _default_account_id(), region)

    def fail_next(
        self, operation: str, code: str, *, status: int | None = None, message: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls of `operation` (e.g. "GetAccount", "ListSubscriptionsByTopic",
        "GetMetricData") with error `code`, in that service's wire format. botocore retries throttling codes
        and 5xx, and each attempt takes one of the `times`."""
        self.app.add_failure(
            _Failure(
                operation, code, status or _ERROR_STATUS.get(code, 400), message or f"Injected {code}", max(times, 1)
            )
        )

    def clear_failures(self) -> None:
        self.app.clear_failures()

    def set_account(
        self,
        *,
        sending_enabled: bool | None = None,
        enforcement_status: str | None = None,
        production_access: bool | None = None,
        max_24h: float | None = None,
        max_send_rate: float | None = None,
        sent_last_24h: float | None = None,
        suppressed_reasons: list[str] | None = None,
        region: str = DEFAULT_REGION,
        account_id: str | None = None,
    ) -> None:
        """Set what GetAccount reports (EnforcementStatus: HEALTHY, PROBATION or SHUTDOWN)."""
        settings = self._state(region, account_id).account
        with self.app._lock:
            for name, value in (
                ("sending_enabled", sending_enabled),
                ("enforcement_status", enforcement_status),
                ("production_access", production_access),
                ("max_24h", max_24h),
                ("max_send_rate", max_send_rate),
                ("sent_last_24h", sent_last_24h),
                ("suppressed_reasons", suppressed_reasons),
            ):
                if value is not None:
                    setattr(settings, name, value)

    def suppress(
        self,
        email: str,
        reason: str = "BOUNCE",
        *,
        last_update: datetime | None = None,
        message_id: str | None = None,
        feedback_id: str | None = None,
        region: str = DEFAULT_REGION,
        account_id: str | None = None,
    ) -> None:
        """Put an address on the account suppression list as of `last_update` (PutSuppressedDestination uses now)."""
        if reason not in _SUPPRESSION_REASONS:
            raise ValueError(f"reason must be BOUNCE or COMPLAINT, not {reason!r}")
        entry = _Suppressed(email, reason, _aware(last_update or datetime.now(UTC)), message_id, feedback_id)
        with self.app._lock:
            self._state(region, account_id).suppressed[email.lower()] = entry

    def set_identity(
        self,
        identity: str,
        *,
        dkim_status: str | None = None,
        signing_enabled: bool | None = None,
        verified: bool | None = None,
        mail_from_status: str | None = None,
        region: str = DEFAULT_REGION,
        account_id: str | None = None,
    ) -> None:
        """Override what GetEmailIdentity reports: DKIM status (PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE,
        NOT_STARTED; default SUCCESS), signing, verification (default verified) and the MAIL FROM domain status."""
        with self.app._lock:
            extra = self._state(region, account_id).identities.setdefault(identity, _IdentityExtra())
            if dkim_status is not None:
                extra.dkim_status = dkim_status
            if signing_enabled is not None:
                extra.signing_enabled = signing_enabled
            if verified is not None:
                extra.verified = verified
            if mail_from_status is not None:
                extra.mail_from_status = mail_from_status

    def pending_subscriptions(
        self, *, region: str = DEFAULT_REGION, account_id: str | None = None
    ) -> list[dict[str, str]]:
        """SNS subscriptions waiting for confirmation, with the token ConfirmSubscription accepts."""
        with self.app._lock:
            return [
                {
                    "subscription_arn": s.subscription_arn,
                    "topic_arn": s.topic_arn,
                    "protocol": s.protocol,
                    "endpoint": s.endpoint,
                    "token": s.token,
                }
                for s in self._state(region, account_id).pending.values()
            ]

    def confirm_subscription(
        self, topic_arn: str, endpoint: str, *, region: str = DEFAULT_REGION, account_id: str | None = None
    ) -> str:
        """Confirm a pending subscription as if its endpoint had visited the SubscribeURL; returns its ARN."""
        state = self._state(region, account_id)
        with self.app._lock:
            for subscription in list(state.pending.values()):
                if subscription.topic_arn == topic_arn and subscription.endpoint == endpoint:
                    return self.app.confirm(state, subscription)
        raise KeyError(f"no pending subscription of {endpoint} to {topic_arn}")
