"""The list of cases in the web view: the cases a person handles, a page at a time.

Who sees which case is `handles_case`'s rule (a coordinator every case, a caseworker their
own), applied in the query itself so that only a page of rows is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..app import Wegwijzer
from ..rules.access import NotAllowed
from ..rules.people import Participant
from ..storage import CaseListed
from . import audit


@dataclass(frozen=True)
class CasePage:
    """A page of the cases someone may see: page `page` of `pages` (no pages: no cases)."""

    cases: tuple[CaseListed, ...]
    page: int
    pages: int


async def case_page(
    app: Wegwijzer, who: Participant, page: int, size: int, code_prefix: str = ""
) -> CasePage:
    """One page of the live cases `who` handles (`handles_case`: a coordinator all, a
    caseworker their own), by code, those whose code starts with `code_prefix`; a page past
    the last shows the last. Anyone else is refused, and the refusal recorded."""
    async with audit.refusal_recorded(app, who, "cases"):
        if who.status != "active" or who.role not in ("coordinator", "caseworker"):
            raise NotAllowed("only staff list cases")
    mine = who.person_id if who.role == "caseworker" else None
    prefix = code_prefix.strip().upper()
    async with app.database.reading() as uow:
        pages = -(-(await uow.cases.count_listed(mine, prefix)) // size)
        page = min(max(page, 1), max(pages, 1))
        rows = await uow.cases.listing(mine, prefix, limit=size, offset=(page - 1) * size)
        return CasePage(tuple(rows), page, pages)
