"""Handlers of the sesbot commands: wiring between the command line, the store and the reports."""

from __future__ import annotations

import argparse
import sys

from bot.cli import NotFound, UsageError, command, print_json
from bot.ingest import Ingestor
from bot.keys import KeySchema
from bot.redis_conn import connect
from bot.reports import (
    age,
    campaign_label,
    campaigns_report,
    iso,
    message_report,
    parse_now,
    recipient_report,
    to_ms,
)
from bot.settings import Settings
from bot.store import Store


def open_store(settings: Settings) -> Store:
    client = connect(settings)
    client.ping()
    return Store(client, KeySchema(settings.key_prefix), retention_s=settings.retention_days * 86_400)


def _now_ms(args: argparse.Namespace) -> int:
    try:
        return to_ms(parse_now(args.now))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


@command("ingest")
def ingest(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    summary = Ingestor(store, settings.campaign_tag).ingest_paths(args.paths, progress=args.progress)
    store.count("files", read=summary.read, ingested=summary.ingested, duplicates=summary.duplicates,
                ignored=summary.ignored, rejected=summary.rejected)
    if args.json:
        print_json(summary.to_dict())
    else:
        print(f"read {summary.read:,} records: {summary.ingested:,} events ingested, {summary.duplicates:,} "
              f"duplicates, {summary.waiting:,} waiting for their Send, {summary.ignored:,} ignored, "
              f"{summary.rejected:,} rejected")
        for reason in summary.reasons:
            print(f"  rejected: {reason}")
    return 0


@command("campaigns")
def campaigns(args: argparse.Namespace, settings: Settings) -> int:
    report = campaigns_report(open_store(settings), _now_ms(args), settings.delivery_window_s)
    if args.json:
        print_json(report)
        return 0
    if not report["campaigns"]:
        print("No campaigns yet. Ingest events with: sesbot ingest PATH")
        return 0
    print(f"{'campaign':32} {'recipients':>10} {'send-only':>10} {'rate':>7} {'stuck':>8} {'oldest':>8}  last send")
    for row in report["campaigns"]:
        so = row["send_only"]
        oldest = age(so["oldest_age_s"], compact=True)
        print(f"{campaign_label(row['campaign'])[:32]:32} {row['recipients']:>10,} {so['count']:>10,} "
              f"{so['rate']:>7.1%} {so['stuck_count']:>8,} {oldest:>8}  {row['last_send'] or '-'}")
    return 0


@command("message")
def message(args: argparse.Namespace, settings: Settings) -> int:
    _now_ms(args)  # a malformed --now is a usage error here too, even though a message has no age
    record = open_store(settings).message(args.message_id.strip())
    if record is None:
        raise NotFound(f"no message {args.message_id!r} within retention")
    report = message_report(record)
    if args.json:
        print_json(report)
        return 0
    print(f"message {report['message_id']}  campaign {campaign_label(report['campaign'])}  "
          f"configuration set {report['configuration_set'] or '-'}  sent {report['send_time']}")
    for r in report["recipients"]:
        _print_recipient_events(r["recipient"], r["state"], r["events"])
    return 0


@command("recipient")
def recipient(args: argparse.Namespace, settings: Settings) -> int:
    if "@" not in args.email:
        raise UsageError(f"{args.email!r} is not an email address")
    _now_ms(args)
    records = open_store(settings).recipient(args.email)
    if not records:
        raise NotFound(f"no messages to {args.email.strip().lower()} within retention")
    report = recipient_report(args.email, records)
    if args.json:
        print_json(report)
        return 0
    print(f"{report['recipient']}: {len(report['messages'])} message(s), newest first")
    for m in report["messages"]:
        print(f"- {m['send_time']}  {campaign_label(m['campaign'])}  {m['message_id']}")
        _print_recipient_events("", m["state"], m["events"])
    return 0


def _print_recipient_events(address: str, state: str, events: list[dict]) -> None:
    label = f"{address}: " if address else ""
    print(f"  {label}{state}")
    for e in events:
        extra = f"  {e['detail']}" if e.get("detail") else ""
        if e.get("expires"):
            extra += f"  (retries until {e['expires']})"
        print(f"    {e['time']}  {e['type']}{extra}")


@command("serve")
def serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web import serve_forever

    return serve_forever(settings)


@command("worker")
def worker(args: argparse.Namespace, settings: Settings) -> int:
    from bot.worker import run_worker

    settings.require("sqs_queue_url")
    return run_worker(settings)


__all__ = ["iso", "open_store", "sys"]
