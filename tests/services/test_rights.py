"""The rights of the people in a case: erasure leaves nothing of them in any column of any
table, on SQLite and PostgreSQL, and leaves another case as it was; the export shows
everything before and nothing after; erasure is refused under a legal hold or an urgent flag.

All data is invented; the markers make any leftover findable wherever it hides.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import column, select, table
from sqlalchemy.sql.schema import Column

from bot.app import Wegwijzer
from bot.conversation import Conversation, Incoming, Message, Output, Typed, render
from bot.engine import Choose, Reply
from bot.i18n import Translator
from bot.rules.cadence import parse_cadence
from bot.services import flags as flag_service
from bot.services.children import add_child
from bot.services.duties import due_notices
from bot.services.invites import create_invite
from bot.services.legal_hold import hold_case, release_case
from bot.services.onboarding import record_consent
from bot.services.people import Participant, find_participant
from bot.services.rights import ErasureRefused, erase, export_person_data
from bot.services.runs import answer, start_flow
from bot.services.schedules import set_schedule
from bot.services.staffing import reassign_case
from bot.services.visits import set_stage
from bot.storage import Base
from tests.flows import CHECKIN_FLOW
from tests.world import CASE_A, CASE_B, Clock, World, checkin, raise_flag

TELEGRAM_ID = "7000000123"
MESSAGE = "MARKER-ANTWOORD-42: het gaat niet goed thuis"
CHILD = "MARKER-KIND"
NOTE = "MARKER-NOTITIE bij het signaal"
RESOLUTION = "MARKER-RESOLUTIE: huisbezoek gedaan"
HOLD = "MARKER-HOLD oude klacht"
MARKERS = ("MARKER-ANTWOORD-42", CHILD, "MARKER-NOTITIE", "MARKER-RESOLUTIE", "MARKER-HOLD")
# Case B's own words: still there after case A is erased.
KEPT = ("MARKER-B-BLIJFT", "MARKER-B-KIND")


async def family_member(app: Wegwijzer, case: str, telegram_id: str, language: str) -> Participant:
    async with app.database.transaction() as uow:
        person = await uow.people.add("telegram", telegram_id, "family", language=language)
        await uow.people.set_consent(person.id, "given", app.clock())
        found = await uow.cases.by_code(case)
        assert found is not None
        await uow.cases.add_member(found.id, person.id)
    who = await find_participant(app, "telegram", telegram_id)
    assert who is not None
    return who


async def checkin_with_message(
    app: Wegwijzer, family: Participant, message: str, safe_at_home: str = "no"
) -> int:
    """A check-in with a typed message for the caseworker: raises the message flag, and an
    urgent one when a child is not safe at home."""
    turn = await start_flow(app, family, CHECKIN_FLOW)
    inputs: list[Any] = [True, 2, 2, 2, 2, 2, "enough", "every_day", "good", safe_at_home, True]
    for value in inputs:
        turn = await answer(app, family, Choose(value))
        assert turn is not None
    turn = await answer(app, family, Reply(message))
    assert turn is not None
    turn = await answer(app, family, Choose(True))
    assert turn is not None
    return turn.run_id


async def guidance_run(app: Wegwijzer, caseworker: Participant, case: str) -> int:
    """A caseworker's risk screening of the case, a few answers in."""
    turn = await start_flow(app, caseworker, "risk_screening", case_code=case)
    for _ in range(3):
        asks = [event for event in turn.events if hasattr(event, "options") and event.options]
        if not asks:
            break
        next_turn = await answer(app, caseworker, Choose(asks[-1].options[0].value))
        assert next_turn is not None
        turn = next_turn
    return turn.run_id


