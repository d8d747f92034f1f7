"""Well-being over check-ins: the ten-point rule of the WHO-5 trend, and the bars of /case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.rules.wellbeing import RELEVANT_CHANGE, CheckIn, as_percentage, sparkline, trend


def _checkins(*values: int) -> tuple[CheckIn, ...]:
    start = datetime(2026, 1, 1)
    return tuple(CheckIn(start + timedelta(days=i), v) for i, v in enumerate(values))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((50, 60), ("up", 10)),  # exactly the relevant change counts
        ((50, 59), ("stable", 9)),
        ((60, 50), ("down", -10)),
        ((60, 51), ("stable", -9)),
        ((0, 100), ("up", 100)),
        ((40,), ("unknown", 0)),
    ],
)
def test_the_ten_point_rule(values: tuple[int, ...], expected: tuple[str, int]) -> None:
    assert RELEVANT_CHANGE == 10
    assert trend(_checkins(*values)) == expected


def test_sparkline() -> None:
    assert sparkline(()) == ""
    assert sparkline(_checkins(0, 20, 40, 60, 80, 100)) == "▁▂▄▅▇█"
    assert sparkline(_checkins(0)) == "▁" and sparkline(_checkins(100)) == "█"
    assert len(sparkline(_checkins(*range(0, 101, 4)))) == 26


def test_the_raw_score_times_four_is_the_percentage() -> None:
    assert [as_percentage(raw) for raw in (0, 7, 12.5, 25)] == [0, 28, 50, 100]
