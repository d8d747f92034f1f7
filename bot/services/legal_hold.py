"""A legal hold on a case: nothing of it is removed while the hold stands.

A court case, a complaint or an inquiry can need a case file after its retention term: the
operator puts the case on hold with the reason (`wegwijzer case hold CODE --reason ...`), and
the retention run keeps its content, its family's contact data, its invites and the notices
about its flags until the hold is released. Erasure on request is refused meanwhile (its
caller checks `Case.legal_hold_at`). Both are audited with the reason as the note, which is
sealed like every note; an erased case cannot be held, there is nothing left to keep (the
case lookup raises CaseErased).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..app import Wegwijzer
from ..storage import Case, CaseErased, UnitOfWork
from . import audit
from .cases import UnknownCase

__all__ = [
    "REASON_LENGTH",
    "AlreadyHeld",
    "CaseErased",
    "Hold",
    "NotHeld",
    "hold_case",
    "release_case",
]

# A reason says which proceeding, not the story: a reference and a few words.
REASON_LENGTH = 500


class AlreadyHeld(Exception):
    """The case is on hold already (since `args[1]`)."""


class NotHeld(Exception):
    """The case is not on hold: there is nothing to release."""


@dataclass(frozen=True)
class Hold:
    code: str
    at: datetime  # when the hold was set, or released


async def hold_case(app: Wegwijzer, code: str, reason: str, actor: str = audit.OPERATOR) -> Hold:
    """Put the case on legal hold; raises UnknownCase, CaseErased, AlreadyHeld, or ValueError
    for a reason that is empty or too long."""
    reason = _checked(reason)
    now = app.clock()
    async with app.database.transaction() as uow:
        case = await _case(uow, code)
        if case.legal_hold_at is not None:
            raise AlreadyHeld(case.code, case.legal_hold_at)
        case.legal_hold_at, case.legal_hold_reason = now, reason
        await audit.record(uow, actor, "legal_hold_set", at=now, case_id=case.id, note=reason)
        return Hold(case.code, now)


async def release_case(app: Wegwijzer, code: str, reason: str, actor: str = audit.OPERATOR) -> Hold:
    """Release the case's legal hold: from now on its retention term applies again (a case
    whose term has ended goes at the next retention run). Raises UnknownCase, NotHeld, or
    ValueError for a reason that is empty or too long (CaseErased: an erased case was never
    held, erasure is refused while a hold stands)."""
    reason = _checked(reason)
    now = app.clock()
    async with app.database.transaction() as uow:
        case = await _case(uow, code)
        if case.legal_hold_at is None:
            raise NotHeld(case.code)
        held_since = case.legal_hold_at
        case.legal_hold_at = case.legal_hold_reason = None
        await audit.record(
            uow,
            actor,
            "legal_hold_released",
            at=now,
            case_id=case.id,
            note=reason,
            detail={"held_since": held_since.isoformat()},
        )
        return Hold(case.code, now)


async def _case(uow: UnitOfWork, code: str) -> Case:
    case = await uow.cases.by_code(code.strip().upper(), for_update=True)
    if case is None:
        raise UnknownCase(code)
    return case


def _checked(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValueError("a legal hold needs a reason")
    if len(reason) > REASON_LENGTH:
        raise ValueError(f"a reason is at most {REASON_LENGTH} characters")
    return reason
