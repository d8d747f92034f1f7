"""The case view: one case at a glance for its caseworker and the coordinators.

Programme, stage, the last check-ins with their WHO-5 well-being and its trend, and the open
flags. The WHO-5 figures come from a family's answers, so every look is recorded in the audit
log (issue #5); a family, a stranger or another caseworker gets the same "not one of your
cases" as for a code that does not exist, so case codes cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..bootstrap import Wegwijzer
from . import audit
from .access import handles_case
from .flags import FlagView, NotAllowed, views_of
from .once import claim
from .people import Participant
from .runs import CHECKIN_FLOW
from .schedules import ScheduleView, schedule_view
from .visits import HOME_VISIT_FLOW

# WHO-5: the raw score 0–25 times four is the percentage the instrument reports (domain.md).
WHO5_SCORE = "who5_raw"
CHECKINS_SHOWN = 6
VISITS_SHOWN = 3
# A change of 10 percentage points is what the WHO-5 literature treats as clinically relevant;
# smaller movements are shown as "about the same".
RELEVANT_CHANGE = 10


@dataclass(frozen=True)
class CheckIn:
    at: datetime
    well_being: int  # WHO-5 percentage, 0–100


@dataclass(frozen=True)
class CaseView:
    code: str
    programme: str
    stage: str | None
    status: str
    checkins: tuple[CheckIn, ...]  # oldest first
    trend: str  # "up", "down", "stable" or "unknown"
    change: int  # percentage points between the last two check-ins
    open_flags: tuple[FlagView, ...]
    schedule: ScheduleView | None = None  # the check-in reminders, if any
    visit_due_at: datetime | None = None  # the caseworker's next home visit, if planned
    # The last home visits' Child Status Index scores, oldest first: (when, {score: value}).
    home_visits: tuple[tuple[datetime, dict[str, float]], ...] = ()


async def case_view(
    app: Wegwijzer, who: Participant, code: str, once: str | None = None
) -> CaseView:
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await uow.cases.by_code(code.strip().upper())
        if case is None or not handles_case(who, case):
            raise NotAllowed(code)
        history = await uow.scores.history(case.id, CHECKIN_FLOW, WHO5_SCORE, CHECKINS_SHOWN)
        flags = await uow.flags.open_flags([case.id])
        views = await views_of(uow, flags)
        schedule = await uow.schedules.of_case(case.id, for_update=False)
        home_visits = await uow.scores.of_last_runs(case.id, HOME_VISIT_FLOW, VISITS_SHOWN)
        await audit.record(uow, who, "case_viewed", at=now, case_id=case.id)
        checkins = tuple(CheckIn(at, round(raw * 4)) for at, raw in history)
        trend, change = _trend(checkins)
        return CaseView(
            case.code,
            case.programme,
            case.stage,
            case.status,
            checkins,
            trend,
            change,
            tuple(views),
            schedule=None if schedule is None else schedule_view(schedule, case.code),
            visit_due_at=case.visit_due_at,
            home_visits=tuple(home_visits),
        )


def _trend(checkins: tuple[CheckIn, ...]) -> tuple[str, int]:
    if len(checkins) < 2:
        return "unknown", 0
    change = checkins[-1].well_being - checkins[-2].well_being
    if change >= RELEVANT_CHANGE:
        return "up", change
    if change <= -RELEVANT_CHANGE:
        return "down", change
    return "stable", change


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(checkins: tuple[CheckIn, ...]) -> str:
    """The well-being of the last check-ins as a row of bars, 0 lowest and 100 highest."""
    top = len(SPARKS) - 1
    return "".join(SPARKS[round(c.well_being / 100 * top)] for c in checkins)
