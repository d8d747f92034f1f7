"""Schedules' repository: setting them, and claiming the ones that have come due.

The claiming queries lock what they return with SKIP LOCKED on PostgreSQL: two bot processes
asking at the same moment get different schedules, and each reminder goes out once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..engine.events import JSONValue
from .models import Case, Run, Schedule


class ScheduleRepository:
    __slots__ = ("_lock", "_session")

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        self._session = session
        self._lock = lock

    async def set(
        self,
        case_id: int,
        flow_id: str,
        cadence: Mapping[str, JSONValue],
        next_due_at: datetime | None,
        now: datetime,
    ) -> Schedule:
        """Create the case's schedule for a flow, or replace its cadence; either way active,
        with nothing waiting (a new cadence starts afresh)."""
        schedule = await self.of_case(case_id, flow_id)
        if schedule is None:
            schedule = Schedule(case_id=case_id, flow_id=flow_id, missed=0, created_at=now)
            self._session.add(schedule)
        schedule.cadence = dict(cadence)
        schedule.status = "active"
        schedule.paused_by = schedule.paused_at = None
        schedule.next_due_at = next_due_at
        schedule.follow_up_at = schedule.deferred_since = None
        await self._session.flush()
        return schedule

    async def of_case(
        self, case_id: int, flow_id: str | None = None, *, for_update: bool = True
    ) -> Schedule | None:
        """The case's schedule (of a flow); locked in a write transaction unless only looked
        at (`for_update=False`)."""
        stmt = select(Schedule).where(Schedule.case_id == case_id)
        if flow_id is not None:
            stmt = stmt.where(Schedule.flow_id == flow_id)
        stmt = stmt.order_by(Schedule.id).limit(1)
        if self._lock and for_update:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalars().first()

    async def listing(self) -> list[tuple[Schedule, str]]:
        """Every schedule with its case code, by case code."""
        stmt = (
            select(Schedule, Case.code)
            .join(Case, Case.id == Schedule.case_id)
            .order_by(Case.code, Schedule.flow_id)
        )
        return [(schedule, code) for schedule, code in await self._session.execute(stmt)]

    async def due(
        self, now: datetime, limit: int, after: tuple[datetime, int] | None = None
    ) -> list[Schedule]:
        """Active schedules whose reminder is due, earliest first, claimed for this process;
        with `after` (a due time and id), only those ordered after it: a reminder that waits
        for a flow stays due, and the next batch must not claim it again."""
        stmt = (
            select(Schedule)
            .where(Schedule.status == "active", Schedule.next_due_at <= now)
            .order_by(Schedule.next_due_at, Schedule.id)
            .limit(limit)
        )
        if after is not None:
            due_at, last_id = after
            stmt = stmt.where(
                or_(
                    Schedule.next_due_at > due_at,
                    and_(Schedule.next_due_at == due_at, Schedule.id > last_id),
                )
            )
        return await self._claim(stmt)

    async def follow_ups_due(self, now: datetime, limit: int) -> list[Schedule]:
        stmt = (
            select(Schedule)
            .where(Schedule.status == "active", Schedule.follow_up_at <= now)
            .order_by(Schedule.follow_up_at, Schedule.id)
            .limit(limit)
        )
        return await self._claim(stmt)

    async def answered_since(self, case_id: int, flow_id: str, since: datetime) -> bool:
        """Whether the case completed a run of the flow at or after `since`."""
        stmt = (
            select(Run.id)
            .where(
                Run.case_id == case_id,
                Run.flow_id == flow_id,
                Run.status == "completed",
                Run.ended_at >= since,
            )
            .limit(1)
        )
        return (await self._session.execute(stmt)).first() is not None

    async def answered_between(
        self, case_id: int, flow_id: str, since: datetime, limit: int = 200
    ) -> list[datetime]:
        """When the case completed runs of the flow, at or after `since`, oldest first (at
        most `limit`, the latest)."""
        stmt = (
            select(Run.ended_at)
            .where(
                Run.case_id == case_id,
                Run.flow_id == flow_id,
                Run.status == "completed",
                Run.ended_at >= since,
            )
            .order_by(Run.ended_at.desc())
            .limit(limit)
        )
        return sorted(at for at in (await self._session.execute(stmt)).scalars() if at)

    async def _claim(self, stmt: Select[Schedule]) -> list[Schedule]:
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())
