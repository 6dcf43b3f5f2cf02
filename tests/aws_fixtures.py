"""The local AWS endpoint (bot.aws_emulator.LocalAws) for tests, and a check that every response keeps to the API.

* `local_aws` (session): the emulator on a free loopback port, with the SDK's environment pointing at it
  (`AWS_ENDPOINT_URL`, fake credentials, `AWS_REGION=us-east-1`, no config files, no instance metadata) until the
  session ends. Every test that uses it (directly or through another fixture) starts from a reset emulator.
* `aws_session`: a boto3 Session whose clients validate every successful response against botocore's output shape
  for the operation; a response that does not fit fails the call at once (and the test at teardown, even if the
  code under test swallowed the error). Hand it to `bot.aws.SesAccount(session)` or create clients from it.
* `ses_account`: `SesAccount(aws_session)`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.hooks import BaseEventHooks
from botocore.model import OperationModel
from botocore.validate import ParamValidator

from bot.aws import SesAccount
from bot.aws_emulator import LocalAws

REGION = "us-east-1"
_UNSET = (
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


class ResponseShapeError(AssertionError):
    """A response that botocore's output shape for the operation does not allow."""


class ShapeValidator:
    """botocore `after-call` handler: validates each parsed response against the operation's output shape."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.calls: list[str] = []

    def __call__(
        self, http_response: Any, parsed: dict[str, Any], model: OperationModel, **_: Any
    ) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        self.calls.append(model.name)
        if http_response.status_code >= 300 or "Error" in parsed or model.output_shape is None:
            return
        body = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        # validate_parameters() raises on the first report; the validator gives the whole report.
        report = ParamValidator().validate(body, model.output_shape)
        if report.has_errors():
            message = f"{name} response does not match botocore's output shape:\n{report.generate_report()}"
            self.failures.append(message)
            raise ResponseShapeError(message)


def register_shape_validation(events: BaseEventHooks, validator: ShapeValidator | None = None) -> ShapeValidator:
    """Validate every response of the clients created from this event system (a Session's, or one client's
    `client.meta.events`). Register it before creating clients from a Session: clients copy its handlers."""
    validator = validator or ShapeValidator()
    events.register("after-call", validator)
    return validator


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAws]:
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_ENDPOINT_URL_") or name in _UNSET:
                mp.delenv(name)
        aws = LocalAws()
        url = aws.start()
        mp.setenv("AWS_ENDPOINT_URL", url)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_REGION", REGION)
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        try:
            yield aws
        finally:
            aws.stop()


@pytest.fixture(autouse=True)
def _reset_local_aws(request: pytest.FixtureRequest) -> None:
    if "local_aws" in request.fixturenames:
        request.getfixturevalue("local_aws").reset()


@pytest.fixture
def aws_session(local_aws: LocalAws) -> Iterator[boto3.Session]:
    session = boto3.Session(region_name=REGION)
    validator = register_shape_validation(session.events)
    yield session
    assert not validator.failures, "\n".join(validator.failures)


@pytest.fixture
def ses_account(aws_session: boto3.Session) -> Iterator[SesAccount]:
    account = SesAccount(aws_session)
    yield account
    account.close()