async def rich_case(world: World) -> Participant:
    """Case A with everything a case can hold, through the real services; case B with a
    check-in and a child of its own."""
    app = world.app
    family = await family_member(app, CASE_A, TELEGRAM_ID, "nl")
    await checkin_with_message(app, family, MESSAGE)
    await checkin(app, world.family)
    await add_child(app, CASE_A, label=CHILD, birth_year=2016, placement="at_home")
    await set_stage(app, CASE_A, "preparation")
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00", "Europe/Amsterdam"))
    await create_invite(app, "family", CASE_A)
    await guidance_run(app, world.caseworker, CASE_A)
    async with app.database.reading() as uow:
        flags = await uow.flags.open_flags([world.case_a])
    for flag in flags:
        if flag.rule == "message_for_caseworker":
            await flag_service.add_note(app, world.coordinator, flag.id, NOTE)
        elif flag.level == "urgent":  # resolved, or the erasure would be refused
            await flag_service.resolve(app, world.coordinator, flag.id, RESOLUTION)
    assert {"message_for_caseworker", "child_unsafe_at_home"} <= {flag.rule for flag in flags}
    await due_notices(app)  # the staff's notices and the family's reminder, queued
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        assert case is not None
        case.legal_hold_reason = HOLD  # a hold that was released: its reason stayed
    # Case B: the other family's words and child.
    await checkin_with_message(app, world.family_b, KEPT[0], safe_at_home="yes")
    await add_child(app, CASE_B, label=KEPT[1], birth_year=2012)
    return family


# --- walking every column -----------------------------------------------------------------


def _person_columns() -> list[Column[Any]]:
    """Every column that points at a person."""
    return [
        col
        for tbl in Base.metadata.sorted_tables
        for col in tbl.columns
        if any(fk.column.table.name == "person" for fk in col.foreign_keys)
    ]


async def raw_values(app: Wegwijzer) -> list[tuple[str, str, object]]:
    """Every value of every column of every table, as the database holds it (sealed values
    sealed: columns without their decrypting types)."""
    found: list[tuple[str, str, object]] = []
    async with app.database.reading() as uow:
        session = uow.audit._session
        for tbl in Base.metadata.sorted_tables:
            names = [col.name for col in tbl.columns]
            stmt = select(*(column(name) for name in names)).select_from(table(tbl.name))
            for row in await session.execute(stmt):
                found += [(tbl.name, name, value) for name, value in zip(names, row, strict=True)]
    return found


async def orm_values(app: Wegwijzer) -> list[tuple[str, str, object]]:
    """Every value of every mapped column, through the ORM (sealed values opened)."""
    found: list[tuple[str, str, object]] = []
    async with app.database.reading() as uow:
        session = uow.audit._session
        for mapper in Base.registry.mappers:
            model = mapper.class_
            for obj in (await session.execute(select(model))).scalars():
                found += [
                    (model.__tablename__, col.key, getattr(obj, col.key)) for col in mapper.columns
                ]
    return found


# Columns that hold a keyed hash (HMAC hex), never a value in the clear.
KEYED_HASHES = {
    ("person", "external_key"),
    ("invite", "code_hash"),
    ("web_link", "token_hash"),
    ("web_session", "session_hash"),
}


def leftovers(values: list[tuple[str, str, object]], needles: tuple[str, ...]) -> list[str]:
    """Where a text is found in a text or JSON value (a time or a number is neither: a short
    Telegram id can be part of a timestamp's microseconds). Keyed hashes are left out: they
    hold nothing in the clear, and a short id turns up in some person's hex digits by chance
    (it did: a caseworker's four-digit id in another person's `external_key`)."""
    return [
        f"{tbl}.{name} holds {needle!r}"
        for tbl, name, value in values
        if isinstance(value, str | dict | list) and (tbl, name) not in KEYED_HASHES
        for needle in needles
        if needle in (value if isinstance(value, str) else json.dumps(value, default=str))
    ]


