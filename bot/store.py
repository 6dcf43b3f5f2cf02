"""The Redis state store: domain verbs over the key schema of `bot.keys` and the scripts in `bot/lua`.

Writes go through three server-side scripts, each confined to one hash slot: `route` (message index and events
waiting for their Send), `merge` (per-recipient records and the campaign aggregates) and `assign_ids`. One batch
of events costs one pipelined round trip in the common case (every event tagged with its campaign), two when
identity notifications (no tags) need their campaign looked up.
"""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import msgpack
import redis

from bot.events import STATES, TYPE_CODES, TYPE_NAMES, Event
from bot.keys import BUCKETS, DAY_MS, SHARDS, KeySchema, hash8, locate, locate_index, send_day

log = logging.getLogger(__name__)

DEFAULT_RETENTION_S = 14 * 86_400
TTL_REFRESH_S = 3600
UNTAGGED = ""  # campaign name of messages sent without the campaign tag

_SES_ID = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})-(\d{6})$")
_PACKED_ID = 1


def pack_message_id(message_id: str) -> bytes:
    """SES message ids (60 characters) in 28 bytes; any other id as its UTF-8 text."""
    match = _SES_ID.match(message_id)
    if match is None:
        return message_id.encode()
    *hex_groups, serial = match.groups()
    return bytes([_PACKED_ID]) + bytes.fromhex("".join(hex_groups)) + int(serial).to_bytes(3, "big")


def unpack_message_id(packed: bytes) -> str:
    if not packed or packed[0] != _PACKED_ID:
        return packed.decode("utf-8", "replace")
    hexed = packed[1:25].hex()
    cuts = (16, 8, 4, 4, 4, 12)
    groups, pos = [], 0
    for cut in cuts:
        groups.append(hexed[pos : pos + cut])
        pos += cut
    return "-".join(groups) + f"-{int.from_bytes(packed[25:28], 'big'):06d}"


@dataclass(frozen=True)
class EventView:
    type: str
    time_ms: int
    detail: str = ""
    expires_ms: int = 0


@dataclass(frozen=True)
class RecipientRecord:
    recipient: str
    state: str
    flags: int
    events: tuple[EventView, ...]  # the latest event of each type, oldest first


@dataclass(frozen=True)
class MessageRecord:
    message_id: str
    campaign: str | None  # None: only events without tags, still waiting for their Send
    configuration_set: str | None
    send_ms: int
    recipients: tuple[RecipientRecord, ...]


@dataclass
class RecordResult:
    events: int = 0
    changed: int = 0
    unchanged: int = 0  # duplicates, or older than what the store already had for that type
    waiting: int = 0  # tagless events parked until their Send arrives


@dataclass
class CampaignSummary:
    campaign: str
    totals: dict[str, int] = field(default_factory=dict)  # recipients per state
    domains: dict[str, dict[str, int]] = field(default_factory=dict)  # domain -> state -> recipients
    types: dict[str, int] = field(default_factory=dict)  # recipients with at least one event of the type
    types_by_config_set: dict[str, dict[str, int]] = field(default_factory=dict)
    config_sets: dict[str, int] = field(default_factory=dict)  # name -> last send (epoch ms)
    from_domains: dict[str, int] = field(default_factory=dict)
    outgoing_ips: dict[str, int] = field(default_factory=dict)  # ip -> last event (epoch ms)
    last_event_ms: dict[str, int] = field(default_factory=dict)  # type -> latest event time
    send_only_by_minute: dict[int, int] = field(default_factory=dict)  # send minute -> Send-only recipients
    delayed_by_expiry_minute: dict[int, int] = field(default_factory=dict)
    events_by_minute: dict[str, dict[int, int]] = field(default_factory=dict)  # type -> minute -> recipients
    first_send_ms: int | None = None
    last_send_ms: int | None = None

    @property
    def recipients(self) -> int:
        return sum(self.totals.values())


def _script(name: str) -> str:
    return resources.files("bot").joinpath("lua", f"{name}.lua").read_text()


