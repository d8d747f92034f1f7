"""Export of every answer as flat rows, streamed so that a million answers fit in any memory.

Follow-up and research need the answers outside the bot (principle: every answer is kept for
follow-up). Loading them all would grow with the organisation, so the answers come through a
server-side cursor in batches, alone (no join: what they share with the other answers of
their run comes once per run). For each batch, what its runs need that is not remembered yet
(the flow, the case and child, the scores and flags) is fetched in three queries, and
remembered for a bounded number of recent runs.

The runs' ids go to those queries as ONE parameter (an array on PostgreSQL, a JSON array read
with `json_each` on SQLite), not as one parameter per id: the statement is the same whatever
the batch holds, so PostgreSQL plans it once and SQLite never meets its limit on parameters.
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Row,
    Select,
    String,
    Text,
    any_,
    bindparam,
    column,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from ..engine.events import JSONValue, Value
from .crypto import open_json, stored_json
from .models import Answer, Case, CaseChild, Flag, Run, RunChild, Score

__all__ = ["AnswerBatch", "ExportRow", "RunFacts", "answer_batches", "export_answer_rows"]

# Answers fetched per round trip: large enough that the round trip and the queries for the
# batch's runs cost little per answer, small enough to be nothing next to the interpreter.
BATCH_SIZE = 2_000
# Answers come in time order, so runs that were filled in at the same time interleave; the
# facts of this many recent runs are remembered so the next batches need not read them again.
RUN_CACHE_SIZE = 1_024


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What every answer of a run shares: its flow, case and child, and what it concluded.
    Shared by all those answers: read it, do not change it."""

    flow_id: str
    flow_version: int
    case_code: str | None
    # The child of the case the run is about (its number in the case): the home visit's.
    child: int | None
    scores: dict[str, float]
    flags: list[dict[str, str]]


# One answer: its run's id, its key, its value and when it was given, in UTC but naive (made
# aware, each of a million answers would cost more than writing its row; attach UTC where the
# time is shown or compared).
AnswerTuple = tuple[int, str, Value, datetime]
# The context the answers' values are sealed in: the column's (`Answer.value`), which holds
# answers (`Value`) only.
_VALUE = "answer.value"
_open = cast(Callable[[JSONValue, str], Value], open_json)


@dataclass(frozen=True, slots=True)
class AnswerBatch:
    """Answers in export order, with the facts of every run they belong to."""

    answers: Sequence[AnswerTuple]
    runs: Mapping[int, RunFacts]


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


async def answer_batches(
    engine: AsyncEngine, since: datetime | None = None
) -> AsyncGenerator[AnswerBatch, None]:
    """Yield every answer (answered at or after `since`) in answered_at, run id, key order,
    in batches of up to `BATCH_SIZE`.

    `since` is inclusive, so an incremental export that passes the last time it saw loses no
    answer that shares that timestamp (it may see that one again). An answer whose run is
    gone by the time its batch's runs are read (deleted meanwhile) is left out. Close the
    iterator when stopping early (`contextlib.aclosing`) so its connection goes back to the
    pool at once.
    """
    # The value and the time as the driver gives them, opened and read below in one loop: the
    # column types would do the same through a chain of calls per value, a third of what an
    # export of a million answers costs. The time stays naive (UTC): see `AnswerTuple`.
    stmt = select(
        Answer.run_id,
        Answer.key,
        type_coerce(Answer.value, Text),
        type_coerce(Answer.answered_at, DateTime()),
    ).order_by(Answer.answered_at, Answer.run_id, Answer.key)
    if since is not None:
        stmt = stmt.where(Answer.answered_at >= since)
    stmt = stmt.execution_options(stream_results=True, yield_per=BATCH_SIZE)

    cache: OrderedDict[int, RunFacts] = OrderedDict()
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # One snapshot for the whole export: the runs read for a batch are those of the
            # moment its answers were read, however long the export takes.
            await conn.execution_options(isolation_level="REPEATABLE READ")
        postgres = conn.dialect.name == "postgresql"
        async with conn.stream(stmt) as result:
            async for partition in result.partitions(BATCH_SIZE):
                answers = _opened(partition, postgres)
                wanted = {run_id for run_id, *_ in answers}
                runs = {run_id: cache[run_id] for run_id in wanted if run_id in cache}
                runs.update(await _run_facts(conn, sorted(wanted - runs.keys()), postgres))
                if len(runs) < len(wanted):  # a run deleted since its answers were read
                    answers = [answer for answer in answers if answer[0] in runs]
                yield AnswerBatch(answers, runs)
                for run_id, facts in runs.items():
                    cache[run_id] = facts
                    cache.move_to_end(run_id)
                while len(cache) > RUN_CACHE_SIZE:
                    cache.popitem(last=False)


