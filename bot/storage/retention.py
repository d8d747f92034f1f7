"""What the retention terms of privacy.yaml make due, found and removed a batch at a time.

Each question is asked one way for counting (the dry run, `count_*`) and for taking a batch
(`*_due`, `prune_*`), so what a dry run announces is what a run then removes. A batch of cases
or people is claimed with SKIP LOCKED on PostgreSQL: two processes running retention at once
take different rows, and a row another one has erased no longer matches. What is removed goes
through `ErasureRepository`, the one way the bot removes a case's or a person's data.

A legal hold on a case keeps everything of it: its content, its family's contact data, the
invites to it and the notices about its flags (when the team was told can matter in court).
Sealed columns are never compared here, only times, states and ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Delete,
    Select,
    and_,
    delete,
    exists,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from .models import Case, Flag, Invite, Membership, OutboxNotice, Person, ProcessedUpdate

__all__ = ["SETTLED_NOTICE_STATES", "RetentionRepository"]

# Notices nobody will try to send again.
SETTLED_NOTICE_STATES = ("sent", "unreachable", "failed", "withdrawn")


class RetentionRepository:
    __slots__ = ("_lock", "_session")

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        self._session = session
        self._lock = lock

    # --- the case file ------------------------------------------------------------------

    async def count_cases(self, closed_before: datetime) -> int:
        return await self._count(select(func.count(Case.id)).where(_case_due(closed_before)))

    async def count_held(self, closed_before: datetime) -> int:
        """Cases whose term has ended that a legal hold keeps."""
        stmt = select(func.count(Case.id)).where(
            _case_ended(closed_before), Case.legal_hold_at.is_not(None)
        )
        return await self._count(stmt)

    async def cases_due(self, closed_before: datetime, limit: int) -> list[int]:
        """Ids of cases closed before the cut-off, neither erased nor held, claimed."""
        stmt = select(Case.id).where(_case_due(closed_before)).order_by(Case.id).limit(limit)
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True, of=Case)
        return list((await self._session.execute(stmt)).scalars())

    # --- contact data -------------------------------------------------------------------

    async def count_contacts(self, ended_before: datetime) -> int:
        stmt = select(func.count(Person.id)).where(_contact_due(ended_before))
        return await self._count(stmt)

    async def contacts_due(self, ended_before: datetime, limit: int) -> list[int]:
        """Ids of people whose contact term ended before the cut-off, claimed."""
        stmt = select(Person.id).where(_contact_due(ended_before)).order_by(Person.id).limit(limit)
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True, of=Person)
        return list((await self._session.execute(stmt)).scalars())

    # --- rows deleted outright ----------------------------------------------------------

    async def count_updates(self, before: datetime) -> int:
        return await self._count(
            select(func.count()).select_from(ProcessedUpdate).where(_update_due(before))
        )

    async def prune_updates(self, before: datetime, limit: int) -> int:
        batch = select(ProcessedUpdate.key).where(_update_due(before)).limit(limit)
        return await self._delete(delete(ProcessedUpdate).where(ProcessedUpdate.key.in_(batch)))

    async def count_notices(self, before: datetime) -> int:
        return await self._count(select(func.count(OutboxNotice.id)).where(_notice_due(before)))

    async def prune_notices(self, before: datetime, limit: int) -> int:
        batch = select(OutboxNotice.id).where(_notice_due(before)).limit(limit)
        return await self._delete(delete(OutboxNotice).where(OutboxNotice.id.in_(batch)))

    async def count_invites(self, before: datetime) -> int:
        return await self._count(select(func.count(Invite.id)).where(_invite_due(before)))

    async def prune_invites(self, before: datetime, limit: int) -> int:
        batch = select(Invite.id).where(_invite_due(before)).limit(limit)
        return await self._delete(delete(Invite).where(Invite.id.in_(batch)))

    async def _count(self, stmt: Select[int]) -> int:
        return int((await self._session.execute(stmt)).scalar_one())

    async def _delete(self, stmt: Delete) -> int:
        # Core deletes of rows no object of this session holds (the batch is a subquery; the
        # outer statement needs no LIMIT, which neither backend's DELETE offers alike).
        result = await self._session.execute(stmt.execution_options(synchronize_session=False))
        if not isinstance(result, CursorResult):
            raise TypeError("not a statement that changes rows")
        return result.rowcount


def _held() -> ColumnElement[bool]:
    return Case.legal_hold_at.is_not(None)


def _case_ended(closed_before: datetime) -> ColumnElement[bool]:
    return and_(
        Case.status == "closed",
        Case.closed_at < closed_before,
        Case.erased_at.is_(None),
    )


def _case_due(closed_before: datetime) -> ColumnElement[bool]:
    return and_(_case_ended(closed_before), not_(_held()))


def _a_case_of_theirs(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The person (the outer query's) belongs to a case for which all of `where` holds."""
    return exists(
        select(Membership.case_id)
        .join(Case, Case.id == Membership.case_id)
        .where(Membership.person_id == Person.id, *where)
    )


def _contact_due(ended_before: datetime) -> ColumnElement[bool]:
    """Whose contact term ended before the cut-off, by role.

    A family member: they left before it, or every case of theirs was closed before it; never
    while a case of theirs is open (they are part of work still going on) or held (a hold
    keeps everything of the case, the way to reach its family included). Staff: they left
    before it, unless a case they are the caseworker of is held.
    """
    left = Person.left_at < ended_before
    closed_since = or_(Case.closed_at.is_(None), Case.closed_at >= ended_before)
    family = and_(
        Person.role == "family",
        not_(_a_case_of_theirs(or_(Case.status != "closed", _held()))),
        or_(
            left,
            and_(
                _a_case_of_theirs(),
                not_(_a_case_of_theirs(closed_since)),
            ),
        ),
    )
    staff = and_(
        Person.role != "family",
        left,
        not_(exists(select(Case.id).where(Case.caseworker_id == Person.id, _held()))),
    )
    return and_(Person.erased_at.is_(None), or_(family, staff))


def _update_due(before: datetime) -> ColumnElement[bool]:
    return ProcessedUpdate.processed_at < before


def _notice_due(before: datetime) -> ColumnElement[bool]:
    about_a_held_case = exists(
        select(Flag.id)
        .join(Case, Case.id == Flag.case_id)
        .where(Flag.id == OutboxNotice.flag_id, _held())
    )
    return and_(
        OutboxNotice.state.in_(SETTLED_NOTICE_STATES),
        OutboxNotice.done_at < before,
        not_(about_a_held_case),
    )


def _invite_due(before: datetime) -> ColumnElement[bool]:
    # Used before the cut-off, or never used and expired before it.
    ended = or_(
        Invite.used_at < before,
        and_(Invite.used_at.is_(None), Invite.expires_at < before),
    )
    to_a_held_case = exists(select(Case.id).where(Case.id == Invite.case_id, _held()))
    return and_(ended, not_(to_a_held_case))