class Store:
    def __init__(
        self,
        client: redis.Redis,
        schema: KeySchema | None = None,
        retention_s: int = DEFAULT_RETENTION_S,
    ) -> None:
        self.client = client
        self.keys = schema or KeySchema()
        self.retention_ms = retention_s * 1000
        self.index_ttl_ms = self.retention_ms + DAY_MS
        self._merge = client.register_script(_script("merge"))
        self._route = client.register_script(_script("route"))
        self._assign = client.register_script(_script("assign_ids"))
        self._index = client.register_script(_script("index"))
        self._ids: dict[str, dict[str, int]] = {"c": {}, "s": {}}
        self._names: dict[str, dict[int, str]] = {"c": {}, "s": {}}
        self._ttl_refreshed: dict[str, float] = {}

    def _ttl_due(self, keys: list[Any]) -> bytes:
        """1-based indexes of the keys whose TTL this process has not refreshed within TTL_REFRESH_S.

        Refreshing a TTL on every write would double the commands per event; an hour of slack on a retention
        of days changes nothing a user can see."""
        return _pack([i for i, key in enumerate(keys, start=1) if self._ttl_due_one(key)])

    def _ttl_due_one(self, key: Any) -> bool:
        now = time.monotonic()
        last = self._ttl_refreshed.get(key)
        if last is not None and now - last <= TTL_REFRESH_S:
            return False
        if len(self._ttl_refreshed) > 500_000:
            self._ttl_refreshed.clear()
        self._ttl_refreshed[key] = now
        return True

    # ---------------------------------------------------------------- ids
    def _ensure_ids(self, kind: str, names: Iterable[str]) -> None:
        missing = sorted({n for n in names if n not in self._ids[kind]})
        if not missing:
            return
        keys = [self.keys.ids(kind), self.keys.names(kind), self.keys.sequence(kind)]
        for name, ident in zip(missing, self._assign(keys=keys, args=missing), strict=True):
            self._ids[kind][name] = int(ident)
            self._names[kind][int(ident)] = name

    def _name(self, kind: str, ident: int) -> str | None:
        if ident == 0:
            return None
        name = self._names[kind].get(ident)
        if name is None:
            raw = self.client.hget(self.keys.names(kind), ident)
            if raw is None:
                return None
            name = raw.decode()
            self._names[kind][ident] = name
            self._ids[kind][name] = ident
        return name

    # ---------------------------------------------------------------- writes
    def record(self, events: list[Event]) -> RecordResult:
        """Merge events into the store. Returns only once Redis has them all (the caller may then acknowledge)."""
        result = RecordResult(events=len(events))
        if not events:
            return result
        self._ensure_ids("c", {e.campaign for e in events if e.campaign is not None})
        self._ensure_ids("s", {e.config_set for e in events if e.config_set})
        hashes: dict[str, bytes] = {}

        def hashed(text: str) -> bytes:
            h = hashes.get(text)
            if h is None:
                h = hashes[text] = hash8(text)
            return h

        pipe = self.client.pipeline(transaction=False)
        route_ops: dict[int, _RouteBatch] = {}
        tagless: list[Event] = []
        tagged: list[Event] = []
        indexed: set[bytes] = set()
        campaign_ids = self._ids["c"]
        for event in events:
            if event.campaign is None:
                tagless.append(event)
            else:
                tagged.append(event)
            h = hashed(event.message_id)
            if event.campaign is not None:
                if h in indexed:  # one index entry per message and batch
                    continue
                indexed.add(h)
            shard, bucket = locate_index(h)
            batch = route_ops.get(shard)
            if batch is None:
                batch = route_ops[shard] = _RouteBatch()
            day = send_day(event.send_ms)
            index_key = self.keys.message_index(shard, day, bucket)
            orphan_key = self.keys.orphans(shard, day)
            if event.campaign is None:
                batch.add("R", index_key, h, _pack_orphan(event), orphan_key)
            else:
                batch.add("S", index_key, h, campaign_ids[event.campaign], orphan_key)
            batch.events.append(event)
        for batch in route_ops.values():
            self._route(keys=batch.keys, args=[_pack(batch.ops), self.index_ttl_ms, self._ttl_due(batch.keys)],
                        client=pipe)
        merges = self._queue_merges(tagged, pipe, hashed)
        self._queue_indexes(events, pipe, hashed)
        replies = pipe.execute()

        route_replies = replies[: len(route_ops)]
        for changed, unchanged in replies[len(route_ops) : len(route_ops) + merges]:
            result.changed += changed
            result.unchanged += unchanged

        second: list[Event] = []
        orphan_fields: list[tuple[str, bytes]] = []
        for batch, (resolved, orphans) in zip(route_ops.values(), route_replies, strict=True):
            for op_number, campaign_id in resolved:
                event = batch.events[op_number - 1]
                event.campaign = self._name("c", int(campaign_id))
                if event.campaign is None:
                    log.warning("campaign id %s has no name; event kept waiting", campaign_id)
                    continue
                second.append(event)
            for op_number, packed in orphans:
                send = batch.events[op_number - 1]
                for blob in msgpack.unpackb(packed, raw=True):
                    waiting = _unpack_orphan(blob)
                    waiting.campaign = send.campaign
                    if waiting.config_set is None:
                        waiting.config_set = send.config_set
                    second.append(waiting)
                orphan_fields.append((batch.orphan_key_of(op_number), batch.field_of(op_number)))
        result.waiting = sum(1 for e in tagless if e.campaign is None)
        if second:
            pipe = self.client.pipeline(transaction=False)
            self._ensure_ids("s", {e.config_set for e in second if e.config_set})
            count = self._queue_merges(second, pipe, hashed)
            for changed, unchanged in pipe.execute()[:count]:
                result.changed += changed
                result.unchanged += unchanged
        if orphan_fields:
            pipe = self.client.pipeline(transaction=False)
            for key, orphan_field in orphan_fields:
                pipe.hdel(key, orphan_field)
            pipe.execute()
        return result

    def _queue_merges(self, events: list[Event], pipe: Any, hashed: Any) -> int:
        groups: dict[tuple[str, int], _MergeBatch] = {}
        config_set_ids = self._ids["s"]
        for event in events:
            campaign = event.campaign
            assert campaign is not None
            h = hashed(event.message_id)
            shard, bucket = locate(h)
            batch = groups.get((campaign, shard))
            if batch is None:
                batch = groups[(campaign, shard)] = _MergeBatch(self.keys, campaign, shard)
            code = TYPE_CODES.get(event.type)
            batch.buckets.add(bucket)
            batch.events.append(
                (
                    bucket,
                    h,
                    pack_message_id(event.message_id),
                    event.send_ms,
                    config_set_ids.get(event.config_set or "", 0),
                    event.recipient,
                    event.recipient.rpartition("@")[2],
                    event.type if code is None else code,
                    event.type,
                    event.time_ms - event.send_ms,
                    event.detail,
                    event.flags,
                    event.expires_ms,
                    event.outgoing_ip or "",
                    event.from_domain or "",
                )
            )
        for batch in groups.values():
            due = _unpack_due(self._ttl_due(batch.keys))
            due += [1000 + b for b in batch.buckets if self._ttl_due_one((batch.campaign, batch.shard, b))]
            self._merge(keys=batch.keys, args=[_pack(batch.events), self.retention_ms, _pack(due), batch.prefix],
                        client=pipe)
        return len(groups)

    def _queue_indexes(self, events: list[Event], pipe: Any, hashed: Any) -> None:
        by_shard: dict[int, _IndexBatch] = {}
        last_send: dict[str, int] = {}
        first_send: dict[str, int] = {}
        days: set[int] = set()
        for event in events:
            h = hashed(event.recipient)
            shard, bucket = locate_index(h)
            day = send_day(event.send_ms)
            days.add(day)
            batch = by_shard.get(shard)
            if batch is None:
                batch = by_shard[shard] = _IndexBatch()
            batch.add(self.keys.recipient_index(shard, day, bucket), h + hashed(event.message_id))
            if event.type == "Send" and event.campaign is not None:
                c = event.campaign
                last_send[c] = max(last_send.get(c, 0), event.send_ms)
                first_send[c] = min(first_send.get(c, event.send_ms), event.send_ms)
        for batch in by_shard.values():
            self._index(keys=batch.keys, args=[_pack(batch.entries), self.index_ttl_ms, self._ttl_due(batch.keys)],
                        client=pipe)
        if last_send:
            pipe.zadd(self.keys.campaigns(), last_send, gt=True)
            pipe.zadd(self.keys.campaigns_first(), first_send, lt=True)
        pipe.zadd(self.keys.days(), {str(d): d for d in days})

    # ---------------------------------------------------------------- counters
    def count(self, path: str, **counts: int) -> None:
        """Ingestion counters per path (files, sns, sqs), for /metrics and `sesbot campaigns`."""
        pipe = self.client.pipeline(transaction=False)
        for name, n in counts.items():
            if n:
                pipe.hincrby(self.keys.counters(), f"{path}:{name}", n)
        pipe.execute()

    def counters(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.client.hgetall(self.keys.counters()).items()}

    # ---------------------------------------------------------------- reads
    def campaigns(self) -> list[tuple[str, int, int]]:
        """(campaign, first send, last send) in epoch ms, most recent first."""
        pipe = self.client.pipeline(transaction=False)
        pipe.zrevrange(self.keys.campaigns(), 0, -1, withscores=True)
        pipe.zrange(self.keys.campaigns_first(), 0, -1, withscores=True)
        last, first = pipe.execute()
        firsts = {name.decode(): int(score) for name, score in first}
        return [(n.decode(), firsts.get(n.decode(), int(s)), int(s)) for n, s in last]

    def active_campaigns(self, since_ms: int) -> list[str]:
        return [n.decode() for n in self.client.zrangebyscore(self.keys.campaigns(), since_ms, "+inf")]

    def campaign_summary(self, campaign: str) -> CampaignSummary | None:
        """Sum of the campaign's shard aggregates: O(shards + domains), never O(recipients)."""
        pipe = self.client.pipeline(transaction=False)
        for shard in range(SHARDS):
            pipe.hgetall(self.keys.aggregates(campaign, shard))
            pipe.hgetall(self.keys.domains(campaign, shard))
            pipe.hgetall(self.keys.minutes(campaign, shard))
        replies = pipe.execute()
        if not any(replies):
            return None
        summary = CampaignSummary(campaign)
        maxima: dict[str, int] = {}
        for shard in range(SHARDS):
            agg, dom, mins = replies[3 * shard : 3 * shard + 3]
            for raw_field, raw_value in agg.items():
                name, value = raw_field.decode(), int(raw_value)
                kind, _, rest = name.partition("|")
                if kind == "s":
                    _add(summary.totals, rest, value)
                elif kind == "t":
                    _add(summary.types, rest, value)
                elif kind == "ct":
                    cs_id, _, type_name = rest.partition("|")
                    cs = self._name("s", int(cs_id)) or "(none)"
                    _add(summary.types_by_config_set.setdefault(cs, {}), type_name, value)
                else:
                    maxima[name] = max(maxima.get(name, value), value)
            for raw_field, raw_value in dom.items():
                domain, _, state = raw_field.decode().rpartition("|")
                _add(summary.domains.setdefault(domain, {}), state, int(raw_value))
            for raw_field, raw_value in mins.items():
                kind, _, rest = raw_field.decode().partition("|")
                if kind == "so":
                    _add(summary.send_only_by_minute, int(rest), int(raw_value))
                elif kind == "dl":
                    _add(summary.delayed_by_expiry_minute, int(rest), int(raw_value))
                elif kind == "e":
                    type_name, _, minute = rest.rpartition("|")
                    _add(summary.events_by_minute.setdefault(type_name, {}), int(minute), int(raw_value))
        for name, value in maxima.items():
            kind, _, rest = name.partition("|")
            if name == "last_send":
                summary.last_send_ms = value
            elif name == "first_send_neg":
                summary.first_send_ms = -value
            elif kind == "lt":
                summary.last_event_ms[rest] = value
            elif kind == "ip":
                summary.outgoing_ips[rest] = value
            elif kind == "fd":
                summary.from_domains[rest] = value
            elif kind == "cs":
                summary.config_sets[self._name("s", int(rest)) or "(none)"] = value
        for state in STATES:
            summary.totals.setdefault(state, 0)
        return summary

    def iter_records(self, campaign: str, *, batch: int = 512) -> Iterator[MessageRecord]:
        """Every message record of a campaign, bucket by bucket. Buckets are spread by a hash of the message id,
        so any prefix of this iteration is a uniform sample of the campaign."""
        order = [(bucket, shard) for bucket in range(BUCKETS) for shard in range(SHARDS)]
        for start in range(0, len(order), batch):
            pipe = self.client.pipeline(transaction=False)
            for bucket, shard in order[start : start + batch]:
                pipe.hvals(self.keys.record_bucket(campaign, shard, bucket))
            for values in pipe.execute():
                for raw in values:
                    yield self._decode(raw, campaign)

    def recipients_in_state(
        self, campaign: str, states: Iterable[str] = ("send_only",), limit: int | None = None
    ) -> Iterator[tuple[MessageRecord, RecipientRecord]]:
        wanted = set(states)
        found = 0
        for message in self.iter_records(campaign):
            for recipient in message.recipients:
                if recipient.state in wanted:
                    yield message, recipient
                    found += 1
                    if limit is not None and found >= limit:
                        return

    def message(self, message_id: str) -> MessageRecord | None:
        h = hash8(message_id)
        shard, bucket = locate_index(h)
        days = self._days()
        pipe = self.client.pipeline(transaction=False)
        for day in days:
            pipe.hget(self.keys.message_index(shard, day, bucket), h)
            pipe.hget(self.keys.orphans(shard, day), h)
        replies = pipe.execute()
        waiting: list[Event] = []
        for i in range(len(days)):
            campaign_id, orphans = replies[2 * i], replies[2 * i + 1]
            if campaign_id is not None:
                campaign = self._name("c", int(campaign_id))
                if campaign is not None:
                    record = self._load(campaign, message_id)
                    if record is not None:
                        return record
            if orphans is not None:
                waiting.extend(_unpack_orphan(blob) for blob in msgpack.unpackb(orphans, raw=True))
        return _waiting_record(message_id, waiting) if waiting else None

    def recipient(self, address: str) -> list[MessageRecord]:
        """Every message to this address within retention, newest first, each with only this recipient."""
        address = address.strip().lower()
        h = hash8(address)
        shard, bucket = locate_index(h)
        prefix = _glob_escape(h)
        message_hashes: list[bytes] = []
        for day in self._days():
            key = self.keys.recipient_index(shard, day, bucket)
            for field_name in self.client.hscan_iter(key, match=prefix + b"*", count=1000):
                name = field_name[0] if isinstance(field_name, tuple) else field_name
                message_hashes.append(name[8:16])
        out: list[MessageRecord] = []
        for mh in dict.fromkeys(message_hashes):
            record = self._message_by_hash(mh, address)
            if record is not None:
                mine = tuple(r for r in record.recipients if r.recipient == address)
                if mine:
                    out.append(MessageRecord(record.message_id, record.campaign, record.configuration_set,
                                             record.send_ms, mine))
        out.sort(key=lambda m: m.send_ms, reverse=True)
        return out

    def _message_by_hash(self, h: bytes, address: str) -> MessageRecord | None:
        shard, bucket = locate_index(h)
        days = self._days()
        pipe = self.client.pipeline(transaction=False)
        for day in days:
            pipe.hget(self.keys.message_index(shard, day, bucket), h)
            pipe.hget(self.keys.orphans(shard, day), h)
        replies = pipe.execute()
        for i in range(len(days)):
            campaign_id, orphans = replies[2 * i], replies[2 * i + 1]
            if campaign_id is not None and (campaign := self._name("c", int(campaign_id))) is not None:
                rshard, rbucket = locate(h)
                raw = self.client.hget(self.keys.record_bucket(campaign, rshard, rbucket), h)
                if raw is not None:
                    return self._decode(raw, campaign)
            if orphans is not None:
                waiting = [_unpack_orphan(b) for b in msgpack.unpackb(orphans, raw=True)]
                if waiting:
                    return _waiting_record(waiting[0].message_id, waiting)
        return None

    def _load(self, campaign: str, message_id: str) -> MessageRecord | None:
        h = hash8(message_id)
        shard, bucket = locate(h)
        raw = self.client.hget(self.keys.record_bucket(campaign, shard, bucket), h)
        return None if raw is None else self._decode(raw, campaign)

    def _days(self) -> list[int]:
        return sorted((int(d) for d in self.client.zrange(self.keys.days(), 0, -1)), reverse=True)

    def _decode(self, raw: bytes, campaign: str) -> MessageRecord:
        packed_id, send_ms, cs_id, recipients = msgpack.unpackb(raw, raw=True, strict_map_key=False)
        out = []
        for address, (flags, types) in (recipients.items() if isinstance(recipients, dict) else ()):
            views = []
            items = enumerate(types, start=1) if isinstance(types, list) else types.items()
            for key, entry in items:
                name = TYPE_NAMES.get(key) if isinstance(key, int) else key.decode("utf-8", "replace")
                if isinstance(entry, list):
                    offset, detail, expires = entry[0], entry[1], entry[2]
                else:
                    offset, detail, expires = entry, b"", 0
                views.append(EventView(name or str(key), send_ms + offset,
                                       detail.decode("utf-8", "replace"), expires))
            views.sort(key=lambda v: (v.time_ms, v.type))
            out.append(RecipientRecord(address.decode(), state_of(flags, {v.type for v in views}), flags,
                                       tuple(views)))
        out.sort(key=lambda r: r.recipient)
        return MessageRecord(unpack_message_id(packed_id), campaign, self._name("s", cs_id), send_ms, tuple(out))


