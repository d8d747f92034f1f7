"""Regressions from the review of the guidance code: a decision on an older closure proposal,
a coordinator approving their own proposal, two coordinators deciding at once, a guidance run
whose case went to another caseworker, a "not applicable" without its note, proposing while a
proposal waits, review reminders during a waiting closure, the stage a reopening records, and
what the case view shows of a returned or waiting closure.

Played through the services as in `test_guidance`, every outcome read back from the database
or from what the services return. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL
(the concurrency test on PostgreSQL only).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Wegwijzer
from bot.engine import Choose, Reply, Say
from bot.engine.runner import ESSENTIALS_MISSING
from bot.rules.guidance import flows_for, proposal_id
from bot.rules.people import Participant
from bot.services import guidance, texts, visits
from bot.services.case_view import case_view
from bot.services.guidance import NotProposed, OwnProposal
from bot.services.runs import Turn, answer, answer_option, start_flow, waiting_question
from bot.storage.repositories import CaseRepository
from tests.world import CASE_A, Clock, World, reread

from .test_guidance import (
    ASSESSMENT_ESSENTIALS,
    CRITERIA,
    SUMMARY,
    asked,
    case_row,
    events_of,
    finish,
    mark,
    run_status,
    said,
    screen,
)

SECOND_SUMMARY = "The school is on board now; the family asked to close."
RETURN_NOTE = "Talk with the school first."


# --- helpers --------------------------------------------------------------------------------


async def closure_check(
    app: Wegwijzer, who: Participant, code: str, summary: str = SUMMARY
) -> Turn:
    """The closure check with every criterion met, ending in a proposal (the case must be in
    the closure stage: the flow is offered there only)."""
    turn = await start_flow(app, who, "case_closure", case_code=code)
    while asked(turn).key.removeprefix("closure.") in CRITERIA:
        turn = await answer(app, who, Choose(True))
        assert turn is not None
    assert asked(turn).key == "closure.summary"
    turn = await answer(app, who, Reply(summary))
    assert asked(turn).key == "closure.propose"
    turn = await answer(app, who, Choose(True))
    assert turn is not None
    assert await run_status(app, turn.run_id) == "completed"
    return turn


async def propose(app: Wegwijzer, who: Participant, code: str, summary: str = SUMMARY) -> Turn:
    """A fresh (low) screening, the case in the closure stage, then closure proposed."""
    await screen(app, who, code)
    if (await case_row(app, code)).stage != "closure":
        await visits.set_stage(app, code, "closure", by=who)
    turn = await closure_check(app, who, code, summary)
    case = await case_row(app, code)
    assert case.closure_proposed_at is not None and case.closure_proposed_by == who.person_id
    return turn


async def waiting_id(app: Wegwijzer, code: str) -> int:
    """The id of the proposal waiting on the case (as its buttons carry it)."""
    proposed_at = (await case_row(app, code)).closure_proposed_at
    assert proposed_at is not None
    return proposal_id(proposed_at)


async def propose_return_propose(world: World, clock: Clock) -> tuple[int, int]:
    """A proposal returned by the coordinator, then a second one later: both proposals' ids."""
    app = world.app
    await propose(app, world.caseworker, CASE_A)
    first = await waiting_id(app, CASE_A)
    clock.advance(hours=1)
    await guidance.return_closure(app, world.coordinator, CASE_A, RETURN_NOTE, proposal=first)
    clock.advance(days=2, minutes=7)
    await closure_check(app, world.caseworker, CASE_A, SECOND_SUMMARY)
    second = await waiting_id(app, CASE_A)
    assert second != first
    return first, second


async def answers_of(app: Wegwijzer, run_id: int) -> dict[str, Any]:
    async with app.database.reading() as uow:
        return await uow.answers.of_run(run_id)


async def decisions(app: Wegwijzer, case_id: int) -> list[str]:
    decided = ("closure_returned", "case_closed")
    return [e.action for e in await events_of_any(app, case_id) if e.action in decided]


