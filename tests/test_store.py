import random

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import parse_payload
from bot.keys import KeySchema
from bot.store import Store, pack_message_id, unpack_message_id
from tests import factory as f


@pytest.fixture
def store(redis_url):
    return Store(redis.Redis.from_url(redis_url))


def ingest(store, *records, campaign_tag="campaign"):
    events = []
    for record in records:
        parsed = parse_payload(record, campaign_tag)
        assert parsed.rejected == []
        events.extend(parsed.events)
    return store.record(events)


def state(store, mid, rcpt):
    record = store.message(mid)
    return next(r.state for r in record.recipients if r.recipient == rcpt)


M1, M2 = f.message_id(1), f.message_id(2)
T0_MS = int(f.T0.timestamp() * 1000)


def test_send_only_then_delivered(store):
    ingest(store, f.send(M1, ["a@x.test"]))
    assert state(store, M1, "a@x.test") == "send_only"
    summary = store.campaign_summary("spring-042")
    assert summary.totals["send_only"] == 1 and sum(summary.send_only_by_minute.values()) == 1
    ingest(store, f.delivery(M1, ["a@x.test"]))
    summary = store.campaign_summary("spring-042")
    assert state(store, M1, "a@x.test") == "delivered"
    assert (summary.totals["send_only"], summary.totals["delivered"]) == (0, 1)
    assert summary.send_only_by_minute == {}
    assert summary.outgoing_ips == {"54.240.8.1": T0_MS + 3000}


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([f.send(M1, ["a@x.test"]), f.delay(M1, ["a@x.test"])], "delayed"),
        ([f.send(M1, ["a@x.test"]), f.delay(M1, ["a@x.test"]), f.delivery(M1, ["a@x.test"], after=900)], "delivered"),
        ([f.send(M1, ["a@x.test"]), f.delivery(M1, ["a@x.test"]), f.bounce(M1, ["a@x.test"], after=60,
                                                                           bounce_type="Transient")], "bounced"),
        ([f.send(M1, ["a@x.test"]), f.bounce(M1, ["a@x.test"], sub_type="OnAccountSuppressionList")], "suppressed"),
        ([f.send(M1, ["a@x.test"]), f.complaint(M1, ["a@x.test"], sub_type="OnAccountSuppressionList")],
         "suppressed"),
        ([f.send(M1, ["a@x.test"]), f.delivery(M1, ["a@x.test"]), f.complaint(M1, ["a@x.test"])], "complained"),
        ([f.send(M1, ["a@x.test"]), f.bounce(M1, ["a@x.test"], sub_type="Suppressed"), f.complaint(M1, ["a@x.test"])],
         "complained"),
        ([f.send(M1, ["a@x.test"]), f.simple("Reject", M1, ["a@x.test"])], "rejected"),
        ([f.send(M1, ["a@x.test"]), f.simple("Rendering Failure", M1, ["a@x.test"])], "rendering_failed"),
        ([f.send(M1, ["a@x.test"]), f.simple("Open", M1, ["a@x.test"])], "send_only"),
        ([f.delivery(M1, ["a@x.test"])], "unknown"),
    ],
)
def test_state_is_the_highest_outcome(store, records, expected):
    ingest(store, *records)
    assert state(store, M1, "a@x.test") == expected
    ingest(store, *reversed(records))
    assert state(store, M1, "a@x.test") == expected
    assert store.campaign_summary("spring-042").recipients == 1


def test_duplicates_change_nothing(store):
    records = [f.send(M1, ["a@x.test", "b@x.test"]), f.delivery(M1, ["a@x.test"])]
    first = ingest(store, *records)
    before = store.campaign_summary("spring-042")
    again = ingest(store, *records, *records)
    assert first.changed == 3 and again.changed == 0 and again.unchanged == 6
    assert store.campaign_summary("spring-042") == before


def test_identity_notification_before_its_send_waits_then_joins_the_campaign(store):
    bounce = f.identity_notification(f.bounce(M1, ["a@x.test"]))
    result = ingest(store, bounce)
    assert result.waiting == 1
    assert store.campaign_summary("spring-042") is None
    assert store.message(M1).campaign is None
    ingest(store, f.send(M1, ["a@x.test"]))
    assert state(store, M1, "a@x.test") == "bounced"
    assert store.message(M1).campaign == "spring-042"
    assert store.campaign_summary("spring-042").totals["bounced"] == 1
    # the waiting copy is gone; a replay of the notification now goes straight to the campaign
    assert ingest(store, bounce).waiting == 0


