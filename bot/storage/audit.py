"""The audit log's repository: it can add and read, and nothing else.

There is deliberately no update or delete here; the database refuses both as well (triggers
from migration 0003), so what the log says happened is what happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..engine.events import JSONValue
from .models import ROLES, AuditEvent, Membership

# Who can appear as the actor: a person in a role, the bot itself (escalations, digests), an
# operator at the command line, or someone in a browser not signed in (a refused sign-in link).
ACTOR_ROLES = (*ROLES, "system", "operator", "browser")


class AuditRepository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        *,
        at: datetime,
        actor_id: int | None,
        actor_role: str,
        action: str,
        case_id: int | None = None,
        flag_id: int | None = None,
        note: str | None = None,
        detail: Mapping[str, JSONValue] | None = None,
        flush: bool = True,
    ) -> AuditEvent:
        """Add one line to the audit log. `flush=False` leaves it to the transaction's next
        flush (its id is not known before): many lines written at once go in one round trip,
        in the order they were recorded."""
        if actor_role not in ACTOR_ROLES:
            raise ValueError(f"unknown actor role {actor_role!r}")
        event = AuditEvent(
            at=at,
            actor_id=actor_id,
            actor_role=actor_role,
            action=action,
            case_id=case_id,
            flag_id=flag_id,
            note=note,
            detail=dict(detail or {}),
        )
        self._session.add(event)
        if flush:
            await self._session.flush()
        return event

    async def of_flags(self, flag_ids: Iterable[int]) -> list[AuditEvent]:
        """The history of these flags, oldest first."""
        wanted = set(flag_ids)
        if not wanted:
            return []
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.flag_id.in_(wanted))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def last_of(self, case_id: int | None, actions: Iterable[str]) -> AuditEvent | None:
        """A case's latest event among these actions (the last closure decision, say); with
        `case_id` None, the latest of those about no case (the last retention run)."""
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.case_id == case_id, AuditEvent.action.in_(list(actions)))
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def of_case(
        self,
        case_id: int,
        actions: Iterable[str],
        *,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        """A case's events among these actions (since `since`), newest first, at most
        `limit`: read backwards along the (case, time) index."""
        stmt = select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.action.in_(list(actions))
        )
        if since is not None:
            stmt = stmt.where(AuditEvent.at >= since)
        stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
        return list((await self._session.execute(stmt)).scalars())

    async def events(
        self,
        case_id: int | None = None,
        since: datetime | None = None,
        person_id: int | None = None,
    ) -> list[AuditEvent]:
        """The log, oldest first; only one case's events when `case_id` is given; only those
        about one person's data when `person_id` is: the events of every case they are a
        member of (a flag's events carry its case), and what they did themselves."""
        stmt = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
        if case_id is not None:
            stmt = stmt.where(AuditEvent.case_id == case_id)
        if person_id is not None:
            # A subquery, not a join: each event once, however the person is tied to it.
            their_cases = select(Membership.case_id).where(Membership.person_id == person_id)
            stmt = stmt.where(
                or_(AuditEvent.case_id.in_(their_cases), AuditEvent.actor_id == person_id)
            )
        if since is not None:
            stmt = stmt.where(AuditEvent.at >= since)
        return list((await self._session.execute(stmt)).scalars())
