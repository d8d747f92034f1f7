"""Staff coming and going: who works on a case, people who leave, invites taken back.

A case's alarms and flags go to its caseworker first, so who that is must never change
unnoticed: reassigning a case (by an operator, or by a caseworker invite for a case that had
someone) is audited, and the caseworker who loses the case and the one who gets it are told,
in the same transaction. Someone who leaves stops being told anything; what was waiting for
them goes to the others who can act, and the coordinators learn which cases lost their
caseworker. An invite not used yet can be taken back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..app import Wegwijzer
from ..storage import Case, UnitOfWork
from ..storage.models import Person
from . import audit, texts
from .cases import UnknownCase
from .flags import flag_recipients
from .invites import code_hash
from .notices import Notice, queue
from .outbox import move_to_others
from .people import Recipient


class NotACaseworker(ValueError):
    """The person to give a case to is no active caseworker."""


async def reassign_case(app: Wegwijzer, code: str, caseworker_id: int) -> int | None:
    """Give the case to this caseworker (operator's command line); the one before, if any."""
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(code.strip().upper(), for_update=True)
        if case is None:
            raise UnknownCase(code)
        person = await uow.people.get_by_id(caseworker_id)
        if person is None or person.role != "caseworker" or person.status != "active":
            raise NotACaseworker(caseworker_id)
        return await give_case(uow, case, person, audit.OPERATOR, app.clock())


async def give_case(uow: UnitOfWork, case: Case, to: Person, by: str, now: datetime) -> int | None:
    """In the caller's transaction: `to` is the case's caseworker from now on; audited, and
    the one who had it and the one who gets it are told. Returns who had it (None: nobody;
    `to` itself: nothing changed)."""
    before = case.caseworker_id
    if before == to.id:
        return before
    await uow.cases.assign_caseworker(case.id, to.id)
    await audit.record(
        uow, by, "case_reassigned", at=now, case_id=case.id, detail={"from": before, "to": to.id}
    )
    told = [Notice(_recipient(to, case), texts.CASE_NOW_YOURS.using(case=case.code), plain=True)]
    previous = await uow.people.get_by_id(before) if before is not None else None
    if previous is not None and previous.status == "active" and previous.consent == "given":
        text = texts.CASE_NO_LONGER_YOURS.using(case=case.code, person=to.id)
        told.append(Notice(_recipient(previous, case), text, plain=True))
    await queue(uow, [notice for notice in told if _may_be_told(to, notice)], now)
    return before


def _may_be_told(to: Person, notice: Notice) -> bool:
    # Someone who has not agreed to the bot's terms (not yet: joining now) hears nothing.
    return notice.recipient.person_id != to.id or to.consent == "given"


def _recipient(person: Person, case: Case) -> Recipient:
    return Recipient.of(person, case.code)


@dataclass(frozen=True)
class Left:
    role: str
    cases: tuple[str, ...]  # the cases that lost their caseworker


async def person_leaves(app: Wegwijzer, person_id: int) -> Left:
    """Someone leaves the programme (operator's command line): told nothing from now on, a
    stranger to the bot; what waited for them goes to the others who can act, and the
    coordinators hear which cases have no caseworker now."""
    now = app.clock()
    async with app.database.transaction() as uow:
        person = await uow.people.get_by_id(person_id)
        if person is None:
            raise LookupError(person_id)
        if person.status == "left":
            return Left(person.role, ())
        await uow.people.set_status(person_id, "left")
        person.left_at = now  # the contact retention term runs from here
        await audit.record(uow, audit.OPERATOR, "person_left", at=now, detail={"person": person_id})
        await hand_over_waiting(uow, person_id, now)
        cases = tuple(summary.code for summary in await uow.cases.of_caseworker(person_id))
        if person.role == "caseworker" and cases:
            text = texts.CASEWORKER_LEFT.using(person=person_id, cases=", ".join(cases))
            coordinators = await flag_recipients(uow, None, caseworker=False)
            await queue(uow, [Notice(c, text, plain=True, urgent=True) for c in coordinators], now)
        return Left(person.role, cases)


async def hand_over_waiting(uow: UnitOfWork, person_id: int, now: datetime) -> None:
    """What waited for someone who will hear nothing more goes to the others who can act."""
    for waiting in await uow.outbox.of_person(person_id, "queued"):
        await uow.outbox.settle(waiting, "unreachable", now)
        await move_to_others(uow, waiting, now)


async def revoke_invite(app: Wegwijzer, code: str) -> bool:
    """Take back an invite not used yet: it lets nobody in from now on. False when there is
    no such invite, or it was used or had expired already."""
    now = app.clock()
    async with app.database.transaction() as uow:
        invite = await uow.invites.find(code_hash(code.strip()))
        if invite is None or invite.used_at is not None or invite.expires_at <= now:
            return False
        invite.expires_at = now
        await audit.record(
            uow,
            audit.OPERATOR,
            "invite_revoked",
            at=now,
            case_id=invite.case_id,
            detail={"invite": invite.id, "role": invite.role},
        )
        return True
