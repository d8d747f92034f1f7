"""People as the channels know them: who is talking, in which role, for which case."""

from __future__ import annotations

from dataclasses import dataclass

from ..bootstrap import Wegwijzer
from .cases import DEMO_CASE_CODE, UnknownCase, create_case


@dataclass(frozen=True)
class Participant:
    """The small, frozen identity a channel works with for one person."""

    person_id: int
    role: str
    language: str | None
    case_id: int | None
    case_code: str | None


async def console_participant(
    app: Wegwijzer, role: str, case_code: str | None = None
) -> Participant:
    """The person at the terminal: one per role (and per case for families).

    Without a case code the demo case is used, created on first use.
    """
    async with app.database.transaction() as uow:
        if case_code is None:
            case = await uow.cases.by_code(DEMO_CASE_CODE)
            if case is None:
                case = await create_case(uow, "family_strengthening", DEMO_CASE_CODE)
        else:
            case = await uow.cases.by_code(case_code)
            if case is None:
                raise UnknownCase(case_code)
        external_id = f"{role}:{case.code}" if role == "family" else role
        person = await uow.people.get("console", external_id)
        if person is None:
            person = await uow.people.add("console", external_id, role)
        if role == "family":
            await uow.cases.add_member(case.id, person.id)
        return Participant(person.id, role, person.language, case.id, case.code)


async def set_language(app: Wegwijzer, person_id: int, language: str) -> None:
    async with app.database.transaction() as uow:
        await uow.people.set_language(person_id, language)
