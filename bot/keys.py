"""The Redis key schema: every key sesbot writes is built here and nowhere else.

All keys start with a configurable prefix (default ``sb``). Hash tags (``{...}``) pin the keys that one write
touches to one Redis Cluster slot, so the same scripts run on a single server and on a cluster.

Campaign slot ``{c:<campaign>:<shard>}`` (shard = first hash byte of the message id mod SHARDS): one campaign
is spread over SHARDS slots, aggregates are kept per shard and summed when read.

    <p>:rec:{c:C:S}:<bucket>   hash  field hash8(message id) -> msgpack message record      TTL retention
                                     {packed id, send ms, config-set id, {"local@\\0<domain id>" ->
                                     {flags, {type -> offset ms | {offset, detail, expiry}}}}}
    <p>:agg:{c:C:S}            hash  state / config-set / type / IP / send-window counters   TTL retention
    <p>:dom:{c:C:S}            hash  "<domain>|<state>" -> recipients                        TTL retention
    <p>:min:{c:C:S}            hash  per-minute counters ("so|<minute>", "e|<type>|<minute>", "dl|<minute>")

Message slot ``{m:<shard>}`` (shard from the message-id hash), partitioned by the UTC day of the send time:

    <p>:mi:{m:S}:<day>:<bucket>   hash  hash8(message id) -> campaign id ("<id>" once its Send's campaign
                                        claimed it, "<id>." before: see route.lua)   TTL retention + 1 d
    <p>:orph:{m:S}:<day>          hash  hash8(message id) -> msgpack list of events waiting  TTL retention + 1 d
                                        for their Send (identity notifications carry no tags)

Recipient slot ``{r:<shard>}`` (shard from the address hash), partitioned by day like the message index:

    <p>:ri:{r:S}:<day>:<bucket>   hash  hash8(address)[4:8] + hash8(message id) -> ""       TTL retention + 1 d
                                        (shard and bucket come from bytes 2-3 of the address hash, these four
                                        bytes narrow the bucket down; the records confirm the address)

Global slot ``{g}`` (small, no TTL unless noted):

    <p>:{g}:ids:<kind>     hash  name -> numeric id (kind "c" campaign, "s" configuration set, "d" recipient domain)
    <p>:{g}:names:<kind>   hash  numeric id -> name
    <p>:{g}:seq:<kind>     string  last id handed out
    <p>:{g}:campaigns      zset  campaign -> last send time (epoch ms)
    <p>:{g}:campaigns:first zset campaign -> first send time (epoch ms)
    <p>:{g}:days           zset  day number -> day number (days that hold index partitions)
    <p>:{g}:counters       hash  ingestion counters (read, ingested, rejected, ... per path)
    <p>:{g}:epoch          string  random token of this data set (SET NX): a writer whose token differs (or finds
                                   none) knows Redis lost its data, drops its caches and writes its ids back

Alert slot ``{a}`` (channel alerts, bot/alerts.py; small, no TTL unless noted):

    <p>:{a}:incidents          hash    campaign -> JSON incident (message ts, severity, kinds, figures)
    <p>:{a}:claim:<campaign>   string  SET NX PX while one process posts a campaign's new incident   TTL 60 s
    <p>:{a}:snooze:<campaign>  string  user who snoozed the campaign's alerts                        TTL snooze
    <p>:{a}:muted              hash    campaign -> user who muted its alerts
    <p>:{a}:thresholds         hash    "default" | "campaign:<name>" | "configuration_set:<name>" -> JSON

Redis Cluster: every script call names its keys, and all of them share one hash tag: `route` the message slot's
index buckets and orphan hashes, `merge` the campaign shard's aggregates, domains and minutes (it builds that
shard's record-bucket keys itself from a prefix carrying the same tag), `index` the recipient slot's buckets,
`assign_ids` the global slot. A batch therefore costs one script call per slot it touches, and a cluster client
routes each call by its first key to the node that owns the slot (Store takes the client it is given; the tests
and benchmarks run a single server, not a cluster). One large campaign is spread over SHARDS slots, so over up to
SHARDS nodes; readers sum the shards. Persistence is a
deployment property: run Redis with `appendonly yes` and `appendfsync everysec` (at most a second of acknowledged
writes at risk on a power loss, none on a process crash), and keep the raw-event archive (bot/archive.py) to rebuild
from with `sesbot ingest ARCHIVE_DIR` (the merge is idempotent).
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b

SHARDS = 16  # slots per campaign and per index; changing it needs a rebuild from the archive
BUCKETS = 256  # record buckets per campaign shard and index buckets per shard and day
DAY_MS = 86_400_000


def hash8(value: str) -> bytes:
    return blake2b(value.encode(), digest_size=8).digest()


def _escape(name: str) -> str:
    """Keep braces out of keys so a campaign name can never move a hash tag."""
    return name.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def send_day(send_ms: int) -> int:
    return send_ms // DAY_MS


@dataclass(frozen=True)
class KeySchema:
    prefix: str = "sb"

    # campaign slot
    def campaign_tag(self, campaign: str, shard: int) -> str:
        return f"{{c:{_escape(campaign)}:{shard}}}"

    def record_bucket(self, campaign: str, shard: int, bucket: int) -> str:
        return f"{self.record_bucket_prefix(campaign, shard)}{bucket}"

    def record_bucket_prefix(self, campaign: str, shard: int) -> str:
        """merge.lua appends the bucket number itself (same hash tag, so the same slot)."""
        return f"{self.prefix}:rec:{self.campaign_tag(campaign, shard)}:"

    def aggregates(self, campaign: str, shard: int) -> str:
        return f"{self.prefix}:agg:{self.campaign_tag(campaign, shard)}"

    def domains(self, campaign: str, shard: int) -> str:
        return f"{self.prefix}:dom:{self.campaign_tag(campaign, shard)}"

    def minutes(self, campaign: str, shard: int) -> str:
        return f"{self.prefix}:min:{self.campaign_tag(campaign, shard)}"

    # message slot
    def message_index(self, shard: int, day: int, bucket: int) -> str:
        return f"{self.prefix}:mi:{{m:{shard}}}:{day}:{bucket}"

    def orphans(self, shard: int, day: int) -> str:
        return f"{self.prefix}:orph:{{m:{shard}}}:{day}"

    # recipient slot
    def recipient_index(self, shard: int, day: int, bucket: int) -> str:
        return f"{self.prefix}:ri:{{r:{shard}}}:{day}:{bucket}"

    # global slot
    def ids(self, kind: str) -> str:
        return f"{self.prefix}:{{g}}:ids:{kind}"

    def names(self, kind: str) -> str:
        return f"{self.prefix}:{{g}}:names:{kind}"

    def sequence(self, kind: str) -> str:
        return f"{self.prefix}:{{g}}:seq:{kind}"

    def campaigns(self) -> str:
        return f"{self.prefix}:{{g}}:campaigns"

    def campaigns_first(self) -> str:
        return f"{self.prefix}:{{g}}:campaigns:first"

    def days(self) -> str:
        return f"{self.prefix}:{{g}}:days"

    def counters(self) -> str:
        return f"{self.prefix}:{{g}}:counters"

    def epoch(self) -> str:
        return f"{self.prefix}:{{g}}:epoch"

    def cache(self, namespace: str, key: str) -> str:
        """Look-up caches (MX answers, suppression list): `<p>:cache:<ns>:<key>`, TTL set by the caller."""
        return f"{self.prefix}:cache:{namespace}:{key}"

    def lock(self, name: str) -> str:
        """Scheduler run guards: SET NX PX, never released."""
        return f"{self.prefix}:lock:{name}"

    # alert slot
    def alert_incidents(self) -> str:
        return f"{self.prefix}:{{a}}:incidents"

    def alert_claim(self, campaign: str) -> str:
        return f"{self.prefix}:{{a}}:claim:{_escape(campaign)}"

    def alert_snooze(self, campaign: str) -> str:
        return f"{self.prefix}:{{a}}:snooze:{_escape(campaign)}"

    def alert_muted(self) -> str:
        return f"{self.prefix}:{{a}}:muted"

    def alert_thresholds(self) -> str:
        return f"{self.prefix}:{{a}}:thresholds"


def locate(h: bytes) -> tuple[int, int]:
    """(shard, bucket) for a record, from its message-id hash."""
    return h[0] % SHARDS, h[1] % BUCKETS


def locate_index(h: bytes) -> tuple[int, int]:
    """(shard, bucket) for an index entry; other hash bytes than `locate` so the two spread independently."""
    return h[2] % SHARDS, h[3] % BUCKETS
