"""The unit of work: one transaction and the repositories that share it.

Design principle 4 handles every update in a single transaction (read the run, write answers,
flags and the new state, commit, then send). Handing the caller one object whose repositories
all use the same session makes that the only way to touch the database: there is no second
connection to write through by accident, and nothing is committed until the `Database`
context manager that made the unit of work decides to.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from .audit import AuditRepository
from .children import ChildRepository
from .erasure import ErasureRepository
from .outbox import OutboxRepository
from .repositories import (
    AnswerRepository,
    CaseRepository,
    FlagRepository,
    InviteRepository,
    PersonRepository,
    RunRepository,
    ScoreRepository,
    UpdateRepository,
)
from .retention import RetentionRepository
from .rights import RightsRepository
from .schedules import ScheduleRepository
from .sealed import SealedColumns

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """Repositories bound to one open transaction; made by `Database.transaction()`/`reading()`."""

    __slots__ = (
        "answers",
        "audit",
        "cases",
        "children",
        "erasure",
        "flags",
        "invites",
        "outbox",
        "people",
        "read_only",
        "retention",
        "rights",
        "runs",
        "schedules",
        "scores",
        "sealed",
        "updates",
    )

    def __init__(self, session: AsyncSession, *, read_only: bool, lock_rows: bool) -> None:
        self.read_only = read_only
        self.people = PersonRepository(session)
        self.cases = CaseRepository(session, lock=lock_rows)
        self.children = ChildRepository(session)
        self.invites = InviteRepository(session)
        self.runs = RunRepository(session, lock=lock_rows)
        self.answers = AnswerRepository(session)
        self.scores = ScoreRepository(session)
        self.flags = FlagRepository(session, lock=lock_rows)
        self.audit = AuditRepository(session)
        self.schedules = ScheduleRepository(session, lock=lock_rows)
        self.updates = UpdateRepository(session)
        self.outbox = OutboxRepository(session, lock=lock_rows)
        self.sealed = SealedColumns(session, lock=lock_rows)
        self.erasure = ErasureRepository(session)
        self.retention = RetentionRepository(session, lock=lock_rows)
        self.rights = RightsRepository(session)
