"""The Redis state store: domain verbs over the key schema of `bot.keys` and the scripts in `bot/lua`.

Writes go through server-side scripts, each confined to one hash slot: `route` (message index and events waiting
for their Send), `merge` (per-recipient records and the campaign aggregates), `index` (recipient index),
`assign_ids` / `adopt_ids` (numeric ids of campaigns, configuration sets and recipient domains) and `take` (a
record moved to the campaign that claimed its message). A batch costs one script call per slot it touches, in two
pipelined round trips: the first indexes (route, index) and merges the messages whose campaign this process already
knows or that have a Send in the batch (under the Send's campaign: the index keeps it unless another Send claimed the
message first, and then the record is moved there); the second merges the rest under the campaign the message index
answered (DESIGN §2: the message id joins
all events of a message, so one record per message: its Send's campaign, else its first tagged event's, else the
untagged ""). `record` = `prepare` (Python: group the batch per slot, pack it) + `commit` (send it), so a writer
thread can commit one batch while the caller prepares the next. Scripts give a key its TTL back once it has run
down by an hour; index entries this process already wrote are not sent again (within the hour).

Redis losing its data under a running process (restart without persistence, FLUSHALL, failover to an empty
replica): every cache belongs to an epoch token (`keys.epoch`, SET NX) that each batch reads in its first pipeline
and `assign_ids` and reads check; on a mismatch the process writes its cached ids back (so ids it already wrote
keep their names and no new name gets one), drops its caches and sends the batch again (idempotent merge).
Limits: two writers racing with inconsistent tags on one message, or an id handed out by a process started after
the loss before an older process writes back the same id, can leave one record apart or misnamed (logged);
`sesbot rebuild` from the archive puts it right.

Measured with benchmarks/ingest.py on 1M generated events: ~146 bytes of Redis memory per tracked recipient with
every index and aggregate (a naive hash-per-recipient layout: ~990).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import msgpack
import redis

from bot.events import STATES, TYPE_CODES, TYPE_NAMES, Event
from bot.keys import BUCKETS, DAY_MS, SHARDS, KeySchema, hash8, locate, locate_index

log = logging.getLogger(__name__)

DEFAULT_RETENTION_S = 14 * 86_400
TTL_REFRESH_S = 3600
RECIPIENTS_CACHED = 100_000  # addresses whose hash, index slot and record key are kept between batches (~30 MB)
WRITTEN_MAX = 1_000_000  # index entries remembered as written before the memory is cleared (~60 MB)
UNTAGGED = ""  # campaign name of messages sent without the campaign tag

_LOWER_HEX = frozenset("0123456789abcdef")
_PACKED_ID = 1
_PACKED_PREFIX = bytes([_PACKED_ID])


def pack_message_id(message_id: str) -> bytes:
    """SES message ids (60 characters: hex groups 16-8-4-4-4-12 and a 6-digit serial) in 28 bytes; any other id
    (upper-case hex too, so that unpacking gives back the same text) as its UTF-8 text."""
    m = message_id
    if len(m) == 60 and m[16] == m[25] == m[30] == m[35] == m[40] == m[53] == "-":
        hex_digits, serial = m[:53].replace("-", ""), m[54:]
        if len(hex_digits) == 48 and _LOWER_HEX.issuperset(hex_digits) and serial.isascii() and serial.isdigit():
            return _PACKED_PREFIX + bytes.fromhex(hex_digits) + int(serial).to_bytes(3, "big")
    return m.encode()


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
        self._adopt = client.register_script(_script("adopt_ids"))
        self._take = client.register_script(_script("take"))
        # the epoch token (keys.epoch) every cache below belongs to; None until the first write asks for it
        self._epoch: bytes | None = None
        self._epoch_lock = threading.Lock()
        self._index = client.register_script(_script("index"))
        self._ids: dict[str, dict[str, int]] = {"c": {}, "s": {}, "d": {}}
        self._names: dict[str, dict[int, str]] = {"c": {}, "s": {}, "d": {}}
        # index entries this process has written (message hashes, recipient+message hashes, days), see record()
        self._message_campaigns: dict[bytes, str] = {}  # message hash -> its tagged campaign in the index
        self._indexed_entries: set[bytes] = set()
        self._days_written: set[int] = set()
        self._written_since = time.monotonic()
        self._recipients: dict[str, tuple[bytes, int, int, str, str]] = {}  # address -> Store._recipient(address)

    # ---------------------------------------------------------------- ids
    def _ensure_ids(self, kind: str, names: Iterable[str]) -> None:
        missing = sorted({n for n in names if n not in self._ids[kind]})
        if not missing:
            return
        keys = [self.keys.ids(kind), self.keys.names(kind), self.keys.sequence(kind), self.keys.epoch()]
        while True:
            token = self._current_epoch()
            assigned = self._assign(keys=keys, args=[token, *missing])
            if assigned is not None:
                break
            self._recover(token)  # Redis lost its data: write the cached ids back before any new one is handed out
        ids, id_names = self._ids[kind], self._names[kind]
        for name, ident in zip(missing, assigned, strict=True):
            ids[name] = int(ident)
            id_names[int(ident)] = name

    # ---------------------------------------------------------------- epoch
    def _current_epoch(self) -> bytes:
        """The token of the data set this process's caches belong to: set (SET NX) or read once per process."""
        token = self._epoch
        if token is None:
            with self._epoch_lock:
                if self._epoch is None:
                    pipe = self.client.pipeline(transaction=False)
                    pipe.set(self.keys.epoch(), os.urandom(8).hex(), nx=True)
                    pipe.get(self.keys.epoch())
                    self._epoch = pipe.execute()[1]
                token = self._epoch
        assert token is not None
        return token

    def _check_epoch(self) -> None:
        """Before a read: names cached for ids of a data set Redis lost would name other campaigns, domains or
        configuration sets, so a process whose epoch is gone recovers first (one GET per read call)."""
        current = self.client.get(self.keys.epoch())
        if self._epoch is None:
            if current is None:  # nothing written since this version: no epoch yet, nothing to compare with
                return
            with self._epoch_lock:
                if self._epoch is None:  # names read before the epoch was known: drop them, then belong to it
                    self._ids = {"c": {}, "s": {}, "d": {}}
                    self._names = {"c": {}, "s": {}, "d": {}}
                    self._epoch = current
        elif current != self._epoch:
            self._recover(self._epoch)

    def _recover(self, stale: bytes | None) -> None:
        """Redis no longer holds the epoch `stale` (restart without persistence, FLUSHALL, failover to an empty
        replica, the key evicted): write the cached ids back (so ids already written keep their names and no new
        name gets one of them), take the epoch now in force and drop every cache, so the next batch writes its
        index entries again. Another thread may have done it already."""
        with self._epoch_lock:
            if self._epoch != stale:
                return
            keys, args = [], [os.urandom(8).hex()]
            for kind in ("c", "s", "d"):
                keys += [self.keys.ids(kind), self.keys.names(kind), self.keys.sequence(kind)]
                args.append(_pack([item for pair in self._ids[kind].items() for item in pair]))
            token, conflicts = self._adopt(keys=[*keys, self.keys.epoch()], args=args)
            log.warning("Redis lost its data (epoch %s, now %s): cached ids written back, caches dropped",
                        (stale or b"").decode(), token.decode())
            if conflicts:
                log.warning("%d cached ids were taken by other names meanwhile; their recent records may carry "
                            "wrong names until rebuilt from the archive", conflicts)
            self._ids = {"c": {}, "s": {}, "d": {}}
            self._names = {"c": {}, "s": {}, "d": {}}
            self._message_campaigns = {}
            self._indexed_entries = set()
            self._days_written = set()
            self._recipients = {}
            self._written_since = time.monotonic()
            self._epoch = token

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
        return self.commit(self.prepare(events))

    def prepare(self, events: list[Event]) -> PreparedBatch:
        """The Python half of `record`: one pass over the events builds, per hash slot, one script call of the batch
        (`route` per message slot: claim or read the message's campaign in the message index, look up / park a
        tagless event; `index` per recipient slot) in a pipeline that `commit` sends, and packs every tagged
        event for `merge`. The message index decides a message's campaign (DESIGN §2: the message id joins its
        events), so events of a message whose campaign this process has not learnt yet are merged once `route`
        answered; those it knows (the index does not change a Send's campaign once set) and those of a message with
        a Send in the batch (its Send's campaign, checked against route's answer in `commit`) go out at once. Index
        entries this process already wrote (within TTL_REFRESH_S) are not sent again. A writer thread can `commit`
        one batch while the caller prepares the next, so Redis works while Python parses."""
        prepared = PreparedBatch(len(events))
        if not events:
            return prepared
        prepared.batch = events
        while True:  # again if a recovery (Redis lost its data) dropped the ids in between
            prepared.epoch = self._current_epoch()
            self._ensure_ids("c", {e.campaign for e in events if e.campaign is not None} | {UNTAGGED})
            self._ensure_ids("s", {e.config_set for e in events if e.config_set})
            if self._epoch == prepared.epoch:
                break
        self._expire_written()
        campaign_ids = self._ids["c"]
        known_messages, known_entries = self._message_campaigns, self._indexed_entries
        messages: dict[str, _Message] = {}
        recipients = self._recipients
        if len(recipients) > RECIPIENTS_CACHED:
            recipients.clear()
        route_ops: dict[int, _RouteBatch] = {}
        index_ops: dict[int, _IndexBatch] = {}
        new_entries: set[bytes] = set()
        days: set[int] = set()
        tagless: list[Event] = []
        tagged: list[_Message] = []
        keys = self.keys
        config_set_ids = self._ids["s"]
        for event in events:
            message_id = event.message_id
            message = messages.get(message_id)
            if message is None:
                message = messages[message_id] = _Message(message_id)
            h = message.h
            rcpt = recipients.get(event.recipient)
            if rcpt is None:
                rcpt = recipients[event.recipient] = self._recipient(event.recipient)
            campaign = event.campaign
            if campaign is None:
                tagless.append(event)
                day = event.send_ms // DAY_MS
                route = route_ops.get(message.ishard)
                if route is None:
                    route = route_ops[message.ishard] = _RouteBatch()
                route.add("R", keys.message_index(message.ishard, day, message.ibucket), h, _pack_orphan(event),
                          keys.orphans(message.ishard, day))
                route.events.append(event)
            else:
                rank = 0 if campaign == UNTAGGED else 2 if event.type == "Send" else 1
                if message.proposal is None:
                    tagged.append(message)
                    message.proposal, message.rank, message.day = campaign, rank, event.send_ms // DAY_MS
                elif rank > message.rank:  # the message claims its best campaign (see route.lua)
                    message.proposal, message.rank = campaign, rank
                event_type = event.type
                code = TYPE_CODES.get(event_type)
                message.pending.append((
                    message.bucket, h, message.packed_id, event.send_ms,
                    config_set_ids.get(event.config_set or "", 0), rcpt[4], rcpt[3],
                    event_type if code is None else code, event_type, event.time_ms - event.send_ms, event.detail,
                    event.flags, event.expires_ms, event.outgoing_ip or "", event.from_domain or "",
                ))
                if event_type == "Send":
                    message.sends.append(event.send_ms)
                if message.config_set is None and event.config_set:
                    message.config_set = event.config_set
            entry = rcpt[0] + h
            if entry not in new_entries and entry not in known_entries:
                new_entries.add(entry)
                day = event.send_ms // DAY_MS
                days.add(day)
                index = index_ops.get(rcpt[1])
                if index is None:
                    index = index_ops[rcpt[1]] = _IndexBatch()
                index.add(keys.recipient_index(rcpt[1], day, rcpt[2]), entry)

        merges: dict[tuple[str, int], _MergeBatch] = {}
        sends, merged_sends = _SendTimes(), _SendTimes()
        for message in tagged:
            known = known_messages.get(message.h)
            if known is not None:
                self._merge_message(merges, message, known, sends)
                continue
            days.add(message.day)
            route = route_ops.get(message.ishard)
            if route is None:
                route = route_ops[message.ishard] = _RouteBatch()
            assert message.proposal is not None
            route.add("S", keys.message_index(message.ishard, message.day, message.ibucket), message.h,
                      campaign_ids[message.proposal], keys.orphans(message.ishard, message.day), message.rank)
            route.events.append(message)
            if message.rank == 2:  # its Send's campaign: the index keeps it unless another Send claimed it first
                self._merge_message(merges, message, message.proposal, None)  # send times once route confirms
                message.merged = True
                route.merged.append(message)
                for send_ms in message.sends:
                    merged_sends.add(message.proposal, send_ms)

        pipe = self.client.pipeline(transaction=False)
        pipe.get(keys.epoch())  # the caches were right only if the epoch is still the one they belong to
        untagged_id = campaign_ids[UNTAGGED]
        for batch in route_ops.values():
            self._route(keys=batch.keys, args=[_pack(batch.ops), self.index_ttl_ms, untagged_id], client=pipe)
        self._queue_merges(merges, pipe)
        for index in index_ops.values():
            self._index(keys=index.keys, args=[_pack(index.entries), self.index_ttl_ms], client=pipe)
        sends.queue(pipe, self.keys)
        new_days = days - self._days_written
        if new_days:
            pipe.zadd(self.keys.days(), {str(d): d for d in new_days})
        prepared.pipe, prepared.route_batches, prepared.merges = pipe, list(route_ops.values()), len(merges)
        prepared.messages, prepared.tagless = messages, tagless
        prepared.new_entries, prepared.new_days = new_entries, new_days
        prepared.merged_sends = merged_sends
        return prepared

    def _merge_message(self, merges: dict[tuple[str, int], _MergeBatch], message: _Message, campaign: str,
                       sends: _SendTimes | None) -> None:
        """Queue a message's tagged events of this batch under the campaign the message index gave it."""
        merge = merges.get((campaign, message.shard))
        if merge is None:
            merge = merges[(campaign, message.shard)] = _MergeBatch(self.keys, campaign, message.shard)
        merge.events.extend(message.pending)
        if sends is not None:
            for send_ms in message.sends:
                sends.add(campaign, send_ms)

    def commit(self, prepared: PreparedBatch) -> RecordResult:
        """Send a prepared batch, then the merges that waited for the message index's answer (and, when tagless
        events found their campaign or a Send released events waiting for it, theirs). Returns once Redis has
        them all."""
        result = RecordResult(events=prepared.events)
        if prepared.pipe is None:
            return result
        epoch, *replies = prepared.pipe.execute()
        if epoch != prepared.epoch:
            return self._redo(prepared, replies)
        self._indexed_entries.update(prepared.new_entries)
        self._days_written.update(prepared.new_days)
        route_batches, merges, messages = prepared.route_batches, prepared.merges, prepared.messages

        route_replies = replies[: len(route_batches)]
        for changed, unchanged in replies[len(route_batches) : len(route_batches) + merges]:
            result.changed += changed
            result.unchanged += unchanged

        groups: dict[tuple[str, int], _MergeBatch] = {}
        sends = _SendTimes()
        second: list[Event] = []
        orphan_fields: list[tuple[str, bytes]] = []
        moves: list[tuple[_Message, str, str]] = []
        reported_merged = 0  # messages merged at once that route answered about (moved or held by another Send)
        for batch, (_resolved, _orphans, claimed) in zip(route_batches, route_replies, strict=True):
            for op_number, campaign_id, moved_from, final in claimed:
                message = batch.events[op_number - 1]
                assert isinstance(message, _Message)
                campaign = self._name("c", int(campaign_id))
                if campaign is None:
                    log.warning("campaign id %s has no name; message merged under its own tag", campaign_id)
                    campaign = message.proposal or UNTAGGED
                elif final:  # a Send's campaign: no later event takes the message over
                    self._message_campaigns[message.h] = campaign
                if not message.merged:
                    self._merge_message(groups, message, campaign, sends)
                else:  # merged in the first round trip under its Send's campaign
                    reported_merged += 1
                    for send_ms in message.sends:
                        sends.add(campaign, send_ms)
                    if campaign != message.proposal:  # another Send's campaign held the message: move it there
                        assert message.proposal is not None
                        moves.append((message, message.proposal, campaign))
                if moved_from and (source := self._name("c", int(moved_from))) is not None and source != campaign:
                    moves.append((message, source, campaign))
                message.campaign = campaign
        # route leaves out the Sends' claims the index confirmed as they were: final under the campaign they went to
        known_messages = self._message_campaigns
        for batch in route_batches:
            for message in batch.merged:
                if message.campaign is None:
                    message.campaign = message.proposal
                    known_messages[message.h] = message.proposal
                    if reported_merged:
                        for send_ms in message.sends:
                            sends.add(message.proposal, send_ms)
        if not reported_merged and prepared.merged_sends is not None:
            sends.update(prepared.merged_sends)
        for batch, (resolved, orphans, _claimed) in zip(route_batches, route_replies, strict=True):
            for op_number, campaign_id in resolved:
                event = batch.events[op_number - 1]
                assert isinstance(event, Event)
                event.campaign = self._name("c", int(campaign_id))
                if event.campaign is None:
                    log.warning("campaign id %s has no name; event kept waiting", campaign_id)
                    continue
                second.append(event)
            for op_number, packed in orphans:
                message = batch.events[op_number - 1]
                assert isinstance(message, _Message)
                for blob in msgpack.unpackb(packed, raw=True):
                    waiting = _unpack_orphan(blob)
                    waiting.campaign = message.campaign
                    if waiting.config_set is None:
                        waiting.config_set = message.config_set
                    second.append(waiting)
                orphan_fields.append((batch.orphan_key_of(op_number), batch.field_of(op_number)))
        result.waiting = sum(1 for e in prepared.tagless if e.campaign is None)
        if second:
            self._ensure_ids("s", {e.config_set for e in second if e.config_set})
            recipients: dict[str, tuple[bytes, int, int, str, str]] = {}
            for event in second:
                message = messages.get(event.message_id) or _Message(event.message_id)
                self._add_merge(groups, event, message, recipients)
        if groups or sends:
            pipe = self.client.pipeline(transaction=False)
            self._queue_merges(groups, pipe)
            sends.queue(pipe, self.keys)
            for changed, unchanged in pipe.execute()[: len(groups)]:
                result.changed += changed
                result.unchanged += unchanged
        if orphan_fields:
            pipe = self.client.pipeline(transaction=False)
            for key, orphan_field in orphan_fields:
                pipe.hdel(key, orphan_field)
            pipe.execute()
        for message, source, campaign in moves:
            self._move_record(message, source, campaign)
        return result

    def _move_record(self, message: _Message, from_campaign: str, campaign: str) -> None:
        """A campaign of a higher rank claimed a message in the index (its Send's campaign, or a tagged one over
        the untagged campaign; see route.lua): take the message's record out of `from_campaign`, with its
        counters, and merge it into `campaign`, so the message's events stay in one record (DESIGN §2)."""
        shard, bucket, h = message.shard, message.bucket, message.h
        source = self.keys.record_bucket(from_campaign, shard, bucket)
        counters = [self.keys.aggregates(from_campaign, shard), self.keys.domains(from_campaign, shard),
                    self.keys.minutes(from_campaign, shard)]
        for _ in range(10):
            raw = self.client.hget(source, h)
            if raw is None:
                return
            packed_id, send_ms, cs_id, recipients = msgpack.unpackb(raw, raw=True, strict_map_key=False)
            deltas: dict[tuple[int, str], int] = defaultdict(int)
            merge = _MergeBatch(self.keys, campaign, shard)
            for key, (flags, types) in (recipients.items() if isinstance(recipients, dict) else ()):
                address = self._address(key)
                domain = address.rpartition("@")[2]
                entries = list(enumerate(types, start=1)) if isinstance(types, list) else list(types.items())
                names: set[str] = set()
                for type_key, entry in entries:
                    if entry is None:
                        continue
                    name = TYPE_NAMES.get(type_key) if isinstance(type_key, int) else type_key.decode()
                    name = name or str(type_key)
                    names.add(name)
                    offset, detail, expires = (entry[0], entry[1], entry[2]) if isinstance(entry, list) \
                        else (entry, b"", 0)
                    deltas[(2, f"t|{name}")] -= 1
                    deltas[(2, f"ct|{cs_id}|{name}")] -= 1
                    deltas[(4, f"e|{name}|{(send_ms + offset) // 60_000}")] -= 1
                    merge.events.append((bucket, h, packed_id, send_ms, cs_id, key.decode("utf-8", "replace"),
                                         domain, type_key if isinstance(type_key, int) else name, name, offset,
                                         detail.decode("utf-8", "replace"), flags, expires, "", ""))
                state = state_of(flags, names)
                deltas[(2, f"s|{state}")] -= 1
                deltas[(3, f"{domain}|{state}")] -= 1
                if state == "send_only":
                    deltas[(4, f"so|{send_ms // 60_000}")] -= 1
                elif state == "delayed":
                    entry = dict(entries).get(TYPE_CODES["DeliveryDelay"])
                    expires = entry[2] if isinstance(entry, list) else 0
                    deltas[(4, f"dl|{(expires if expires > 0 else send_ms) // 60_000}")] -= 1
            ops = [[index, name, delta] for (index, name), delta in deltas.items() if delta]
            # merged into the target first, taken out of the source second: a crash in between leaves the
            # record in both (the idempotent merge of a later move or a rebuild), never in neither
            pipe = self.client.pipeline(transaction=False)
            self._queue_merges({(campaign, shard): merge}, pipe)
            pipe.execute()
            if self._take(keys=[source, *counters], args=[h, raw, _pack(ops)]):
                return
        log.warning("message record kept changing; left under campaign %r", from_campaign)

    def _redo(self, prepared: PreparedBatch, replies: list[Any]) -> RecordResult:
        """The batch went out with caches of a lost data set: once the ids are written back, prepare and send it
        again with empty caches (the merge is idempotent, so only the missing index entries change anything)."""
        self._recover(prepared.epoch)
        first = replies[len(prepared.route_batches) : len(prepared.route_batches) + prepared.merges]
        result = self.commit(self.prepare(prepared.batch))
        changed = sum(c for c, _ in first)
        result.changed += changed
        result.unchanged = max(0, result.unchanged - changed)
        # take-overs the first sending did in the index: the second one finds them done, so move the records here
        for batch, (_, _, claimed) in zip(prepared.route_batches, replies, strict=False):
            for op_number, campaign_id, moved_from, _final in claimed:
                message, target = batch.events[op_number - 1], self._name("c", int(campaign_id))
                source = self._name("c", int(moved_from)) if moved_from else None
                if message.merged and message.proposal != target:  # merged under its Send's campaign at once
                    source = message.proposal
                if source is not None and target is not None and source != target:
                    self._move_record(message, source, target)
        return result

    def _expire_written(self) -> None:
        """Forget which index entries this process wrote once an hour (or when the sets grow large), so an index
        that expired or was rebuilt is written again."""
        now = time.monotonic()
        if (now - self._written_since > TTL_REFRESH_S
                or len(self._indexed_entries) + len(self._message_campaigns) > WRITTEN_MAX):
            self._message_campaigns.clear()
            self._indexed_entries.clear()
            self._days_written.clear()
            self._written_since = now

    def _add_merge(self, groups: dict[tuple[str, int], _MergeBatch], event: Event, message: _Message,
                   recipients: dict[str, tuple[bytes, int, int, str, str]]) -> None:
        campaign = event.campaign
        assert campaign is not None
        batch = groups.get((campaign, message.shard))
        if batch is None:
            batch = groups[(campaign, message.shard)] = _MergeBatch(self.keys, campaign, message.shard)
        rcpt = recipients.get(event.recipient)
        if rcpt is None:
            rcpt = recipients[event.recipient] = self._recipient(event.recipient)
        code = TYPE_CODES.get(event.type)
        batch.events.append((
            message.bucket, message.h, message.packed_id, event.send_ms,
            self._ids["s"].get(event.config_set or "", 0), rcpt[4], rcpt[3],
            event.type if code is None else code, event.type, event.time_ms - event.send_ms, event.detail,
            event.flags, event.expires_ms, event.outgoing_ip or "", event.from_domain or "",
        ))

    def _recipient(self, address: str) -> tuple[bytes, int, int, str, str]:
        """(index entry prefix, index shard, index bucket, domain, record key) of a recipient address. The record
        key is the address with its domain replaced by the domain's numeric id (`local@\\0<id>`): ~15 bytes less
        per recipient (`_address` turns it back)."""
        h = hash8(address)
        shard, bucket = locate_index(h)
        local, _, domain = address.rpartition("@")
        domain_id = self._ids["d"].get(domain)
        if domain_id is None:  # a domain this process has not seen: one round trip, once
            self._ensure_ids("d", [domain])
            domain_id = self._ids["d"].get(domain, 0)  # 0 only when a recovery just dropped it: batch redone
        return h[4:8], shard, bucket, domain, f"{local}@\0{domain_id}"

    def _address(self, key: bytes) -> str:
        local, at, domain = key.decode("utf-8", "replace").rpartition("@")
        if at and domain.startswith("\0"):
            domain = self._name("d", int(domain[1:])) or f"(domain {domain[1:]})"
        return f"{local}{at}{domain}"

    def _queue_merges(self, groups: dict[tuple[str, int], _MergeBatch], pipe: Any) -> None:
        for batch in groups.values():
            self._merge(keys=batch.keys, args=[_pack(batch.events), self.retention_ms, batch.prefix], client=pipe)

    def drop_campaign(self, campaign: str) -> int:
        """Delete a campaign's records and aggregates (before rebuilding it from the archive). The message and
        recipient indexes keep pointing at the campaign's id, which the rebuild writes again. Returns keys deleted."""
        deleted = 0
        for shard in range(SHARDS):
            pipe = self.client.pipeline(transaction=False)  # one slot per shard: runs on a cluster too
            pipe.unlink(self.keys.aggregates(campaign, shard), self.keys.domains(campaign, shard),
                        self.keys.minutes(campaign, shard))
            pipe.unlink(*(self.keys.record_bucket(campaign, shard, bucket) for bucket in range(BUCKETS)))
            deleted += sum(pipe.execute())
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(self.keys.campaigns(), campaign)
        pipe.zrem(self.keys.campaigns_first(), campaign)
        pipe.execute()
        return deleted

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
        self._check_epoch()
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
        self._check_epoch()
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
        self._check_epoch()
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
                campaign = self._name("c", _index_id(campaign_id))
                if campaign is not None:
                    record = self._load(campaign, message_id)
                    if record is not None:
                        return record
            if orphans is not None:
                waiting.extend(_unpack_orphan(blob) for blob in msgpack.unpackb(orphans, raw=True))
        return _waiting_record(message_id, waiting) if waiting else None

    def recipient(self, address: str) -> list[MessageRecord]:
        """Every message to this address within retention, newest first, each with only this recipient."""
        self._check_epoch()
        address = address.strip().lower()
        h = hash8(address)
        shard, bucket = locate_index(h)
        prefix = _glob_escape(h[4:8])
        message_hashes: list[bytes] = []
        for day in self._days():
            key = self.keys.recipient_index(shard, day, bucket)
            for field_name in self.client.hscan_iter(key, match=prefix + b"*", count=1000):
                name = field_name[0] if isinstance(field_name, tuple) else field_name
                message_hashes.append(name[4:12])
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
            if campaign_id is not None and (campaign := self._name("c", _index_id(campaign_id))) is not None:
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
            out.append(RecipientRecord(self._address(address), state_of(flags, {v.type for v in views}), flags,
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


def _index_id(value: bytes) -> int:
    """The campaign id of a message-index value ("<id>", or "<id>." while a Send may still claim it)."""
    return int(value.rstrip(b"."))


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
        self.events: list[Any] = []  # per op: the tagless Event ("R") or the _Message ("S")
        self.merged: list[_Message] = []  # messages merged at once under their Send's campaign (rank-2 "S" ops)

    def _ki(self, key: str) -> int:
        index = self._key_index.get(key)
        if index is None:
            self.keys.append(key)
            index = self._key_index[key] = len(self.keys)
        return index

    def add(self, op: str, index_key: str, h: bytes, value: Any, orphan_key: str, rank: int = 0) -> None:
        self.ops.append([op, self._ki(index_key), h, value, self._ki(orphan_key), rank])

    def orphan_key_of(self, op_number: int) -> str:
        return self.keys[self.ops[op_number - 1][4] - 1]

    def field_of(self, op_number: int) -> bytes:
        return self.ops[op_number - 1][2]


class _IndexBatch:
    """Recipient index entries of one slot (the caller sends each entry once)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self._key_index: dict[str, int] = {}
        self.entries: list[tuple[int, bytes]] = []

    def add(self, key: str, entry: bytes) -> None:
        index = self._key_index.get(key)
        if index is None:
            self.keys.append(key)
            index = self._key_index[key] = len(self.keys)
        self.entries.append((index, entry))


def _pack(value: Any) -> bytes:
    """msgpack for the Lua scripts: Redis' cmsgpack reads no bin type, so bytes travel as str."""
    return msgpack.packb(value, use_bin_type=False)


@dataclass
class PreparedBatch:
    """A batch `Store.prepare` built and `Store.commit` sends."""

    events: int
    pipe: Any = None
    epoch: bytes | None = None  # the epoch the caches it was prepared with belong to
    batch: list[Event] = field(default_factory=list)
    route_batches: list[_RouteBatch] = field(default_factory=list)
    merges: int = 0
    messages: dict[str, _Message] = field(default_factory=dict)
    tagless: list[Event] = field(default_factory=list)
    new_entries: set[bytes] = field(default_factory=set)
    new_days: set[int] = field(default_factory=set)
    merged_sends: _SendTimes | None = None  # send times of the messages merged at once, once route confirms them


class _Message:
    """Where one message's record and index entries live, computed once per batch, and its tagged events of the
    batch packed for `merge`, waiting for the campaign the message index gives it."""

    __slots__ = ("bucket", "campaign", "config_set", "day", "h", "ibucket", "ishard", "merged", "packed_id",
                 "pending", "proposal", "rank", "sends", "shard")

    def __init__(self, message_id: str) -> None:
        self.h = h = hash8(message_id)
        self.shard, self.bucket = h[0] % SHARDS, h[1] % BUCKETS  # keys.locate
        self.ishard, self.ibucket = h[2] % SHARDS, h[3] % BUCKETS  # keys.locate_index
        self.packed_id = pack_message_id(message_id)
        self.pending: list[tuple[Any, ...]] = []  # merge tuples of its tagged events
        self.sends: list[int] = []  # send times of its Send events in the batch
        self.proposal: str | None = None  # the campaign it claims in the index: its best (Send, tagged, "")
        self.rank = 0
        self.campaign: str | None = None  # the campaign the index gave it
        self.config_set: str | None = None
        self.day = 0
        self.merged = False  # its events went out in the first round trip, before the index answered


class _SendTimes:
    """Last and first send per campaign of a batch, for the campaign lists."""

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.first: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.last)

    def add(self, campaign: str, send_ms: int) -> None:
        if send_ms > self.last.get(campaign, -1):
            self.last[campaign] = send_ms
        if send_ms < self.first.get(campaign, send_ms + 1):
            self.first[campaign] = send_ms

    def update(self, other: _SendTimes) -> None:
        for campaign, send_ms in other.last.items():
            self.add(campaign, send_ms)
        for campaign, send_ms in other.first.items():
            self.add(campaign, send_ms)

    def queue(self, pipe: Any, keys: KeySchema) -> None:
        if self.last:
            pipe.zadd(keys.campaigns(), self.last, gt=True)
            pipe.zadd(keys.campaigns_first(), self.first, lt=True)


class _MergeBatch:
    def __init__(self, schema: KeySchema, campaign: str, shard: int) -> None:
        self.keys = [schema.aggregates(campaign, shard), schema.domains(campaign, shard),
                     schema.minutes(campaign, shard)]
        self.prefix = schema.record_bucket_prefix(campaign, shard)
        self.campaign = campaign
        self.shard = shard
        self.events: list[tuple[Any, ...]] = []
