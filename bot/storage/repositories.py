"""Repositories: the only queries the rest of the bot may run, one class per kind of record.

Services and channels ask for people, cases, runs, answers, scores and flags through these
methods instead of writing SQL, so the rules that keep the data right live in one place: an
answer is upserted on its key so a retried update never records it twice, `runs.current()`
takes the row locks that let several bot processes share PostgreSQL, and flags sort by how
serious they are rather than by their spelling. All of them work inside the transaction of the
`UnitOfWork` that created them and never commit on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from .models import (
    CHANNELS,
    FLAG_LEVELS,
    OPEN_RUN_STATUSES,
    ROLES,
    RUN_STATUSES,
    Answer,
    Case,
    Flag,
    Membership,
    Person,
    Run,
    Score,
)

__all__ = [
    "AnswerRepository",
    "CaseRepository",
    "FlagRepository",
    "PersonRepository",
    "RunRepository",
    "ScoreRepository",
]


def _insert(session: AsyncSession, model: type[Any]) -> postgresql.Insert | sqlite.Insert:
    # Upserts need the dialect's own INSERT (ON CONFLICT); both backends spell it the same way.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    # The columns are plain strings so new values need no migration; typos are caught here.
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


class _Repository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session


class PersonRepository(_Repository):
    __slots__ = ()

    async def get(self, channel: str, external_id: str | int) -> Person | None:
        # Telegram ids arrive as ints; PostgreSQL will not compare an int with a varchar.
        stmt = select(Person).where(
            Person.channel == channel, Person.external_id == str(external_id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get_by_id(self, person_id: int) -> Person | None:
        return await self._session.get(Person, person_id)

    async def add(
        self, channel: str, external_id: str | int, role: str, language: str | None = None
    ) -> Person:
        _check("channel", channel, CHANNELS)
        _check("role", role, ROLES)
        person = Person(channel=channel, external_id=str(external_id), role=role, language=language)
        self._session.add(person)
        await self._session.flush()
        return person

    async def set_language(self, person_id: int, language: str) -> None:
        person = await self._session.get(Person, person_id)
        if person is None:
            raise LookupError(f"no person with id {person_id}")
        person.language = language
        await self._session.flush()


class CaseRepository(_Repository):
    __slots__ = ()

    async def add(self, code: str, programme: str) -> Case:
        case = Case(code=code, programme=programme)
        self._session.add(case)
        await self._session.flush()
        return case

    async def by_code(self, code: str) -> Case | None:
        stmt = select(Case).where(Case.code == code)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def add_member(self, case_id: int, person_id: int) -> None:
        # ON CONFLICT DO NOTHING rather than look-then-insert: two invites redeemed at the same
        # moment must not fail on the primary key.
        stmt = (
            _insert(self._session, Membership)
            .values(case_id=case_id, person_id=person_id)
            .on_conflict_do_nothing(index_elements=["person_id", "case_id"])
        )
        await self._session.execute(stmt)

    async def codes(self, case_ids: Iterable[int]) -> dict[int, str]:
        """The pseudonymous codes of these cases, by id; unknown ids are left out."""
        wanted = set(case_ids)
        if not wanted:
            return {}
        stmt = select(Case.id, Case.code).where(Case.id.in_(wanted))
        return {case_id: code for case_id, code in await self._session.execute(stmt)}

    async def of_person(self, person_id: int) -> list[Case]:
        stmt = (
            select(Case)
            .join(Membership, Membership.case_id == Case.id)
            .where(Membership.person_id == person_id)
            .order_by(Case.created_at, Case.id)
        )
        return list((await self._session.execute(stmt)).scalars())


class RunRepository(_Repository):
    __slots__ = ("_lock",)

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        super().__init__(session)
        self._lock = lock

    async def start(
        self,
        person_id: int,
        case_id: int | None,
        flow_id: str,
        flow_version: int,
        step: str,
        state: Mapping[str, Any],
        now: datetime,
    ) -> Run:
        run = Run(
            person_id=person_id,
            case_id=case_id,
            flow_id=flow_id,
            flow_version=flow_version,
            step=step,
            status="active",
            state=dict(state),
            started_at=now,
            updated_at=now,
        )
        self._session.add(run)
        # The id is needed at once: it goes into the buttons of the first question.
        await self._session.flush()
        return run

    async def current(self, person_id: int) -> Run | None:
        if self._lock:
            # Lock the person, not only the run: when no run exists yet there is no row to lock,
            # and two processes must not both start one for the same person.
            await self._session.execute(
                select(Person.id).where(Person.id == person_id).with_for_update()
            )
        stmt = (
            select(Run)
            .where(Run.person_id == person_id, Run.status.in_(OPEN_RUN_STATUSES))
            .order_by(Run.started_at.desc(), Run.id.desc())
            .limit(1)
        )
        if self._lock:
            stmt = stmt.with_for_update()
        # populate_existing: after waiting for the lock, the row must be the committed one,
        # not a copy this session read before.
        stmt = stmt.execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get(self, run_id: int) -> Run | None:
        return await self._session.get(Run, run_id)

    async def update(
        self,
        run: Run,
        *,
        step: str,
        state: Mapping[str, Any],
        status: str,
        now: datetime,
    ) -> None:
        _check("status", status, RUN_STATUSES)
        if status == "completed" and run.status != "completed":
            run.ended_at = now
        elif status != "completed":
            run.ended_at = None
        run.step = step
        # A fresh dict: the JSON column only notices assignment, not changes inside the dict.
        run.state = dict(state)
        run.status = status
        run.updated_at = now
        await self._session.flush()

    async def pause(self, run: Run, now: datetime) -> None:
        if run.status == "completed":
            # Pausing would make a finished run resumable again through `current()`.
            raise ValueError(f"run {run.id} is completed and cannot be paused")
        run.status = "paused"
        run.updated_at = now
        await self._session.flush()


class AnswerRepository(_Repository):
    __slots__ = ()

    async def record(self, run_id: int, key: str, value: Any, step: str, at: datetime) -> None:
        # Upsert on (run_id, key): going back to a question, or Telegram delivering the same
        # update twice, overwrites the answer instead of adding a second one.
        stmt = _insert(self._session, Answer).values(
            run_id=run_id, key=key, value=value, step=step, answered_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={
                "value": stmt.excluded.value,
                "step": stmt.excluded.step,
                "answered_at": stmt.excluded.answered_at,
            },
        )
        await self._session.execute(stmt)

    async def of_run(self, run_id: int) -> dict[str, Any]:
        stmt = (
            select(Answer.key, Answer.value)
            .where(Answer.run_id == run_id)
            .order_by(Answer.answered_at, Answer.key)
        )
        return {key: value for key, value in (await self._session.execute(stmt))}


class ScoreRepository(_Repository):
    __slots__ = ()

    async def record(self, run_id: int, name: str, value: float, at: datetime) -> None:
        stmt = _insert(self._session, Score).values(
            run_id=run_id, name=name, value=float(value), computed_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "name"],
            set_={"value": stmt.excluded.value, "computed_at": stmt.excluded.computed_at},
        )
        await self._session.execute(stmt)

    async def of_run(self, run_id: int) -> dict[str, float]:
        stmt = select(Score.name, Score.value).where(Score.run_id == run_id).order_by(Score.name)
        return {name: value for name, value in (await self._session.execute(stmt))}


class FlagRepository(_Repository):
    __slots__ = ()

    async def raise_flag(
        self,
        *,
        case_id: int | None,
        run_id: int | None,
        flow_id: str,
        flow_version: int,
        rule: str,
        level: str,
        reason: str,
        evidence: Mapping[str, Any],
        raised_at: datetime,
        due_at: datetime,
    ) -> Flag:
        _check("level", level, FLAG_LEVELS)
        flag = Flag(
            case_id=case_id,
            run_id=run_id,
            flow_id=flow_id,
            flow_version=flow_version,
            rule=rule,
            level=level,
            reason=reason,
            evidence=dict(evidence),
            status="open",
            raised_at=raised_at,
            due_at=due_at,
        )
        self._session.add(flag)
        await self._session.flush()
        return flag

    async def open_flags(self) -> list[Flag]:
        stmt = (
            select(Flag)
            .where(Flag.status == "open")
            .order_by(level_rank(), Flag.due_at, Flag.raised_at, Flag.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def of_run(self, run_id: int) -> list[Flag]:
        stmt = select(Flag).where(Flag.run_id == run_id).order_by(Flag.raised_at, Flag.id)
        return list((await self._session.execute(stmt)).scalars())


def level_rank() -> Any:
    """An SQL expression ranking flag levels most serious first (urgent=0 … low=3)."""
    # Alphabetical order would put "high" before "urgent"; unknown levels sort last.
    return sql_case(
        {level: rank for rank, level in enumerate(FLAG_LEVELS)},
        value=Flag.level,
        else_=len(FLAG_LEVELS),
    )