def state_of(flags: int, types: set[str]) -> str:
    """The Python twin of `state_of` in merge.lua (the ordering of DESIGN §3)."""
    from bot.events import FLAG_COMPLAINED, FLAG_SUPPRESSED

    if "Send" not in types:
        return "unknown"
    if flags & FLAG_COMPLAINED:
        return "complained"
    if flags & FLAG_SUPPRESSED:
        return "suppressed"
    for event_type, state in (("Bounce", "bounced"), ("Reject", "rejected"), ("Rendering Failure", "rendering_failed"),
                              ("Delivery", "delivered"), ("DeliveryDelay", "delayed")):
        if event_type in types:
            return state
    return "send_only"


def _waiting_record(message_id: str, events: list[Event]) -> MessageRecord:
    by_recipient: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        by_recipient[e.recipient].append(e)
    recipients = []
    for address, mine in sorted(by_recipient.items()):
        flags = 0
        for e in mine:
            flags |= e.flags
        views = tuple(sorted((EventView(e.type, e.time_ms, e.detail, e.expires_ms) for e in mine),
                             key=lambda v: (v.time_ms, v.type)))
        recipients.append(RecipientRecord(address, "unknown", flags, views))
    config_set = next((e.config_set for e in events if e.config_set), None)
    return MessageRecord(message_id, None, config_set, events[0].send_ms, tuple(recipients))


