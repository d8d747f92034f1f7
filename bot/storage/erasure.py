"""Removing personal data while keeping the record's shape: the primitives of erasure on
request (`wegwijzer person erase`) and of the retention run.

What stays is a tombstone: the person row (its id is referred to by audit events and flags)
without any way to reach or recognise them; the case row under its pseudonymous code, marked
erased; the flags with their rule, level and times, so the organisation's figures stay true,
but without the evidence or the resolution's words; the audit log's events, without their
notes. What goes: the sealed Telegram id, language and timezone, the runs with their answers
and scores, the children, the schedules (no reminder is sent again), invites and notices.
One person is erased one case at a time: what they have in another case is that case's to
erase (or to keep, under a legal hold), and how to reach them goes with their last case.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import (
    UNRESOLVED_FLAG_STATUSES,
    AuditEvent,
    Case,
    CaseChild,
    Flag,
    Invite,
    Membership,
    OutboxNotice,
    Person,
    Run,
    Schedule,
)

__all__ = ["ERASED", "ErasureRepository"]

# What an erased flag's evidence says instead of the answers it copied.
ERASED = "erased"


class ErasureRepository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def forget_contact(self, person_id: int, at: datetime) -> bool:
        """Remove how to reach and recognise a person (Telegram id, language, timezone, what
        the bot waited for); their answers stay with their case. False if done before."""
        person = await self._session.get(Person, person_id)
        if person is None or person.erased_at is not None:
            return False
        # A unique key per channel that no Telegram id hashes to (hashes are hex).
        person.external_id = ""
        person.external_key = f"{ERASED}:{person.id}"
        person.language = person.timezone = None
        person.awaiting = None
        person.status = "left"
        person.left_at = person.left_at or at
        person.erased_at = at
        await self._session.execute(delete(OutboxNotice).where(OutboxNotice.person_id == person_id))
        await self._session.execute(
            update(Invite).where(Invite.used_by == person_id).values(used_by=None)
        )
        await self._session.flush()
        return True

    async def cases_in_the_care_of(self, person_id: int) -> list[Case]:
        """The cases, not erased, whose caseworker this person is (or was when they closed),
        by code: what keeps a staff member's contact data (an open one, or a held one)."""
        stmt = (
            select(Case)
            .where(Case.caseworker_id == person_id, Case.erased_at.is_(None))
            .order_by(Case.code)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def flags_assigned_to(self, person_id: int) -> list[int]:
        """The unresolved flags assigned to this person: someone must have them first."""
        stmt = (
            select(Flag.id)
            .where(Flag.assigned_to == person_id, Flag.status.in_(UNRESOLVED_FLAG_STATUSES))
            .order_by(Flag.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def erase_person(self, person_id: int, case_id: int, at: datetime) -> dict[str, int]:
        """One family member's data in one case: their runs in it with every answer and score,
        the evidence of the flags those runs raised, the notes on those flags and their own
        notes in the case, their membership of it. Their other cases keep what is theirs there
        (a legal hold on one of them stays whole); how to reach them goes (`forget_contact`),
        with what they left outside any case, only when no case keeps them any more. Counts
        by what was removed. Holds and open flags of this case are the caller's to check."""
        person = await self._session.get(Person, person_id)
        if person is None:
            raise LookupError(person_id)
        counts = {
            "memberships": _rows(
                await self._session.execute(
                    delete(Membership).where(
                        Membership.person_id == person_id, Membership.case_id == case_id
                    )
                )
            )
        }
        kept = await self._session.scalar(
            select(Membership.case_id).where(Membership.person_id == person_id).limit(1)
        )
        forgotten = kept is None
        # Runs (and notes) outside any case are nobody else's: they go with the person.
        in_case = Run.case_id == case_id
        here = or_(in_case, Run.case_id.is_(None)) if forgotten else in_case
        runs = list(
            (await self._session.execute(select(Run.id).where(Run.person_id == person_id, here)))
            .scalars()
            .all()
        )
        counts["flags"] = await self._blank_flags(Flag.run_id.in_(runs)) if runs else 0
        # The notes on those flags may quote the answers they copied, and the person's own
        # notes are their words: blanked like the evidence (who did what when stays).
        raised = select(Flag.id).where(Flag.run_id.in_(runs))
        of_case = or_(
            AuditEvent.case_id == case_id,
            AuditEvent.flag_id.in_(select(Flag.id).where(Flag.case_id == case_id)),
        )
        if forgotten:
            of_case = or_(of_case, and_(AuditEvent.case_id.is_(None), AuditEvent.flag_id.is_(None)))
        own = and_(AuditEvent.actor_id == person_id, AuditEvent.actor_role == person.role, of_case)
        counts["notes"] = _rows(
            await self._session.execute(
                update(AuditEvent)
                .where(or_(own, AuditEvent.flag_id.in_(raised)), AuditEvent.note.is_not(None))
                .values(note=None)
            )
        )
        counts["runs"] = (
            await self._delete_runs(and_(Run.person_id == person_id, here)) if runs else 0
        )
        counts["people"] = int(forgotten and await self.forget_contact(person_id, at))
        return counts

    async def erase_case(self, case_id: int, at: datetime) -> dict[str, int]:
        """A case file's content and every family member's data (a member of another case
        too keeps their data of that case): counts by what was removed. The case stays as its
        code, marked erased; flags keep their shape; audit events stay, without their notes.
        Holds and open flags are the caller's to check."""
        case = await self._session.get(Case, case_id)
        if case is None:
            raise LookupError(case_id)
        counts: dict[str, int] = {"people": 0}
        # Each family member's data of this case goes; one who belongs to another case too
        # keeps what is theirs there, and how to reach them.
        members = (
            await self._session.execute(
                select(Person.id)
                .join(Membership, Membership.person_id == Person.id)
                .where(Membership.case_id == case_id, Person.role == "family")
            )
        ).scalars()
        for member in list(members):
            for name, count in (await self.erase_person(member, case_id, at)).items():
                counts[name] = counts.get(name, 0) + count
        counts["runs"] = counts.get("runs", 0) + await self._delete_runs(Run.case_id == case_id)
        flags = select(Flag.id).where(Flag.case_id == case_id)
        counts["flags"] = counts.get("flags", 0) + await self._blank_flags(Flag.case_id == case_id)
        counts["notes"] = counts.get("notes", 0) + _rows(
            await self._session.execute(
                update(AuditEvent)
                .where(
                    or_(AuditEvent.case_id == case_id, AuditEvent.flag_id.in_(flags)),
                    AuditEvent.note.is_not(None),
                )
                .values(note=None)
            )
        )
        counts["notices"] = _rows(
            await self._session.execute(delete(OutboxNotice).where(OutboxNotice.flag_id.in_(flags)))
        )
        for table, name in ((CaseChild, "children"), (Schedule, "schedules"), (Invite, "invites")):
            counts[name] = _rows(
                await self._session.execute(delete(table).where(table.case_id == case_id))
            )
        counts["memberships"] = counts.get("memberships", 0) + _rows(
            await self._session.execute(delete(Membership).where(Membership.case_id == case_id))
        )
        for column in _CASE_CONTENT:
            setattr(case, column, None)
        case.erased_at = at
        await self._session.flush()
        return counts

    async def _blank_flags(self, which: object) -> int:
        result = await self._session.execute(
            select(Flag).where(which, Flag.evidence.is_not(None))  # type: ignore[arg-type]
        )
        flags = list(result.scalars())
        for flag in flags:
            flag.evidence = {ERASED: True}
            flag.resolution = None
        await self._session.flush()
        return len(flags)

    async def _delete_runs(self, which: object) -> int:
        # Answers, scores and the child a run was about go with it (ON DELETE CASCADE);
        # flags keep their row (run_id SET NULL).
        result = await self._session.execute(delete(Run).where(which))  # type: ignore[arg-type]
        return _rows(result)


# What the case row said about the family, cleared by erasure (its code and programme stay).
_CASE_CONTENT = (
    "stage",
    "stage_since",
    "returned_at",
    "visit_due_at",
    "last_visit_at",
    "risk_level",
    "risk_set_at",
    "review_due_at",
    "review_reminded_at",
    "reevaluation_due_at",
    "reevaluation_reminded_at",
    "legal_hold_reason",
)


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