@pytest.mark.both_backends
async def test_erasing_a_family_leaves_nothing_of_them_in_any_column(
    world: World, tmp_path: Path
) -> None:
    app = world.app
    family = await rich_case(world)
    before_raw, before_orm = await raw_values(app), await orm_values(app)
    # The walk finds what there is: in the clear through the ORM, sealed in the raw rows.
    assert {needle for needle in MARKERS if leftovers(before_orm, (needle,))} == set(MARKERS)
    assert leftovers(before_orm, (TELEGRAM_ID,))
    assert not leftovers(before_raw, (*MARKERS, TELEGRAM_ID))
    other_before = await export_tables(app, CASE_B, tmp_path / "b-before")

    erased = await erase(app, CASE_A, "verzoek van de familie (art. 17 AVG)")
    assert erased.counts["people"] == 2 and erased.counts["runs"] >= 3

    for values in (await raw_values(app), await orm_values(app)):
        assert leftovers(values, (*MARKERS, TELEGRAM_ID)) == []
    ids = {family.person_id, world.family.person_id}
    async with app.database.reading() as uow:
        session = uow.audit._session
        for col in _person_columns():
            stmt = select(col).where(col.in_(ids))
            assert (await session.execute(stmt)).first() is None, f"{col} still names them"
        schedules = (await session.execute(select(table("schedule", column("id"))))).all()
        assert schedules == []  # no reminder is ever sent again
        # The erasure's own record keeps its reason, sealed.
        (event,) = [e for e in await uow.audit.events(world.case_a) if e.action == "data_erased"]
        assert event.note == "verzoek van de familie (art. 17 AVG)"
        assert event.detail["removed"]["people"] == 2
    # Case B is as it was, its own words and child still there.
    other_after = await export_tables(app, CASE_B, tmp_path / "b-after")
    assert other_after == other_before
    remaining = await orm_values(app)
    assert all(leftovers(remaining, (needle,)) for needle in KEPT)
    # The bot no longer knows them: their Telegram id is a stranger's.
    assert await find_participant(app, "telegram", TELEGRAM_ID) is None
    heard = await said_to(app, TELEGRAM_ID, "hallo?")
    assert heard.startswith("Hello. This is Wegwijzer")
    # And the case's export shows nothing of them: the code, the programme, the flags' shape.
    done = await export_person_data(app, CASE_A, tmp_path / "after")
    text = done.json_path.read_text() + done.document_path.read_text()
    assert not [needle for needle in (*MARKERS, TELEGRAM_ID) if needle in text]
    tables = json.loads(done.json_path.read_text())["tables"]
    (case,) = tables["case_file"]
    assert case["code"] == CASE_A and case["erased_at"] is not None
    assert tables["person"] == [] and tables["run"] == [] and tables["answer"] == []
    assert tables["flag"] and all(flag["evidence"] == {"erased": True} for flag in tables["flag"])


async def export_tables(app: Wegwijzer, code: str, folder: Path) -> dict[str, Any]:
    """A case's export, without the audit log (which the export itself adds to)."""
    done = await export_person_data(app, code, folder)
    tables: dict[str, Any] = json.loads(done.json_path.read_text())["tables"]
    tables.pop("audit_event")
    return tables


async def said_to(app: Wegwijzer, telegram_id: str, text: str) -> str:
    lines: list[str] = []

    async def heard(output: Output, translate: Translator) -> None:
        if isinstance(output, Message):
            lines.extend(render(translate, line) for part in output.paragraphs for line in part)

    incoming = Incoming("telegram", telegram_id, Typed(text), language_hint="en")
    await Conversation(app).handle(incoming, heard)
    return "\n".join(lines)


# --- refusals -----------------------------------------------------------------------------


async def test_erasure_is_refused_while_a_legal_hold_stands(world: World) -> None:
    async with world.app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        assert case is not None
        case.legal_hold_at, case.legal_hold_reason = world.app.clock(), "a complaint"
    with pytest.raises(ErasureRefused) as refused:
        await erase(world.app, CASE_A, "asked by the family")
    assert refused.value.held and refused.value.urgent_flags == ()
    assert "legal hold" in str(refused.value)
    assert await find_participant(world.app, "telegram", await _external(world)) is not None


async def test_erasure_is_refused_while_an_urgent_flag_is_unresolved(world: World) -> None:
    flag_id, _ = await raise_flag(world.app, world.case_a, level="urgent")
    await raise_flag(world.app, world.case_a, level="medium", rule="low_wellbeing")
    await flag_service.acknowledge(world.app, world.coordinator, flag_id)
    with pytest.raises(ErasureRefused) as refused:
        await erase(world.app, CASE_A, "asked by the family")
    assert not refused.value.held and refused.value.urgent_flags == (flag_id,)
    assert f"urgent flag(s) {flag_id}" in str(refused.value)
    await flag_service.resolve(world.app, world.coordinator, flag_id, "visited, safe")
    assert (await erase(world.app, CASE_A, "asked by the family")).counts["people"] == 1