def test_identity_notification_after_its_send_is_routed_by_message_id(store):
    ingest(store, f.send(M1, ["a@x.test"], config_set="transactional"))
    result = ingest(store, f.identity_notification(f.delivery(M1, ["a@x.test"])))
    assert result.changed == 1 and result.waiting == 0
    summary = store.campaign_summary("spring-042")
    assert summary.totals["delivered"] == 1
    assert summary.types_by_config_set["transactional"]["Delivery"] == 1


def test_untagged_campaign_is_kept_under_the_empty_name(store):
    ingest(store, f.send(M1, ["a@x.test"], campaign=None))
    assert store.campaign_summary("").totals["send_only"] == 1
    assert [c[0] for c in store.campaigns()] == [""]


def test_recipient_lookup_newest_first_and_message_lookup(store):
    later = f.T0.replace(hour=12)
    ingest(store, f.send(M1, ["a@x.test", "b@x.test"]), f.send(M2, ["a@x.test"], later, campaign="autumn"),
           f.bounce(M2, ["a@x.test"], later, campaign="autumn"))
    messages = store.recipient("A@X.test")
    assert [(m.message_id, m.campaign, m.recipients[0].state) for m in messages] == [
        (M2, "autumn", "bounced"), (M1, "spring-042", "send_only")]
    assert all(len(m.recipients) == 1 for m in messages)
    assert store.recipient("nobody@x.test") == []
    assert store.message("nope") is None
    assert [r.recipient for r in store.message(M1).recipients] == ["a@x.test", "b@x.test"]


def test_aggregates_per_domain_minute_and_config_set(store):
    ingest(store, f.send(M1, ["a@x.test", "b@y.test"]), f.delivery(M1, ["a@x.test"]),
           f.delay(M1, ["b@y.test"], expires_after=7200))
    s = store.campaign_summary("spring-042")
    assert s.domains == {"x.test": {"delivered": 1}, "y.test": {"delayed": 1}}
    assert sum(s.delayed_by_expiry_minute.values()) == 1
    expiry_minute = next(iter(s.delayed_by_expiry_minute))
    assert expiry_minute * 60_000 == T0_MS + 7_200_000
    assert s.types == {"Send": 2, "Delivery": 1, "DeliveryDelay": 1}
    assert s.config_sets.keys() == {"marketing"} and s.from_domains.keys() == {"shop.example"}
    assert s.first_send_ms == s.last_send_ms


def test_keys_carry_ttls(store):
    ingest(store, f.send(M1, ["a@x.test"]), f.identity_notification(f.bounce(M2, ["b@x.test"])))
    client = store.client
    for key in client.scan_iter("sb:*"):
        if b"{g}" in key:
            continue
        assert client.pttl(key) > 0, key


def test_a_write_gives_back_a_ttl_that_ran_down_by_more_than_an_hour(store):
    ingest(store, f.send(M1, ["a@x.test"]))
    client = store.client
    campaign_keys = [k for k in client.scan_iter("sb:*") if b"{c:spring-042:" in k]
    assert campaign_keys
    for key in campaign_keys:
        client.pexpire(key, 2 * 3_600_000)  # as if written 14 days minus two hours ago
    ingest(store, f.delivery(M1, ["a@x.test"]))
    assert all(client.pttl(key) > 13 * 86_400_000 for key in campaign_keys)


def test_everything_one_event_touches_shares_a_slot(store):
    """Each script call gets keys of one hash slot, so it runs unchanged on Redis Cluster."""
    from redis.crc import key_slot

    schema = KeySchema()
    keys = [schema.aggregates("c{1}", 3), schema.domains("c{1}", 3), schema.minutes("c{1}", 3),
            schema.record_bucket("c{1}", 3, 0), schema.record_bucket("c{1}", 3, 255)]
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert len({key_slot(schema.message_index(5, d, b).encode()) for d in (1, 2) for b in (0, 9)}
               | {key_slot(schema.orphans(5, 1).encode())}) == 1


