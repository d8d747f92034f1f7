"""Removing personal data while keeping the record's shape: the primitives of erasure on
request (`wegwijzer person erase`) and of the retention run.

What stays is a tombstone: the person row (its id is referred to by audit events and flags)
without any way to reach or recognise them; the case row under its pseudonymous code, marked
erased; the flags with their rule, level and times, so the organisation's figures stay true,
but without the evidence or the resolution's words; the audit log's events, without their
notes. What goes: the sealed Telegram id, language and timezone, the runs with their answers
and scores, the children, the schedules (no reminder is sent again), invites and notices.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from .models import (
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

    async def erase_person(self, person_id: int, at: datetime) -> dict[str, int]:
        """Everything of one person: their contact data, their runs with every answer and
        score, the evidence of flags their answers raised, their memberships. Counts by what
        was removed."""
        runs = list(
            (await self._session.execute(select(Run.id).where(Run.person_id == person_id)))
            .scalars()
            .all()
        )
        counts = {"flags": await self._blank_flags(Flag.run_id.in_(runs)) if runs else 0}
        # The notes on those flags may quote the answers they copied, and the person's own
        # notes are their words: blanked like the evidence (who did what when stays).
        person = await self._session.get(Person, person_id)
        own = (
            false()
            if person is None
            else and_(AuditEvent.actor_id == person_id, AuditEvent.actor_role == person.role)
        )
        raised = select(Flag.id).where(Flag.run_id.in_(runs))
        counts["notes"] = _rows(
            await self._session.execute(
                update(AuditEvent)
                .where(or_(own, AuditEvent.flag_id.in_(raised)), AuditEvent.note.is_not(None))
                .values(note=None)
            )
        )
        counts["runs"] = await self._delete_runs(Run.person_id == person_id)
        counts["memberships"] = _rows(
            await self._session.execute(delete(Membership).where(Membership.person_id == person_id))
        )
        counts["people"] = int(await self.forget_contact(person_id, at))
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
        # A member who belongs to another case too keeps what is theirs there (and how to
        # reach them); their runs in this case and their membership of it go below.
        other = aliased(Membership)
        elsewhere = select(other.person_id).where(
            other.person_id == Person.id, other.case_id != case_id
        )
        members = (
            await self._session.execute(
                select(Person.id)
                .join(Membership, Membership.person_id == Person.id)
                .where(
                    Membership.case_id == case_id,
                    Person.role == "family",
                    ~elsewhere.exists(),
                )
            )
        ).scalars()
        for member in list(members):
            for name, count in (await self.erase_person(member, at)).items():
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