async def test_erasing_one_person_leaves_the_rest_of_the_case(world: World) -> None:
    app = world.app
    other = await family_member(app, CASE_A, TELEGRAM_ID, "nl")
    await checkin_with_message(app, other, MESSAGE, safe_at_home="yes")
    kept_run = await checkin(app, world.family)
    async with app.database.reading() as uow:
        flags = await uow.flags.open_flags([world.case_a])
    (flag,) = [flag for flag in flags if flag.rule == "message_for_caseworker"]
    await flag_service.add_note(app, world.coordinator, flag.id, NOTE)  # quoting them, say
    done = await erase(app, CASE_A, "asked by this parent", person_id=other.person_id)
    assert done.counts["people"] == 1 and done.counts["runs"] == 1 and done.counts["notes"] == 1
    assert leftovers(await orm_values(app), (*MARKERS, TELEGRAM_ID)) == []
    async with app.database.reading() as uow:
        assert await uow.runs.get(kept_run) is not None
        case = await uow.cases.by_code(CASE_A)
        assert case is not None and case.erased_at is None
    assert await find_participant(app, "telegram", TELEGRAM_ID) is None


async def _external(world: World) -> str:
    async with world.app.database.reading() as uow:
        person = await uow.people.get_by_id(world.family.person_id)
        assert person is not None
        return person.external_id


# --- access -------------------------------------------------------------------------------