async def events_of_any(app: Wegwijzer, case_id: int) -> list:
    async with app.database.reading() as uow:
        return await uow.audit.events(case_id)


# --- 1. a decision on an older proposal ---------------------------------------------------------


async def test_approving_an_older_proposal_does_not_close_the_new_one(
    world: World, clock: Clock
) -> None:
    app = world.app
    first, second = await propose_return_propose(world, clock)
    proposed_at = (await case_row(app, CASE_A)).closure_proposed_at

    with pytest.raises(NotProposed):
        await guidance.approve_closure(app, world.second_coordinator, CASE_A, proposal=first)
    case = await case_row(app, CASE_A)
    assert (case.status, case.closed_at) == ("open", None)
    assert (case.closure_proposed_at, case.closure_proposed_by) == (
        proposed_at,
        world.caseworker.person_id,
    )
    assert await events_of(app, world.case_a, "case_closed") == []

    decision = await guidance.approve_closure(
        app, world.second_coordinator, CASE_A, proposal=second
    )
    assert decision.text.msgid == texts.CASE_NOW_CLOSED.msgid
    case = await case_row(app, CASE_A)
    assert (case.status, case.closed_at, case.closure_proposed_at) == ("closed", clock.now, None)
    (closed,) = await events_of(app, world.case_a, "case_closed")
    assert closed.actor_id == world.second_coordinator.person_id


async def test_returning_an_older_proposal_does_not_return_the_new_one(
    world: World, clock: Clock
) -> None:
    app = world.app
    first, second = await propose_return_propose(world, clock)
    proposed_at = (await case_row(app, CASE_A)).closure_proposed_at

    with pytest.raises(NotProposed):
        await guidance.return_closure(app, world.coordinator, CASE_A, "Still no.", proposal=first)
    assert (await case_row(app, CASE_A)).closure_proposed_at == proposed_at
    assert len(await events_of(app, world.case_a, "closure_returned")) == 1  # the first only

    await guidance.return_closure(app, world.coordinator, CASE_A, "Still no.", proposal=second)
    case = await case_row(app, CASE_A)
    assert (case.status, case.closure_proposed_at) == ("open", None)
    notes = [e.note for e in await events_of(app, world.case_a, "closure_returned")]
    assert notes == [RETURN_NOTE, "Still no."]


async def test_a_return_note_asked_for_an_older_proposal_is_refused(
    world: World, clock: Clock
) -> None:
    app = world.app
    first, second = await propose_return_propose(world, clock)

    with pytest.raises(NotProposed):
        await guidance.ask_for_return_note(app, world.second_coordinator, CASE_A, proposal=first)
    assert (await reread(app, world.second_coordinator)).awaiting is None

    await guidance.ask_for_return_note(app, world.second_coordinator, CASE_A, proposal=second)
    waiting = await reread(app, world.second_coordinator)
    assert waiting.awaiting is not None
    assert (waiting.awaiting["action"], waiting.awaiting["case"]) == ("return_closure", CASE_A)
    assert waiting.awaiting["proposal"] == second


async def test_a_note_typed_for_a_proposal_decided_meanwhile_does_not_return_the_next(
    world: World, clock: Clock
) -> None:
    """The second coordinator presses "return" on the first proposal; before they type the
    note, the first coordinator returns it and the caseworker proposes again. The note meant
    for the first proposal does not return the second."""
    app = world.app
    await propose(app, world.caseworker, CASE_A)
    first = await waiting_id(app, CASE_A)
    await guidance.ask_for_return_note(app, world.second_coordinator, CASE_A, proposal=first)
    clock.advance(minutes=5)
    await guidance.return_closure(app, world.coordinator, CASE_A, RETURN_NOTE, proposal=first)
    clock.advance(days=1)
    await closure_check(app, world.caseworker, CASE_A, SECOND_SUMMARY)
    proposed_at = (await case_row(app, CASE_A)).closure_proposed_at

    typing = await reread(app, world.second_coordinator)
    assert typing.awaiting is not None and typing.awaiting["proposal"] == first
    with pytest.raises(NotProposed):
        await guidance.return_closure(
            app, typing, CASE_A, "Not yet.", proposal=typing.awaiting["proposal"]
        )
    assert (await case_row(app, CASE_A)).closure_proposed_at == proposed_at
    assert [e.note for e in await events_of(app, world.case_a, "closure_returned")] == [RETURN_NOTE]


