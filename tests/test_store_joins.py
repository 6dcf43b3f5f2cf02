"""Store: events of one message id join in one record whatever their campaign tags and order (DESIGN §2), and a
process keeps writing correctly after Redis lost its data (restart without persistence, FLUSHALL)."""

import random
from collections import Counter

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.events import parse_payload
from bot.store import Store
from tests import factory as f

M1, M2, M3 = f.message_id(1), f.message_id(2), f.message_id(3)
A = "a@x.test"
CAMPAIGNS = ("alpha", "beta", "")  # every campaign these tests write (store.campaigns() lists those with a Send)


@pytest.fixture
def store(redis_url):
    return Store(redis.Redis.from_url(redis_url))


def ingest(store, *records):
    events = []
    for record in records:
        parsed = parse_payload(record, "campaign")
        assert parsed.rejected == []
        events.extend(parsed.events)
    return store.record(events)


def records_of(store, message_id):
    """(campaign, record) of every stored record of the message, over every campaign."""
    return [(name, m) for name in CAMPAIGNS for m in store.iter_records(name)
            if m.message_id == message_id]


def recount(store, campaign):
    """Recipients per state and per type, from the campaign's records alone."""
    states, types = Counter(), Counter()
    for message in store.iter_records(campaign):
        for recipient in message.recipients:
            states[recipient.state] += 1
            types.update({v.type for v in recipient.events})
    return states, types


def assert_aggregates_match_records(store):
    for name in CAMPAIGNS:
        summary = store.campaign_summary(name)
        states, types = recount(store, name)
        if summary is None:
            assert not states, name
            continue
        assert {s: n for s, n in summary.totals.items() if n} == dict(states), name
        assert {t: n for t, n in summary.types.items() if n} == dict(types), name


def test_untagged_events_first_move_into_the_campaign_of_the_later_send(store):
    ingest(store, f.complaint(M1, [A], campaign=None))
    ingest(store, f.delivery(M1, [A], campaign=None))
    assert store.message(M1).campaign == ""
    ingest(store, f.send(M1, [A], campaign="alpha"), f.simple("Open", M1, [A], campaign="beta"))
    record = store.message(M1)
    assert record.campaign == "alpha"
    [recipient] = record.recipients
    assert {v.type for v in recipient.events} == {"Send", "Delivery", "Complaint", "Open"}
    assert recipient.state == "complained"
    assert [name for name, _ in records_of(store, M1)] == ["alpha"]
    assert_aggregates_match_records(store)


def test_a_message_never_tagged_with_a_campaign_stays_untagged(store):
    ingest(store, f.identity_notification(f.delivery(M1, [A])))
    ingest(store, f.send(M1, [A], campaign=None), f.delivery(M1, [A], campaign=None))
    record = store.message(M1)
    assert record.campaign == "" and record.recipients[0].state == "delivered"
    assert {v.type for v in record.recipients[0].events} == {"Send", "Delivery"}


def test_the_send_campaign_takes_over_a_message_another_tag_claimed_first(store):
    ingest(store, f.simple("Click", M1, [A], campaign="beta"), f.delivery(M1, [A], campaign=None))
    assert store.message(M1).campaign == "beta"
    ingest(store, f.send(M1, [A], campaign="alpha"))
    ingest(store, f.simple("Open", M1, [A], campaign="beta"))
    [(campaign, record)] = records_of(store, M1)
    assert campaign == "alpha" and record.recipients[0].state == "delivered"
    assert {v.type for v in record.recipients[0].events} == {"Send", "Delivery", "Click", "Open"}
    assert store.message(M1) == record
    assert not any(store.campaign_summary("beta").totals.values())
    assert_aggregates_match_records(store)


def test_differently_tagged_later_events_join_the_first_campaign(store):
    ingest(store, f.send(M1, [A], campaign="alpha"))
    ingest(store, f.delivery(M1, [A], campaign="beta"))
    ingest(store, f.complaint(M1, [A], campaign=None))
    assert [(name, m.recipients[0].state) for name, m in records_of(store, M1)] == [("alpha", "complained")]
    assert store.campaign_summary("beta") is None


KINDS = ["send", "delivery", "complaint", "open", "delay", "identity"]


