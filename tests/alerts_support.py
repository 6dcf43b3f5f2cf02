"""Helpers for the alert tests: simulated campaigns ingested into the fixture Redis, and their outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis

from bot.events import parse_payload
from bot.keys import KeySchema
from bot.settings import Settings
from bot.simulate import SimulatedCampaign, simulate
from bot.store import Store


def open_store(redis_url: str) -> Store:
    return Store(redis.Redis.from_url(redis_url), KeySchema())


def ingest_records(store: Store, records: list[dict[str, Any]], campaign_tag: str = "campaign") -> None:
    events = []
    for record in records:
        parsed = parse_payload(record, campaign_tag)
        assert parsed.rejected == [], parsed.rejected
        events.extend(parsed.events)
    for start in range(0, len(events), 1000):
        store.record(events[start : start + 1000])


def ingest_scenario(store: Store, scenario: str, *, recipients: int = 1000, seed: int = 7,
                    campaign: str | None = None, now: datetime | None = None) -> SimulatedCampaign:
    sim = simulate(scenario, recipients=recipients, seed=seed, campaign=campaign, now=now)
    ingest_records(store, sim.events)
    return sim


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def deliveries_for(sim: SimulatedCampaign, at: datetime) -> list[dict[str, Any]]:
    """A Delivery at `at` for every recipient of every Send the pipeline captured: the outcomes that were missing.
    Recipients that already have a higher outcome (bounced, suppressed, complained) keep it (DESIGN §3)."""
    out = []
    for record in sim.events:
        if record.get("eventType") != "Send":
            continue
        mail = record["mail"]
        sent = datetime.fromisoformat(mail["timestamp"].replace("Z", "+00:00"))
        out.append({"eventType": "Delivery", "mail": mail, "delivery": {
            "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "processingTimeMillis": int((at - sent) / timedelta(milliseconds=1)),
            "recipients": list(mail["destination"]),
            "smtpResponse": "250 2.0.0 OK",
            "reportingMTA": "a8-35.smtp-out.amazonses.com",
        }})
    return out


def alert_settings(redis_url: str, slack_url: str | None = None, **env: str) -> Settings:
    values = {"REDIS_URL": redis_url, "SESBOT_ALERT_CHANNEL": "C0ALERTS", "SLACK_BOT_TOKEN": "xoxb-test-token",
              **({"SLACK_API_URL": slack_url} if slack_url else {}), **env}
    return Settings.from_env(values)
