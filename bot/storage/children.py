"""The children of a case, and which child a run is about (issue #14).

A case's children are known by a number within the case (given once, never reused), an
optional pseudonymous label, year of birth, placement and sibling group — never a name. The
home visit rates one child per run (the Child Status Index rates one child); the link from a
run to its child is a row in `run_child`, and the case view reads each child's last visits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..engine.events import Value
from .models import Answer, CaseChild, Run, RunChild, Score

# How many of a case's last completed runs of a flow the case view reads at most: enough for
# a few visits of each child of a large sibling group.
RUNS_READ = 200


@dataclass(frozen=True)
class ChildVisit:
    """One completed run of a flow about one child (None: a run about no registered child):
    when it ended, its answers and its scores."""

    child_id: int | None
    run_id: int
    ended_at: datetime
    answers: dict[str, Value]
    scores: dict[str, float]


class ChildRepository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        case_id: int,
        *,
        now: datetime,
        label: str | None = None,
        birth_year: int | None = None,
        placement: str | None = None,
        sibling_group: str | None = None,
        with_siblings: bool | None = None,
    ) -> CaseChild:
        """A new child of the case, with the next number (the caller locks the case row, so
        two children added at once do not get the same one)."""
        highest = await self._session.scalar(
            select(func.max(CaseChild.number)).where(CaseChild.case_id == case_id)
        )
        child = CaseChild(
            case_id=case_id,
            number=(highest or 0) + 1,
            label=label,
            birth_year=birth_year,
            placement=placement,
            sibling_group=sibling_group,
            with_siblings=with_siblings,
            created_at=now,
        )
        self._session.add(child)
        await self._session.flush()
        return child

    async def of_case(self, case_id: int) -> list[CaseChild]:
        stmt = select(CaseChild).where(CaseChild.case_id == case_id).order_by(CaseChild.number)
        return list((await self._session.execute(stmt)).scalars())

    async def by_number(self, case_id: int, number: int) -> CaseChild | None:
        stmt = select(CaseChild).where(CaseChild.case_id == case_id, CaseChild.number == number)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get(self, child_id: int) -> CaseChild | None:
        return await self._session.get(CaseChild, child_id)

    async def update(self, child: CaseChild, **fields: object) -> None:
        """Change what is known of a child (a new placement, a sibling group)."""
        for name, value in fields.items():
            if name not in ("label", "birth_year", "placement", "sibling_group", "with_siblings"):
                raise ValueError(f"not a field of a child: {name}")
            setattr(child, name, value)
        await self._session.flush()

    async def remove(self, child: CaseChild) -> None:
        """Remove a child registered by mistake; their runs stay, as about no child."""
        await self._session.delete(child)
        await self._session.flush()

    async def has_runs(self, child_id: int) -> bool:
        """Whether any run (a rating) is about the child."""
        stmt = select(RunChild.run_id).where(RunChild.child_id == child_id).limit(1)
        return (await self._session.execute(stmt)).first() is not None

    async def link_run(self, run_id: int, child_id: int) -> None:
        self._session.add(RunChild(run_id=run_id, child_id=child_id))
        await self._session.flush()

    async def of_run(self, run_id: int) -> CaseChild | None:
        """The child a run is about, if any."""
        stmt = (
            select(CaseChild)
            .join(RunChild, RunChild.child_id == CaseChild.id)
            .where(RunChild.run_id == run_id)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def rated_since(self, case_id: int, flow_id: str, since: datetime) -> set[int]:
        """The children of the case with a run of the flow completed at or after `since`."""
        stmt = (
            select(RunChild.child_id)
            .join(Run, Run.id == RunChild.run_id)
            .where(
                Run.case_id == case_id,
                Run.flow_id == flow_id,
                Run.status == "completed",
                Run.ended_at >= since,
            )
        )
        return set((await self._session.execute(stmt)).scalars())

    async def visits(
        self, case_id: int, flow_id: str, per_child: int, keys: Sequence[str] = ()
    ) -> list[ChildVisit]:
        """Each child's last `per_child` completed runs of a flow (and those about no child
        as if of one more child), oldest first, with their scores and the answers under
        `keys`."""
        stmt = (
            select(Run.id, Run.ended_at, RunChild.child_id)
            .outerjoin(RunChild, RunChild.run_id == Run.id)
            .where(Run.case_id == case_id, Run.flow_id == flow_id, Run.status == "completed")
            .order_by(Run.ended_at.desc(), Run.id.desc())
            .limit(RUNS_READ)
        )
        kept: dict[int | None, list[tuple[int, datetime]]] = {}
        for run_id, ended, child_id in await self._session.execute(stmt):
            runs = kept.setdefault(child_id, [])
            if ended is not None and len(runs) < per_child:
                runs.append((run_id, ended))
        run_ids = [run_id for runs in kept.values() for run_id, _ in runs]
        if not run_ids:
            return []
        scores: dict[int, dict[str, float]] = {}
        for run_id, name, value in await self._session.execute(
            select(Score.run_id, Score.name, Score.value).where(Score.run_id.in_(run_ids))
        ):
            scores.setdefault(run_id, {})[name] = value
        answers: dict[int, dict[str, Value]] = {}
        if keys:
            for run_id, key, answer in await self._session.execute(
                select(Answer.run_id, Answer.key, Answer.value).where(
                    Answer.run_id.in_(run_ids), Answer.key.in_(list(keys))
                )
            ):
                answers.setdefault(run_id, {})[key] = answer
        return [
            ChildVisit(child_id, run_id, ended, answers.get(run_id, {}), scores.get(run_id, {}))
            for child_id, runs in kept.items()
            for run_id, ended in reversed(runs)
        ]
