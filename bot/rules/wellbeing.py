"""A family's well-being over their check-ins: the WHO-5 as a percentage, and its trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The score of the check-in flow that is the WHO-5 raw score (0–25); times four it is the
# percentage the instrument reports (domain.md).
WHO5_SCORE = "who5_raw"
# A change of 10 percentage points is what the WHO-5 literature treats as clinically relevant;
# smaller movements are shown as "about the same".
RELEVANT_CHANGE = 10
SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class CheckIn:
    at: datetime
    well_being: int  # WHO-5 percentage, 0–100


def as_percentage(raw: float) -> int:
    return round(raw * 4)


def trend(checkins: tuple[CheckIn, ...]) -> tuple[str, int]:
    """ "up", "down", "stable" or "unknown", and the change between the last two check-ins."""
    if len(checkins) < 2:
        return "unknown", 0
    change = checkins[-1].well_being - checkins[-2].well_being
    if change >= RELEVANT_CHANGE:
        return "up", change
    if change <= -RELEVANT_CHANGE:
        return "down", change
    return "stable", change


def sparkline(checkins: tuple[CheckIn, ...]) -> str:
    """The well-being of the last check-ins as a row of bars, 0 lowest and 100 highest."""
    top = len(SPARKS) - 1
    return "".join(SPARKS[round(c.well_being / 100 * top)] for c in checkins)
