"""checks.times.iso_seconds: how routing, suppression and temporary-failure findings write a moment."""

from __future__ import annotations

from checks.times import iso_seconds


def test_utc_to_the_second_with_a_z() -> None:
    assert iso_seconds(1_709_370_000_123) == "2024-03-02T09:00:00Z"
    assert iso_seconds(0) == "1970-01-01T00:00:00Z"
