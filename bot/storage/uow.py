"""The unit of work: one transaction and the repositories that share it.

Design principle 4 handles every update in a single transaction (read the run, write answers,
flags and the new state, commit, then send). Handing the caller one object whose repositories
all use the same session makes that the only way to touch the database: there is no second
connection to write through by accident, and nothing is committed until the `Database`
context manager that made the unit of work decides to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from .audit import AuditRepository
from .children import ChildRepository
from .erasure import ErasureRepository
from .outbox import OutboxRepository
from .overview import OverviewRepository
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
from .web import WebRepository

__all__ = ["UnitOfWork", "Written"]


@dataclass(slots=True)
class Written:
    """What a transaction wrote that someone watching the bot counts (the operations
    metrics): told to `Database.on_committed` after the commit, so a rolled-back transaction
    counts nothing. Counts and kinds only, never whose or what."""

    answers: int = 0
    notices: int = 0
    urgent_notices: int = 0
    # One (level, kind) per alarm: a flag raised, or added to, by a rule or the emergency route.
    alarms: tuple[tuple[str, str], ...] = ()

    def alarm(self, level: str, kind: str) -> None:
        self.alarms += ((level, kind),)


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
        "overview",
        "people",
        "read_only",
        "retention",
        "rights",
        "runs",
        "schedules",
        "scores",
        "sealed",
        "updates",
        "web",
        "written",
    )

    def __init__(self, session: AsyncSession, *, read_only: bool, lock_rows: bool) -> None:
        self.read_only = read_only
        self.written = Written()
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
        self.outbox = OutboxRepository(session, lock=lock_rows, written=self.written)
        self.sealed = SealedColumns(session, lock=lock_rows)
        self.erasure = ErasureRepository(session)
        self.retention = RetentionRepository(session, lock=lock_rows)
        self.rights = RightsRepository(session)
        self.web = WebRepository(session, lock=lock_rows)
        self.overview = OverviewRepository(session)
