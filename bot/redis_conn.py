"""The one place a Redis client is made: single server or Redis Cluster, from REDIS_URL."""

from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from bot.settings import Settings


class StoreUnavailable(RuntimeError):
    """Redis cannot be reached: callers answer 5xx / keep the message so that the sender retries."""


def connect(settings: Settings) -> redis.Redis:
    options = {"socket_timeout": 10, "socket_connect_timeout": 5, "health_check_interval": 30}
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **options)  # type: ignore[return-value]
    return redis.Redis.from_url(settings.redis_url, **options)


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"
