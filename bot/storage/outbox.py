"""The outbox's repository: queueing notices, claiming them for sending, settling each.

A claim is a lease, not a removal: a claimed notice carries `claimed_until`, and one whose
sender died before settling it is claimed again once the lease has lapsed. Claiming locks
with SKIP LOCKED on PostgreSQL, so two processes asking at the same moment take different
notices; on SQLite the write lock does the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TypeVarTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..engine.events import JSONValue
from . import crypto
from .models import OutboxNotice, Person

if TYPE_CHECKING:
    from .uow import Written


class OutboxRepository:
    __slots__ = ("_lock", "_session", "_written")

    def __init__(self, session: AsyncSession, *, lock: bool, written: Written) -> None:
        self._session = session
        self._lock = lock
        self._written = written

    @property
    def queued(self) -> int:
        """How many notices this transaction queued: the database wakes the senders after the
        commit when there are any."""
        return self._written.notices

    async def add(
        self,
        person_id: int | None,
        body: Mapping[str, JSONValue],
        *,
        channel: str,
        at: datetime,
        urgent: bool,
        flag_id: int | None,
        chat: str | None = None,
        flush: bool = True,
    ) -> OutboxNotice:
        """Queue a notice for a person, or (`person_id` None) for a `chat` of `channel`.
        `flush=False` leaves writing it to the next flush (`flush()`): many notices queued at
        once (a digest's hundred) go in one round trip, in the order they were added."""
        notice = OutboxNotice(
            person_id=person_id,
            channel=channel,
            chat=chat,
            flag_id=flag_id,
            urgent=urgent,
            body=dict(body),
            state="queued",
            queued_at=at,
            due_at=at,
            attempts=0,
        )
        self._session.add(notice)
        if flush:
            await self._session.flush()
        self._written.notices += 1
        if urgent:
            self._written.urgent_notices += 1
        return notice

    async def flush(self) -> None:
        """Write the notices added with `flush=False`."""
        await self._session.flush()

    async def claim(
        self,
        channel: str,
        now: datetime,
        until: datetime,
        limit: int,
        *,
        urgent_only: bool,
        external_id: str | None = None,
    ) -> list[tuple[OutboxNotice, Person | None]]:
        """Up to `limit` queued notices for people on `channel` that are due and not claimed
        by anyone (or whose claim lapsed), urgent ones first, oldest first (or only urgent
        ones; or only one person's); claimed until `until`, each try counted."""
        stmt = (
            _due(select(OutboxNotice, Person), channel, now, urgent_only, external_id)
            .order_by(OutboxNotice.urgent.desc(), OutboxNotice.id)
            .limit(limit)
        )
        if self._lock:
            stmt = stmt.with_for_update(of=OutboxNotice, skip_locked=True)
        claimed: list[tuple[OutboxNotice, Person | None]] = [
            (row[0], row[1]) for row in await self._session.execute(stmt)
        ]
        for notice, _person in claimed:
            notice.claimed_until = until
            notice.attempts += 1
        await self._session.flush()
        return claimed

    async def any_due(
        self, channel: str, now: datetime, *, urgent_only: bool, external_id: str | None = None
    ) -> bool:
        stmt = _due(select(OutboxNotice.id), channel, now, urgent_only, external_id).limit(1)
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, notice_id: int) -> OutboxNotice | None:
        """The notice, locked in a write transaction (two outcomes of it never both pass)."""
        return await self._session.get(
            OutboxNotice, notice_id, populate_existing=True, with_for_update=self._lock
        )

    async def settle(self, notice: OutboxNotice, state: str, at: datetime) -> None:
        """Sent, unreachable or failed: done with, never claimed again."""
        notice.state = state
        notice.done_at = at
        notice.claimed_until = None
        await self._session.flush()

    async def retry_at(self, notice: OutboxNotice, at: datetime) -> None:
        """Not taken this time: released, to be tried again at `at`."""
        notice.due_at = at
        notice.claimed_until = None
        await self._session.flush()

    async def of_flags(self, flag_ids: Iterable[int]) -> list[OutboxNotice]:
        ids = list(flag_ids)
        if not ids:
            return []
        stmt = select(OutboxNotice).where(OutboxNotice.flag_id.in_(ids)).order_by(OutboxNotice.id)
        return list((await self._session.execute(stmt)).scalars())

    async def of_person(self, person_id: int, state: str | None = None) -> list[OutboxNotice]:
        """The person's notices (in one state: "queued" ones are still to be sent)."""
        stmt = select(OutboxNotice).where(OutboxNotice.person_id == person_id)
        if state is not None:
            stmt = stmt.where(OutboxNotice.state == state)
        return list((await self._session.execute(stmt.order_by(OutboxNotice.id))).scalars())

    async def counts(self) -> dict[str, int]:
        """How many notices are in each state (for `wegwijzer doctor` and the bench)."""
        stmt = select(OutboxNotice.state, func.count()).group_by(OutboxNotice.state)
        return {state: count for state, count in await self._session.execute(stmt)}

    async def oldest_due(self, now: datetime) -> datetime | None:
        """When the notice that has waited longest since it came due became due (None: none
        is due and unsent), claimed or not: how far behind the senders are."""
        stmt = select(func.min(OutboxNotice.due_at)).where(
            OutboxNotice.state == "queued", OutboxNotice.due_at <= now
        )
        return (await self._session.execute(stmt)).scalar_one()

    async def waiting_since(self, before: datetime) -> int:
        """How many notices queued before `before` are still waiting."""
        stmt = select(func.count()).where(
            OutboxNotice.state == "queued", OutboxNotice.queued_at < before
        )
        return int((await self._session.execute(stmt)).scalar_one())


_Columns = TypeVarTuple("_Columns")


def _due(
    stmt: Select[*_Columns],
    channel: str,
    now: datetime,
    urgent_only: bool,
    external_id: str | None,
) -> Select[*_Columns]:
    """Queued, due, unclaimed (or the claim lapsed), for `channel`."""
    stmt = stmt.outerjoin(Person, Person.id == OutboxNotice.person_id).where(
        OutboxNotice.state == "queued",
        OutboxNotice.due_at <= now,
        or_(OutboxNotice.claimed_until.is_(None), OutboxNotice.claimed_until <= now),
        OutboxNotice.channel == channel,
    )
    if external_id is not None:
        stmt = stmt.where(Person.external_key == crypto.active().lookup_key(channel, external_id))
    return stmt.where(OutboxNotice.urgent.is_(True)) if urgent_only else stmt