@st.composite
def one_message_streams(draw):
    records = []
    for kind in draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=7)):
        campaign = draw(st.sampled_from(["alpha", "beta", None]))
        build = {
            "send": lambda c: f.send(M1, [A], campaign=c),
            "delivery": lambda c: f.delivery(M1, [A], campaign=c),
            "complaint": lambda c: f.complaint(M1, [A], campaign=c),
            "open": lambda c: f.simple("Open", M1, [A], campaign=c),
            "delay": lambda c: f.delay(M1, [A], campaign=c),
            "identity": lambda c: f.identity_notification(f.bounce(M1, [A], bounce_type="Transient")),
        }[kind]
        records.append((kind, campaign, build(campaign)))
    return records, draw(st.integers(1, 4)), draw(st.integers(0, 2**32 - 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=one_message_streams())
def test_one_message_ends_in_one_record_whatever_its_tags_and_order(redis_server, stream):
    records, batch, seed = stream
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    store = Store(client)
    random.Random(seed).shuffle(records)
    for start in range(0, len(records), batch):
        ingest(store, *(record for _, _, record in records[start : start + batch]))
    tagged = [(kind, campaign) for kind, campaign, _ in records if kind != "identity"]
    found = records_of(store, M1)
    if not tagged:  # only identity notifications: still waiting for their Send
        assert found == [] and store.message(M1).campaign is None
        return
    sends = [c for kind, c in tagged if kind == "send" and c is not None]
    first_tagged = (sends or [c for _, c in tagged if c is not None] or [""])[0]
    [(campaign, record)] = found
    # its first Send with a campaign tag claims the message, else its first event with one, else it is untagged
    assert campaign == first_tagged
    for other in set(CAMPAIGNS) - {campaign}:  # records moved out with every counter they had added
        untagged = store.campaign_summary(other)
        assert untagged is None or (
            not any(untagged.totals.values()) and not untagged.types and not untagged.domains
            and not untagged.send_only_by_minute and not untagged.delayed_by_expiry_minute
            and not untagged.events_by_minute and not untagged.types_by_config_set), untagged
    expected_types = {kind for kind, _, _ in records}
    names = {"send": "Send", "delivery": "Delivery", "complaint": "Complaint", "open": "Open",
             "delay": "DeliveryDelay", "identity": "Bounce"}
    assert {v.type for v in record.recipients[0].events} == {names[k] for k in expected_types}
    assert store.message(M1) == record
    assert_aggregates_match_records(store)


# --------------------------------------------------------------------------- Redis lost its data


def test_a_new_campaign_after_a_flush_never_takes_an_id_the_process_still_caches(store):
    ingest(store, f.send(M1, [A], campaign="alpha"))
    store.client.flushall()
    ingest(store, f.send(M2, ["b@y.test"], campaign="beta"))
    ingest(store, f.send(M3, [A], campaign="alpha"))
    reader = Store(redis.Redis(connection_pool=store.client.connection_pool))
    assert (reader.message(M2).campaign, reader.message(M3).campaign) == ("beta", "alpha")
    assert [m.message_id for m in reader.recipient(A)] == [M3]
    assert [m.message_id for m in reader.recipient("b@y.test")] == [M2]


def test_index_entries_the_process_had_written_are_written_again_after_a_flush(store):
    ingest(store, f.send(M1, [A], campaign="alpha"))
    store.client.flushall()
    ingest(store, f.delivery(M1, [A], campaign="alpha"))
    reader = Store(redis.Redis(connection_pool=store.client.connection_pool))
    assert reader.message(M1).recipients[0].state == "unknown"  # the Send was lost with the data
    assert [m.message_id for m in reader.recipient(A)] == [M1]


def test_a_reader_never_names_a_new_campaign_after_an_id_it_cached_before_the_flush(redis_url):
    writer, reader = (Store(redis.Redis.from_url(redis_url)) for _ in range(2))
    ingest(writer, f.send(M1, [A], campaign="alpha"))
    assert reader.message(M1).campaign == "alpha"
    writer.client.flushall()
    ingest(Store(redis.Redis.from_url(redis_url)), f.send(M2, [A], campaign="beta"))  # a process started afresh
    assert reader.message(M2).campaign == "beta"
    assert [(m.message_id, m.campaign) for m in reader.recipient(A)] == [(M2, "beta")]


def test_a_take_over_in_a_batch_sent_again_after_the_epoch_was_lost_still_moves_the_record(store):
    ingest(store, f.send(M2, [A], campaign="alpha"), f.simple("Click", M1, [A], campaign="beta"))
    store.client.delete(store.keys.epoch())  # the epoch alone lost (evicted): the batch is sent twice
    ingest(store, f.send(M1, [A], campaign="alpha"))
    [(campaign, record)] = records_of(store, M1)
    assert campaign == "alpha" and {v.type for v in record.recipients[0].events} == {"Send", "Click"}
    assert_aggregates_match_records(store)