async def test_the_export_holds_everything_and_reads_in_the_persons_language(
    world: World, tmp_path: Path
) -> None:
    app = world.app
    family = await family_member(app, CASE_A, TELEGRAM_ID, "nl")
    run_id = await checkin_with_message(app, family, MESSAGE)
    await add_child(app, CASE_A, label=CHILD)
    done = await export_person_data(app, CASE_A, tmp_path / "out", person_id=family.person_id)
    for path in (done.json_path, done.document_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    exported = json.loads(done.json_path.read_text())
    tables = exported["tables"]
    (person,) = tables["person"]
    assert person["external_id"] == TELEGRAM_ID and person["language"] == "nl"
    answers = {row["key"]: row["value"] for row in tables["answer"] if row["run_id"] == run_id}
    assert answers["caseworker.message"] == MESSAGE and answers["who5.calm"] == 2
    assert {row["name"] for row in tables["score"]} == {"who5_raw"}
    rules = {flag["rule"] for flag in tables["flag"]}
    assert {"child_unsafe_at_home", "message_for_caseworker"} <= rules
    assert "code_hash" not in json.dumps(tables)
    # Readable, in Dutch: the questions and the chosen answers as the bot showed them.
    document = done.document_path.read_text()
    assert done.language == "nl"
    nl = app.catalogs.translator("nl")
    question = nl.gettext("Do the children feel safe at home?")
    assert question != "Do the children feel safe at home?"
    assert f"{question}: {nl.gettext('No')}" in document
    assert MESSAGE in document and TELEGRAM_ID in document
    # The same in another language, asked for.
    other = await export_person_data(app, CASE_A, tmp_path / "tr", language="tr")
    tr = app.catalogs.translator("tr")
    assert tr.gettext("Do the children feel safe at home?") in other.document_path.read_text()
    assert CHILD in other.document_path.read_text()
    # Both looks are on record, by the operator, with what they held.
    async with app.database.reading() as uow:
        looks = [e for e in await uow.audit.events(world.case_a) if e.action == "data_exported"]
    assert [(e.actor_role, e.detail["person"]) for e in looks] == [
        ("operator", family.person_id),
        ("operator", None),
    ]
    assert looks[0].detail["rows"]["answer"] == len(tables["answer"])


def test_the_readable_export_has_a_word_for_every_stored_value() -> None:
    """A value without its text is shown as stored: in English, in a Dutch or Arabic
    document (consent "withdrawn" was, until it had a text)."""
    from bot.services import rights
    from bot.storage import models

    for words, stored in (
        (rights.CONSENTS, models.CONSENTS),
        (rights.PERSON_STATUSES, models.PERSON_STATUSES),
        (rights.RUN_STATUSES, models.RUN_STATUSES),
        (rights.NOTICE_STATES, models.NOTICE_STATES),
        (rights.ROLES, models.ROLES),
    ):
        assert set(words) == set(stored)


async def test_a_withdrawal_reads_as_such_in_the_export(
    world: World, clock: Clock, tmp_path: Path
) -> None:
    app = world.app
    family = await family_member(app, CASE_A, TELEGRAM_ID, "en")
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00", "Europe/Amsterdam"))
    clock.set(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # Monday, 18:00 in Amsterdam
    await due_notices(app)  # the family's reminder, queued
    await record_consent(app, family, False)
    done = await export_person_data(app, CASE_A, tmp_path / "out", person_id=family.person_id)
    document = done.document_path.read_text()
    assert "Consent: withdrawn on" in document
    assert "not sent: consent was withdrawn" in document  # the reminder queued before


async def test_a_person_of_another_case_is_not_exported(world: World, tmp_path: Path) -> None:
    from bot.services.rights import UnknownPerson

    with pytest.raises(UnknownPerson):
        await export_person_data(
            world.app, CASE_A, tmp_path / "out", person_id=world.family_b.person_id
        )
    assert not (tmp_path / "out").exists()


# --- one case at a time -------------------------------------------------------------------

WORDS_A, WORDS_B = "MARKER-IN-A: woorden in zaak A", "MARKER-IN-B: woorden in zaak B"


async def words_in(app: Wegwijzer, person_id: int, case_id: int, words: str) -> tuple[int, int]:
    """A run of the person in the case with their words, and the flag quoting them."""
    now = app.clock()
    async with app.database.transaction() as uow:
        run = await uow.runs.start(person_id, case_id, CHECKIN_FLOW, 1, "done", {}, now)
        await uow.answers.record(run.id, "caseworker.message", words, "message", now)
        flag = await uow.flags.raise_flag(
            case_id=case_id,
            run_id=run.id,
            flow_id=CHECKIN_FLOW,
            flow_version=1,
            rule="message_for_caseworker",
            level="medium",
            reason="A message.",
            evidence={"caseworker.message": words},
            raised_at=now,
            due_at=now,
        )
        return run.id, flag.id


async def in_both_cases(world: World) -> dict[str, tuple[int, int]]:
    """World's family of case A joins case B too, and says something in each."""
    async with world.app.database.transaction() as uow:
        await uow.cases.add_member(world.case_b, world.family.person_id)
    return {
        CASE_A: await words_in(world.app, world.family.person_id, world.case_a, WORDS_A),
        CASE_B: await words_in(world.app, world.family.person_id, world.case_b, WORDS_B),
    }


async def memberships(app: Wegwijzer, person_id: int) -> set[int]:
    async with app.database.reading() as uow:
        return {case.id for case in await uow.cases.of_person(person_id)}


@pytest.mark.both_backends
async def test_erasing_a_member_through_one_case_keeps_their_held_other_case(
    world: World,
) -> None:
    app = world.app
    said = await in_both_cases(world)
    await hold_case(app, CASE_A, "invented court reference")
    with pytest.raises(ErasureRefused):
        await erase(app, CASE_A, "asked", person_id=world.family.person_id)

    done = await erase(app, CASE_B, "asked", person_id=world.family.person_id)

    assert done.counts == {"memberships": 1, "flags": 1, "notes": 0, "runs": 1, "people": 0}
    values = await orm_values(app)
    assert leftovers(values, (WORDS_B,)) == []
    assert len(leftovers(values, (WORDS_A,))) == 2  # the answer and the flag's evidence
    async with app.database.reading() as uow:
        assert await uow.runs.get(said[CASE_A][0]) is not None
        assert await uow.runs.get(said[CASE_B][0]) is None
    assert await memberships(app, world.family.person_id) == {world.case_a}
    # Case A keeps them, and so how to reach them.
    assert await find_participant(app, "telegram", await _external(world)) is not None


@pytest.mark.both_backends
async def test_erasing_a_member_of_two_cases_through_each_forgets_them_at_the_last(
    world: World,
) -> None:
    app = world.app
    await in_both_cases(world)
    external = await _external(world)
    first = await erase(app, CASE_A, "asked", person_id=world.family.person_id)
    assert first.counts["people"] == 0
    assert await find_participant(app, "telegram", external) is not None
    last = await erase(app, CASE_B, "asked", person_id=world.family.person_id)
    assert last.counts["people"] == 1 and last.counts["runs"] == 1
    assert leftovers(await orm_values(app), (WORDS_A, WORDS_B, external)) == []
    assert await memberships(app, world.family.person_id) == set()


@pytest.mark.both_backends
async def test_a_caseworkers_erasure_is_their_contact_data_and_keeps_the_case_file(
    world: World,
) -> None:
    app = world.app
    cw = world.caseworker
    external = await external_of(app, cw.person_id)
    guidance = await guidance_run(app, cw, CASE_A)
    async with app.database.reading() as uow:
        (flag,) = [f for f in await uow.flags.open_flags([world.case_a]) if f.run_id == guidance]
    await flag_service.add_note(app, cw, flag.id, NOTE)
    # The caseworker of case B too, held: their guidance there is the case's record.
    async with app.database.transaction() as uow:
        await uow.cases.assign_caseworker(world.case_b, cw.person_id)
    held_run = await guidance_run(app, cw, CASE_B)
    await hold_case(app, CASE_B, "invented court reference")

    with pytest.raises(ErasureRefused) as refused:
        await erase(app, CASE_A, "asked", person_id=cw.person_id)
    assert refused.value.caseworker_of == (CASE_A, CASE_B) and refused.value.held_cases == (CASE_B,)
    assert "reassign first" in str(refused.value)
    # Case A goes to someone else; case B closes, still held and still theirs.
    await reassign_case(app, CASE_A, world.other_caseworker.person_id)
    async with app.database.transaction() as uow:
        case_b = await uow.cases.by_code(CASE_B)
        assert case_b is not None
        case_b.status, case_b.closed_at = "closed", app.clock()
    with pytest.raises(ErasureRefused) as refused:
        await erase(app, CASE_A, "asked", person_id=cw.person_id)
    assert refused.value.caseworker_of == () and refused.value.held_cases == (CASE_B,)
    await release_case(app, CASE_B, "invented: the court case ended")

    # Named through case A although no longer its caseworker: they worked on it.
    done = await erase(app, CASE_A, "asked", person_id=cw.person_id)

    assert done.counts == {"people": 1}
    async with app.database.reading() as uow:
        assert await uow.runs.get(guidance) is not None
        assert await uow.runs.get(held_run) is not None
        kept = await uow.flags.get(flag.id)
        assert kept is not None and kept.evidence != {"erased": True}
        notes = [e.note for e in await uow.audit.events(world.case_a) if e.flag_id == flag.id]
        assert NOTE in notes
        person = await uow.people.get_by_id(cw.person_id)
        assert person is not None and person.erased_at is not None
    assert leftovers(await orm_values(app), (external,)) == []


async def external_of(app: Wegwijzer, person_id: int) -> str:
    async with app.database.reading() as uow:
        person = await uow.people.get_by_id(person_id)
        assert person is not None
        return person.external_id


@pytest.mark.both_backends
async def test_a_case_export_holds_nothing_of_another_case(world: World, tmp_path: Path) -> None:
    app = world.app
    said = await in_both_cases(world)
    done = await export_person_data(app, CASE_A, tmp_path / "a")
    text = done.json_path.read_text() + done.document_path.read_text()
    assert WORDS_A in text and WORDS_B not in text
    tables = json.loads(done.json_path.read_text())["tables"]
    assert {run["id"] for run in tables["run"]} == {said[CASE_A][0]}
    assert {flag["case_id"] for flag in tables["flag"]} == {world.case_a}
    assert {event["case_id"] for event in tables["audit_event"]} <= {world.case_a, None}
    # Their own export holds both: it is everything about them.
    own = await export_person_data(app, CASE_A, tmp_path / "own", person_id=world.family.person_id)
    assert WORDS_A in own.json_path.read_text() and WORDS_B in own.json_path.read_text()


@pytest.mark.both_backends
async def test_a_caseworkers_export_holds_their_acts_not_the_families_words(
    world: World, tmp_path: Path
) -> None:
    app = world.app
    cw = world.caseworker
    family = await family_member(app, CASE_A, TELEGRAM_ID, "nl")
    await checkin_with_message(app, family, MESSAGE, safe_at_home="yes")
    async with app.database.reading() as uow:
        flags = await uow.flags.open_flags([world.case_a])
    (flag,) = [flag for flag in flags if flag.rule == "message_for_caseworker"]
    await flag_service.add_note(app, cw, flag.id, NOTE)
    await guidance_run(app, cw, CASE_A)

    done = await export_person_data(app, CASE_A, tmp_path / "cw", person_id=cw.person_id)

    text = done.json_path.read_text() + done.document_path.read_text()
    assert not [needle for needle in (MESSAGE, NOTE, TELEGRAM_ID) if needle in text]
    tables = json.loads(done.json_path.read_text())["tables"]
    assert [person["id"] for person in tables["person"]] == [cw.person_id]
    assert "flag" not in tables and "run" not in tables and "answer" not in tables
    noted = [event for event in tables["audit_event"] if event["flag_id"] == flag.id]
    assert noted and all("note" not in event for event in noted)
    assert noted[0]["case_id"] == world.case_a
    assert tables["case"] == [{"id": world.case_a, "code": CASE_A, "in_their_care": True}]
