"""The coordinators' overview (bot/web's `/overview`): figures over the whole organisation,
counted in the database — aggregates, read from indexes made for them (migration 0016), so
the page costs about the same with 100,000 cases as with ten.

Percentiles are by nearest rank (the value at rank ceil(p·n/100)), the same on both
databases (`percentile_cont` is PostgreSQL's alone, and interpolates): the times to
acknowledge and resolve are ranked in Python from the period's flags, read as four plain
values each (a bounded query: the flags raised in the period); the closures' median with
window functions (`ROW_NUMBER`, `COUNT` over), which SQLite and PostgreSQL share. Durations
are taken in the database (`duration_between`, spelled per dialect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.sqltypes import NullType

from .models import (
    FLAG_LEVELS,
    AuditEvent,
    Case,
    Flag,
    Run,
    any_flag_status,
    closed_case,
    finished_flow,
    level_rank,
    open_case,
    unresolved,
)

# The percentiles the overview shows (nearest rank: the smallest value with at least p % of
# the values at or below it).
PERCENTILES = (50, 90)


class duration_between(FunctionElement[None]):
    """`later - earlier` as the database sorts it fastest (an interval on PostgreSQL, days
    on SQLite, read back as they come: `_seconds`): what the percentiles are ranked by."""

    type = NullType()
    inherit_cache = True
    name = "duration_between"


@compiles(duration_between, "sqlite")
def _duration_sqlite(element: duration_between, compiler: SQLCompiler, **kw: object) -> str:
    later, earlier = list(element.clauses)
    return (
        f"(julianday({compiler.process(later, **kw)}) - "
        f"julianday({compiler.process(earlier, **kw)}))"
    )


@compiles(duration_between, "postgresql")
def _duration_postgresql(element: duration_between, compiler: SQLCompiler, **kw: object) -> str:
    later, earlier = list(element.clauses)
    return f"({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)})"


@dataclass(frozen=True)
class OpenFlags:
    """The unresolved flags of one level: how many, how many past due, by age (the counts in
    the order of the age bounds asked for, the last one open-ended)."""

    level: str
    total: int
    overdue: int
    by_age: tuple[int, ...]


@dataclass(frozen=True)
class Responses:
    """The flags of one level raised in a period: how many; how many were answered
    (acknowledged, or resolved straight away), how many of those by their due time; how many
    are resolved; the percentiles (seconds) of the time to answer and to resolve."""

    level: str
    raised: int
    answered: int
    answered_in_time: int
    resolved: int
    to_answer: dict[int, float]
    to_resolve: dict[int, float]


@dataclass(frozen=True)
class Caseload:
    caseworker_id: int | None
    open_cases: int
    open_flags: int
    overdue_flags: int


def _seconds(duration: object) -> float:
    """A `duration_between` as read back: an interval (PostgreSQL), or days (SQLite)."""
    if isinstance(duration, timedelta):
        return duration.total_seconds()
    return float(duration) * 86_400  # type: ignore[arg-type]


def _percentiles(values: list[float]) -> dict[int, float]:
    """The PERCENTILES of `values` by nearest rank (none of no values)."""
    values.sort()
    return {p: values[nearest_rank(p, len(values)) - 1] for p in PERCENTILES} if values else {}


def nearest_rank(p: int, n: int) -> int:
    """The rank (from 1) of the p-th percentile of n values: the smallest r with
    r·100 >= p·n."""
    return max(1, -(-p * n // 100))


def _at_rank(rank: ColumnElement[int], n: ColumnElement[int], p: int) -> ColumnElement[bool]:
    """`rank` is `nearest_rank(p, n)`, in multiplications only (no division, whose integer
    rounding differs between the databases)."""
    return and_(rank * 100 >= n * p, (rank - 1) * 100 < n * p)


def first_response() -> ColumnElement[datetime]:
    """When a flag was first answered: acknowledged, or resolved without that."""
    return func.coalesce(Flag.acknowledged_at, Flag.resolved_at)


class OverviewRepository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_flags(self, now: datetime, ages: Sequence[timedelta]) -> list[OpenFlags]:
        """By level, the unresolved flags, those past due at `now`, and their ages: raised
        at most `ages[0]` ago, then more than that up to each next bound, the last bucket
        beyond the last bound (as `flags.age_window` narrows the queue). Grouped by the
        level's rank, as the review queue's index of unresolved flags has it."""
        buckets = []
        lower: timedelta | None = None
        for bound in [*ages, None]:
            conditions = []
            if bound is not None:
                conditions.append(Flag.raised_at >= now - bound)
            if lower is not None:
                conditions.append(Flag.raised_at < now - lower)
            buckets.append(func.sum(sql_case((and_(*conditions), 1), else_=0)))
            lower = bound
        # By the level's rank, as the index has it: the count reads the index alone.
        rank = level_rank()
        stmt = (
            select(
                rank,
                func.count(),
                func.sum(sql_case((Flag.due_at <= now, 1), else_=0)),
                *buckets,
            )
            .where(unresolved())
            .group_by(rank)
        )
        return [
            OpenFlags(
                FLAG_LEVELS[ranked] if ranked < len(FLAG_LEVELS) else "",
                int(total),
                int(late or 0),
                tuple(int(n or 0) for n in ages_),
            )
            for ranked, total, late, *ages_ in await self._session.execute(stmt)
        ]

    async def responses(self, start: datetime, end: datetime) -> list[Responses]:
        """By level, the flags raised in [start, end) and how fast they were answered and
        resolved (`Responses`). The flags of the period are read (`ix_flag_raised_at`) as
        four plain values each — level, the two durations, in time or not — and ranked
        here: a period's flags are a few thousand, and sorting them in Python costs less
        than the database's window functions over them (two sorts and a partition each)."""
        answered = first_response()
        stmt = select(
            Flag.level,
            duration_between(answered, Flag.raised_at),
            duration_between(Flag.resolved_at, Flag.raised_at),
            sql_case((answered <= Flag.due_at, 1), else_=0),
        ).where(any_flag_status(), Flag.raised_at >= start, Flag.raised_at < end)
        answers: dict[str, list[float]] = {}
        resolves: dict[str, list[float]] = {}
        counts: dict[str, list[int]] = {}  # raised, in time
        for level, answer, resolve, in_time in await self._session.execute(stmt):
            counted = counts.setdefault(level, [0, 0])
            counted[0] += 1
            counted[1] += in_time
            if answer is not None:
                answers.setdefault(level, []).append(_seconds(answer))
            if resolve is not None:
                resolves.setdefault(level, []).append(_seconds(resolve))
        return [
            Responses(
                level,
                raised,
                len(answers.get(level, ())),
                in_time,
                len(resolves.get(level, ())),
                _percentiles(answers.get(level, [])),
                _percentiles(resolves.get(level, [])),
            )
            for level, (raised, in_time) in counts.items()
        ]

    async def escalations(self, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
        """By level, the escalations in [start, end) (the bot's "escalated" entries in the
        audit log) and how many flags they were of."""
        stmt = (
            select(Flag.level, func.count(), func.count(func.distinct(AuditEvent.flag_id)))
            .join(Flag, Flag.id == AuditEvent.flag_id)
            .where(
                AuditEvent.action == "escalated",
                AuditEvent.at >= start,
                AuditEvent.at < end,
            )
            .group_by(Flag.level)
        )
        return {level: (int(n), int(f)) for level, n, f in await self._session.execute(stmt)}

    async def checked_in(self, checkin_flow: str, now: datetime, weeks: Sequence[int]) -> list[int]:
        """For each number of weeks, how many open cases completed a check-in (a run of
        `checkin_flow`) in that many weeks before `now`; the others have gone silent. Read
        from the check-ins of the longest span only (`ix_run_finished_flow_ended_at`), not
        from every case's history."""
        if not weeks:
            return []
        since = now - timedelta(weeks=max(weeks))
        last = func.max(Run.ended_at).label("last")
        recent = (
            select(Run.case_id, last)
            .join(Case, Case.id == Run.case_id)
            .where(
                finished_flow() == checkin_flow,
                Run.ended_at >= since,
                open_case(),
            )
            .group_by(Run.case_id)
            .subquery()
        )
        stmt = select(
            *(
                func.sum(sql_case((recent.c.last >= now - timedelta(weeks=n), 1), else_=0))
                for n in weeks
            )
        )
        row = (await self._session.execute(stmt)).one()
        return [int(n or 0) for n in row]

    async def caseloads(self, now: datetime, limit: int) -> tuple[list[Caseload], int, int]:
        """The `limit` caseworkers with the most open cases (from the open cases' index),
        each with the unresolved flags of their cases and how many of those are past due
        (as the flag queue's `caseworker` filter finds them); how many caseworkers have open
        cases; and how many open cases have no caseworker."""
        grouped = (
            select(Case.caseworker_id.label("person"), func.count().label("n"))
            .where(open_case())
            .group_by(Case.caseworker_id)
            .subquery()
        )
        # The cases without a caseworker (a group of its own) first, then the largest
        # caseloads; the number of groups counted before the limit.
        ranked = (
            select(grouped.c.person, grouped.c.n, func.count().over())
            .order_by(grouped.c.person.is_not(None), grouped.c.n.desc(), grouped.c.person)
            .limit(limit + 1)
        )
        rows = list(await self._session.execute(ranked))
        groups = int(rows[0][2]) if rows else 0
        without = next((int(n) for person, n, _ in rows if person is None), 0)
        shown = [(int(person), int(n)) for person, n, _ in rows if person is not None][:limit]
        flags = (
            select(
                Case.caseworker_id,
                func.count(),
                func.sum(sql_case((Flag.due_at <= now, 1), else_=0)),
            )
            .join(Case, Case.id == Flag.case_id)
            .where(unresolved(), Case.caseworker_id.in_([person for person, _ in shown]))
            .group_by(Case.caseworker_id)
        )
        counted = {
            person: (int(n), int(late or 0))
            for person, n, late in await self._session.execute(flags)
        }
        loads = [Caseload(person, n, *counted.get(person, (0, 0))) for person, n in shown]
        return loads, groups - (1 if without else 0), without

    async def cases_by(self) -> list[tuple[str, str | None, str | None, int]]:
        """The open cases by programme, stage and risk level: (programme, stage, risk, n)."""
        stmt = (
            select(Case.programme, Case.stage, Case.risk_level, func.count())
            .where(open_case())
            .group_by(Case.programme, Case.stage, Case.risk_level)
        )
        return [(p, s, r, int(n)) for p, s, r, n in await self._session.execute(stmt)]

    async def closures(self, start: datetime, end: datetime) -> tuple[int, float | None]:
        """The cases closed in [start, end), and the median time from opening to closing
        (seconds; nearest rank, as the flags' percentiles)."""
        closed = and_(closed_case(), Case.closed_at >= start, Case.closed_at < end)
        durations = (
            select(duration_between(Case.closed_at, Case.created_at).label("value"))
            .where(closed)
            .subquery()
        )
        ranked = (
            select(
                durations.c.value,
                func.row_number().over(order_by=durations.c.value).label("rank"),
                func.count().over().label("n"),
            )
        ).subquery()
        stmt = select(ranked.c.n, ranked.c.value).where(_at_rank(ranked.c.rank, ranked.c.n, 50))
        row = (await self._session.execute(stmt)).first()
        if row is None:
            return 0, None
        return int(row[0]), _seconds(row[1])
