"""The list of cases in the web view: the cases a person handles, a page at a time, narrowed
by code, caseworker, programme, stage, risk level and silence.

Who sees which case is `handles_case`'s rule (a coordinator every case, a caseworker their
own), applied in the query itself so that only a page of rows is read; a caseworker's filter
on another caseworker narrows their own cases (to none), never widens them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..app import Wegwijzer
from ..rules.access import NotAllowed
from ..rules.people import Participant
from ..storage import CaseFilter, CaseListed
from . import audit


@dataclass(frozen=True)
class CaseQuery:
    """What the reader asked for (empty: anything)."""

    code_prefix: str = ""
    caseworker_id: int | None = None
    programme: str | None = None
    stage: str | None = None
    risk_level: str | None = None  # or "none": not screened yet
    silent_weeks: int | None = None  # no check-in for at least so many weeks (or never)
    status: str | None = None  # "open" or "closed"
    closed_from: datetime | None = None  # closed in [closed_from, closed_to)
    closed_to: datetime | None = None


@dataclass(frozen=True)
class CasePage:
    """A page of the cases someone may see: page `page` of `pages` (no pages: no cases)."""

    cases: tuple[CaseListed, ...]
    page: int
    pages: int
    total: int = 0


async def case_page(
    app: Wegwijzer,
    who: Participant,
    page: int,
    size: int,
    code_prefix: str = "",
    query: CaseQuery | None = None,
) -> CasePage:
    """One page of the live cases `who` handles (`handles_case`: a coordinator all, a
    caseworker their own), by code, those `query` asks for (or whose code starts with
    `code_prefix`); a page past the last shows the last. Anyone else is refused, and the
    refusal recorded."""
    async with audit.refusal_recorded(app, who, "cases"):
        if who.status != "active" or who.role not in ("coordinator", "caseworker"):
            raise NotAllowed("only staff list cases")
    asked = query or CaseQuery(code_prefix=code_prefix)
    checkin = app.flows.for_purpose("checkin")
    silent_since = None
    if asked.silent_weeks is not None:
        silent_since = app.clock() - timedelta(weeks=asked.silent_weeks)
    wanted = CaseFilter(
        handled_by=who.person_id if who.role == "caseworker" else None,
        code_prefix=asked.code_prefix.strip().upper(),
        caseworker_id=asked.caseworker_id,
        programme=asked.programme,
        stage=asked.stage,
        risk_level=asked.risk_level,
        silent_since=silent_since,
        checkin_flow=checkin.id if checkin else "",
        status=asked.status,
        closed_from=asked.closed_from,
        closed_to=asked.closed_to,
    )
    async with app.database.reading() as uow:
        total = await uow.cases.count_listed(wanted)
        pages = -(-total // size)
        page = min(max(page, 1), max(pages, 1))
        rows = await uow.cases.listing(wanted, limit=size, offset=(page - 1) * size)
        return CasePage(tuple(rows), page, pages, total)
