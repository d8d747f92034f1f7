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
from sqlalchemy.orm import aliased

from ..engine.events import JSONValue
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
    """The stored rows about a case or a person, by table (`Base` subclasses' table names);
    `listed`: what is told of rows not exported whole (a staff member's cases: id and code);
    `withheld`: columns (table, column) left out of this export."""

    rows: dict[str, Sequence[Base]] = field(default_factory=dict)
    listed: dict[str, list[dict[str, JSONValue]]] = field(default_factory=dict)
    withheld: frozenset[tuple[str, str]] = frozenset()

    def of(self, table: str) -> Sequence[Base]:
        return self.rows.get(table, ())

    def counts(self) -> dict[str, int]:
        counts = {table: len(rows) for table, rows in self.rows.items()}
        return counts | {name: len(rows) for name, rows in self.listed.items()}


class RightsRepository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def of_case(self, case: Case) -> StoredData:
        """What the case holds, and nothing of another case: the case row, its children, its
        memberships and its family's person rows, every run in the case with its answers,
        scores and child, its flags, schedules, invites, the notices about its flags, the audit
        events about the case or its flags. A family member who belongs to this case only
        has their other notices and events (those about no case) here too; one who belongs to
        several has them in their own export."""
        members = await self._all(
            select(Membership).where(Membership.case_id == case.id).order_by(Membership.person_id)
        )
        member_ids = [row.person_id for row in members]
        people = await self._all(
            select(Person)
            .where(Person.id.in_(member_ids), Person.role == "family")
            .order_by(Person.id)
        )
        family = [row.id for row in people]
        elsewhere = aliased(Membership)
        only_here = [
            person_id
            for person_id in family
            if not await self._session.scalar(
                select(elsewhere.case_id)
                .where(elsewhere.person_id == person_id, elsewhere.case_id != case.id)
                .limit(1)
            )
        ]
        runs = await self._all(
            select(Run).where(Run.case_id == case.id).order_by(Run.started_at, Run.id)
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
            .where(
                or_(
                    OutboxNotice.flag_id.in_(flag_ids),
                    OutboxNotice.person_id.in_(only_here) & OutboxNotice.flag_id.is_(None),
                )
            )
            .order_by(OutboxNotice.id)
        )
        data.rows["audit_event"] = await self._all(
            select(AuditEvent)
            .where(
                or_(
                    AuditEvent.case_id == case.id,
                    AuditEvent.flag_id.in_(flag_ids),
                    AuditEvent.actor_id.in_(only_here)
                    & (AuditEvent.actor_role == "family")
                    & AuditEvent.case_id.is_(None)
                    & AuditEvent.flag_id.is_(None),
                )
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return data

    async def of_person(self, person: Person) -> StoredData:
        """What is about one person. A family member: their row, memberships, runs with
        answers, scores and child, the flags their runs raised, the audit events they are the
        actor of and the notices waiting for them. A caseworker or coordinator: their row,
        memberships, the cases in their care (id and code) and the audit events they are the
        actor of, without the notes (the case file's words, which may quote a family); not the
        flags they acted on, the runs of their guidance or the notices to them, which tell of
        families."""
        events = await self._all(
            select(AuditEvent)
            .where(AuditEvent.actor_id == person.id, AuditEvent.actor_role == person.role)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        data = StoredData({"person": [person]})
        memberships = await self._all(
            select(Membership).where(Membership.person_id == person.id).order_by(Membership.case_id)
        )
        data.rows["membership"] = memberships
        if person.role != "family":
            data.rows["audit_event"] = events
            data.withheld = frozenset({("audit_event", "note")})
            named = {row.case_id for row in memberships} | {
                row.case_id for row in events if row.case_id is not None
            }
            cases = (
                await self._session.execute(
                    select(Case.id, Case.code, Case.caseworker_id)
                    .where(or_(Case.caseworker_id == person.id, Case.id.in_(named)))
                    .order_by(Case.code)
                )
            ).all()
            data.listed["case"] = [
                {"id": id_, "code": code, "in_their_care": caseworker == person.id}
                for id_, code, caseworker in cases
            ]
            return data
        runs = await self._all(
            select(Run).where(Run.person_id == person.id).order_by(Run.started_at, Run.id)
        )
        await self._runs(data, runs)
        data.rows["flag"] = await self._all(
            select(Flag)
            .where(Flag.run_id.in_([row.id for row in runs]))
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
