"""`sesbot rebuild [ARCHIVE_DIR] [--campaign NAME]`: the Redis state again from the raw-event archive.

The whole state: re-ingest the archive (the merge is idempotent, so events Redis still has count as duplicates).
One campaign: delete its records and aggregates, then re-ingest the archive's events of that campaign, and the
identity notifications (no tags), which find their campaign through the message index as they did the first time.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.cli import UsageError, command, extend_parser, print_json
from bot.commands import open_store
from bot.events import Event
from bot.ingest import Ingestor
from bot.settings import Settings


@extend_parser("rebuild")
def _add_parser(sub: Any, report: Any) -> None:
    p = sub.add_parser("rebuild", help="rebuild the state (or one campaign) from the raw-event archive",
                       description="Rebuild the Redis state, or one campaign, from the raw-event archive.")
    p.add_argument("archive", nargs="?", metavar="ARCHIVE_DIR", help="the archive folder (default SESBOT_ARCHIVE_DIR)")
    p.add_argument("--campaign", metavar="NAME", help="rebuild only this campaign (its records are deleted first)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON (the keys of ingest --json, "
                   "plus campaign and keys_deleted)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="show progress on stderr (default: on a terminal, for inputs over 5 MB)")


@command("rebuild")
def rebuild(args: argparse.Namespace, settings: Settings) -> int:
    folder = Path(args.archive) if args.archive else settings.archive_dir
    if folder is None:
        raise UsageError("rebuild needs ARCHIVE_DIR or SESBOT_ARCHIVE_DIR")
    if not folder.is_dir():
        raise UsageError(f"archive {str(folder)!r} is not a folder")
    store = open_store(settings)
    campaign: str | None = args.campaign
    deleted = 0
    keep = None
    if campaign is not None:
        if campaign not in {name for name, *_ in store.campaigns()}:
            raise UsageError(f"no campaign {campaign!r} in the store (rebuild without --campaign for all)")
        deleted = store.drop_campaign(campaign)

        def keep(event: Event) -> bool:
            return event.campaign is None or event.campaign == campaign

    summary = Ingestor(store, settings.campaign_tag, keep=keep).ingest_paths([str(folder)], progress=args.progress)
    store.count("files", read=summary.read, ingested=summary.ingested, duplicates=summary.duplicates,
                ignored=summary.ignored, rejected=summary.rejected)
    if args.json:
        print_json({**summary.to_dict(), "campaign": campaign, "keys_deleted": deleted})
        return 0
    what = f"campaign {campaign!r} ({deleted:,} keys deleted first)" if campaign else "the whole state"
    print(f"rebuilt {what} from {folder}: read {summary.read:,} records, {summary.ingested:,} events ingested, "
          f"{summary.duplicates:,} duplicates, {summary.rejected:,} rejected")
    for reason in summary.reasons:
        print(f"  rejected: {reason}")
    return 0
