"""The case view: one case at a glance for its caseworker and the coordinators.

Programme, stage, the last check-ins with their WHO-5 well-being and its trend, and the open
flags. The WHO-5 figures come from a family's answers, so every look is recorded in the audit
log (issue #5); a family, a stranger or another caseworker gets the same "not one of your
cases" as for a code that does not exist, so case codes cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ..app import Wegwijzer
from ..engine import Text
from ..engine.conditions import items_for
from ..rules.access import NotAllowed, handles_case
from ..rules.guidance import case_facts, next_step
from ..rules.people import Participant
from ..rules.wellbeing import WHO5_SCORE, CheckIn, as_percentage, trend
from ..storage import Case, ChildVisit, UnitOfWork
from . import audit
from .children import Child
from .flags import FlagView, views_of
from .once import claim
from .schedules import ScheduleView, schedule_view

# The navigator's answer on whether a Simba case's siblings are placed together.
SIBLINGS_KEY = "simba.siblings_together"
# The caseworker's summary when proposing closure, shown to the coordinator who decides.
SUMMARY_KEY = "closure.summary"
CLOSURE_ACTIONS = ("closure_proposed", "closure_returned", "case_closed", "case_reopened")
CHECKINS_SHOWN = 6
VISITS_SHOWN = 3


@dataclass(frozen=True)
class ChildStatus:
    """One child's Child Status Index over their last home visits, oldest first: each
    visit's end, its domain scores, and its twelve ratings (answer key -> 1..4)."""

    child: Child
    visits: tuple[tuple[datetime, dict[str, float], dict[str, int]], ...] = ()


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
    # The last home visits' Child Status Index scores, oldest first: (when, {score: value}),
    # of visits that rated no registered child (a case without children).
    home_visits: tuple[tuple[datetime, dict[str, float]], ...] = ()
    # Each registered child's Child Status Index over their last visits (issue #14).
    children: tuple[ChildStatus, ...] = ()
    risk_level: str | None = None
    risk_set_at: datetime | None = None
    review_due_at: datetime | None = None
    # The Meldcode's re-evaluation (afwegingskader, question 5), when one is planned.
    reevaluation_due_at: datetime | None = None
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
    # Planning alternative care: when the caseworker recorded that returning home is not in
    # the child's best interests, and why (the coordinator reviews it).
    alternative_care_since: datetime | None = None
    alternative_care_reason: str | None = None
    # An erased case shows as its tombstone: code, programme, when, and the flags it left.
    erased_at: datetime | None = None


async def case_view(
    app: Wegwijzer, who: Participant, code: str, once: str | None = None
) -> CaseView:
    async with audit.refusal_recorded(app, who, "case", case_code=code):
        return await _case_view(app, who, code, once)


async def _case_view(app: Wegwijzer, who: Participant, code: str, once: str | None) -> CaseView:
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await handled_case(uow, who, code)
        view = await read_case(app, uow, case, now)
        await audit.record(uow, who, "case_viewed", at=now, case_id=case.id)
        return view


async def handled_case(uow: UnitOfWork, who: Participant, code: str) -> Case:
    """The case with this code, erased or not, if `who` handles it; NotAllowed otherwise
    (whether it is another's or does not exist: the same answer)."""
    case = await uow.cases.by_code(code.strip().upper(), erased=True)
    if case is None or not handles_case(who, case):
        raise NotAllowed(code)
    return case


