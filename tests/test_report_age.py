"""bot.reports.age: the one age formatter behind the campaigns table (compact), the why text report and Slack."""

from __future__ import annotations

import pytest

from bot.reports import age


@pytest.mark.parametrize(("seconds", "spaced", "compact"), [
    (None, "-", "-"),
    (0, "0 min", "0m"),
    (89, "1 min", "1m"),
    (3599, "60 min", "60m"),
    (3600, "1.0 h", "1.0h"),
    (172_799, "48.0 h", "48.0h"),
    (172_800, "2 d", "2d"),
    (1_000_000, "12 d", "12d"),
])
def test_units_switch_at_one_hour_and_two_days(seconds: float | None, spaced: str, compact: str) -> None:
    assert age(seconds) == spaced
    assert age(seconds, compact=True) == compact
