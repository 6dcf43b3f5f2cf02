"""Recipient domain -> mailbox provider for the alert checks, from the MX answers `/ses why` caches in Redis.

The check tick never does DNS: it reads the cached MX answers (`RedisDnsCache`, keys from
`bot.dns_resolver.cache_key`, exactly what `DnsResolver.mx` writes) for its domains in one pipelined round trip and
classifies them with `checks.providers.provider_for_mx`; KNOWN_DOMAINS need no answer. The `mx_cache` scheduler job
(`warm_mx_cache`) fills the cache for the pending domains of the active campaigns through the same resolver and cache
the investigation uses, a bounded number of domains per run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.dns_resolver import DnsResolver, Resolver, cache_key, mx_records
from bot.investigate import RedisDnsCache
from bot.settings import Settings
from bot.store import Store
from checks.providers import KNOWN_DOMAINS, NO_MX, OTHER, UNRESOLVED, provider_for_mx, resolve_providers

log = logging.getLogger(__name__)

MX_WARM_MAX_DOMAINS = 500  # MX look-ups per run of the mx_cache job
MX_WARM_INTERVAL_S = 300  # cached answers live for their DNS TTL, at most an hour (bot.dns_resolver)
UNNAMED = frozenset({NO_MX, OTHER, UNRESOLVED})  # classifications that group nothing


def _normalise(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


@lru_cache(maxsize=200_000)
def _mx_cache_key(domain: str) -> str | None:
    """The MX cache key of a domain that needs one (not in KNOWN_DOMAINS, a valid DNS name); memoised: parsing the
    name is most of the cost of a tick's look-up."""
    name = _normalise(domain)
    if name in KNOWN_DOMAINS:
        return None
    try:
        return cache_key(name, "MX")
    except ValueError:
        return None


def _cache_keys(domains: Iterable[str]) -> dict[str, str]:
    """Domain -> its MX cache key, for the domains that need one."""
    keys: dict[str, str] = {}
    for domain in domains:
        if domain not in keys and (key := _mx_cache_key(domain)) is not None:
            keys[domain] = key
    return keys


def cached_answers(store: Store, domains: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """One pipelined read of the cached MX answers of `domains`: the named provider of each domain whose answer
    names one, and the domains (order kept) that need an answer and have none cached. Domains in KNOWN_DOMAINS,
    and those whose MX is no known provider's (`other`, `no-mx`), are in neither."""
    keys = _cache_keys(domains)
    found: dict[str, str] = {}
    uncached: list[str] = []
    for domain, raw in zip(keys, RedisDnsCache(store).get_many(list(keys.values())), strict=True):
        if raw is None:
            uncached.append(domain)
            continue
        try:
            records = mx_records(json.loads(raw))
        except (ValueError, TypeError):
            log.warning("ignored unreadable cached MX answer of %s", domain)
            continue
        provider = provider_for_mx([host for _, host in records])
        if provider not in UNNAMED:
            found[domain] = provider
    return found, uncached


def cached_providers(store: Store, domains: Iterable[str]) -> dict[str, str]:
    return cached_answers(store, domains)[0]


def uncached_domains(store: Store, domains: Iterable[str]) -> list[str]:
    return cached_answers(store, domains)[1]


def resolver_for(settings: Settings, store: Store) -> DnsResolver | None:
    """The investigation's resolver (SESBOT_DNS_NAMESERVERS or the system's, answers cached in Redis), or None when
    neither is usable: then the mx_cache job is not scheduled."""
    try:
        resolver = DnsResolver.from_setting(settings.dns_nameservers, cache=RedisDnsCache(store))
    except ValueError as exc:
        log.info("MX cache job disabled: DNS is not usable (%s)", exc)
        return None
    if not resolver.nameservers:  # no SESBOT_DNS_NAMESERVERS and no system resolver configuration
        log.info("MX cache job disabled: no nameserver (set SESBOT_DNS_NAMESERVERS)")
        return None
    return resolver


@dataclass(frozen=True)
class WarmResult:
    looked_up: int  # domains resolved in this run
    named: int  # of which a known provider's
    unresolved: int  # DNS gave no answer (retried next run)
    left: int  # uncached domains beyond this run's bound

    def to_dict(self) -> dict[str, int]:
        return {"looked_up": self.looked_up, "named": self.named, "unresolved": self.unresolved, "left": self.left}


def warm_mx_cache(store: Store, resolver: Resolver, counts: Mapping[str, tuple[int, int]],
                  limit: int = MX_WARM_MAX_DOMAINS) -> WarmResult:
    """Resolve (and so cache) the MX of up to `limit` domains not cached yet, the most pending recipients first,
    then the most recipients (`counts`: domain -> (pending, recipients)), through
    `checks.providers.resolve_providers` (it stops asking after three unanswered domains in a row)."""
    ordered = sorted(counts, key=lambda d: (-counts[d][0], -counts[d][1], d))
    missing = uncached_domains(store, ordered)
    batch = missing[:limit]
    providers = resolve_providers(batch, resolver) if batch else {}
    unresolved = sum(1 for p in providers.values() if p == UNRESOLVED)
    named = sum(1 for p in providers.values() if p not in UNNAMED)
    return WarmResult(len(batch), named, unresolved, len(missing) - len(batch))
