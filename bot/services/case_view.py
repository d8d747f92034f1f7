"""The case view: one case at a glance for its caseworker and the coordinators.

Programme, stage, the last check-ins with their WHO-5 well-being and its trend, and the open
flags. The WHO-5 figures come from a family's answers, so every look is recorded in the audit
log (issue #5); a family, a stranger or another caseworker gets the same "not one of your
cases" as for a code that does not exist, so case codes cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..app import Wegwijzer
from ..engine import Text
from . import audit, guidance
from .access import handles_case
from .flags import FlagView, NotAllowed, views_of
from .once import claim
from .people import Participant
from .runs import CHECKIN_FLOW
from .schedules import ScheduleView, schedule_view
from .visits import HOME_VISIT_FLOW

# The navigator's answer on whether a Simba case's siblings are placed together.
SIBLINGS_KEY = "simba.siblings_together"
# The caseworker's summary when proposing closure, shown to the coordinator who decides.
SUMMARY_KEY = "closure.summary"
CLOSURE_ACTIONS = ("closure_proposed", "closure_returned", "case_closed", "case_reopened")
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
    risk_level: str | None = None
    risk_set_at: datetime | None = None
    review_due_at: datetime | None = None
    # The current stage's essential steps: how many are done (or do not apply), of how many,
    # and the labels of those still to do.
    essentials_done: int = 0
    essentials: int = 0
    missing: tuple[Text, ...] = ()
    siblings_together: bool | None = None  # Simba family care only
    closure_proposed_at: datetime | None = None
    closure_summary: str | None = None  # the caseworker's reasons, for the coordinator
    # A coordinator's note when they returned the last proposal (until the next one).
    closure_returned: str | None = None
    closed_at: datetime | None = None
    # The guidance flow the case needs next (navigator, screening, closure check), if any.
    next_step: str | None = None


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
        progress = await _stage_progress(app, uow, case)
        decision = await uow.audit.last_of(case.id, CLOSURE_ACTIONS)
        returned = decision.note if decision and decision.action == "closure_returned" else None
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
            risk_level=case.risk_level,
            risk_set_at=case.risk_set_at,
            review_due_at=case.review_due_at,
            closure_proposed_at=case.closure_proposed_at,
            closed_at=case.closed_at,
            closure_returned=returned if case.status != "closed" else None,
            next_step=guidance.next_step(app, case, now),
            **progress,
        )


async def _stage_progress(app: Wegwijzer, uow: Any, case: Any) -> dict[str, Any]:
    """Where the case stands in its stage's checklist, whether (Simba) the siblings are
    together, and the summary of a closure proposal: the case's last answers to the
    navigator and the closure check, read from those flows' runs only."""
    found = next(
        (
            (flow, checklist)
            for flow in app.flows.latest()
            if (checklist := flow.stage_checklist(case.stage)) is not None
        ),
        None,
    )
    navigator = await uow.answers.latest_for_case(
        case.id,
        [*(found[1].remembered_keys() if found else []), SIBLINGS_KEY],
        found[0].id if found else guidance.NAVIGATOR_FLOW,
    )
    summary = None
    if case.closure_proposed_at is not None:
        closing = await uow.answers.latest_for_case(case.id, [SUMMARY_KEY], guidance.CLOSURE_FLOW)
        summary = closing.get(SUMMARY_KEY)
    together = navigator.get(SIBLINGS_KEY)
    progress: dict[str, Any] = {
        "siblings_together": together if isinstance(together, bool) else None,
        "closure_summary": summary if isinstance(summary, str) else None,
    }
    if found is not None:
        checklist = found[1]
        essential = [item for item in checklist.items if item.essential]
        missing = [item for item in essential if not checklist.settled(navigator, item.id)]
        progress.update(
            essentials_done=len(essential) - len(missing),
            essentials=len(essential),
            missing=tuple(Text(item.label) for item in missing),
        )
    return progress


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
