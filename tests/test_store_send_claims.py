"""Store: a batch merges a message with a Send at once under its Send's campaign (first round trip); when the
message index already holds another Send's campaign (written by another process), the record is moved there with
its counters and the campaign list names only the index's campaign."""

import redis

from bot.store import Store
from tests import factory as f
from tests.test_store_joins import M1, M2, A, assert_aggregates_match_records, ingest, records_of


def test_a_second_process_sending_under_another_campaign_ends_in_the_index_campaign(redis_url):
    first, second = (Store(redis.Redis.from_url(redis_url)) for _ in range(2))
    ingest(first, f.send(M1, [A], campaign="alpha"))
    ingest(second, f.send(M1, [A], campaign="beta"), f.delivery(M1, [A], campaign="beta"),
           f.send(M2, ["b@y.test"], campaign="beta"))
    [(campaign, record)] = records_of(second, M1)
    assert campaign == "alpha"
    assert {v.type for v in record.recipients[0].events} == {"Send", "Delivery"}
    assert record.recipients[0].state == "delivered"
    assert [name for name, _ in records_of(second, M2)] == ["beta"]  # its own message stays under beta
    beta = second.campaign_summary("beta")
    assert beta is not None and {s: n for s, n in beta.totals.items() if n} == {"send_only": 1}
    assert_aggregates_match_records(second)


def test_a_conflicting_send_alone_does_not_list_its_campaign(redis_url):
    first, second = (Store(redis.Redis.from_url(redis_url)) for _ in range(2))
    ingest(first, f.send(M1, [A], campaign="alpha"))
    ingest(second, f.send(M1, [A], campaign="beta"))
    assert [name for name, _first, _last in second.campaigns()] == ["alpha"]
    assert [name for name, _ in records_of(second, M1)] == ["alpha"]
    assert_aggregates_match_records(second)
