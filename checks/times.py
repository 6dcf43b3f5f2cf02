"""How the checks write a moment into a finding's data: epoch ms as ISO-8601 UTC to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_seconds(ms: int) -> str:
    """1709370000123 -> "2024-03-02T09:00:00Z"."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
