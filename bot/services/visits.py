"""Home visits: recorded, planned by the case's stage (`rules.visits`), and reminded of.

When a visit comes due the caseworker is reminded, and again every `REMIND_AGAIN` until they
record it — with the reminder's button, `/visit CODE`, or by completing the home-visit flow.
Like reminders and flags, the due time lives in the case row and is claimed with SKIP LOCKED.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..engine.vocabulary import STAGES
from ..rules.access import NotAllowed, handles_case
from ..rules.people import Participant
from ..rules.visits import move_to_stage, next_visit
from ..storage import Case, UnitOfWork
from . import audit, texts
from .notices import Notice, queue
from .once import claim
from .people import Recipient

log = logging.getLogger(__name__)

# A visit reminder not followed by a recorded visit comes back after this long.
REMIND_AGAIN = timedelta(days=2)
BATCH = 200


@dataclass(frozen=True)
class VisitPlan:
    case_code: str
    stage: str | None
    last_visit_at: datetime | None
    visit_due_at: datetime | None


async def record_stage_move(
    app: Wegwijzer,
    uow: UnitOfWork,
    who: Participant | None,
    case: Case,
    stage: str,
    now: datetime,
    reason: str | None = None,
    *,
    override: bool | None = None,
) -> None:
    """Move a case to a stage, plan its visits, and record who did it and why (an override of
    the navigator's gate: by default any move with a reason), in the caller's transaction."""
    before = case.stage
    move_to_stage(app.settings, case, stage, now)
    await audit.record(
        uow,
        who or audit.OPERATOR,
        "stage_set",
        at=now,
        case_id=case.id,
        note=reason,
        detail={
            "stage": stage,
            "from": before,
            "override": reason is not None if override is None else override,
        },
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
    app: Wegwijzer, uow: UnitOfWork, who: Participant, case_id: int, flow_id: str, now: datetime
) -> None:
    """A completed home-visit flow is a recorded visit, in the flow's own transaction."""
    case = await uow.cases.by_id(case_id)
    if case is None:
        return
    case.last_visit_at = now
    case.visit_due_at = next_visit(app.settings, case, now)
    await audit.record(
        uow, who, "visit_recorded", at=now, case_id=case.id, detail={"flow": flow_id}
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
            recipient = Recipient.of(caseworker, case.code)
            text = texts.VISIT_DUE.using(
                case=case.code, stage=texts.STAGES.get(case.stage or "", texts.NO_STAGE)
            )
            notices.append(Notice(recipient, text, visit_case=case.code))
            await audit.record(uow, audit.SYSTEM, "visit_reminded", at=now, case_id=case.id)
        await queue(uow, notices, now)
    return notices


async def _case(uow: UnitOfWork, case_code: str, by: Participant | None) -> Case:
    case = await uow.cases.by_code(case_code.strip().upper())
    if case is None or not handles_case(by, case):
        raise NotAllowed(case_code)
    return case


def _plan(case: Case) -> VisitPlan:
    return VisitPlan(case.code, case.stage, case.last_visit_at, case.visit_due_at)