def _add(target: dict[Any, int], key: Any, value: int) -> None:
    target[key] = target.get(key, 0) + value


def _glob_escape(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte in b"*?[]\\":
            out.append(ord("\\"))
        out.append(byte)
    return bytes(out)


_ORPHAN_FIELDS = ("message_id", "recipient", "type", "time_ms", "send_ms", "config_set", "from_domain",
                  "outgoing_ip", "detail", "flags", "expires_ms")


def _pack_orphan(event: Event) -> bytes:
    return msgpack.packb([getattr(event, name) for name in _ORPHAN_FIELDS])


def _unpack_orphan(blob: bytes) -> Event:
    values = msgpack.unpackb(blob, raw=False)
    fields = dict(zip(_ORPHAN_FIELDS, values, strict=True))
    return Event(campaign=None, **fields)


class _RouteBatch:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self._key_index: dict[str, int] = {}
        self.ops: list[list[Any]] = []
        self.events: list[Event] = []

    def _ki(self, key: str) -> int:
        index = self._key_index.get(key)
        if index is None:
            self.keys.append(key)
            index = self._key_index[key] = len(self.keys)
        return index

    def add(self, op: str, index_key: str, h: bytes, value: Any, orphan_key: str) -> None:
        self.ops.append([op, self._ki(index_key), h, value, self._ki(orphan_key)])

    def orphan_key_of(self, op_number: int) -> str:
        return self.keys[self.ops[op_number - 1][4] - 1]

    def field_of(self, op_number: int) -> bytes:
        return self.ops[op_number - 1][2]


class _IndexBatch:
    def __init__(self) -> None:
        self.keys: list[str] = []
        self._key_index: dict[str, int] = {}
        self._seen: set[bytes] = set()
        self.entries: list[tuple[int, bytes]] = []

    def add(self, key: str, entry: bytes) -> None:
        if entry in self._seen:
            return
        self._seen.add(entry)
        index = self._key_index.get(key)
        if index is None:
            self.keys.append(key)
            index = self._key_index[key] = len(self.keys)
        self.entries.append((index, entry))


def _pack(value: Any) -> bytes:
    """msgpack for the Lua scripts: Redis' cmsgpack reads no bin type, so bytes travel as str."""
    return msgpack.packb(value, use_bin_type=False)


def _unpack_due(packed: bytes) -> list[int]:
    return list(msgpack.unpackb(packed))


class _MergeBatch:
    def __init__(self, schema: KeySchema, campaign: str, shard: int) -> None:
        self.keys = [schema.aggregates(campaign, shard), schema.domains(campaign, shard),
                     schema.minutes(campaign, shard)]
        self.prefix = schema.record_bucket_prefix(campaign, shard)
        self.campaign = campaign
        self.shard = shard
        self.buckets: set[int] = set()
        self.events: list[tuple[Any, ...]] = []