# --- 2. no approving one's own proposal -------------------------------------------------------


async def test_a_coordinator_does_not_approve_their_own_proposal(
    world: World, clock: Clock
) -> None:
    app = world.app
    await propose(app, world.coordinator, CASE_A)  # coordinators may play case_closure
    proposal = await waiting_id(app, CASE_A)

    for given in (None, proposal):
        with pytest.raises(OwnProposal):
            await guidance.approve_closure(app, world.coordinator, CASE_A, proposal=given)
    case = await case_row(app, CASE_A)
    assert (case.status, case.closure_proposed_by) == ("open", world.coordinator.person_id)
    assert proposal_id(case.closure_proposed_at) == proposal
    assert await events_of(app, world.case_a, "case_closed") == []

    clock.advance(hours=1)
    decision = await guidance.approve_closure(
        app, world.second_coordinator, CASE_A, proposal=proposal
    )
    assert decision.text.msgid == texts.CASE_NOW_CLOSED.msgid
    case = await case_row(app, CASE_A)
    assert (case.status, case.closed_at) == ("closed", clock.now)
    (closed,) = await events_of(app, world.case_a, "case_closed")
    assert closed.actor_id == world.second_coordinator.person_id


# --- 3. two coordinators at once ----------------------------------------------------------------


@pytest.mark.both_backends
@pytest.mark.parametrize("second", ["return", "approve"])
async def test_two_coordinators_deciding_at_once_make_one_decision(
    world: World, monkeypatch: pytest.MonkeyPatch, second: str
) -> None:
    app = world.app
    if app.database.dialect != "postgresql":
        pytest.skip(
            "needs PostgreSQL: only there are two decisions two transactions that can overlap "
            "(the case row locked FOR UPDATE); SQLite queues writers in-process"
        )
    await propose(app, world.caseworker, CASE_A)
    proposal = await waiting_id(app, CASE_A)

    read_case = CaseRepository.by_code
    reads: list[tuple[float, float]] = []  # (asked, got) per locked read, monotonic seconds

    async def slow_locked_read(self: CaseRepository, code: str, *, for_update: bool = False):
        asked_at = time.monotonic()
        case = await read_case(self, code, for_update=for_update)
        if for_update:
            reads.append((asked_at, time.monotonic()))
            await asyncio.sleep(0.2)  # the row is locked: hold it while the other one asks
        return case

    monkeypatch.setattr(CaseRepository, "by_code", slow_locked_read)

    approve = guidance.approve_closure(app, world.coordinator, CASE_A, proposal=proposal)
    if second == "return":
        other = guidance.return_closure(
            app, world.second_coordinator, CASE_A, RETURN_NOTE, proposal=proposal
        )
    else:
        other = guidance.approve_closure(app, world.second_coordinator, CASE_A, proposal=proposal)
    results = await asyncio.gather(approve, other, return_exceptions=True)
    monkeypatch.undo()

    decided = [r for r in results if isinstance(r, guidance.Decision)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(decided) == 1, results
    assert len(refused) == 1 and isinstance(refused[0], NotProposed), results
    # The calls overlapped: the second asked for the row while the first held it, and got it
    # only after the first had committed.
    (_first_asked, first_got), (second_asked, second_got) = sorted(reads, key=lambda r: r[1])
    assert second_asked < first_got + 0.2
    assert second_got >= first_got + 0.19

    (action,) = await decisions(app, world.case_a)
    case = await case_row(app, CASE_A)
    assert case.closure_proposed_at is None
    if action == "case_closed":
        assert decided[0].text.msgid == texts.CASE_NOW_CLOSED.msgid
        assert case.status == "closed"
    else:
        assert decided[0].text.msgid == texts.CLOSURE_RETURNED.msgid
        assert (case.status, case.closed_at) == ("open", None)


# --- 4. a run whose case went to another caseworker -------------------------------------------


async def at_child_assessed_status(world: World) -> Turn:
    """The caseworker's navigator open at the status question of "child assessed"."""
    app, cw = world.app, world.caseworker
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    turn = await answer(app, cw, Choose("child_assessed"))
    assert [option.value for option in asked(turn).options][:1] == ["done"]
    return turn


async def give_case_a_to_the_other_caseworker(world: World) -> None:
    async with world.app.database.transaction() as uow:
        await uow.cases.assign_caseworker(world.case_a, world.other_caseworker.person_id)


async def test_a_typed_answer_after_the_case_was_given_away_stops_the_run(world: World) -> None:
    app, cw = world.app, world.caseworker
    turn = await at_child_assessed_status(world)
    before = await answers_of(app, turn.run_id)
    await give_case_a_to_the_other_caseworker(world)

    stopped = await answer(app, cw, Choose("done"))
    assert stopped is not None and stopped.run_id == turn.run_id
    (event,) = stopped.events
    assert isinstance(event, Say)
    assert event.text.msgid == texts.NOT_YOUR_CASE.msgid
    assert dict(event.text.params) == {"case": CASE_A}
    assert stopped.notices == ()
    assert await answers_of(app, turn.run_id) == before
    assert "reintegration.assessment.child_assessed" not in before
    assert await run_status(app, turn.run_id) == "paused"
    async with app.database.reading() as uow:
        kept = await uow.answers.latest_for_case(
            world.case_a, ["reintegration.assessment.child_assessed"]
        )
    assert kept == {}
    # Paused, it takes no further answers either.
    assert await answer(app, cw, Choose("done")) is None
    assert await answers_of(app, turn.run_id) == before


async def test_a_button_after_the_case_was_given_away_records_nothing(world: World) -> None:
    app, cw = world.app, world.caseworker
    turn = await at_child_assessed_status(world)
    question = asked(turn)
    flow = app.flows.get("reintegration")
    step = [s.id for s in flow.steps].index(turn.state.step)
    done = [option.value for option in question.options].index("done")
    waiting = await waiting_question(app, cw)
    assert waiting is not None and asked(waiting).part == question.part  # a valid button
    before = await answers_of(app, turn.run_id)
    await give_case_a_to_the_other_caseworker(world)

    pressed = await answer_option(app, cw, turn.run_id, step, done, part=question.part)
    assert pressed is None
    assert await answers_of(app, turn.run_id) == before
    assert "reintegration.assessment.child_assessed" not in before
    assert await run_status(app, turn.run_id) == "paused"
    async with app.database.reading() as uow:
        kept = await uow.answers.latest_for_case(
            world.case_a, ["reintegration.assessment.child_assessed"]
        )
    assert kept == {}


# --- 5. "not applicable" without its note -------------------------------------------------------


async def test_not_applicable_left_without_its_note_does_not_pass_the_gate(world: World) -> None:
    app, cw = world.app, world.caseworker
    navigator = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    for item in ASSESSMENT_ESSENTIALS:
        if item != "best_interests":
            await mark(app, cw, item, "done")
    await answer(app, cw, Choose("best_interests"))
    note_question = asked(await answer(app, cw, Choose("not_applicable")))
    assert (note_question.kind, note_question.key) == (
        "text",
        "reintegration.assessment.best_interests.note",
    )
    # Away at the note question: another flow starts, the navigator is paused.
    await start_flow(app, cw, "risk_screening", case_code=CASE_A)
    assert await run_status(app, navigator.run_id) == "paused"
    recorded = await answers_of(app, navigator.run_id)
    assert recorded["reintegration.assessment.best_interests"] == "not_applicable"
    assert "reintegration.assessment.best_interests.note" not in recorded

    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert turn.run_id != navigator.run_id  # a new run, remembering the case's statuses
    assert turn.state.answers["reintegration.assessment.best_interests"] == "not_applicable"
    finished = await finish(app, cw)
    assert asked(finished).key == "reintegration.assessment.gate"  # not "move to stage 2?"
    (missing,) = said(finished, ESSENTIALS_MISSING.msgid)
    assert [line.params["item"].msgid for line in missing.lines] == [
        "A best interests determination is made"
    ]
    view = await case_view(app, cw, CASE_A)
    assert (view.essentials, view.essentials_done) == (5, 4)
    assert [text.msgid for text in view.missing] == ["A best interests determination is made"]
    assert (await case_row(app, CASE_A)).stage == "assessment"

    # With its note it counts.
    await answer(app, cw, Choose("stay"))
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    await mark(app, cw, "best_interests", "not_applicable", "Decided by the court.")
    assert asked(await finish(app, cw)).key == "reintegration.assessment.move"
    view = await case_view(app, cw, CASE_A)
    assert (view.essentials_done, view.missing) == (5, ())


# --- 6. proposing while a proposal waits; the check only in the closure stage -----------------


async def test_proposing_again_while_a_proposal_waits_tells_no_one_again(
    world: World, clock: Clock
) -> None:
    app = world.app
    first = await propose(app, world.caseworker, CASE_A)
    assert len(first.notices) == 2
    proposed_at = clock.now

    clock.advance(days=1)
    for who in (world.caseworker, world.coordinator):
        turn = await closure_check(app, who, CASE_A, SECOND_SUMMARY)
        assert turn.notices == ()
        (waiting,) = said(turn, texts.CLOSURE_WAITING.msgid)
        assert dict(waiting.text.params) == {"date": proposed_at.date()}
        assert said(turn, texts.CLOSURE_PROPOSED.msgid) == []
    case = await case_row(app, CASE_A)
    assert (case.closure_proposed_at, case.closure_proposed_by) == (
        proposed_at,
        world.caseworker.person_id,
    )
    (event,) = await events_of(app, world.case_a, "closure_proposed")
    assert (event.note, event.at) == (SUMMARY, proposed_at)


@pytest.mark.parametrize("stage", [None, "assessment", "preparation", "reunification", "follow_up"])
async def test_the_closure_check_is_offered_in_the_closure_stage_only(
    world: World, stage: str | None
) -> None:
    app, cw = world.app, world.caseworker
    if stage is not None:
        await visits.set_stage(app, CASE_A, stage, by=cw)
    navigator = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    for who in (cw, world.coordinator):
        with pytest.raises(PermissionError):
            await start_flow(app, who, "case_closure", case_code=CASE_A)
    async with app.database.reading() as uow:
        current = await uow.runs.current(cw.person_id)
        assert await uow.runs.current(world.coordinator.person_id) is None
    assert current is not None and (current.id, current.status) == (navigator.run_id, "active")
    case = await case_row(app, CASE_A)
    assert "case_closure" not in [
        flow.id for flow in flows_for(app.flows, "caseworker", case, app.settings.country)
    ]

    await visits.set_stage(app, CASE_A, "closure", by=cw)
    case = await case_row(app, CASE_A)
    assert "case_closure" in [
        flow.id for flow in flows_for(app.flows, "caseworker", case, app.settings.country)
    ]
    turn = await start_flow(app, cw, "case_closure", case_code=CASE_A)
    assert await run_status(app, turn.run_id) == "active"


async def test_a_check_finished_after_the_case_left_the_closure_stage_proposes_nothing(
    world: World,
) -> None:
    app, cw = world.app, world.caseworker
    await screen(app, cw, CASE_A)
    await visits.set_stage(app, CASE_A, "closure", by=cw)
    turn = await start_flow(app, cw, "case_closure", case_code=CASE_A)
    while asked(turn).key != "closure.propose":
        question = asked(turn)
        turn = await answer(app, cw, Reply(SUMMARY) if question.kind == "text" else Choose(True))
    await visits.set_stage(app, CASE_A, "follow_up", by=world.coordinator)  # meanwhile

    turn = await answer(app, cw, Choose(True))
    assert turn is not None and turn.notices == ()
    (told,) = said(turn, texts.STAGE_CHANGED_MEANWHILE.msgid)
    assert told.text.params["case"] == CASE_A
    case = await case_row(app, CASE_A)
    assert (case.stage, case.closure_proposed_at) == ("follow_up", None)
    assert await events_of(app, world.case_a, "closure_proposed") == []


# --- 7. no review reminders while a closure waits ---------------------------------------------


async def test_no_review_reminder_while_a_closure_waits(world: World, clock: Clock) -> None:
    app = world.app
    await propose(app, world.caseworker, CASE_A)
    review = (await case_row(app, CASE_A)).review_due_at
    assert review is not None

    clock.set(review + timedelta(days=1))
    assert await guidance.review_notices(app) == []
    assert await events_of(app, world.case_a, "review_reminded") == []
    case = await case_row(app, CASE_A)
    assert (case.review_due_at, case.review_reminded_at) == (review, None)

    # Returned, the case is reminded again.
    await guidance.return_closure(app, world.coordinator, CASE_A, RETURN_NOTE)
    (notice,) = await guidance.review_notices(app)
    assert notice.recipient.person_id == world.caseworker.person_id
    assert notice.guide == ("risk_screening", CASE_A)
    assert len(await events_of(app, world.case_a, "review_reminded")) == 1


# --- 8. reopening records its stage move -------------------------------------------------------


async def test_reopening_records_the_move_from_closure_to_follow_up(
    world: World, clock: Clock
) -> None:
    app = world.app
    await propose(app, world.caseworker, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    moves_before = len(await events_of(app, world.case_a, "stage_set"))

    clock.advance(days=20)
    await guidance.reopen_case(app, world.second_coordinator, CASE_A)
    moves = await events_of(app, world.case_a, "stage_set")
    assert len(moves) == moves_before + 1
    reopened = moves[-1]
    assert (reopened.actor_id, reopened.at) == (world.second_coordinator.person_id, clock.now)
    assert reopened.detail == {"stage": "follow_up", "from": "closure", "override": False}
    case = await case_row(app, CASE_A)
    assert (case.status, case.stage, case.stage_since) == ("open", "follow_up", clock.now)


# --- 9. what the case view shows of the closure --------------------------------------------------


async def test_the_view_shows_the_return_note_until_the_next_proposal(
    world: World, clock: Clock
) -> None:
    app = world.app
    await propose(app, world.caseworker, CASE_A)
    view = await case_view(app, world.coordinator, CASE_A)
    assert (view.closure_summary, view.closure_returned) == (SUMMARY, None)

    clock.advance(hours=1)
    await guidance.return_closure(app, world.coordinator, CASE_A, RETURN_NOTE)
    for who in (world.caseworker, world.second_coordinator):
        view = await case_view(app, who, CASE_A)
        assert (view.closure_proposed_at, view.closure_summary) == (None, None)
        assert view.closure_returned == RETURN_NOTE
        assert view.next_step == "case_closure"

    clock.advance(days=1)
    await closure_check(app, world.caseworker, CASE_A, SECOND_SUMMARY)
    view = await case_view(app, world.second_coordinator, CASE_A)
    assert view.closure_returned is None
    assert (view.closure_proposed_at, view.closure_summary) == (clock.now, SECOND_SUMMARY)
    assert view.next_step is None