def test_key_schema_names_are_pinned():
    s = KeySchema("sb")
    assert s.record_bucket("spring", 2, 7) == "sb:rec:{c:spring:2}:7"
    assert s.aggregates("spring", 2) == "sb:agg:{c:spring:2}"
    assert s.domains("a{b}", 0) == "sb:dom:{c:a%7Bb%7D:0}"
    assert s.minutes("spring", 0) == "sb:min:{c:spring:0}"
    assert s.message_index(3, 20000, 9) == "sb:mi:{m:3}:20000:9"
    assert s.orphans(3, 20000) == "sb:orph:{m:3}:20000"
    assert s.recipient_index(4, 20000, 1) == "sb:ri:{r:4}:20000:1"
    assert s.campaigns() == "sb:{g}:campaigns"
    assert s.counters() == "sb:{g}:counters"


@pytest.mark.parametrize(("mid", "packs"), [
    (f.message_id(77), True),
    ("EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000", False),
    ("<weird@id>", False),
    ("0100019CADC69AA6-f081c25a-f5a9-4323-e79c-abd3d837dec3-000000", False),  # upper case: kept as text
    ("0100019cadc69aa6-f081c25a-f5a9-4323-e79c-abd3d837dec3-00000\u0661", False),  # a non-ASCII digit
    ("0100019cadc69aa6-f081c25a-f5a9-4323-e79c-abd3d837dec3--00000", False),
])
def test_message_ids_round_trip_through_packing(mid, packs):
    packed = pack_message_id(mid)
    assert unpack_message_id(packed) == mid
    assert (len(packed) == 28) is packs


# --------------------------------------------------------------------------- property: any order, any duplicates

def outcome_record(kind: str, mid: str, recipient: str, recipients: list[str], sent, campaign):
    """One generated record of `kind` for one recipient of message `mid` (Reject covers the whole message)."""
    one = [recipient]
    builders = {
        "delivery": lambda: f.delivery(mid, one, sent, campaign=campaign),
        "bounce": lambda: f.bounce(mid, one, sent, after=400, bounce_type="Transient", campaign=campaign),
        "suppressed": lambda: f.bounce(mid, one, sent, sub_type="OnAccountSuppressionList", campaign=campaign),
        "complaint": lambda: f.complaint(mid, one, sent, campaign=campaign),
        "delay": lambda: f.delay(mid, one, sent, after=300, campaign=campaign),
        "delay2": lambda: f.delay(mid, one, sent, after=1300, expires_after=7200, campaign=campaign),
        "open": lambda: f.simple("Open", mid, one, sent, after=120, campaign=campaign),
        "reject": lambda: f.simple("Reject", mid, recipients, sent, campaign=campaign),
        "identity": lambda: f.identity_notification(f.delivery(mid, one, sent, after=7)),
    }
    return builders[kind]()


@st.composite
def event_streams(draw):
    n_messages = draw(st.integers(1, 6))
    records = []
    for n in range(n_messages):
        mid = f.message_id(1000 + n)
        recipients = [f"r{n}-{i}@d{i % 3}.test" for i in range(draw(st.integers(1, 3)))]
        sent = f.T0.replace(minute=draw(st.integers(0, 59)))
        campaign = draw(st.sampled_from(["alpha", "beta", None]))
        records.append(f.send(mid, recipients, sent, campaign=campaign))
        for r in recipients:
            kinds = draw(st.lists(st.sampled_from(["delivery", "bounce", "suppressed", "complaint", "delay",
                                                   "delay2", "open", "reject", "identity"]), max_size=4))
            records.extend(outcome_record(kind, mid, r, recipients, sent, campaign) for kind in kinds)
    duplicates = draw(st.lists(st.integers(0, len(records) - 1), max_size=6))
    records += [records[i] for i in duplicates]
    seed = draw(st.integers(0, 2**32 - 1))
    batch = draw(st.integers(1, 8))
    return records, seed, batch


def snapshot(store):
    summaries = {name: store.campaign_summary(name) for name, *_ in store.campaigns()}
    records = {name: sorted((m.message_id, m.recipients) for m in store.iter_records(name)) for name in summaries}
    return summaries, records


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=event_streams())
def test_any_order_and_duplicates_give_the_same_state_and_aggregates(redis_server, stream):
    records, seed, batch = stream
    client = redis.Redis.from_url(redis_server.url)
    results = []
    for order in ("as-generated", "shuffled"):
        client.flushall()
        store = Store(client)
        ordered = list(records)
        if order == "shuffled":
            random.Random(seed).shuffle(ordered)
        for start in range(0, len(ordered), batch):
            ingest(store, *ordered[start : start + batch])
        results.append(snapshot(store))
    assert results[0] == results[1]
