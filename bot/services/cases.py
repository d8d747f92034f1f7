"""Cases: the pseudonymous files that answers, flags and people hang on.

A case code is the only way a case is named outside the database: short, unguessable, free
of letters that are easily confused when read aloud or typed from paper (no 0/O, 1/I/L).
"""

from __future__ import annotations

import secrets

from ..app import Wegwijzer
from ..engine.vocabulary import PROGRAMMES
from ..rules.access import NotAllowed, handles_case
from ..rules.people import Participant
from ..storage import Case, CaseErased, CaseSummary, UnitOfWork

__all__ = [
    "PROGRAMMES",
    "CaseErased",
    "UnknownCase",
    "cases_to_guide",
    "caseworker_cases",
    "create_case",
    "new_case_code",
    "own_case",
]

_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# The console's demo case: plainly invented, never a real family.
DEMO_CASE_CODE = "DEMO-0001"


class UnknownCase(LookupError):
    """No case has the given code."""


def new_case_code() -> str:
    """Like `K7Q-4MX`: 31^6 ≈ 887 million codes, drawn with the `secrets` module."""
    letters = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))
    return f"{letters[:3]}-{letters[3:]}"


async def create_case(uow: UnitOfWork, programme: str, code: str | None = None) -> Case:
    if programme not in PROGRAMMES:
        raise ValueError(f"unknown programme {programme!r}; one of: {', '.join(PROGRAMMES)}")
    if code is None:
        code = new_case_code()
        # An erased case keeps its code: it is never drawn again.
        while await uow.cases.by_code(code, erased=True) is not None:
            code = new_case_code()
    return await uow.cases.add(code, programme)


async def caseworker_cases(app: Wegwijzer, who: Participant) -> list[CaseSummary]:
    """A caseworker's own cases with their last check-in and open flags; nobody else's."""
    if who.role != "caseworker":
        raise NotAllowed("only caseworkers have cases")
    checkin = app.flows.for_purpose("checkin")
    async with app.database.reading() as uow:
        return await uow.cases.of_caseworker(
            who.person_id, checkin_flow=checkin.id if checkin else None
        )


async def own_case(app: Wegwijzer, who: Participant) -> list[Case]:
    """The case a person belongs to (a family's own; the terminal's case in the console), as
    a list like a caseworker's cases (empty without one)."""
    if who.case_id is None:
        return []
    async with app.database.reading() as uow:
        case = await uow.cases.by_id(who.case_id, erased=True)
        return [case] if case is not None and case.erased_at is None else []


async def cases_to_guide(app: Wegwijzer, who: Participant, code: str | None) -> list[Case]:
    """The cases a person may take through guidance: a family their own, a caseworker their
    own (only the one named, when `code` is given), a coordinator the case they name."""
    if who.role == "family":
        return await own_case(app, who)
    async with app.database.reading() as uow:
        if who.role == "caseworker" and who.status == "active":
            mine = await uow.cases.assigned_to(who.person_id)
            return [case for case in mine if code is None or case.code == code]
        case = await uow.cases.by_code(code) if code is not None else None
        return [case] if case is not None and handles_case(who, case) else []