def _opened(rows: Sequence[Row[int, str, str, datetime]], postgres: bool) -> list[AnswerTuple]:
    if postgres:  # asyncpg's JSON codec (`stored_json`) has read the column already
        return [(run_id, key, _open(value, _VALUE), at) for run_id, key, value, at in rows]
    return [(run_id, key, _open(stored_json(value), _VALUE), at) for run_id, key, value, at in rows]


async def export_answer_rows(
    engine: AsyncEngine, since: datetime | None = None
) -> AsyncIterator[ExportRow]:
    """The answers of `answer_batches`, one `ExportRow` each (for tools and tests: an export
    of millions reads the batches)."""
    async for batch in answer_batches(engine, since):
        for run_id, key, value, answered_at in batch.answers:
            facts = batch.runs[run_id]
            yield ExportRow(
                case_code=facts.case_code,
                flow_id=facts.flow_id,
                flow_version=facts.flow_version,
                run_id=run_id,
                key=key,
                value=value,
                answered_at=answered_at.replace(tzinfo=UTC),
                # Copies: a consumer changing one row must not change the next row of its run.
                scores=dict(facts.scores),
                flags=[dict(flag) for flag in facts.flags],
                child=facts.child,
            )


def _among(
    run_id: InstrumentedAttribute[int] | InstrumentedAttribute[int | None], postgres: bool
) -> ColumnElement[bool]:
    """`run_id` is one of the ids bound as the single parameter `ids`."""
    if postgres:
        return run_id == any_(bindparam("ids", type_=ARRAY(Integer)))
    listed = select(column("value", Integer)).select_from(
        func.json_each(bindparam("ids", type_=String))
    )
    return run_id.in_(listed.scalar_subquery())


@dataclass(frozen=True)
class _FactQueries:
    """The three statements of `_run_facts`, made once per dialect (not per batch)."""

    scores: Select[int, str, float]
    flags: Select[int | None, str, str]
    runs: Select[int, str, int, str, int]


@functools.cache
def _fact_queries(postgres: bool) -> _FactQueries:
    return _FactQueries(
        scores=select(Score.run_id, Score.name, Score.value)
        .where(_among(Score.run_id, postgres))
        .order_by(Score.run_id, Score.name),
        flags=select(Flag.run_id, Flag.rule, Flag.level)
        .where(_among(Flag.run_id, postgres))
        .order_by(Flag.run_id, Flag.raised_at, Flag.id),
        runs=select(Run.id, Run.flow_id, Run.flow_version, Case.code, CaseChild.number)
        .outerjoin(Case, Case.id == Run.case_id)
        .outerjoin(RunChild, RunChild.run_id == Run.id)
        .outerjoin(CaseChild, CaseChild.id == RunChild.child_id)
        .where(_among(Run.id, postgres)),
    )


async def _run_facts(
    conn: AsyncConnection, run_ids: list[int], postgres: bool
) -> dict[int, RunFacts]:
    """The facts of these runs (those that still exist), in three queries."""
    if not run_ids:
        return {}
    queries = _fact_queries(postgres)
    ids = {"ids": run_ids if postgres else json.dumps(run_ids)}
    scores: dict[int, dict[str, float]] = {}
    score_rows = await conn.execute(queries.scores, ids)
    for run_id, name, value in score_rows:
        scores.setdefault(run_id, {})[name] = value
    flags: dict[int, list[dict[str, str]]] = {}
    flag_rows = await conn.execute(queries.flags, ids)
    for flag_run, rule, level in flag_rows:
        if flag_run is not None:  # always, by the query; a flag may outlive its run
            flags.setdefault(flag_run, []).append({"rule": rule, "level": level})
    found: dict[int, RunFacts] = {}
    for run_id, flow_id, flow_version, code, child in await conn.execute(queries.runs, ids):
        found[run_id] = RunFacts(
            flow_id, flow_version, code, child, scores.get(run_id, {}), flags.get(run_id, [])
        )
    return found
