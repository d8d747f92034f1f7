"""Builders for the tests of services and of the conversation: the real app (`bootstrap`) on a
fresh database, a clock the test moves by hand, and a small invented organisation to act in.

The app runs on SQLite. Tests of what can differ between the backends — row locks (FOR UPDATE,
SKIP LOCKED), two processes or presses at once, values at the edges of a column type — are
marked `both_backends` and run on PostgreSQL too (TEST_DATABASE_URL); for everything else the
storage contract suite (`tests/storage`) proves the two backends equivalent. SQLite starts each
test from a copy of one migrated file, PostgreSQL from this worker's database emptied first.

`World` is two cases with a caseworker each, a family on the first, coordinators, and people
who must never be told or allowed anything (refused consent, left). Every `Participant` is read
back from the database, as a channel would build it for an incoming message. (A pytest plugin,
`pytest_plugins` in `tests/conftest.py`.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.engine import Choose
from bot.services import flags as flag_service
from bot.services.cases import create_case
from bot.services.people import Participant, find_participant, participant
from bot.services.runs import answer, start_flow
from bot.storage import Person, UnitOfWork
from tests.databases import empty_tables
from tests.flows import CHECKIN_FLOW

# A Friday, 10:30 in Amsterdam (CET, UTC+1).
START = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]

CASE_A = "TST-0001"
CASE_B = "TST-0002"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on SQLite; those marked `both_backends` on PostgreSQL as well."""
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", BACKENDS if both else ["sqlite"])


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def set(self, moment: datetime) -> None:
        self.now = moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    return replace(Settings(), database_url=url, alarm_journal=tmp_path / "alarms.jsonl")


@pytest.fixture
async def app(settings: Settings, clock: Clock, assets: Assets) -> AsyncIterator[Wegwijzer]:
    # The database is migrated already (a copy of the template, or this worker's own).
    built = await bootstrap(settings, clock=clock, assets=assets, migrate=False)
    try:
        if built.database.dialect == "postgresql":
            await empty_tables(built.database)
        yield built
    finally:
        await built.close()


# --- people and cases ---------------------------------------------------------------------

_ids = iter(range(5000, 1_000_000))


async def add_person(
    app: Wegwijzer,
    role: str,
    *,
    case: str | None = None,
    language: str = "en",
    consent: str | None = "given",
    status: str = "active",
) -> Participant:
    """A person as onboarding leaves them; caseworkers take `case`, families join it."""
    async with app.database.transaction() as uow:
        person = await _add(uow, app, role, case, language, consent, status)
    who = await find_participant(app, "telegram", person.external_id)
    assert who is not None
    return who


async def _add(
    uow: UnitOfWork,
    app: Wegwijzer,
    role: str,
    case: str | None = None,
    language: str = "en",
    consent: str | None = "given",
    status: str = "active",
) -> Person:
    person = await uow.people.add("telegram", str(next(_ids)), role, language=language)
    if consent is not None:
        await uow.people.set_consent(person.id, consent, app.clock())
    if status != "active":
        await uow.people.set_status(person.id, status)
    if case is not None:
        found = await uow.cases.by_code(case)
        assert found is not None
        if role == "caseworker":
            await uow.cases.assign_caseworker(found.id, person.id)
        else:
            await uow.cases.add_member(found.id, person.id)
    return person


async def external_id(app: Wegwijzer, who: Participant) -> str:
    """The person's id on their channel (what a channel's message carries)."""
    async with app.database.reading() as uow:
        person = await uow.people.get_by_id(who.person_id)
        assert person is not None
        return person.external_id


async def reread(app: Wegwijzer, who: Participant) -> Participant:
    """The person as the database has them now (after a status change, say)."""
    async with app.database.reading() as uow:
        person = await uow.people.get_by_id(who.person_id)
        channel, external_id = person.channel, person.external_id
    again = await find_participant(app, channel, external_id)
    assert again is not None
    return again


async def set_status(app: Wegwijzer, who: Participant, status: str) -> Participant:
    async with app.database.transaction() as uow:
        await uow.people.set_status(who.person_id, status)
    return await reread(app, who)


@dataclass
class World:
    app: Wegwijzer
    case_a: int
    case_b: int
    coordinator: Participant
    second_coordinator: Participant
    caseworker: Participant  # of case A
    other_caseworker: Participant  # of case B
    family: Participant  # a member of case A
    family_b: Participant  # a member of case B
    refused_coordinator: Participant  # refused the bot's terms: never told anything
    left_coordinator: Participant  # status "left"
    extra: dict[str, Any] = field(default_factory=dict)

    def staff_told(self) -> set[int]:
        """Who hears of a flag on case A: its caseworker and the coordinators who can be told."""
        return {
            self.caseworker.person_id,
            self.coordinator.person_id,
            self.second_coordinator.person_id,
        }

    @property
    def coordinators(self) -> set[int]:
        return {self.coordinator.person_id, self.second_coordinator.person_id}


