"""The one place a Redis client is made: single server or Redis Cluster, from REDIS_URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import redis
from redis.cluster import RedisCluster

from bot.settings import ConfigError, Settings


class StoreUnavailable(RuntimeError):
    """Redis cannot be reached: callers answer 5xx / keep the message so that the sender retries."""


def connect(settings: Settings) -> redis.Redis:
    check_url(settings.redis_url)
    options = {"socket_timeout": 10, "socket_connect_timeout": 5, "health_check_interval": 30}
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)  # type: ignore[return-value]
    return redis.Redis.from_url(settings.redis_url, **options)


def check_url(url: str) -> None:
    """REDIS_URL problems redis-py would raise as a bare ValueError, or silently ignore (a database that is not a
    number), as one ConfigError line each. The URL itself is not repeated: it may hold a password."""
    parts = urlsplit(url)
    problems: list[str] = []
    if parts.scheme == "unix":
        if not parts.path:
            problems.append("REDIS_URL unix:// needs a socket path")
    else:
        try:
            parts.port  # noqa: B018 (the property raises on a port that is not a number)
        except ValueError:
            problems.append("REDIS_URL: the port is not a number from 1 to 65535")
        if not parts.hostname:
            problems.append("REDIS_URL has no host")
        database = parts.path.strip("/")
        if database and not database.isdigit():
            problems.append(f"REDIS_URL: the database {database[:20]!r} is not a number")
    for value in parse_qs(parts.query).get("db", []):
        if not value.isdigit():
            problems.append(f"REDIS_URL: db={value[:20]!r} is not a number")
    if problems:
        raise ConfigError(problems)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
