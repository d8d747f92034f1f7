"""Export of every answer as flat rows, streamed so that a million answers fit in any memory.

Follow-up and research need the answers outside the bot (principle: every answer is kept for
follow-up). Loading them all would grow with the organisation, so the answers come through a
server-side cursor in batches, and the scores and flags of the runs a batch brings are fetched
together, once, and remembered only for a bounded number of recent runs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..engine.events import Value
from .models import Answer, Case, CaseChild, Flag, Run, RunChild, Score

__all__ = ["ExportRow", "export_answer_rows"]

# Rows fetched per round trip: large enough to amortise the round trip, small enough to be
# nothing next to the interpreter itself.
BATCH_SIZE = 500
# Answers come in time order, so runs that were filled in at the same time interleave; a
# small cache of their scores and flags avoids re-reading them for the next batches.
RUN_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class ExportRow:
    """One answer with where it belongs and what its run concluded."""

    case_code: str | None
    flow_id: str
    flow_version: int
    run_id: int
    key: str
    value: Value
    answered_at: datetime
    scores: dict[str, float]
    flags: list[dict[str, str]]
    # The child of the case the run is about (its number in the case): the home visit's.
    child: int | None = None


async def export_answer_rows(
    engine: AsyncEngine, since: datetime | None = None
) -> AsyncIterator[ExportRow]:
    """Yield every answer (answered at or after `since`) in answered_at, run id, key order.

    `since` is inclusive, so an incremental export that passes the last time it saw loses no
    answer that shares that timestamp (it may see that one again). Close the iterator when
    stopping early (`contextlib.aclosing`) so its connection goes back to the pool at once.
    """
    stmt = (
        select(
            Answer.run_id,
            Answer.key,
            Answer.value,
            Answer.answered_at,
            Run.flow_id,
            Run.flow_version,
            Case.code,
            CaseChild.number,
        )
        .join(Run, Run.id == Answer.run_id)
        .outerjoin(Case, Case.id == Run.case_id)
        .outerjoin(RunChild, RunChild.run_id == Run.id)
        .outerjoin(CaseChild, CaseChild.id == RunChild.child_id)
        .order_by(Answer.answered_at, Answer.run_id, Answer.key)
        .execution_options(yield_per=BATCH_SIZE)
    )
    if since is not None:
        stmt = stmt.where(Answer.answered_at >= since)

    cache: OrderedDict[int, _Outcome] = OrderedDict()
    async with engine.connect() as conn, conn.stream(stmt) as result:
        async for batch in result.partitions(BATCH_SIZE):
            # One query for the scores and one for the flags of all the batch's new runs: a
            # round trip per run would cost more than everything else an export does.
            outcomes = {run_id: cache[run_id] for run_id, *_ in batch if run_id in cache}
            fresh = await _outcomes(conn, {run_id for run_id, *_ in batch} - outcomes.keys())
            outcomes.update(fresh)
            for run_id, key, value, answered_at, flow_id, flow_version, code, child in batch:
                scores, flags = outcomes[run_id]
                yield ExportRow(
                    case_code=code,
                    flow_id=flow_id,
                    flow_version=flow_version,
                    run_id=run_id,
                    key=key,
                    value=value,
                    answered_at=answered_at,
                    # Copies: a consumer changing one row must not change the next row of its
                    # run.
                    scores=dict(scores),
                    flags=[dict(flag) for flag in flags],
                    child=child,
                )
            for run_id in outcomes:
                cache[run_id] = outcomes[run_id]
                cache.move_to_end(run_id)
            while len(cache) > RUN_CACHE_SIZE:
                cache.popitem(last=False)


_Outcome = tuple[dict[str, float], list[dict[str, str]]]


async def _outcomes(conn: AsyncConnection, run_ids: set[int]) -> dict[int, _Outcome]:
    """The scores and flags of these runs (every run in the result, with none or some)."""
    found: dict[int, _Outcome] = {run_id: ({}, []) for run_id in run_ids}
    if not run_ids:
        return found
    scores = await conn.execute(
        select(Score.run_id, Score.name, Score.value)
        .where(Score.run_id.in_(run_ids))
        .order_by(Score.run_id, Score.name)
    )
    for run_id, name, value in scores:
        found[run_id][0][name] = value
    flags = await conn.execute(
        select(Flag.run_id, Flag.rule, Flag.level)
        .where(Flag.run_id.in_(run_ids))
        .order_by(Flag.run_id, Flag.raised_at, Flag.id)
    )
    for flag_run, rule, level in flags:
        if flag_run is not None:  # always, by the query; a flag may outlive its run
            found[flag_run][1].append({"rule": rule, "level": level})
    return found
