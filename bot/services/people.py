"""People as the channels know them: who is talking, in which role, for which case."""

from __future__ import annotations

from dataclasses import dataclass

from ..app import Wegwijzer
from ..rules.people import Participant
from ..storage import Case, Person, UnitOfWork
from ..storage.repositories import PersonWriting
from .cases import DEMO_CASE_CODE, UnknownCase, create_case


async def participant(uow: UnitOfWork, person: Person | None) -> Participant:
    """A stored person as a Participant, read again in the caller's transaction."""
    found = (
        None
        if person is None
        else await uow.people.get_with_case(person.channel, person.external_id)
    )
    if found is None:
        raise LookupError("the person is gone")
    return _as_participant(*found)


async def find_participant(app: Wegwijzer, channel: str, external_id: str) -> Participant | None:
    async with app.database.reading() as uow:
        return await participant_of(uow, channel, external_id)


async def participant_of(
    uow: UnitOfWork, channel: str, external_id: str, *, lock: bool = False
) -> Participant | None:
    """The person with this id on this channel, in the caller's transaction (`lock`: their
    row locked, see `RunRepository.get`)."""
    found = await uow.people.writing(channel, external_id, for_update=lock)
    return None if found is None else participant_from(found)


def participant_from(found: PersonWriting) -> Participant:
    """The person as `PersonRepository.writing` read them."""
    # As `_as_participant`: a family member's case is the first they joined.
    family = found.role == "family" and found.case_id is not None
    return Participant(
        found.id,
        found.role,
        found.language,
        found.case_id if family else None,
        found.case_code if family else None,
        found.consent,
        found.status,
        found.awaiting,
    )


def _as_participant(person: Person, case: Case | None) -> Participant:
    # A family member's case is the first they joined (one lookup for every path); staff
    # are not members of cases: their cases come from the assignment, when needed.
    case_id, case_code = (case.id, case.code) if case and person.role == "family" else (None, None)
    return Participant(
        person.id,
        person.role,
        person.language,
        case_id,
        case_code,
        person.consent,
        person.status,
        person.awaiting,
    )


# The years of birth of the demo case's two invented children.
DEMO_CHILDREN_BORN = (2014, 2019)


@dataclass(frozen=True)
class ConsolePerson:
    """The person at the terminal: their id on the console channel and the terminal's case."""

    external_id: str
    case_code: str


async def console_person(app: Wegwijzer, role: str, case_code: str | None = None) -> ConsolePerson:
    """The person at the terminal: one per role (and per case for families).

    Without a case code the demo case is used, created on first use. Whoever runs the
    console has the database in hand already, so no invite applies, and their consent is
    recorded as given (the terminal is the operator's).
    """
    async with app.database.transaction() as uow:
        if case_code is None:
            case = await uow.cases.by_code(DEMO_CASE_CODE)
            if case is None:
                case = await create_case(uow, "family_strengthening", DEMO_CASE_CODE)
                # Two invented children, so the home visit rates each (issue #14).
                for born in DEMO_CHILDREN_BORN:
                    await uow.children.add(
                        case.id, now=app.clock(), birth_year=born, placement="at_home"
                    )
        else:
            case = await uow.cases.by_code(case_code)
            if case is None:
                raise UnknownCase(case_code)
        external_id = f"{role}:{case.code}" if role == "family" else role
        person = await uow.people.get("console", external_id)
        if person is None:
            person = await uow.people.add("console", external_id, role)
            await uow.people.set_consent(person.id, "given", app.clock())
        if role == "family":
            await uow.cases.add_member(case.id, person.id)
        elif role == "caseworker" and case.caseworker_id is None:
            # The terminal's caseworker works on the case it was opened with (or the demo
            # case) when nobody else does, so /flags shows that case's flags.
            await uow.cases.assign_caseworker(case.id, person.id)
        return ConsolePerson(external_id, case.code)


async def set_language(app: Wegwijzer, person_id: int, language: str) -> None:
    async with app.database.transaction() as uow:
        await uow.people.set_language(person_id, language)


@dataclass(frozen=True)
class Recipient:
    """Someone to tell something: where to reach them and in which language."""

    person_id: int
    channel: str
    external_id: str
    language: str | None
    case_code: str | None = None

    @classmethod
    def of(cls, person: Person, case_code: str | None = None) -> Recipient:
        """A stored person as someone to tell (about a case, when its code is given)."""
        return cls(person.id, person.channel, person.external_id, person.language, case_code)


async def mark_unreachable(uow: UnitOfWork, person_id: int) -> list[Recipient] | None:
    """Record, in the caller's transaction, that a person cannot be reached (they blocked the
    bot); return the caseworkers who must be told, one per case of theirs that has a
    caseworker. None when nothing changed (unknown, known to be unreachable already, or gone:
    someone who left stays a person who left)."""
    person = await uow.people.get_by_id(person_id)
    if person is None or person.status in ("unreachable", "left"):
        return None
    await uow.people.set_status(person_id, "unreachable")
    told: list[Recipient] = []
    for case in await uow.cases.of_person(person_id):
        if case.caseworker_id is None:
            continue
        caseworker = await uow.people.get_by_id(case.caseworker_id)
        if caseworker is not None and caseworker.status == "active":
            told.append(Recipient.of(caseworker, case.code))
    return told


async def mark_reachable(app: Wegwijzer, person_id: int) -> None:
    """A person who wrote to the bot again can be reached again."""
    async with app.database.transaction() as uow:
        await uow.people.set_status(person_id, "active")
