"""An erased case is a tombstone everywhere (issue 15): no path writes to it again.

Every action that names an erased case — by code, by id, by a button or a run — meets
`CaseErased` from the case lookup; the reads that show history (the audit log, the case
view, an export, the flags that outlived it) still find it, as erased. In the bot, whoever
handled the case is told it was erased; anyone else hears what they hear of any case not
theirs. All data is invented.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import Conversation, Incoming, Message, Output, Typed
from bot.conversation.outputs import Toast
from bot.engine import Choose
from bot.i18n import Translator
from bot.rules.access import NotAllowed
from bot.rules.cadence import parse_cadence
from bot.services import flags as flag_service
from bot.services import guidance
from bot.services.audit import audit_log
from bot.services.case_view import case_view
from bot.services.cases import cases_to_guide, caseworker_cases, create_case
from bot.services.children import add_child
from bot.services.emergency import raise_alarm
from bot.services.guidance import reevaluation_notices, review_notices
from bot.services.invites import create_invite
from bot.services.legal_hold import hold_case
from bot.services.people import console_person, find_participant
from bot.services.review_texts import case_view_lines
from bot.services.rights import erase, export_person_data
from bot.services.runs import answer, start_flow
from bot.services.schedules import set_schedule
from bot.services.staffing import reassign_case
from bot.services.visits import record_visit, set_stage, visit_notices
from bot.storage import CaseErased
from tests.world import CASE_A, CASE_B, Clock, World, external_id, raise_flag, render

REASON = "verzoek van de familie (invented)"


async def erased(world: World) -> World:
    """Case A with a risk screening, a visit plan and a schedule, then erased."""
    app = world.app
    await set_stage(app, CASE_A, "preparation")
    cadence = parse_cadence("weekly mon 18:00", "Europe/Amsterdam", starts_on=app.clock().date())
    await set_schedule(app, CASE_A, cadence)
    await erase(app, CASE_A, REASON)
    return world


@pytest.fixture
async def tomb(world: World) -> World:
    return await erased(world)


# --- every action refuses ---------------------------------------------------------------------


async def test_a_closed_and_erased_case_is_not_reopened(world: World) -> None:
    async with world.app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        assert case is not None
        case.status = "closed"
    await erase(world.app, CASE_A, REASON)
    with pytest.raises(CaseErased) as refused:
        await guidance.reopen_case(world.app, world.coordinator, CASE_A)
    assert refused.value.code == CASE_A
    async with world.app.database.reading() as uow:
        case = await uow.cases.by_code(CASE_A, erased=True)
        assert case is not None and case.status == "closed"


async def test_no_family_is_invited_to_an_erased_case(tomb: World) -> None:
    for by in (None, tomb.caseworker, tomb.coordinator):
        with pytest.raises(CaseErased):
            await create_invite(tomb.app, "family", CASE_A, by=by)
    with pytest.raises(CaseErased):
        await create_invite(tomb.app, "caseworker", CASE_A)


async def test_an_erased_case_gets_no_schedule_stage_visit_child_or_caseworker(
    tomb: World,
) -> None:
    app = tomb.app
    cadence = parse_cadence("weekly mon 18:00", "Europe/Amsterdam", starts_on=app.clock().date())
    refused = [
        set_schedule(app, CASE_A, cadence),
        set_schedule(app, CASE_A, cadence, by=tomb.caseworker),
        set_stage(app, CASE_A, "reunification"),
        record_visit(app, CASE_A),
        record_visit(app, CASE_A, by=tomb.caseworker),
        add_child(app, CASE_A, birth_year=2019),
        reassign_case(app, CASE_A, tomb.other_caseworker.person_id),
        hold_case(app, CASE_A, "a complaint"),
        erase(app, CASE_A, REASON),
    ]
    for action in refused:
        with pytest.raises(CaseErased):
            await action
    async with app.database.reading() as uow:
        case = await uow.cases.by_code(CASE_A, erased=True)
        assert case is not None
        assert (case.stage, case.visit_due_at, case.legal_hold_at) == (None, None, None)
        assert case.caseworker_id == tomb.caseworker.person_id
        assert await uow.schedules.of_case(case.id, for_update=False) is None
        assert await uow.children.of_case(case.id) == []


@pytest.mark.parametrize(
    "flow", ["meldcode", "risk_screening", "reintegration", "home_visit", "case_closure"]
)
async def test_no_guidance_flow_starts_about_an_erased_case(tomb: World, flow: str) -> None:
    with pytest.raises(CaseErased):
        await start_flow(tomb.app, tomb.caseworker, flow, case_code=CASE_A)
    async with tomb.app.database.reading() as uow:
        assert await uow.runs.open_of(tomb.caseworker.person_id) is None


async def test_a_guidance_run_going_on_when_the_case_is_erased_stops(world: World) -> None:
    app = world.app
    turn = await start_flow(app, world.caseworker, "risk_screening", case_code=CASE_A)
    assert turn.run_id is not None
    await erase(app, CASE_A, REASON)  # its runs go with it
    async with app.database.reading() as uow:
        assert await uow.runs.get(turn.run_id) is None
    assert await answer(app, world.caseworker, Choose("yes")) is None  # nothing to go on with


async def test_no_flag_is_raised_on_an_erased_case_but_an_alarm_is_never_lost(
    tomb: World,
) -> None:
    with pytest.raises(CaseErased):
        await raise_flag(tomb.app, tomb.case_a, level="medium", rule="low_wellbeing")
    # Someone read as a member just before the erasure, whose alarm comes just after it.
    stale = tomb.family
    assert stale.case_id == tomb.case_a
    alarm = await raise_alarm(tomb.app, stale, "sos")
    async with tomb.app.database.reading() as uow:
        flag = await uow.flags.get(alarm.flag_id or 0)
        assert flag is not None and (flag.level, flag.case_id) == ("urgent", None)


async def test_the_reminder_duties_skip_an_erased_case(tomb: World, clock: Clock) -> None:
    app = tomb.app
    # Even were a due date left on the tombstone, no duty would pick it up.
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A, erased=True)
        assert case is not None
        case.visit_due_at = case.review_due_at = case.reevaluation_due_at = app.clock()
    clock.advance(days=1)
    assert await visit_notices(app) == []
    assert await review_notices(app) == []
    assert await reevaluation_notices(app) == []


async def test_an_erased_case_is_no_work_in_a_caseworker_s_lists(tomb: World) -> None:
    assert await caseworker_cases(tomb.app, tomb.caseworker) == []
    assert await cases_to_guide(tomb.app, tomb.caseworker, None) == []
    with pytest.raises(CaseErased):
        await cases_to_guide(tomb.app, tomb.coordinator, CASE_A)
    async with tomb.app.database.reading() as uow:
        assert CASE_A not in await uow.cases.without_reachable_caseworker()
        assert await uow.cases.assigned_to(tomb.caseworker.person_id) == []


async def test_the_console_does_not_open_an_erased_case(tomb: World) -> None:
    with pytest.raises(CaseErased):
        await console_person(tomb.app, "family", CASE_A)


async def test_a_new_case_never_takes_an_erased_case_s_code(tomb: World) -> None:
    async with tomb.app.database.transaction() as uow:
        for _ in range(5):
            assert (await create_case(uow, "foster_care")).code != CASE_A


# --- reads of history still find it ---------------------------------------------------------


async def test_the_case_view_shows_the_tombstone_and_the_flags_it_left(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a, level="medium", rule="low_wellbeing")
    await erase(app, CASE_A, REASON)
    view = await case_view(app, world.coordinator, CASE_A)
    assert view.erased_at == app.clock() and view.code == CASE_A
    assert [flag.id for flag in view.open_flags] == [flag_id]
    lines = [render(app, line) for line in case_view_lines(view, app.clock())]
    assert lines[0] == f"Case {CASE_A} · family strengthening · erased on November 27, 2026"
    with pytest.raises(NotAllowed):  # not theirs: no sign that the code exists
        await case_view(app, world.other_caseworker, CASE_A)
    # The flag that outlived the case is still reviewed.
    await flag_service.resolve(app, world.coordinator, flag_id, "nothing left to follow")


async def test_the_audit_log_and_the_export_read_the_tombstone(tomb: World, tmp_path: Path) -> None:
    actions = [entry.action for entry in await audit_log(tomb.app, CASE_A)]
    assert "data_erased" in actions
    done = await export_person_data(tomb.app, CASE_A, tmp_path)
    assert "erased" in done.document_path.read_text(encoding="utf-8")
    assert (await audit_log(tomb.app, CASE_A))[-1].action == "data_exported"


async def test_the_other_case_goes_on(tomb: World) -> None:
    plan = await record_visit(tomb.app, CASE_B, by=tomb.other_caseworker)
    assert plan.case_code == CASE_B


# --- an erased person -----------------------------------------------------------------------


async def test_an_erased_person_takes_nothing_new(tomb: World) -> None:
    async with tomb.app.database.transaction() as uow:
        person = await uow.people.get_by_id(tomb.family.person_id)
        assert person is not None and person.erased_at is not None
        for change in (
            uow.people.set_language(person.id, "nl"),
            uow.people.set_consent(person.id, "given", tomb.app.clock()),
            uow.people.set_status(person.id, "active"),
            uow.people.set_awaiting(person.id, {"action": "note"}),
        ):
            with pytest.raises(LookupError):
                await change
    assert await find_participant(tomb.app, "telegram", "") is None


# --- in the bot -----------------------------------------------------------------------------


async def said(world: World, who: object, text: str) -> str:
    lines: list[str] = []

    async def heard(output: Output, translate: Translator) -> None:
        if isinstance(output, Message):
            lines.extend(translate.render(line) for part in output.paragraphs for line in part)
        elif isinstance(output, Toast):  # the answer to a typed command is a message too
            lines.append(translate.render(output.text))

    sender = await external_id(world.app, who)  # type: ignore[arg-type]
    await Conversation(world.app).handle(
        Incoming("telegram", sender, Typed(text), bot_username="wegwijzer_test_bot"), heard
    )
    return "\n".join(lines)


@pytest.mark.parametrize(
    "command", ["/visit {case}", "/invite {case}", "/schedule {case} weekly mon 18:00"]
)
async def test_the_bot_says_the_case_was_erased_to_whoever_handled_it(
    tomb: World, command: str
) -> None:
    typed = command.format(case=CASE_A)
    erased_text = f"Case {CASE_A} was erased: only its code is kept, nothing can be done with it."
    assert await said(tomb, tomb.caseworker, typed) == erased_text
    if not typed.startswith("/visit"):  # a coordinator records no visits
        assert await said(tomb, tomb.coordinator, typed) == erased_text
    assert await said(tomb, tomb.other_caseworker, typed) == (
        f"Case {CASE_A} is not one of your cases."
    )


async def test_the_bot_shows_a_tombstone_and_lists_no_erased_case(tomb: World) -> None:
    shown = await said(tomb, tomb.coordinator, f"/case {CASE_A}")
    assert shown.splitlines()[0].startswith(f"Case {CASE_A} · family strengthening · erased on")
    assert CASE_A not in await said(tomb, tomb.caseworker, "/cases")
