"""Settings read once from the environment (DESIGN §5). Secrets never appear in repr or logs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(ValueError):
    """Every missing or invalid variable, in one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False
    key_prefix: str = "sb"
    retention_days: int = 14
    campaign_tag: str = "campaign"
    delivery_window_s: int = 900
    active_hours: int = 24
    port: int = 3000
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str | None = None
    alert_channel: str | None = None
    allowed_channels: tuple[str, ...] = ()
    pii_users: tuple[str, ...] = ()
    dns_nameservers: str | None = None
    sns_topic_arns: tuple[str, ...] = ()
    sns_certs: Path | None = None
    sqs_queue_url: str | None = None
    sqs_wait_s: int = 20  # SESBOT_SQS_WAIT_S: long-poll seconds; a SIGTERM is honoured within this plus one batch
    archive_dir: Path | None = None
    aws_region: str | None = None
    alert_thresholds: str | None = None  # SESBOT_ALERT_THRESHOLDS: JSON, validated by checks.alerts.ThresholdBook
    alert_interval_s: int = 60
    suppression_refresh_s: int = 600  # SESBOT_SUPPRESSION_REFRESH_S: the scheduler keeps the mirror warm

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[str] = []

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a whole number")
                return default
            if not low <= value <= high:
                problems.append(f"{name}={value} is outside {low}..{high}")
                return default
            return value

        def items(name: str) -> tuple[str, ...]:
            return tuple(part.strip() for part in (text(name) or "").split(",") if part.strip())

        redis_url = text("REDIS_URL") or cls.redis_url
        if not redis_url.startswith(("redis://", "rediss://", "unix://")):
            problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
        for arn in items("SESBOT_SNS_TOPIC_ARNS"):
            if not arn.startswith("arn:aws") or arn.count(":") != 5:
                problems.append(f"SESBOT_SNS_TOPIC_ARNS: {arn!r} is not an SNS topic ARN")
        certs = text("SESBOT_SNS_CERTS")
        if certs and not Path(certs).is_dir():
            problems.append(f"SESBOT_SNS_CERTS={certs} is not a folder")
        api_url = text("SLACK_API_URL")
        if api_url and not api_url.startswith(("http://", "https://")):
            problems.append("SLACK_API_URL must be an http(s) URL")
        if api_url and not api_url.endswith("/"):
            api_url += "/"
        nameservers = text("SESBOT_DNS_NAMESERVERS")
        if nameservers:
            from bot.dns_resolver import parse_nameservers

            try:
                parse_nameservers(nameservers)
            except ValueError as exc:
                problems.append(f"SESBOT_DNS_NAMESERVERS: {exc}")
        app_token = text("SLACK_APP_TOKEN")
        if app_token and not app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must be an app-level token (xapp-...)")
        settings = cls(
            redis_url=redis_url,
            redis_cluster=(text("SESBOT_REDIS_CLUSTER") or "").lower() in ("1", "true", "yes"),
            key_prefix=text("SESBOT_KEY_PREFIX") or cls.key_prefix,
            retention_days=integer("SESBOT_RETENTION_DAYS", cls.retention_days, 1, 400),
            campaign_tag=text("SESBOT_CAMPAIGN_TAG") or cls.campaign_tag,
            delivery_window_s=integer("SESBOT_DELIVERY_WINDOW_S", cls.delivery_window_s, 60, 50_400),
            active_hours=integer("SESBOT_ACTIVE_HOURS", cls.active_hours, 1, 24 * 30),
            port=integer("PORT", cls.port, 1, 65_535),
            slack_bot_token=text("SLACK_BOT_TOKEN"),
            slack_signing_secret=text("SLACK_SIGNING_SECRET"),
            slack_app_token=app_token,
            slack_api_url=api_url,
            alert_channel=text("SESBOT_ALERT_CHANNEL"),
            allowed_channels=items("SESBOT_ALLOWED_CHANNELS"),
            pii_users=items("SESBOT_PII_USERS"),
            dns_nameservers=nameservers,
            sns_topic_arns=items("SESBOT_SNS_TOPIC_ARNS"),
            sns_certs=Path(certs) if certs else None,
            sqs_queue_url=text("SESBOT_SQS_QUEUE_URL"),
            sqs_wait_s=integer("SESBOT_SQS_WAIT_S", cls.sqs_wait_s, 0, 20),
            archive_dir=Path(text("SESBOT_ARCHIVE_DIR")) if text("SESBOT_ARCHIVE_DIR") else None,
            aws_region=text("AWS_REGION") or text("AWS_DEFAULT_REGION"),
            alert_thresholds=_alert_thresholds(text("SESBOT_ALERT_THRESHOLDS"), problems),
            alert_interval_s=integer("SESBOT_ALERT_INTERVAL_S", cls.alert_interval_s, 15, 86_400),
            suppression_refresh_s=integer("SESBOT_SUPPRESSION_REFRESH_S", cls.suppression_refresh_s, 60, 3_600),
        )
        if problems:
            raise ConfigError(problems)
        return settings

    def require(self, *names: str) -> None:
        """For commands that need more than the defaults: name every missing variable at once."""
        env_names = {
            "slack_bot_token": "SLACK_BOT_TOKEN",
            "slack_signing_secret": "SLACK_SIGNING_SECRET",
            "sqs_queue_url": "SESBOT_SQS_QUEUE_URL",
            "alert_channel": "SESBOT_ALERT_CHANNEL",
            "sns_topic_arns": "SESBOT_SNS_TOPIC_ARNS",
        }
        missing = [f"{env_names.get(n, n.upper())} is not set" for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(missing)


def _alert_thresholds(raw: str | None, problems: list[str]) -> str | None:
    """Validate SESBOT_ALERT_THRESHOLDS at start-up (one problem per line); kept as text, parsed where used."""
    if raw is None:
        return None
    import orjson

    from checks.alerts import ThresholdBook

    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        problems.append("SESBOT_ALERT_THRESHOLDS is not valid JSON")
        return None
    problems.extend(ThresholdBook.from_json(data)[1])
    return raw
