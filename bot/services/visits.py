"""Home visits: caseworkers reminded of them by the case's reintegration stage.

domain.md gives no fixed frequency in the guidelines, but comparable practice: weekly contact
in the first weeks (up to 8) after the child returns home, then at least monthly, for at least
a year. So each stage has its number of days between visits (`visit_days`; a stage without one
plans none), and in the first `visit_weekly_weeks` after contact and reunification began the
visits are weekly. The next visit counts from the last one recorded (or from the start of the
stage); when it comes due the caseworker is reminded, and again every `REMIND_AGAIN` until
they record it — with the reminder's button, `/visit CODE`, or the home-visit flow later.

Like reminders and flags, the due time lives in the case row and is claimed with SKIP LOCKED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..app import Wegwijzer
from ..config import STAGES, Settings
from ..storage import UnitOfWork
from . import audit, texts
from .access import handles_case
from .flags import NotAllowed
from .notices import Notice
from .once import claim
from .people import Participant, Recipient

log = logging.getLogger(__name__)

# A visit reminder not followed by a recorded visit comes back after this long.
REMIND_AGAIN = timedelta(days=2)
BATCH = 200
# The guidance flow whose completion records a home visit.
HOME_VISIT_FLOW = "home_visit"


@dataclass(frozen=True)
class VisitPlan:
    case_code: str
    stage: str | None
    last_visit_at: datetime | None
    visit_due_at: datetime | None


def next_visit(settings: Settings, case: Any, now: datetime) -> datetime | None:
    """When the case's next home visit is due by its stage's plan; None for no visits."""
    if case.stage is None or case.status == "closed":
        return None
    days = settings.visit_days.get(case.stage)
    if days is None:
        return None
    returned = case.returned_at
    weekly_until = returned + timedelta(weeks=settings.visit_weekly_weeks) if returned else None
    if weekly_until is not None and now < weekly_until:
        days = min(days, 7)
    # A higher risk level brings the visits closer together (REVIEW and RISK_VISIT_DAYS).
    days = min(days, settings.risk_visit_days.get(case.risk_level, days))
    # Counted from the last visit, or the start of the stage; a moment already past is due
    # at once (the next round of duties reminds).
    return (case.last_visit_at or case.stage_since or now) + timedelta(days=days)


def move_to_stage(settings: Settings, case: Any, stage: str, now: datetime) -> None:
    """Put a case in a stage and plan its visits by it (the caller records who and why)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of: {', '.join(STAGES)}")
    case.stage, case.stage_since = stage, now
    if stage == "reunification" and case.returned_at is None:
        case.returned_at = now
    case.visit_due_at = next_visit(settings, case, now)


async def record_stage_move(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant | None,
    case: Any,
    stage: str,
    now: datetime,
    reason: str | None = None,
) -> None:
    """Move a case to a stage, plan its visits, and record who did it (and why: an override
    of the navigator's gate), in the caller's transaction."""
    before = case.stage
    move_to_stage(app.settings, case, stage, now)
    await audit.record(
        uow,
        who or audit.OPERATOR,
        "stage_set",
        at=now,
        case_id=case.id,
        note=reason,
        detail={"stage": stage, "from": before, "override": reason is not None},
    )


async def set_stage(
    app: Wegwijzer, case_code: str, stage: str, *, by: Participant | None = None
) -> VisitPlan:
    """Move a case to a reintegration stage outside the navigator: the operator's correction
    on the command line (the navigator's gate is in the flow, `flows/reintegration.yaml`)."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; one of: {', '.join(STAGES)}")
    now = app.clock()
    async with app.database.transaction() as uow:
        case = await _case(uow, case_code, by)
        await record_stage_move(app, uow, by, case, stage, now)
        return _plan(case)


async def record_visit(
    app: Wegwijzer, case_code: str, *, by: Participant | None = None, once: str | None = None
) -> VisitPlan:
    now = app.clock()
    async with app.database.transaction() as uow:
        await claim(uow, once, now)
        case = await _case(uow, case_code, by)
        case.last_visit_at = now
        case.visit_due_at = next_visit(app.settings, case, now)
        await audit.record(uow, by or audit.OPERATOR, "visit_recorded", at=now, case_id=case.id)
        return _plan(case)


async def visit_done_by_flow(
    app: Wegwijzer, uow: UnitOfWork, who: Participant, case_id: int, now: datetime
) -> None:
    """A completed home-visit flow is a recorded visit, in the flow's own transaction."""
    case = await uow.cases.by_id(case_id)
    if case is None:
        return
    case.last_visit_at = now
    case.visit_due_at = next_visit(app.settings, case, now)
    await audit.record(
        uow, who, "visit_recorded", at=now, case_id=case.id, detail={"flow": HOME_VISIT_FLOW}
    )


async def visit_notices(app: Wegwijzer) -> list[Notice]:
    """Caseworkers whose visit has come due are reminded; again after `REMIND_AGAIN`."""
    now = app.clock()
    notices: list[Notice] = []
    async with app.database.transaction() as uow:
        for case in await uow.cases.visits_due(now, BATCH):
            case.visit_due_at = now + REMIND_AGAIN
            caseworker = (
                await uow.people.get_by_id(case.caseworker_id) if case.caseworker_id else None
            )
            if caseworker is None or caseworker.status != "active":
                log.warning("visit due without a caseworker", extra={"event": "visit"})
                continue
            recipient = Recipient(
                caseworker.id,
                caseworker.channel,
                caseworker.external_id,
                caseworker.language,
                case.code,
            )
            text = texts.VISIT_DUE.using(case=case.code, stage=texts.STAGES[case.stage])
            notices.append(Notice(recipient, text, visit_case=case.code))
            await audit.record(uow, audit.SYSTEM, "visit_reminded", at=now, case_id=case.id)
    return notices


async def _case(uow: UnitOfWork, case_code: str, by: Participant | None) -> Any:
    case = await uow.cases.by_code(case_code.strip().upper())
    if case is None or not handles_case(by, case):
        raise NotAllowed(case_code)
    return case


def _plan(case: Any) -> VisitPlan:
    return VisitPlan(case.code, case.stage, case.last_visit_at, case.visit_due_at)
