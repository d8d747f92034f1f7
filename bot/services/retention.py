"""The retention run: what the terms of privacy.yaml make due is removed, a batch at a time.

`plan` says, per kind of data, what is due now and from which cut-off, changing nothing (the
dry run); `run` removes it, each batch in a transaction of its own so the bot's handlers wait
at most one batch, and records one `retention_run` event in the audit log with the counts per
kind and the cut-offs (no free text). The audit log's events themselves are never removed:
erasing a case blanks their notes and keeps that they happened.

What goes, by kind (`bot.storage.retention` holds the questions, `bot.storage.erasure` the one
way of removing a case's or a person's data):

- contact: how to reach a person (Telegram id, language, timezone), once they left, or once
  every case of theirs was closed, longer ago than the term; their answers stay with the case
  file until its own term. First, so that the people a case's erasure forgets are counted
  here, as the dry run counts them;
- case_file: a case closed longer ago than the term, unless a legal hold keeps it;
- processed_updates, notices (settled ones) and invites (used or expired): deleted.

Exports and QR images are written where the operator says and never kept by the bot: nothing
of them to remove. A second run at the same time (two bot processes) takes other rows or finds
nothing: rows are claimed with SKIP LOCKED, and what one run removed no longer matches.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ..app import Wegwijzer
from ..engine.events import JSONValue
from ..rules.privacy import RetentionKind
from ..storage import UnitOfWork
from . import audit
from .notices import Notice

__all__ = [
    "BATCH",
    "NOT_KEPT",
    "RETENTION_RUN",
    "Due",
    "Plan",
    "Removed",
    "daily_retention",
    "plan",
    "run",
]

log = logging.getLogger(__name__)

# Rows (or cases, or people) per transaction: a case's erasure touches many tables, and a
# handler waiting for SQLite's write lock must hardly notice a batch.
BATCH = 50
RETENTION_RUN = "retention_run"
# What the bot writes but never keeps (said in the output, so nobody looks for it).
NOT_KEPT = ("exports", "QR images")
# How often the bot runs retention on its own.
EVERY = timedelta(days=1)


@dataclass(frozen=True)
class Due:
    """One kind of data: its term, the cut-off it gives now, and how many are due."""

    kind: RetentionKind
    term: str
    cutoff: datetime
    count: int

    def as_dict(self) -> dict[str, JSONValue]:
        return {"term": self.term, "cutoff": _iso(self.cutoff), "count": self.count}


@dataclass(frozen=True)
class Plan:
    """What is due at `at`, per kind in the order a run removes it; `held`: cases past their
    term that a legal hold keeps."""

    at: datetime
    kinds: tuple[Due, ...]
    held: int

    def count(self, kind: RetentionKind) -> int:
        return next(due.count for due in self.kinds if due.kind == kind)

    def as_dict(self) -> dict[str, JSONValue]:
        return {
            "at": _iso(self.at),
            "kinds": {due.kind: due.as_dict() for due in self.kinds},
            "held": self.held,
            "not_kept": list(NOT_KEPT),
        }


@dataclass(frozen=True)
class Removed(Plan):
    """What a run removed (`kinds` counts what went); `erased`: what the erased cases held,
    by what it was (runs, children, flags blanked, ...); `dry_run`: nothing was removed."""

    erased: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, JSONValue]:
        return {**super().as_dict(), "dry_run": self.dry_run, "erased": dict(self.erased)}


# The order of a run: contact data before case files (see the module's docstring).
_ORDER: tuple[RetentionKind, ...] = (
    "contact",
    "case_file",
    "processed_updates",
    "notices",
    "invites",
)


def _cutoffs(app: Wegwijzer, now: datetime) -> dict[RetentionKind, datetime]:
    return {kind: app.privacy.retention.term(kind).before(now) for kind in _ORDER}


async def plan(app: Wegwijzer, now: datetime | None = None) -> Plan:
    """What a run at `now` (default: the clock) would remove, changing nothing."""
    now = now or app.clock()
    cutoffs = _cutoffs(app, now)
    async with app.database.reading() as uow:
        store = uow.retention
        counts: dict[RetentionKind, int] = {
            "contact": await store.count_contacts(cutoffs["contact"]),
            "case_file": await store.count_cases(cutoffs["case_file"]),
            "processed_updates": await store.count_updates(cutoffs["processed_updates"]),
            "notices": await store.count_notices(cutoffs["notices"]),
            "invites": await store.count_invites(cutoffs["invites"]),
        }
        held = await store.count_held(cutoffs["case_file"])
    return Plan(now, _dues(app, cutoffs, counts), held)


async def run(
    app: Wegwijzer,
    now: datetime | None = None,
    *,
    batch: int = BATCH,
    dry_run: bool = False,
    actor: str = audit.OPERATOR,
) -> Removed:
    """Remove what is due at `now` (default: the clock), batch by batch, and record the run
    in the audit log (by `actor`: the operator, or the bot itself). With `dry_run` nothing is
    removed nor recorded, and the counts are those of `plan`."""
    if batch < 1:
        raise ValueError("a batch holds at least one row")
    now = now or app.clock()
    if dry_run:
        planned = await plan(app, now)
        return Removed(planned.at, planned.kinds, planned.held, dry_run=True)
    cutoffs = _cutoffs(app, now)
    erased: dict[str, int] = {}

    async def forget(uow: UnitOfWork) -> int:
        people = await uow.retention.contacts_due(cutoffs["contact"], batch)
        return sum([await uow.erasure.forget_contact(person, now) for person in people])

    async def erase(uow: UnitOfWork) -> int:
        cases = await uow.retention.cases_due(cutoffs["case_file"], batch)
        for case in cases:
            for name, count in (await uow.erasure.erase_case(case, now)).items():
                erased[name] = erased.get(name, 0) + count
        return len(cases)

    steps: dict[RetentionKind, Callable[[UnitOfWork], Awaitable[int]]] = {
        "contact": forget,
        "case_file": erase,
        "notices": lambda uow: uow.retention.prune_notices(cutoffs["notices"], batch),
        "invites": lambda uow: uow.retention.prune_invites(cutoffs["invites"], batch),
    }
    counts: dict[RetentionKind, int] = {}
    for kind in _ORDER:
        if kind == "processed_updates":  # as at start-up
            counts[kind] = await forget_old_updates(app, now, batch=batch)
        else:
            counts[kind] = await _in_batches(app, steps[kind], batch)
    async with app.database.reading() as uow:
        held = await uow.retention.count_held(cutoffs["case_file"])
    removed = Removed(now, _dues(app, cutoffs, counts), held, erased=erased)
    async with app.database.transaction() as uow:
        detail = removed.as_dict()
        del detail["at"], detail["not_kept"], detail["dry_run"]
        await audit.record(uow, actor, RETENTION_RUN, at=now, detail=detail)
    log.info("retention run", extra={"event": RETENTION_RUN, "count": sum(counts.values())})
    return removed


async def forget_old_updates(
    app: Wegwijzer, now: datetime | None = None, *, batch: int = BATCH
) -> int:
    """Forget the keys of updates handled longer ago than the `processed_updates` term, a
    batch at a time; how many. The one way they go: in every retention run, and at the bot's
    start (it may have been down when the daily run was due). Telegram redelivers within
    hours; after a week without updates it may start update ids afresh, and old keys would
    then swallow new updates: the term is 2 to 7 days (`bot.rules.privacy`)."""
    before = app.privacy.retention.term("processed_updates").before(now or app.clock())
    return await _in_batches(app, lambda uow: uow.retention.prune_updates(before, batch), batch)


async def _in_batches(
    app: Wegwijzer, step: Callable[[UnitOfWork], Awaitable[int]], batch: int
) -> int:
    """Run `step` in transactions of its own until a batch comes back short; the total."""
    total = 0
    while True:
        async with app.database.transaction() as uow:
            done = await step(uow)
        total += done
        if done < batch:
            return total


async def daily_retention(app: Wegwijzer) -> list[Notice]:
    """The bot's duty: a retention run once a day — when the last one (by the bot or an
    operator) is a day old or there was none. Nothing to tell anybody: returns no notices."""
    now = app.clock()
    async with app.database.reading() as uow:
        last = await uow.audit.last_of(None, (RETENTION_RUN,))
    if last is None or last.at <= now - EVERY:
        await run(app, now, actor=audit.SYSTEM)
    return []


def _dues(
    app: Wegwijzer, cutoffs: dict[RetentionKind, datetime], counts: dict[RetentionKind, int]
) -> tuple[Due, ...]:
    return tuple(
        Due(kind, str(app.privacy.retention.term(kind)), cutoffs[kind], counts[kind])
        for kind in _ORDER
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
