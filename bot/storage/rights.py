"""Reading everything stored about a case or a person, for the right of access
(`wegwijzer person export`), and the one answer a correction changes.

The rows come back as the ORM has them (sealed columns opened), grouped by table, so the export
can write every column of every row without a list of fields to keep up to date: a column
added to a model is exported from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import (
    Answer,
    AuditEvent,
    Base,
    Case,
    CaseChild,
    Flag,
    Invite,
    Membership,
    OutboxNotice,
    Person,
    Run,
    RunChild,
    Schedule,
    Score,
)

__all__ = ["RightsRepository", "StoredData"]

T = TypeVar("T", bound=Base)


@dataclass
class StoredData:
    """The stored rows about a case or a person, by table (`Base` subclasses' table names)."""

    rows: dict[str, Sequence[Base]] = field(default_factory=dict)

    def of(self, table: str) -> Sequence[Base]:
        return self.rows.get(table, ())

    def counts(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.rows.items()}


class RightsRepository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_case(self, case: Case) -> StoredData:
        """The case row, its children, its members (family and staff who joined it) with
        their memberships, every run about the case with its answers, scores and child, its
        flags, schedules, invites, the notices about its flags or to its family, and the audit
        events about the case, its flags or by its family."""
        members = await self._all(
            select(Membership).where(Membership.case_id == case.id).order_by(Membership.person_id)
        )
        member_ids = [row.person_id for row in members]
        people = await self._all(
            select(Person).where(Person.id.in_(member_ids)).order_by(Person.id)
        )
        family = [row.id for row in people if row.role == "family"]
        runs = await self._all(
            select(Run)
            .where(or_(Run.case_id == case.id, Run.person_id.in_(family)))
            .order_by(Run.started_at, Run.id)
        )
        flags = await self._all(
            select(Flag).where(Flag.case_id == case.id).order_by(Flag.raised_at, Flag.id)
        )
        flag_ids = [row.id for row in flags]
        data = StoredData({"case_file": [case], "membership": members, "person": people})
        data.rows["case_child"] = await self._all(
            select(CaseChild).where(CaseChild.case_id == case.id).order_by(CaseChild.number)
        )
        await self._runs(data, runs)
        data.rows["flag"] = flags
        data.rows["schedule"] = await self._all(
            select(Schedule).where(Schedule.case_id == case.id).order_by(Schedule.id)
        )
        data.rows["invite"] = await self._all(
            select(Invite).where(Invite.case_id == case.id).order_by(Invite.id)
        )
        data.rows["outbox"] = await self._all(
            select(OutboxNotice)
            .where(or_(OutboxNotice.flag_id.in_(flag_ids), OutboxNotice.person_id.in_(family)))
            .order_by(OutboxNotice.id)
        )
        data.rows["audit_event"] = await self._all(
            select(AuditEvent)
            .where(
                or_(
                    AuditEvent.case_id == case.id,
                    AuditEvent.flag_id.in_(flag_ids),
                    AuditEvent.actor_id.in_(family) & (AuditEvent.actor_role == "family"),
                )
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return data

    async def of_person(self, person: Person) -> StoredData:
        """One person: their row, memberships, runs with answers, scores and child, the audit
        events they are the actor of, the flags their runs raised or they acted on, and the
        notices waiting for them."""
        runs = await self._all(
            select(Run).where(Run.person_id == person.id).order_by(Run.started_at, Run.id)
        )
        run_ids = [row.id for row in runs]
        events = await self._all(
            select(AuditEvent)
            .where(AuditEvent.actor_id == person.id, AuditEvent.actor_role == person.role)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        acted_on = {row.flag_id for row in events if row.flag_id}
        data = StoredData({"person": [person]})
        data.rows["membership"] = await self._all(
            select(Membership).where(Membership.person_id == person.id).order_by(Membership.case_id)
        )
        await self._runs(data, runs)
        data.rows["flag"] = await self._all(
            select(Flag)
            .where(or_(Flag.run_id.in_(run_ids), Flag.id.in_(acted_on)))
            .order_by(Flag.raised_at, Flag.id)
        )
        data.rows["outbox"] = await self._all(
            select(OutboxNotice)
            .where(OutboxNotice.person_id == person.id)
            .order_by(OutboxNotice.id)
        )
        data.rows["audit_event"] = events
        return data

    async def worked_on(self, person: Person, case_id: int) -> bool:
        """Whether this person ran a flow in the case or is the actor of an event about it."""
        run = select(Run.id).where(Run.person_id == person.id, Run.case_id == case_id)
        acted = select(AuditEvent.id).where(
            AuditEvent.actor_id == person.id,
            AuditEvent.actor_role == person.role,
            AuditEvent.case_id == case_id,
        )
        return bool(await self._session.scalar(select(exists(run) | exists(acted))))

    async def answer(self, run_id: int, key: str) -> Answer | None:
        """A run's stored answer under one key (what a correction changes)."""
        return (
            await self._session.execute(
                select(Answer).where(Answer.run_id == run_id, Answer.key == key)
            )
        ).scalar_one_or_none()

    async def _runs(self, data: StoredData, runs: Sequence[Run]) -> None:
        run_ids = [row.id for row in runs]
        data.rows["run"] = runs
        data.rows["answer"] = await self._all(
            select(Answer)
            .where(Answer.run_id.in_(run_ids))
            .order_by(Answer.run_id, Answer.answered_at, Answer.id)
        )
        data.rows["score"] = await self._all(
            select(Score).where(Score.run_id.in_(run_ids)).order_by(Score.run_id, Score.name)
        )
        data.rows["run_child"] = await self._all(
            select(RunChild).where(RunChild.run_id.in_(run_ids)).order_by(RunChild.run_id)
        )

    async def _all(self, stmt: Select[T]) -> list[T]:
        return list((await self._session.execute(stmt)).scalars())