@pytest.fixture
async def world(app: Wegwijzer) -> World:
    # In one transaction, and read back in one: every service test starts with it.
    async with app.database.transaction() as uow:
        case_a = await create_case(uow, "family_strengthening", CASE_A)
        case_b = await create_case(uow, "foster_care", CASE_B)
        people = [
            await _add(uow, app, "coordinator"),
            await _add(uow, app, "coordinator", language="nl"),
            await _add(uow, app, "caseworker", case=CASE_A),
            await _add(uow, app, "caseworker", case=CASE_B),
            await _add(uow, app, "family", case=CASE_A),
            await _add(uow, app, "family", case=CASE_B),
            await _add(uow, app, "coordinator", consent="refused"),
            await _add(uow, app, "coordinator", status="left"),
        ]
    async with app.database.reading() as uow:
        read = [await participant(uow, person) for person in people]
    coordinator, second, caseworker, other, family, family_b, refused, left = read
    assert left.status == "left" and family.case_id == case_a.id
    return World(
        app,
        case_a.id,
        case_b.id,
        coordinator,
        second,
        caseworker,
        other,
        family,
        family_b,
        refused,
        left,
    )


# --- flags --------------------------------------------------------------------------------


async def raise_flag(
    app: Wegwijzer,
    case_id: int | None,
    *,
    level: str = "urgent",
    rule: str = "child_unsafe_at_home",
    flow_id: str = CHECKIN_FLOW,
    evidence: dict[str, Any] | None = None,
    by: Participant | None = None,
) -> tuple[int, bool]:
    """Raise (or repeat) a flag through the service, at the clock's time; its id and newness."""
    async with app.database.transaction() as uow:
        flag, new = await flag_service.raise_or_repeat(
            app,
            uow,
            by=by,
            case_id=case_id,
            run_id=None,
            flow_id=flow_id,
            flow_version=1,
            rule=rule,
            level=level,
            reason="A child does not feel safe at home.",
            evidence={"children.safe_at_home": "no"} if evidence is None else evidence,
            now=app.clock(),
        )
        return flag.id, new


async def flag_row(app: Wegwijzer, flag_id: int) -> Any:
    """The stored flag, read without leaving a trace in the audit log."""
    async with app.database.reading() as uow:
        flag = await uow.flags.get(flag_id)
        assert flag is not None
        return flag


async def audit(app: Wegwijzer, flag_id: int | None = None, case_id: int | None = None) -> list:
    async with app.database.reading() as uow:
        if flag_id is not None:
            return await uow.audit.of_flags([flag_id])
        return await uow.audit.events(case_id)


async def event_ids(app: Wegwijzer, flag_id: int) -> list[int]:
    return [event.id for event in await audit(app, flag_id)]


async def actions(app: Wegwijzer, flag_id: int) -> list[str]:
    return [event.action for event in await audit(app, flag_id)]


async def refusals(app: Wegwijzer) -> list[tuple[int | None, str, int | None, int | None, dict]]:
    """The refused looks and actions on record, oldest first: (actor id, role, case id, flag
    id, detail), each without a note (no free text)."""
    refused = [event for event in await audit(app) if event.action == "refused"]
    assert all(event.note is None for event in refused)
    return [(e.actor_id, e.actor_role, e.case_id, e.flag_id, e.detail) for e in refused]


# --- check-ins ----------------------------------------------------------------------------

WELL = (3, 3, 3, 3, 3)  # WHO-5 raw 15: 60 %, no flag


async def checkin(
    app: Wegwijzer,
    family: Participant,
    *,
    who5: tuple[int, int, int, int, int] = WELL,
    safe_at_home: str = "yes",
    food: str = "enough",
    health: str = "good",
    everyone_safe_now: bool = True,
) -> int:
    """A whole family check-in, answered as a family would press the buttons; the run id."""
    turn = await start_flow(app, family, CHECKIN_FLOW)
    inputs: list[Any] = [
        True,  # consent to the check-in
        *who5,
        food,
        "every_day",
        health,
        safe_at_home,
        False,  # no message for the caseworker
        everyone_safe_now,
    ]
    for value in inputs:
        turn = await answer(app, family, Choose(value))
        assert turn is not None
    async with app.database.reading() as uow:
        run = await uow.runs.get(turn.run_id)
        assert run is not None and run.status == "completed", run
    return turn.run_id


def render(app: Wegwijzer, text: Any, language: str = "en") -> str:
    return app.catalogs.translator(language, "Europe/Amsterdam").render(text)