async def read_case(
    app: Wegwijzer,
    uow: UnitOfWork,
    case: Case,
    now: datetime,
    *,
    checkins: int = CHECKINS_SHOWN,
    visits: int = VISITS_SHOWN,
) -> CaseView:
    """The case view of a case already checked (`handled_case`), with its last `checkins`
    check-ins and each child's last `visits` home visits; the caller records the look."""
    if case.erased_at is not None:
        flags = await uow.flags.open_flags([case.id])
        return _tombstone(case, case.erased_at, tuple(await views_of(uow, flags)))
    checkin, visit = app.flows.for_purpose("checkin"), app.flows.for_purpose("home_visit")
    history = await uow.scores.history(case.id, checkin.id, WHO5_SCORE, checkins) if checkin else []
    flags = await uow.flags.open_flags([case.id])
    views = await views_of(uow, flags)
    schedule = await uow.schedules.of_case(case.id, for_update=False)
    rated: list[ChildVisit] = []
    if visit is not None:
        factors = sorted({key for score in visit.scores.values() for key in score.keys})
        rated = await uow.children.visits(case.id, visit.id, visits, factors)
    home_visits = [(each.ended_at, each.scores) for each in rated if each.child_id is None]
    children = [_child_status(Child.of(row), rated) for row in await uow.children.of_case(case.id)]
    progress = await _stage_progress(app, uow, case)
    decision = await uow.audit.last_of(case.id, CLOSURE_ACTIONS)
    returned = decision.note if decision and decision.action == "closure_returned" else None
    left = (
        await uow.audit.last_of(case.id, ("stage_set",))
        if case.stage == "alternative_care"
        else None
    )
    shown = tuple(CheckIn(at, as_percentage(raw)) for at, raw in history)
    direction, change = trend(shown)
    return CaseView(
        case.code,
        case.programme,
        case.stage,
        case.status,
        shown,
        direction,
        change,
        tuple(views),
        schedule=None if schedule is None else schedule_view(schedule, case.code),
        visit_due_at=case.visit_due_at,
        home_visits=tuple(home_visits),
        children=tuple(children),
        risk_level=case.risk_level,
        risk_set_at=case.risk_set_at,
        review_due_at=case.review_due_at,
        reevaluation_due_at=case.reevaluation_due_at,
        closure_proposed_at=case.closure_proposed_at,
        closed_at=case.closed_at,
        closure_returned=returned if case.status != "closed" else None,
        next_step=_next_step(app, case, now),
        essentials_done=progress.essentials_done,
        essentials=progress.essentials,
        missing=progress.missing,
        siblings_together=progress.siblings_together,
        closure_summary=progress.closure_summary,
        alternative_care_since=left.at if left else None,
        alternative_care_reason=left.note if left else None,
    )


def _tombstone(case: Case, erased_at: datetime, flags: tuple[FlagView, ...]) -> CaseView:
    # Its flags outlived it (rule, level, times) and may still wait for a review.
    return CaseView(
        case.code, case.programme, None, case.status, (), "unknown", 0, flags, erased_at=erased_at
    )


def _child_status(child: Child, rated: list[ChildVisit]) -> ChildStatus:
    visits = tuple(
        (
            each.ended_at,
            each.scores,
            {key: value for key, value in each.answers.items() if isinstance(value, int)},
        )
        for each in rated
        if each.child_id == child.id
    )
    return ChildStatus(child, visits)


def _next_step(app: Wegwijzer, case: Case, now: datetime) -> str | None:
    flow = next_step(app.flows, case, app.settings.country, now)
    return flow.id if flow else None


@dataclass(frozen=True)
class _Progress:
    essentials_done: int = 0
    essentials: int = 0
    missing: tuple[Text, ...] = ()
    siblings_together: bool | None = None
    closure_summary: str | None = None


async def _stage_progress(app: Wegwijzer, uow: UnitOfWork, case: Case) -> _Progress:
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
    navigator_flow = found[0] if found else app.flows.for_purpose("navigator")
    navigator = (
        await uow.answers.latest_for_case(
            case.id,
            [*(found[1].remembered_keys() if found else []), SIBLINGS_KEY],
            navigator_flow.id,
        )
        if navigator_flow
        else {}
    )
    summary = None
    closure = app.flows.for_purpose("closure")
    if case.closure_proposed_at is not None and closure is not None:
        closing = await uow.answers.latest_for_case(case.id, [SUMMARY_KEY], closure.id)
        summary = closing.get(SUMMARY_KEY)
    together = navigator.get(SIBLINGS_KEY)
    progress = _Progress(
        siblings_together=together if isinstance(together, bool) else None,
        closure_summary=summary if isinstance(summary, str) else None,
    )
    if found is not None:
        checklist = found[1]
        listed = items_for(checklist, case_facts(case, app.settings.country))
        essential = [item for item in listed if item.essential]
        missing = [item for item in essential if not checklist.settled(navigator, item.id)]
        progress = replace(
            progress,
            essentials_done=len(essential) - len(missing),
            essentials=len(essential),
            missing=tuple(Text(item.label) for item in missing),
        )
    return progress
