"""The campaign aggregates the alert checks read, reduced on the Redis server (bot/lua/alert_summary.lua).

`Store.campaign_summary` returns every counter of a campaign (per minute of every event type, every domain and
state); a check tick needs a small part of it: the totals, the Send-only and delayed minutes, the Send volume
before the delivery window per hour, the latest event per type, and only the domains with pending recipients
(plus the providers known by name). One script call per campaign (all its shards), 200 campaigns per pipeline round
trip. On Redis Cluster a campaign's shards live in different hash slots, which one script cannot read: there the
reader falls back to `Store.campaign_summary` (correct, slower).

The result is a `CampaignSummary` holding only those parts (`partial_summary`): `events_by_minute["Send"]` has
the settled Send volume collapsed onto the first minute of each hour, `domains` only the domains above, `types`
and the other per-type minutes are empty. tests/test_alerts_summaries.py pins that the checks give the same
alerts on it as on the full summary.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bot.alert_providers import cached_answers, cached_providers
from bot.events import STATES
from bot.keys import SHARDS
from bot.store import CampaignSummary, Store
from checks.send_only import MINUTE_MS

log = logging.getLogger(__name__)

PIPELINE_CAMPAIGNS = 200  # campaigns per pipeline round trip


@dataclass(frozen=True)
class CampaignTotals:
    """The first look at a campaign: recipients per state, and the ids of the configuration sets asked about
    that it sent through."""

    states: dict[str, int]
    config_set_ids: frozenset[str] = frozenset()


class AlertSummaryReader:
    """`mx_cache`: also group the pending domains by the providers their cached MX answers name
    (bot/alert_providers.py); `resolved` then holds those domain -> provider assignments of the last `read`."""

    def __init__(self, store: Store, providers: Mapping[str, str] | None = None, *, cluster: bool = False,
                 mx_cache: bool = False) -> None:
        self.store = store
        self.cluster = cluster
        self.mx_cache = mx_cache
        self.resolved: dict[str, str] = {}
        # one argument (packing ~90 separate ones cost as much as a third of the read): "domain\tprovider" lines
        self._providers = dict(providers or {})
        self._providers_arg = _providers_arg(self._providers)
        lua = resources.files("bot").joinpath("lua")
        self._details = store.client.register_script(lua.joinpath("alert_summary.lua").read_text())
        self._totals = store.client.register_script(lua.joinpath("alert_totals.lua").read_text())
        self._counts = store.client.register_script(lua.joinpath("alert_domain_counts.lua").read_text())
        self._config_sets: dict[str, str] = {}

    def totals(self, campaigns: list[str], config_set_ids: Sequence[str] = ()) -> dict[str, CampaignTotals] | None:
        """Recipients per state of each campaign, and which of `config_set_ids` (configuration set ids, as in
        the names hash) it sent through: one cheap script call each. None on Redis Cluster."""
        if self.cluster:
            return None
        fields = [*(f"s|{state}" for state in STATES), *(f"cs|{ident}" for ident in config_set_ids)]
        out: dict[str, CampaignTotals] = {}
        keys = self.store.keys
        for chunk in _chunks(campaigns):
            pipe = self.store.client.pipeline(transaction=False)
            for campaign in chunk:
                self._totals(keys=[keys.aggregates(campaign, shard) for shard in range(SHARDS)], args=fields,
                             client=pipe)
            for campaign, reply in zip(chunk, pipe.execute(), strict=True):
                states = dict(zip(STATES, (int(n) for n in reply[: len(STATES)]), strict=True))
                sent_through = frozenset(ident for ident, n in zip(config_set_ids, reply[len(STATES):], strict=True)
                                         if int(n))
                out[campaign] = CampaignTotals(states, sent_through)
        return out

    def read(self, campaigns: list[str], now_ms: int, delivery_window_s: int,
             min_pending: int = 1) -> dict[str, CampaignSummary]:
        """The partial summary of each campaign that has aggregates. Domains (or providers) with fewer than
        `min_pending` pending recipients, which no domain spike can name, are left out."""
        self.resolved = {}
        if self.cluster:  # a campaign's shards span hash slots: no single script can read them all
            full = ((c, self.store.campaign_summary(c)) for c in campaigns)
            summaries = {c: s for c, s in full if s is not None}
            if self.mx_cache:  # the full summaries hold every domain: group those of fully cached campaigns
                providers, uncached = cached_answers(self.store, {d for s in summaries.values() for d in s.domains})
                missing = set(uncached)
                for summary in summaries.values():
                    if not missing.intersection(summary.domains):
                        self.resolved.update({d: providers[d] for d in summary.domains if d in providers})
            return summaries
        cut = (now_ms - delivery_window_s * 1000) // MINUTE_MS
        min_pending = max(1, min_pending)
        out: dict[str, CampaignSummary] = {}
        groups: dict[str, dict[str, int]] = {}  # campaign -> group ("\0" + provider, or a domain) -> pending
        for chunk in _chunks(campaigns):
            replies = self._read_details(chunk, cut, min_pending)
            for campaign, reply in zip(chunk, replies, strict=True):
                summary = self._summary(campaign, reply)
                if summary is not None:
                    out[campaign] = summary
                    groups[campaign] = _pairs(reply[4]) if len(reply) > 4 else {}
        if self.mx_cache:
            self._regroup_by_cached_mx(out, groups, min_pending)
        return out

    def _read_details(self, campaigns: list[str], cut: int, min_pending: int) -> list[Any]:
        keys = self.store.keys
        pipe = self.store.client.pipeline(transaction=False)
        for campaign in campaigns:
            shard_keys = [k for shard in range(SHARDS) for k in (
                keys.aggregates(campaign, shard), keys.domains(campaign, shard), keys.minutes(campaign, shard))]
            self._details(keys=shard_keys, args=[cut, min_pending, self._providers_arg], client=pipe)
        return pipe.execute()

    def _regroup_by_cached_mx(self, out: dict[str, CampaignSummary], groups: dict[str, dict[str, int]],
                              min_pending: int) -> None:
        """Look the ungrouped pending domains of every campaign up in the MX cache (one pipelined read for the
        tick). A campaign where one of their providers reaches `min_pending` is regrouped: its domains are listed
        with their volumes and looked up too (a provider's volume must include its domains without pending
        recipients), and the qualifying providers' domains the first read left out are added. A campaign with a domain
        not cached yet is left ungrouped (until the mx_cache job has resolved it): a provider with part of its
        domains would have too small a volume and too high a rate."""
        ungrouped = {g for by_group in groups.values() for g in by_group if not g.startswith("\0")}
        first = cached_providers(self.store, ungrouped) if ungrouped else {}
        candidates = [c for c, by_group in groups.items() if _qualifying(by_group, first, min_pending)]
        if not candidates:
            return
        counts = self._domain_counts(candidates)
        providers, uncached = cached_answers(self.store, {d for c in counts.values() for d in c if d not in first})
        providers.update(first)
        missing = set(uncached)
        for campaign in candidates:
            domains = counts.get(campaign, {})
            if missing.intersection(domains):
                log.debug("%s: not grouped by MX until its domains are cached", campaign)
                continue
            assigned = {d: providers[d] for d in domains if d in providers}
            qualifying = _qualifying(groups[campaign], assigned, min_pending)
            self.resolved.update({d: p for d, p in assigned.items() if p in qualifying})
            present = out[campaign].domains
            for domain in domains:  # the qualifying providers' domains the first read left out
                if domain not in present and (assigned.get(domain) or self._providers.get(domain)) in qualifying:
                    pending, sent = domains[domain]
                    present[domain] = {"send_only": pending, "delivered": sent - pending}

    def domain_counts(self, campaigns: list[str]) -> dict[str, tuple[int, int]]:
        """Every recipient domain of `campaigns` -> (pending recipients, recipients with a Send), summed over them:
        what the mx_cache job resolves."""
        totals: dict[str, tuple[int, int]] = {}
        for counts in self._domain_counts(campaigns).values():
            for domain, (pending, recipients) in counts.items():
                before = totals.get(domain, (0, 0))
                totals[domain] = (before[0] + pending, before[1] + recipients)
        return totals

    def _domain_counts(self, campaigns: list[str]) -> dict[str, dict[str, tuple[int, int]]]:
        """Campaign -> domain -> (pending, recipients with a Send)."""
        keys = self.store.keys
        per_call = 1 if self.cluster else SHARDS  # on Redis Cluster one script call per shard (hash slot)
        out: dict[str, dict[str, tuple[int, int]]] = {}
        for chunk in _chunks(campaigns):
            pipe = self.store.client.pipeline(transaction=False)
            calls: list[str] = []
            for campaign in chunk:
                shard_keys = [keys.domains(campaign, shard) for shard in range(SHARDS)]
                for start in range(0, SHARDS, per_call):
                    self._counts(keys=shard_keys[start : start + per_call], client=pipe)
                    calls.append(campaign)
            for campaign, reply in zip(calls, pipe.execute(), strict=True):
                counts = out.setdefault(campaign, {})
                for j in range(0, len(reply), 3):
                    domain = reply[j].decode()
                    pending, recipients = counts.get(domain, (0, 0))
                    counts[domain] = (pending + int(reply[j + 1]), recipients + int(reply[j + 2]))
        return out

    def _summary(self, campaign: str, reply: list[list[Any]]) -> CampaignSummary | None:
        agg, domains, minutes, hours = reply[:4]
        if not agg:
            return None
        summary = CampaignSummary(campaign)
        for j in range(0, len(agg), 2):
            name, value = agg[j].decode(), int(agg[j + 1])
            if name.startswith("s|"):
                summary.totals[name[2:]] = value
            elif name.startswith("lt|"):
                summary.last_event_ms[name[3:]] = value
            elif name.startswith("cs|"):
                summary.config_sets[self._config_set(name[3:])] = value
            elif name == "last_send":
                summary.last_send_ms = value
            elif name == "first_send_neg":
                summary.first_send_ms = -value
        _add_domains(summary, domains)
        for j in range(0, len(minutes), 2):
            kind, _, minute = minutes[j].decode().partition("|")
            target = summary.send_only_by_minute if kind == "so" else summary.delayed_by_expiry_minute
            target[int(minute)] = int(minutes[j + 1])
        summary.events_by_minute = {"Send": {int(hours[j]) * 60: int(hours[j + 1]) for j in range(0, len(hours), 2)}}
        for state in STATES:
            summary.totals.setdefault(state, 0)
        return summary

    def _config_set(self, ident: str) -> str:
        name = self._config_sets.get(ident)
        if name is None:
            raw = self.store.client.hget(self.store.keys.names("s"), ident)
            name = raw.decode() if raw is not None else "(none)"
            self._config_sets[ident] = name
        return name


def _add_domains(summary: CampaignSummary, triples: list[Any]) -> None:
    """Flat (domain, sent, pending) triples into `summary.domains`."""
    for j in range(0, len(triples), 3):
        sent, pending = int(triples[j + 1]), int(triples[j + 2])
        # the checks read a domain's states: its pending recipients as send_only, the others as delivered
        summary.domains[triples[j].decode()] = {"send_only": pending, "delivered": sent - pending}


def _providers_arg(providers: Mapping[str, str]) -> bytes:
    return "\n".join(f"{d}\t{p}" for d, p in sorted(providers.items())
                     if d and p and not {"\t", "\n"} & set(d + p)).encode()


def _pairs(flat: list[Any]) -> dict[str, int]:
    return {flat[j].decode(): int(flat[j + 1]) for j in range(0, len(flat), 2)}


def _qualifying(by_group: Mapping[str, int], assigned: Mapping[str, str], min_pending: int) -> set[str]:
    """The providers of `assigned` (domain -> provider) whose pending recipients, with those of the domains known
    by name (the "\0" groups of the first read), reach `min_pending`."""
    pending: dict[str, int] = {}
    for domain, provider in assigned.items():
        if domain in by_group:
            pending[provider] = pending.get(provider, by_group.get("\0" + provider, 0)) + by_group[domain]
    return {provider for provider, n in pending.items() if n >= min_pending}


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + PIPELINE_CAMPAIGNS] for i in range(0, len(items), PIPELINE_CAMPAIGNS)]
