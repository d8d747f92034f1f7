"""Caseworkers' guidance flows and what they change on their case (issue #6): the risk
screening sets the risk level, the reintegration navigator moves the stage, the closure check
proposes closing, which a coordinator approves or returns; a closed case can be reopened.

Every flow is played through `bot.services.runs` as a caseworker would press the buttons, and
every outcome is read back from the database (or from what the services return). Runs on
SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Wegwijzer
from bot.engine import AnswerRecorded, Ask, CaseUpdated, Choose, FlagRaised, Reply, Say
from bot.engine.runner import ESSENTIALS_MISSING
from bot.rules.access import NotAllowed
from bot.rules.cadence import parse_cadence
from bot.rules.guidance import applies, flows_for, proposal_id
from bot.rules.people import Participant
from bot.services import guidance, texts, visits
from bot.services.case_view import case_view
from bot.services.cases import create_case
from bot.services.guidance import NotProposed, OwnProposal
from bot.services.runs import Turn, answer, answer_option, start_flow, waiting_question
from bot.services.schedules import pause_schedule, set_schedule
from bot.storage.repositories import CaseRepository
from tests.world import CASE_A, CASE_B, Clock, World, add_person, audit, reread

SIMBA = "TST-0003"

# The risk screening's yes/no questions, in the order the flow asks them.
SCREENING = (
    "threat_harm",
    "threat_needs",
    "threat_no_protector",
    "past_harm",
    "very_young",
    "disability_health",
    "addiction",
    "mental_health",
    "violence_home",
    "trusted_adult",
    "school",
    "network",
)
PROTECTIVE = frozenset({"trusted_adult", "school", "network"})
ASSESSMENT_ESSENTIALS = (
    "child_assessed",
    "family_traced",
    "best_interests",
    "family_community_assessed",
    "plan_made",
)
CRITERIA = ("goals_met", "no_harm", "risk_reduced", "support_reduced", "agreed")
SUMMARY = "Goals met, the child is safe at home, support was reduced over six months."


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
async def care_case(world: World) -> None:
    """The navigator is for children in alternative care: the shared world's case A (family
    strengthening) is an SOS family case in these tests, unless a test puts it back with
    `set_programme` (family strengthening has its own tests below)."""
    await set_programme(world.app, CASE_A, "sos_family")


async def set_programme(app: Wegwijzer, code: str, programme: str) -> None:
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None
        case.programme = programme


def asked(turn: Turn | None) -> Ask:
    """The question a turn ends with."""
    assert turn is not None
    last = turn.events[-1]
    assert isinstance(last, Ask), turn.events
    return last


def said(turn: Turn, msgid: str) -> list[Say]:
    return [e for e in turn.events if isinstance(e, Say) and e.text.msgid == msgid]


async def case_row(app: Wegwijzer, code: str) -> Any:
    async with app.database.reading() as uow:
        case = await uow.cases.by_code(code)
        assert case is not None
        return case


async def run_status(app: Wegwijzer, run_id: int) -> str:
    async with app.database.reading() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        return run.status


async def events_of(app: Wegwijzer, case_id: int, action: str) -> list:
    return [e for e in await audit(app, case_id=case_id) if e.action == action]


async def screen(
    app: Wegwijzer,
    who: Participant,
    code: str,
    yes: Iterable[str] = PROTECTIVE,
    *,
    agree: bool = True,
    own_level: str | None = None,
    reason: str | None = None,
) -> Turn:
    """A whole risk screening: "yes" to the questions in `yes`, "no" to the others."""
    yes = set(yes)
    turn = await start_flow(app, who, "risk_screening", case_code=code)
    for question in SCREENING:
        assert asked(turn).key == f"risk.{question}"
        turn = await answer(app, who, Choose(question in yes))
    floor = {"threat_harm", "threat_needs", "threat_no_protector", "violence_home"} & yes
    if floor:  # at least high: nothing to agree with or set lower
        assert agree and own_level is None
    else:
        assert asked(turn).key == "risk.agree"
        turn = await answer(app, who, Choose(agree))
    if not agree:
        assert asked(turn).key == "risk.own_level"
        turn = await answer(app, who, Choose(own_level))
        assert asked(turn).key == "risk.own_reason"
        turn = await answer(app, who, Reply(reason or ""))
    assert turn is not None
    assert await run_status(app, turn.run_id) == "completed"
    return turn


async def mark(
    app: Wegwijzer, who: Participant, item: str, status: str, note: str | None = None
) -> Turn:
    """Mark one checklist item from the list: its status, then a note or Skip."""
    checklist = asked(await answer(app, who, Choose(item)))
    assert checklist.kind == "choice" and checklist.key.endswith(f".{item}")
    note_question = asked(await answer(app, who, Choose(status)))
    assert note_question.kind == "text"
    turn = await answer(app, who, Reply(note) if note is not None else Choose("skip"))
    assert turn is not None
    assert asked(turn).kind == "checklist"
    return turn


async def finish(app: Wegwijzer, who: Participant) -> Turn:
    turn = await answer(app, who, Choose("finish"))
    assert turn is not None
    return turn


async def closure_check(
    app: Wegwijzer,
    who: Participant,
    code: str,
    summary: str = SUMMARY,
    *,
    unmet: Iterable[str] = (),
    propose: bool = True,
) -> Turn:
    """The closure readiness check: "no" to the criteria in `unmet`, "yes" to the others the
    flow asks; then the summary and the proposal, when it gets that far."""
    unmet = set(unmet)
    # The check is offered in the closure stage only: put the case there (as the operator)
    # when a test has not moved it there through the navigator.
    async with app.database.reading() as uow:
        stage = (await uow.cases.by_code(code)).stage
    if stage != "closure":
        await visits.set_stage(app, code, "closure")
    turn = await start_flow(app, who, "case_closure", case_code=code)
    while turn.state.status == "active" and asked(turn).key.removeprefix("closure.") in CRITERIA:
        criterion = asked(turn).key.removeprefix("closure.")
        turn = await answer(app, who, Choose(criterion not in unmet))
        assert turn is not None
    if turn.state.status == "active":
        assert asked(turn).key == "closure.summary"
        turn = await answer(app, who, Reply(summary))
        assert asked(turn).key == "closure.propose"
        turn = await answer(app, who, Choose(propose))
    assert turn is not None
    assert await run_status(app, turn.run_id) == "completed"
    return turn


async def propose_closure(app: Wegwijzer, who: Participant, code: str) -> Turn:
    """A fresh screening (low risk), then every closure criterion met and closure proposed."""
    await screen(app, who, code)
    turn = await closure_check(app, who, code)
    assert (await case_row(app, code)).closure_proposed_at is not None
    return turn


def not_met(turn: Turn) -> list[str]:
    """The criteria the closure check lists as not met (its "– ..." lines)."""
    return [e.text.msgid for e in turn.events if isinstance(e, Say) and e.text.msgid[:2] == "– "]


async def add_simba_case(app: Wegwijzer) -> Participant:
    async with app.database.transaction() as uow:
        await create_case(uow, "simba_family_care", SIMBA)
    return await add_person(app, "caseworker", case=SIMBA)


# --- 1. the risk screening ------------------------------------------------------------------

LEVEL_CASES = {
    "immediate_threat": ({"threat_harm", *PROTECTIVE}, "high"),
    "past_harm_and_violence": ({"past_harm", "violence_home", *PROTECTIVE}, "high"),
    # A child living with violence between adults is a victim of child abuse (Meldcode).
    "violence_alone": ({"violence_home", *PROTECTIVE}, "high"),
    "four_concerns": ({"very_young", "addiction", "mental_health", "disability_health"}, "high"),
    "two_concerns": ({"very_young", "addiction", *PROTECTIVE}, "medium"),
    "one_concern_nothing_protects": ({"addiction"}, "medium"),
    "one_concern_protected": ({"addiction", "school"}, "low"),
    "nothing": (set(PROTECTIVE), "low"),
}


@pytest.mark.parametrize("answers", list(LEVEL_CASES), ids=list(LEVEL_CASES))
async def test_the_screening_sets_the_risk_level_and_the_next_review(
    world: World, clock: Clock, answers: str
) -> None:
    app = world.app
    yes, level = LEVEL_CASES[answers]
    clock.advance(hours=3)
    turn = await screen(app, world.caseworker, CASE_A, yes)

    case = await case_row(app, CASE_A)
    review = clock.now + timedelta(days=app.settings.review_days[level])
    assert (case.risk_level, case.risk_set_at, case.review_due_at) == (level, clock.now, review)
    (update,) = [e for e in turn.events if isinstance(e, CaseUpdated)]
    assert (update.name, update.value, update.reason) == ("risk_level", level, None)
    (confirmation,) = said(turn, texts.RISK_LEVEL_SET.msgid)
    assert dict(confirmation.text.params) == {
        "case": CASE_A,
        "level": texts.LEVELS[level],
        "date": review.date(),
    }
    # The confirmation follows the update it confirms, before the flow's own last words.
    assert turn.events.index(confirmation) == turn.events.index(update) + 1
    (event,) = await events_of(app, world.case_a, "risk_level_set")
    assert (event.actor_id, event.note, event.at) == (world.caseworker.person_id, None, clock.now)
    assert event.detail == {"level": level, "computed": level, "override": False}
    # An immediate threat raises an urgent flag; violence at home a high one that points to
    # the Meldcode (the deployment is Dutch); nothing else raises a flag.
    async with app.database.reading() as uow:
        flags = await uow.flags.open_flags([world.case_a])
    expected = {
        "immediate_threat": [("risk_immediate_threat", "urgent")],
        "past_harm_and_violence": [("risk_violence_home_meldcode", "high")],
        "violence_alone": [("risk_violence_home_meldcode", "high")],
    }
    assert [(f.rule, f.level) for f in flags] == expected.get(answers, [])


async def test_an_immediate_threat_also_raises_an_urgent_flag(world: World) -> None:
    app = world.app
    turn = await start_flow(app, world.caseworker, "risk_screening", case_code=CASE_A)
    turn = await answer(app, world.caseworker, Choose(True))  # at risk of serious harm now
    assert turn is not None
    assert [e.rule_id for e in turn.events if isinstance(e, FlagRaised)] == [
        "risk_immediate_threat"
    ]
    async with app.database.reading() as uow:
        (flag,) = await uow.flags.open_flags([world.case_a])
        assert await uow.flags.open_flags([world.case_b]) == []
    assert (flag.rule, flag.level, flag.run_id) == ("risk_immediate_threat", "urgent", turn.run_id)
    assert flag.evidence == {"risk.threat_harm": True}


async def test_no_flag_without_an_immediate_threat_or_violence_at_home(world: World) -> None:
    await screen(
        world.app, world.caseworker, CASE_A, {"past_harm", "very_young", "addiction", "school"}
    )
    async with world.app.database.reading() as uow:
        assert await uow.flags.open_flags([world.case_a]) == []
    assert (await case_row(world.app, CASE_A)).risk_level == "medium"


async def test_the_caseworker_overrides_the_level_with_a_reason(world: World, clock: Clock) -> None:
    app = world.app
    reason = "The father moved out last week; the mother has a restraining order."
    turn = await screen(
        app,
        world.caseworker,
        CASE_A,
        {"past_harm", "very_young", "addiction", "mental_health", *PROTECTIVE},  # high
        agree=False,
        own_level="medium",
        reason=reason,
    )
    case = await case_row(app, CASE_A)
    review = clock.now + timedelta(days=app.settings.review_days["medium"])
    assert (case.risk_level, case.risk_set_at, case.review_due_at) == ("medium", clock.now, review)
    (event,) = await events_of(app, world.case_a, "risk_level_set")
    assert event.note == reason
    assert event.detail == {"level": "medium", "computed": "high", "override": True}
    (confirmation,) = said(turn, texts.RISK_LEVEL_OVERRIDDEN.msgid)
    assert dict(confirmation.text.params) == {
        "case": CASE_A,
        "level": texts.LEVELS["medium"],
        "computed": texts.LEVELS["high"],
        "date": review.date(),
    }
    assert said(turn, texts.RISK_LEVEL_SET.msgid) == []


async def test_violence_at_home_or_a_threat_cannot_be_set_below_high(world: World) -> None:
    """domain.md, "Corrections": a child living with partner violence is never below high;
    the caseworker is told to discuss a different judgement with the coordinator instead."""
    app = world.app
    turn = await screen(app, world.caseworker, CASE_A, {"violence_home", *PROTECTIVE})
    assert (await case_row(app, CASE_A)).risk_level == "high"
    assert not [e for e in turn.events if isinstance(e, Ask)]  # no level to choose


async def test_disagreeing_but_choosing_the_same_level_is_no_override(world: World) -> None:
    app = world.app
    turn = await screen(
        app, world.caseworker, CASE_A, agree=False, own_level="low", reason="Same, really."
    )
    (event,) = await events_of(app, world.case_a, "risk_level_set")
    assert (event.note, event.detail["override"], event.detail["computed"]) == (
        "Same, really.",
        False,
        "low",
    )
    assert len(said(turn, texts.RISK_LEVEL_SET.msgid)) == 1
    assert (await case_row(app, CASE_A)).risk_level == "low"


async def test_a_new_screening_replaces_the_level(world: World, clock: Clock) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A, {"threat_needs"})
    clock.advance(days=20)
    await screen(app, world.coordinator, CASE_A)  # coordinators screen every case
    case = await case_row(app, CASE_A)
    assert (case.risk_level, case.risk_set_at) == ("low", clock.now)
    assert case.review_due_at == clock.now + timedelta(days=app.settings.review_days["low"])
    levels = [
        (e.actor_id, e.detail["level"])
        for e in await events_of(app, world.case_a, "risk_level_set")
    ]
    assert levels == [(world.caseworker.person_id, "high"), (world.coordinator.person_id, "low")]


async def test_review_days_are_configuration(world: World, clock: Clock) -> None:
    app = world.app
    app.settings = replace(app.settings, review_days={"high": 3, "medium": 10, "low": 20})
    await screen(app, world.caseworker, CASE_A, {"addiction"})
    assert (await case_row(app, CASE_A)).review_due_at == clock.now + timedelta(days=10)


# --- 2. the reintegration navigator ---------------------------------------------------------


async def test_a_case_without_a_stage_starts_in_assessment(world: World, clock: Clock) -> None:
    app = world.app
    assert (await case_row(app, CASE_A)).stage is None
    turn = await start_flow(app, world.caseworker, "reintegration", case_code=CASE_A)
    question = asked(turn)
    assert (question.kind, question.key) == ("checklist", "reintegration.assessment")
    (moved,) = said(turn, texts.STAGE_MOVED.msgid)
    assert moved.text.params["stage"] == texts.STAGES["assessment"]
    assert moved.text.params["number"] == 1
    case = await case_row(app, CASE_A)
    assert (case.stage, case.stage_since, case.visit_due_at) == ("assessment", clock.now, None)
    (event,) = await events_of(app, world.case_a, "stage_set")
    assert event.detail == {"stage": "assessment", "from": None, "override": False}

    # Opened again, the case is already in a stage: no second move.
    await finish(app, world.caseworker)
    await answer(app, world.caseworker, Choose("stay"))  # ends the first run
    turn = await start_flow(app, world.caseworker, "reintegration", case_code=CASE_A)
    assert asked(turn).key == "reintegration.assessment"
    assert said(turn, texts.STAGE_MOVED.msgid) == []
    assert len(await events_of(app, world.case_a, "stage_set")) == 1


async def test_checklist_statuses_come_back_in_the_next_run(world: World, clock: Clock) -> None:
    app, cw = world.app, world.caseworker
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    await mark(app, cw, "child_assessed", "done", "Talked with her at school.")
    await mark(app, cw, "family_traced", "not_yet")
    await mark(app, cw, "best_interests", "not_applicable", "Decided by the court already.")
    first = await finish(app, cw)
    (missing,) = said(first, ESSENTIALS_MISSING.msgid)
    assert len(missing.lines) == 3  # done, or not applicable with a note, is not missing
    assert asked(first).key == "reintegration.assessment.gate"
    stayed = await answer(app, cw, Choose("stay"))
    assert stayed is not None and await run_status(app, stayed.run_id) == "completed"

    clock.advance(days=3)
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert turn.run_id != first.run_id
    assert turn.state.answers["reintegration.assessment.child_assessed"] == "done"
    assert turn.state.answers["reintegration.assessment.family_traced"] == "not_yet"
    assert turn.state.answers["reintegration.assessment.best_interests"] == "not_applicable"
    assert (
        turn.state.answers["reintegration.assessment.best_interests.note"]
        == "Decided by the court already."
    )
    # The list shows them with their marks and notes.
    lines = [line.params.get("mark") for line in asked(turn).lines if "mark" in line.params]
    assert lines[:4] == ["✅", "⬜", "➖", "⬜"]
    notes = [line.params["note"] for line in asked(turn).lines if "note" in line.params]
    assert notes == ["Talked with her at school.", "Decided by the court already."]

    # Marked again in the new run, the newer status is what comes back next time.
    await mark(app, cw, "family_traced", "done")
    await finish(app, cw)
    await answer(app, cw, Choose("stay"))
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert turn.state.answers["reintegration.assessment.family_traced"] == "done"


async def test_all_essentials_done_and_confirmed_moves_the_stage(
    world: World, clock: Clock
) -> None:
    app, cw = world.app, world.caseworker
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    for item in ASSESSMENT_ESSENTIALS:
        await mark(app, cw, item, "done")
    ready = await finish(app, cw)
    assert asked(ready).key == "reintegration.assessment.ready"
    clock.advance(minutes=5)
    turn = await answer(app, cw, Choose("move"))
    assert turn is not None and await run_status(app, turn.run_id) == "completed"

    case = await case_row(app, CASE_A)
    assert (case.stage, case.stage_since) == ("preparation", clock.now)
    assert case.visit_due_at is None  # no visits before the return home
    (_, moved) = await events_of(app, world.case_a, "stage_set")
    assert moved.note is None and moved.actor_id == cw.person_id
    assert moved.detail == {"stage": "preparation", "from": "assessment", "override": False}
    (confirmation,) = said(turn, texts.STAGE_MOVED.msgid)
    assert dict(confirmation.text.params) == {
        "case": CASE_A,
        "number": 2,
        "stage": texts.STAGES["preparation"],
    }
    # The next run shows the new stage's checklist.
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert asked(turn).key == "reintegration.preparation"


async def test_declining_the_move_when_ready_leaves_the_stage(world: World) -> None:
    app, cw = world.app, world.caseworker
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    for item in ASSESSMENT_ESSENTIALS:
        await mark(app, cw, item, "done")
    await finish(app, cw)
    turn = await answer(app, cw, Choose("stay"))
    assert turn is not None and await run_status(app, turn.run_id) == "completed"
    assert (await case_row(app, CASE_A)).stage == "assessment"
    assert len(await events_of(app, world.case_a, "stage_set")) == 1  # only the start


async def test_moving_on_with_items_missing_needs_a_reason(world: World) -> None:
    app, cw = world.app, world.caseworker
    reason = "The family asked to start preparing; the plan is made next week."
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    await mark(app, cw, "child_assessed", "done")
    await finish(app, cw)
    why = asked(await answer(app, cw, Choose("override")))
    assert why.key == "reintegration.assessment.override_reason"
    turn = await answer(app, cw, Reply(reason))
    assert turn is not None

    assert (await case_row(app, CASE_A)).stage == "preparation"
    (_, moved) = await events_of(app, world.case_a, "stage_set")
    assert moved.note == reason
    assert moved.detail == {"stage": "preparation", "from": "assessment", "override": True}
    assert len(said(turn, texts.STAGE_MOVED_OVERRIDE.msgid)) == 1
    assert said(turn, texts.STAGE_MOVED.msgid) == []


async def test_staying_leaves_the_stage(world: World) -> None:
    app, cw = world.app, world.caseworker
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    await finish(app, cw)
    turn = await answer(app, cw, Choose("stay"))
    assert turn is not None and await run_status(app, turn.run_id) == "completed"
    assert (await case_row(app, CASE_A)).stage == "assessment"
    assert [e.detail["stage"] for e in await events_of(app, world.case_a, "stage_set")] == [
        "assessment"
    ]


async def test_a_stale_navigator_run_does_not_move_the_case_back(world: World) -> None:
    app, cw = world.app, world.caseworker
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    for item in ASSESSMENT_ESSENTIALS:
        await mark(app, cw, item, "done")
    assert asked(await finish(app, cw)).key == "reintegration.assessment.ready"  # left open

    # Meanwhile a coordinator moves the case on twice.
    await start_flow(app, world.coordinator, "reintegration", case_code=CASE_A)
    await finish(app, world.coordinator)
    await answer(app, world.coordinator, Choose("move"))
    assert (await case_row(app, CASE_A)).stage == "preparation"
    await start_flow(app, world.coordinator, "reintegration", case_code=CASE_A)
    await finish(app, world.coordinator)
    await answer(app, world.coordinator, Choose("override"))
    await answer(app, world.coordinator, Reply("The child is going home this week."))
    assert (await case_row(app, CASE_A)).stage == "reunification"

    turn = await answer(app, cw, Choose("move"))  # the caseworker's old "move to stage 2?"
    assert turn is not None and await run_status(app, turn.run_id) == "completed"
    assert (await case_row(app, CASE_A)).stage == "reunification"
    (told,) = said(turn, texts.STAGE_CHANGED_MEANWHILE.msgid)
    assert dict(told.text.params) == {
        "case": CASE_A,
        "number": 3,
        "stage": texts.STAGES["reunification"],
    }
    assert said(turn, texts.STAGE_MOVED.msgid) == []
    moves = [e.detail["stage"] for e in await events_of(app, world.case_a, "stage_set")]
    assert moves == ["assessment", "preparation", "reunification"]


async def test_stage_moves_plan_visits_and_risk_brings_them_closer(
    world: World, clock: Clock
) -> None:
    app, cw = world.app, world.caseworker
    await visits.set_stage(app, CASE_A, "reunification", by=cw)
    returned = clock.now
    clock.set(returned + timedelta(weeks=9))  # past the weekly visits after the return

    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    await finish(app, cw)
    await answer(app, cw, Choose("override"))
    await answer(app, cw, Reply("The child is home; the last checks follow."))
    case = await case_row(app, CASE_A)
    assert (case.stage, case.returned_at) == ("follow_up", returned)
    assert case.visit_due_at == visits.next_visit(app.settings, case, clock.now)
    assert case.visit_due_at == clock.now + timedelta(days=app.settings.visit_days["follow_up"])

    # A high risk level: visits at most risk_visit_days["high"] apart, from the stage's start.
    stage_since = clock.now
    clock.advance(hours=1)
    await screen(app, cw, CASE_A, {"threat_harm"})
    case = await case_row(app, CASE_A)
    assert case.visit_due_at == stage_since + timedelta(days=app.settings.risk_visit_days["high"])
    assert case.visit_due_at == visits.next_visit(app.settings, case, clock.now)
    await screen(app, cw, CASE_A, {"addiction"})
    assert (await case_row(app, CASE_A)).visit_due_at == stage_since + timedelta(
        days=app.settings.risk_visit_days["medium"]
    )
    await screen(app, cw, CASE_A)  # low: the stage's own interval
    assert (await case_row(app, CASE_A)).visit_due_at == stage_since + timedelta(days=30)

    # A recorded visit counts from then on, still capped by the level.
    await screen(app, cw, CASE_A, {"threat_needs"})
    clock.advance(days=2)
    plan = await visits.record_visit(app, CASE_A, by=cw)
    assert plan.visit_due_at == clock.now + timedelta(days=7)


async def test_a_stage_move_of_a_high_risk_case_plans_close_visits(
    world: World, clock: Clock
) -> None:
    app, cw = world.app, world.other_caseworker
    await visits.set_stage(app, CASE_B, "reunification", by=cw)
    await screen(app, cw, CASE_B, {"threat_no_protector"})
    clock.advance(weeks=10)
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_B)
    assert asked(turn).key == "reintegration.reunification"
    await finish(app, cw)
    await answer(app, cw, Choose("override"))
    await answer(app, cw, Reply("Lives at home; contact is good."))
    case = await case_row(app, CASE_B)
    assert case.stage == "follow_up" and case.risk_level == "high"
    assert case.visit_due_at == clock.now + timedelta(days=7)
    assert case.visit_due_at == visits.next_visit(app.settings, case, clock.now)
    # The caps are configuration too.
    app.settings = replace(app.settings, risk_visit_days={"high": 3})
    visits.move_to_stage(app.settings, case, "follow_up", clock.now)
    assert case.visit_due_at == clock.now + timedelta(days=3)


# --- 3. Simba family care -------------------------------------------------------------------


async def test_a_simba_case_is_asked_whether_the_siblings_are_together(
    world: World, clock: Clock
) -> None:
    app = world.app
    cw = await add_simba_case(app)
    turn = await start_flow(app, cw, "reintegration", case_code=SIMBA)
    assert asked(turn).key == "simba.siblings_together"
    why = asked(await answer(app, cw, Choose(False)))
    assert why.key == "simba.apart_reason"
    turn = await answer(app, cw, Reply("No foster family for four yet; looking for one."))
    assert asked(turn).key == "reintegration.assessment"
    assert (await case_view(app, cw, SIMBA)).siblings_together is False

    # Asked every time: a placement changes.
    await finish(app, cw)
    await answer(app, cw, Choose("stay"))
    clock.advance(days=30)
    turn = await start_flow(app, cw, "reintegration", case_code=SIMBA)
    assert asked(turn).key == "simba.siblings_together"
    turn = await answer(app, cw, Choose(True))
    assert asked(turn).key == "reintegration.assessment"  # back to the case's own stage
    assert (await case_view(app, cw, SIMBA)).siblings_together is True


async def test_other_programmes_are_not_asked_about_siblings(world: World) -> None:
    app = world.app
    turn = await start_flow(app, world.caseworker, "reintegration", case_code=CASE_A)
    assert asked(turn).key == "reintegration.assessment"
    assert all(not (isinstance(e, Ask) and e.key.startswith("simba.")) for e in turn.events)
    assert (await case_view(app, world.caseworker, CASE_A)).siblings_together is None


# --- 4. closure -----------------------------------------------------------------------------


async def test_every_criterion_met_proposes_closure_to_the_coordinators(
    world: World, clock: Clock
) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A)
    turn = await closure_check(app, world.caseworker, CASE_A)
    case = await case_row(app, CASE_A)
    assert (case.closure_proposed_at, case.closure_proposed_by) == (
        clock.now,
        world.caseworker.person_id,
    )
    assert case.status == "open"
    assert {n.recipient.person_id for n in turn.notices} == world.coordinators
    assert len(turn.notices) == 2
    for notice in turn.notices:
        assert notice.closure is not None and notice.closure[0] == CASE_A
        assert notice.text.msgid == texts.CLOSURE_PROPOSAL.msgid
        assert dict(notice.text.params) == {"case": CASE_A, "summary": SUMMARY}
    assert len(said(turn, texts.CLOSURE_PROPOSED.msgid)) == 1
    (event,) = await events_of(app, world.case_a, "closure_proposed")
    assert (event.actor_id, event.note) == (world.caseworker.person_id, SUMMARY)
    view = await case_view(app, world.coordinator, CASE_A)
    assert (view.closure_proposed_at, view.closure_summary, view.next_step) == (
        clock.now,
        SUMMARY,
        None,
    )


async def test_a_coordinator_s_proposal_goes_to_the_other_coordinators(world: World) -> None:
    turn = await propose_closure(world.app, world.coordinator, CASE_A)
    assert [n.recipient.person_id for n in turn.notices] == [world.second_coordinator.person_id]
    case = await case_row(world.app, CASE_A)
    assert case.closure_proposed_by == world.coordinator.person_id


@pytest.mark.parametrize("unmet", ["goals_met", "risk_reduced", "agreed"])
async def test_a_criterion_not_met_proposes_nothing(world: World, unmet: str) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A)
    turn = await closure_check(app, world.caseworker, CASE_A, unmet={unmet})
    assert len(not_met(turn)) == 1  # the check names what is missing
    assert turn.notices == ()
    assert [e for e in turn.events if isinstance(e, CaseUpdated)] == []
    case = await case_row(app, CASE_A)
    assert (case.closure_proposed_at, case.closure_proposed_by) == (None, None)
    assert await events_of(app, world.case_a, "closure_proposed") == []


async def test_a_high_risk_case_is_not_ready_to_close(world: World) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A, {"past_harm", "violence_home"})
    turn = await closure_check(app, world.caseworker, CASE_A)  # "yes" to all it asks
    assert not_met(turn) == ["– a fresh risk screening showing the risk reduced"]
    assert turn.notices == ()
    assert (await case_row(app, CASE_A)).closure_proposed_at is None


async def test_a_never_screened_case_is_told_what_is_missing(world: World) -> None:
    app = world.app
    assert (await case_row(app, CASE_A)).risk_level is None
    turn = await closure_check(app, world.caseworker, CASE_A)  # "yes" to all it asks
    proposed = (await case_row(app, CASE_A)).closure_proposed_at is not None
    assert proposed or not_met(turn) != []


async def test_not_proposing_at_the_end_proposes_nothing(world: World) -> None:
    await screen(world.app, world.caseworker, CASE_A)
    turn = await closure_check(world.app, world.caseworker, CASE_A, propose=False)
    assert [e.key for e in turn.events if isinstance(e, AnswerRecorded)] == ["closure.propose"]
    assert turn.notices == ()
    assert (await case_row(world.app, CASE_A)).closure_proposed_at is None


@pytest.mark.both_backends
async def test_approving_closes_the_case_and_pauses_its_schedule(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    await visits.set_stage(app, CASE_A, "follow_up", by=world.caseworker)
    await screen(app, world.caseworker, CASE_A)
    await closure_check(app, world.caseworker, CASE_A)
    clock.advance(hours=5)

    decision = await guidance.approve_closure(app, world.coordinator, CASE_A.lower())
    assert decision.case_code == CASE_A
    assert decision.text.msgid == texts.CASE_NOW_CLOSED.msgid
    (told,) = decision.notices
    assert told.recipient.person_id == world.caseworker.person_id
    assert told.text.msgid == texts.CLOSURE_APPROVED.msgid
    assert (told.plain, told.guide) == (True, None)

    case = await case_row(app, CASE_A)
    assert (case.status, case.closed_at) == ("closed", clock.now)
    assert (case.closure_proposed_at, case.closure_proposed_by) == (None, None)
    assert (case.visit_due_at, case.review_due_at) == (None, None)
    async with app.database.reading() as uow:
        schedule = await uow.schedules.of_case(world.case_a, for_update=False)
    assert (schedule.status, schedule.paused_by) == ("paused", "closure")
    (closed,) = await events_of(app, world.case_a, "case_closed")
    assert closed.actor_id == world.coordinator.person_id

    with pytest.raises(NotProposed):
        await guidance.approve_closure(app, world.second_coordinator, CASE_A)
    with pytest.raises(NotProposed):
        await guidance.return_closure(app, world.coordinator, CASE_A, "Too late.")
    assert len(await events_of(app, world.case_a, "case_closed")) == 1


async def test_approving_without_a_proposal_is_refused(world: World) -> None:
    with pytest.raises(NotProposed):
        await guidance.approve_closure(world.app, world.coordinator, CASE_A)
    with pytest.raises(NotProposed):
        await guidance.return_closure(world.app, world.coordinator, CASE_A, "Nothing to return.")
    assert (await case_row(world.app, CASE_A)).status == "open"


async def test_only_coordinators_decide_on_closure(world: World) -> None:
    app = world.app
    await propose_closure(app, world.caseworker, CASE_A)
    deciders = (
        world.caseworker,  # the case's own caseworker, who proposed it
        world.other_caseworker,
        world.family,
        world.left_coordinator,
    )
    for who in deciders:
        with pytest.raises(NotAllowed):
            await guidance.approve_closure(app, who, CASE_A)
        with pytest.raises(NotAllowed):
            await guidance.return_closure(app, who, CASE_A, "Not yours to return.")
        with pytest.raises(NotAllowed):
            await guidance.reopen_case(app, who, CASE_A)
    with pytest.raises(NotAllowed):
        await guidance.approve_closure(app, world.coordinator, "NOPE-0000")
    case = await case_row(app, CASE_A)
    assert case.status == "open" and case.closure_proposed_at is not None

    await guidance.approve_closure(app, world.coordinator, CASE_A)
    for who in deciders:
        with pytest.raises(NotAllowed):
            await guidance.reopen_case(app, who, CASE_A)
    assert (await case_row(app, CASE_A)).status == "closed"


async def test_returning_needs_a_note_and_clears_the_proposal(world: World, clock: Clock) -> None:
    app = world.app
    await propose_closure(app, world.caseworker, CASE_A)
    for empty in ("", "   \n"):
        with pytest.raises(ValueError):
            await guidance.return_closure(app, world.coordinator, CASE_A, empty)
    assert (await case_row(app, CASE_A)).closure_proposed_at is not None

    clock.advance(hours=2)
    note = "Do a fresh risk screening first."
    decision = await guidance.return_closure(app, world.coordinator, CASE_A, f"  {note} ")
    assert decision.text.msgid == texts.CLOSURE_RETURNED.msgid
    (told,) = decision.notices
    assert told.recipient.person_id == world.caseworker.person_id
    assert told.text.msgid == texts.CLOSURE_RETURNED_NOTICE.msgid
    assert told.text.params["note"] == note
    assert told.guide == ("case_closure", CASE_A)  # a button to go through the check again
    case = await case_row(app, CASE_A)
    assert (case.status, case.closure_proposed_at, case.closure_proposed_by) == (
        "open",
        None,
        None,
    )
    (event,) = await events_of(app, world.case_a, "closure_returned")
    assert (event.actor_id, event.note, event.at) == (world.coordinator.person_id, note, clock.now)
    view = await case_view(app, world.coordinator, CASE_A)
    assert (view.closure_proposed_at, view.closure_summary) == (None, None)
    with pytest.raises(NotProposed):
        await guidance.approve_closure(app, world.coordinator, CASE_A)


async def test_the_return_note_is_awaited_then_taken(world: World) -> None:
    app = world.app
    with pytest.raises(NotProposed):
        await guidance.ask_for_return_note(app, world.coordinator, CASE_A)
    await propose_closure(app, world.caseworker, CASE_A)
    with pytest.raises(NotAllowed):
        await guidance.ask_for_return_note(app, world.caseworker, CASE_A)
    await guidance.ask_for_return_note(app, world.coordinator, CASE_A)
    waiting = await reread(app, world.coordinator)
    assert waiting.awaiting is not None
    assert (waiting.awaiting["action"], waiting.awaiting["case"]) == ("return_closure", CASE_A)
    await guidance.return_closure(app, waiting, CASE_A, "The school was not asked.")
    assert (await reread(app, world.coordinator)).awaiting is None
    assert (await case_row(app, CASE_A)).closure_proposed_at is None


async def test_reopening_a_closed_case(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    with pytest.raises(NotProposed):  # an open case is not reopened
        await guidance.reopen_case(app, world.coordinator, CASE_A)
    await visits.set_stage(app, CASE_A, "closure", by=world.caseworker)
    await screen(app, world.caseworker, CASE_A)
    await closure_check(app, world.caseworker, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)

    clock.advance(days=40)
    decision = await guidance.reopen_case(app, world.second_coordinator, CASE_A)
    assert decision.text.msgid == texts.CASE_REOPENED.msgid
    assert [n.recipient.person_id for n in decision.notices] == [world.caseworker.person_id]
    case = await case_row(app, CASE_A)
    assert (case.status, case.closed_at) == ("open", None)
    assert (case.stage, case.stage_since) == ("follow_up", clock.now)
    assert case.review_due_at == clock.now  # screened afresh
    assert case.risk_level == "low"
    assert case.visit_due_at == visits.next_visit(app.settings, case, clock.now)
    assert case.visit_due_at == clock.now + timedelta(days=30)
    async with app.database.reading() as uow:
        schedule = await uow.schedules.of_case(world.case_a, for_update=False)
    assert (schedule.status, schedule.paused_by) == ("active", None)
    assert schedule.next_due_at is not None and schedule.next_due_at > clock.now
    (event,) = await events_of(app, world.case_a, "case_reopened")
    assert event.actor_id == world.second_coordinator.person_id
    assert (await case_view(app, world.caseworker, CASE_A)).next_step == "risk_screening"
    with pytest.raises(NotProposed):
        await guidance.reopen_case(app, world.coordinator, CASE_A)


async def test_reopening_leaves_a_schedule_paused_by_a_person_paused(world: World) -> None:
    app = world.app
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    await pause_schedule(app, CASE_A, by=world.caseworker)
    await propose_closure(app, world.caseworker, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    await guidance.reopen_case(app, world.coordinator, CASE_A)
    async with app.database.reading() as uow:
        schedule = await uow.schedules.of_case(world.case_a, for_update=False)
    assert (schedule.status, schedule.paused_by) == ("paused", "caseworker")


async def test_closing_a_case_without_a_schedule(world: World) -> None:
    app = world.app
    await propose_closure(app, world.caseworker, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    assert (await case_row(app, CASE_A)).status == "closed"
    await guidance.reopen_case(app, world.coordinator, CASE_A)
    async with app.database.reading() as uow:
        assert await uow.schedules.of_case(world.case_a, for_update=False) is None
    assert (await case_row(app, CASE_A)).status == "open"


async def test_guidance_changes_nothing_on_a_closed_case(world: World) -> None:
    """/guide still offers a closed case's flows; what they would write is refused."""
    app, cw = world.app, world.caseworker
    await propose_closure(app, cw, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    before = await case_row(app, CASE_A)

    turn = await closure_check(app, cw, CASE_A)  # closure proposed again
    assert turn.notices == ()
    assert len(said(turn, texts.CASE_CLOSED_NO_CHANGE.msgid)) == 1
    assert said(turn, texts.CLOSURE_PROPOSED.msgid) == []
    turn = await screen(app, cw, CASE_A, {"threat_harm"})  # a new risk level
    assert len(said(turn, texts.CASE_CLOSED_NO_CHANGE.msgid)) == 1
    # The navigator of a case in the closure stage only points to the closure check.
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert turn.state.status == "completed" and turn.notices == ()

    case = await case_row(app, CASE_A)
    assert (case.status, case.closed_at, case.closure_proposed_at) == (
        "closed",
        before.closed_at,
        None,
    )
    assert (case.stage, case.risk_level, case.review_due_at) == (before.stage, "low", None)
    assert len(await events_of(app, world.case_a, "closure_proposed")) == 1
    assert len(await events_of(app, world.case_a, "risk_level_set")) == 1


async def test_a_reopened_case_has_no_closure_waiting(world: World) -> None:
    app = world.app
    await propose_closure(app, world.caseworker, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    await closure_check(app, world.caseworker, CASE_A)  # while closed: changes nothing
    await guidance.reopen_case(app, world.coordinator, CASE_A)
    view = await case_view(app, world.caseworker, CASE_A)
    assert (view.status, view.closure_proposed_at) == ("open", None)
    assert view.next_step == "risk_screening"
    with pytest.raises(NotProposed):
        await guidance.approve_closure(app, world.coordinator, CASE_A)


async def test_the_closure_check_warns_while_the_risk_is_high(world: World) -> None:
    app = world.app
    warning = "Note: the case's last risk screening set the level to high."

    def warned(turn: Turn) -> bool:
        return any(isinstance(e, Say) and e.text.msgid.startswith(warning) for e in turn.events)

    async def check(who: Participant) -> Turn:  # a new run each time: another person
        return await start_flow(app, who, "case_closure", case_code=CASE_A)

    await visits.set_stage(app, CASE_A, "closure")  # where the check is offered
    assert not warned(await check(world.coordinator))
    await screen(app, world.caseworker, CASE_A, {"threat_harm"})
    assert warned(await check(world.caseworker))
    await screen(app, world.second_coordinator, CASE_A)
    assert not warned(await check(world.second_coordinator))


async def test_a_case_that_lost_its_caseworker_meanwhile_is_not_changed(world: World) -> None:
    app, cw = world.app, world.caseworker
    turn = await start_flow(app, cw, "risk_screening", case_code=CASE_A)
    for question in SCREENING:
        turn = await answer(app, cw, Choose(question in PROTECTIVE))
    async with app.database.transaction() as uow:
        await uow.cases.assign_caseworker(world.case_a, world.other_caseworker.person_id)
    turn = await answer(app, cw, Choose(True))
    # The run stops at the next answer: it is told, the answer is not recorded.
    assert turn is not None and await run_status(app, turn.run_id) == "paused"
    assert said(turn, texts.NOT_YOUR_CASE.msgid) == [turn.events[0]] and len(turn.events) == 1
    async with app.database.reading() as uow:
        assert "risk.agree" not in await uow.answers.of_run(turn.run_id)
    case = await case_row(app, CASE_A)
    assert (case.risk_level, case.review_due_at) == (None, None)
    assert await events_of(app, world.case_a, "risk_level_set") == []


# --- 5. access --------------------------------------------------------------------------------


@pytest.mark.parametrize("flow_id", ["reintegration", "risk_screening", "case_closure"])
async def test_guidance_only_for_the_caseworker_s_own_cases(world: World, flow_id: str) -> None:
    app = world.app
    for code in (CASE_A, CASE_B):  # where every one of these flows is offered
        await visits.set_stage(app, code, "closure")
    for code in (CASE_A, "NOPE-0000"):
        with pytest.raises(PermissionError):
            await start_flow(app, world.other_caseworker, flow_id, case_code=code)
    async with app.database.reading() as uow:
        assert await uow.runs.current(world.other_caseworker.person_id) is None
    turn = await start_flow(app, world.other_caseworker, flow_id, case_code=CASE_B.lower())
    async with app.database.reading() as uow:
        run = await uow.runs.get(turn.run_id)
    assert run is not None and run.case_id == world.case_b
    # Coordinators guide every case.
    turn = await start_flow(app, world.coordinator, flow_id, case_code=CASE_A)
    async with app.database.reading() as uow:
        run = await uow.runs.get(turn.run_id)
    assert run is not None and run.case_id == world.case_a


async def test_a_family_cannot_start_caseworkers_guidance(world: World) -> None:
    app = world.app
    for flow_id in ("risk_screening", "reintegration", "case_closure", "meldcode"):
        with pytest.raises(PermissionError):
            await start_flow(app, world.family, flow_id)
    async with app.database.reading() as uow:
        assert await uow.runs.current(world.family.person_id) is None


async def test_the_caregivers_check_is_for_care_programmes_only(world: World) -> None:
    app = world.app
    await set_programme(app, CASE_A, "family_strengthening")
    with pytest.raises(PermissionError):
        await start_flow(app, world.family, "caregiver_check")  # family strengthening
    async with app.database.reading() as uow:
        assert await uow.runs.current(world.family.person_id) is None
    turn = await start_flow(app, world.family_b, "caregiver_check")  # foster care
    assert asked(turn).key == "care.safe_now"
    async with app.database.reading() as uow:
        run = await uow.runs.get(turn.run_id)
    assert run is not None and run.case_id == world.case_b


async def test_the_meldcode_is_for_the_netherlands_only(world: World) -> None:
    app = world.app
    meldcode = app.flows.get("meldcode")
    case = await case_row(app, CASE_A)
    assert app.settings.country == "NL" and applies(meldcode, case, app.settings.country)
    turn = await start_flow(app, world.caseworker, "meldcode", case_code=CASE_A)
    assert asked(turn).key == "meldcode.step1.signals_recorded"
    await answer(app, world.caseworker, Choose(True))

    app.settings = replace(app.settings, country="BE")
    assert not applies(meldcode, case, app.settings.country)
    with pytest.raises(PermissionError):
        await start_flow(app, world.caseworker, "meldcode", case_code=CASE_A)
    with pytest.raises(PermissionError):
        await start_flow(app, world.coordinator, "meldcode", case_code=CASE_B)
    # The run of before stays where it was: refusing starts (and pauses) nothing.
    async with app.database.reading() as uow:
        current = await uow.runs.current(world.caseworker.person_id)
    assert current is not None and current.id == turn.run_id and current.status == "active"
    # Flows without `only_if` apply everywhere; `only_if` flows need a case.
    assert applies(app.flows.get("risk_screening"), None, app.settings.country)
    assert not applies(app.flows.get("caregiver_check"), None, app.settings.country)


async def test_a_button_of_the_screening_answers_it(world: World) -> None:
    """The same outcome through the buttons (`answer_option`) as through typed answers."""
    app, cw = world.app, world.caseworker
    turn = await start_flow(app, cw, "risk_screening", case_code=CASE_A)
    flow = app.flows.get("risk_screening")
    index = {step.id: i for i, step in enumerate(flow.steps)}
    for question in SCREENING:
        ask = asked(turn)
        values = [option.value for option in ask.options]
        pressed = await answer_option(
            app, cw, turn.run_id, index[question], values.index(question in PROTECTIVE)
        )
        assert pressed is not None
        turn = pressed.turn
    pressed = await answer_option(app, cw, turn.run_id, index["outcome"], 0)  # Yes, agree
    assert pressed is not None and pressed.chosen.value is True
    assert len(said(pressed.turn, texts.RISK_LEVEL_SET.msgid)) == 1
    assert (await case_row(app, CASE_A)).risk_level == "low"


# --- 6. review reminders ----------------------------------------------------------------------


async def test_a_due_review_reminds_the_caseworker(world: World, clock: Clock) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A, {"addiction"})  # medium: 90 days
    await screen(app, world.other_caseworker, CASE_B, {"threat_harm"})  # high: 30 days
    assert await guidance.review_notices(app) == []

    clock.advance(days=30)
    (notice,) = await guidance.review_notices(app)
    assert notice.recipient.person_id == world.other_caseworker.person_id
    assert notice.recipient.case_code == CASE_B
    assert notice.guide == ("risk_screening", CASE_B)
    assert notice.text.msgid == texts.REVIEW_DUE.msgid
    assert dict(notice.text.params) == {"case": CASE_B, "level": texts.LEVELS["high"]}
    case = await case_row(app, CASE_B)
    assert (case.review_due_at, case.review_reminded_at) == (clock.now, clock.now)
    (event,) = await events_of(app, world.case_b, "review_reminded")
    assert event.actor_role == "system"

    assert await guidance.review_notices(app) == []  # told once, not every round
    # Still due (the view says so) until screened; reminded again two days later.
    assert (await case_view(app, world.other_caseworker, CASE_B)).next_step == "risk_screening"
    clock.advance(hours=47)
    assert await guidance.review_notices(app) == []
    clock.advance(hours=1)
    assert [n.guide for n in await guidance.review_notices(app)] == [("risk_screening", CASE_B)]

    # The screening done: the next review is the level's, no more reminders until then.
    await screen(app, world.other_caseworker, CASE_B)
    screened = clock.now
    clock.advance(days=3)
    assert await guidance.review_notices(app) == []
    case = await case_row(app, CASE_B)
    assert (case.review_due_at, case.review_reminded_at) == (screened + timedelta(days=180), None)


async def test_a_due_review_of_a_case_without_a_caseworker_reminds_the_coordinators(
    world: World, clock: Clock
) -> None:
    """Nobody forgets a case whose caseworker left: the coordinators are reminded instead."""
    app = world.app
    await screen(app, world.other_caseworker, CASE_B, {"threat_harm"})  # high: 30 days
    async with app.database.transaction() as uow:
        (await uow.cases.by_code(CASE_B)).caseworker_id = None
    clock.advance(days=30)
    notices = await guidance.review_notices(app)
    async with app.database.reading() as uow:
        coordinators = {
            p.id
            for p in await uow.people.with_role("coordinator")
            if p.status == "active" and p.consent == "given"
        }
    assert {n.recipient.person_id for n in notices} == coordinators
    assert world.coordinator.person_id in coordinators
    assert {n.text.msgid for n in notices} == {texts.REVIEW_DUE.msgid}


async def test_no_review_reminders_for_closed_cases(world: World, clock: Clock) -> None:
    app = world.app
    await propose_closure(app, world.caseworker, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    # Even with a review date left on it, a closed case is not reminded.
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        case.review_due_at = clock.now - timedelta(days=1)
    clock.advance(days=100)
    assert await guidance.review_notices(app) == []
    assert await events_of(app, world.case_a, "review_reminded") == []


@pytest.mark.both_backends
async def test_several_due_reviews_each_go_to_their_caseworker(world: World, clock: Clock) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A, {"threat_harm"})
    clock.advance(minutes=1)
    await screen(app, world.other_caseworker, CASE_B, {"threat_harm"})
    clock.advance(days=31)
    notices = await guidance.review_notices(app)
    assert [(n.recipient.person_id, n.guide) for n in notices] == [
        (world.caseworker.person_id, ("risk_screening", CASE_A)),
        (world.other_caseworker.person_id, ("risk_screening", CASE_B)),
    ]


# --- 7. the case view's guidance part ---------------------------------------------------------


async def test_next_step_follows_the_case(world: World, clock: Clock) -> None:
    app, cw = world.app, world.caseworker

    async def next_step() -> str | None:
        return (await case_view(app, cw, CASE_A)).next_step

    assert await next_step() == "risk_screening"  # never screened
    await screen(app, cw, CASE_A, {"threat_needs"})  # high: review in 30 days
    assert await next_step() == "reintegration"
    await visits.set_stage(app, CASE_A, "closure", by=cw)
    assert await next_step() == "case_closure"
    clock.advance(days=30)
    assert await next_step() == "risk_screening"  # the review is due
    await screen(app, cw, CASE_A)
    assert await next_step() == "case_closure"
    await closure_check(app, cw, CASE_A)
    view = await case_view(app, cw, CASE_A)
    assert (view.next_step, view.closure_proposed_at) == (None, clock.now)
    await guidance.return_closure(app, world.coordinator, CASE_A, "Talk with the school first.")
    assert await next_step() == "case_closure"
    await closure_check(app, cw, CASE_A)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    view = await case_view(app, cw, CASE_A)
    assert (view.next_step, view.status, view.closed_at) == (None, "closed", clock.now)


async def test_the_navigator_in_the_closure_stage_points_to_the_closure_check(
    world: World,
) -> None:
    app = world.app
    await visits.set_stage(app, CASE_A, "closure", by=world.caseworker)
    turn = await start_flow(app, world.caseworker, "reintegration", case_code=CASE_A)
    assert not any(isinstance(e, Ask) for e in turn.events)
    assert await run_status(app, turn.run_id) == "completed"
    assert (await case_row(app, CASE_A)).stage == "closure"
    view = await case_view(app, world.caseworker, CASE_A)
    assert (view.essentials, view.essentials_done, view.missing) == (0, 0, ())


async def test_the_view_shows_the_risk_level_and_review(world: World, clock: Clock) -> None:
    app = world.app
    view = await case_view(app, world.coordinator, CASE_A)
    assert (view.risk_level, view.risk_set_at, view.review_due_at) == (None, None, None)
    await screen(app, world.caseworker, CASE_A, {"addiction"})
    view = await case_view(app, world.coordinator, CASE_A)
    assert (view.risk_level, view.risk_set_at) == ("medium", clock.now)
    assert view.review_due_at == clock.now + timedelta(days=90)


async def test_the_view_shows_the_stage_s_essentials(world: World) -> None:
    app, cw = world.app, world.caseworker
    view = await case_view(app, cw, CASE_A)
    assert (view.stage, view.essentials, view.essentials_done, view.missing) == (None, 0, 0, ())

    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    view = await case_view(app, cw, CASE_A)
    assert (view.stage, view.essentials, view.essentials_done) == ("assessment", 5, 0)
    assert len(view.missing) == 5

    await mark(app, cw, "child_assessed", "done")
    await mark(app, cw, "best_interests", "not_applicable", "Decided by the court.")
    await mark(app, cw, "family_traced", "not_yet")
    await mark(app, cw, "risk_screened", "done")  # not an essential item
    view = await case_view(app, cw, CASE_A)  # seen while the run is still open
    assert (view.essentials, view.essentials_done) == (5, 2)
    assert [text.msgid for text in view.missing] == [
        "The family is traced and contacted",
        "The family and the community are assessed",
        "A reintegration plan is made with the child and the family",
    ]

    await finish(app, cw)
    await answer(app, cw, Choose("override"))
    await answer(app, cw, Reply("The plan is agreed by phone; written next week."))
    view = await case_view(app, cw, CASE_A)
    assert (view.stage, view.essentials, view.essentials_done) == ("preparation", 5, 0)
    assert [text.msgid for text in view.missing] == [
        "The child is prepared: knows what will happen and when, was heard, and can say what "
        "worries them",
        "A caring environment is ready for the child's return",
        "Abuse, neglect and violence in the family are addressed",
        "The household's income or livelihood is strengthened where it needs to be",
        "Housing is adequate",
    ]


# --- 8. the case's last answers ---------------------------------------------------------------


async def test_latest_for_case_takes_the_last_answer_of_the_case_s_runs(
    world: World, clock: Clock
) -> None:
    app = world.app
    t0 = clock.now

    async def run_with(case_id: int | None, at_minutes: int, answers: dict[str, Any]) -> int:
        at = t0 + timedelta(minutes=at_minutes)
        async with app.database.transaction() as uow:
            run = await uow.runs.start(
                world.coordinator.person_id, case_id, "reintegration", 1, "assessment", {}, at
            )
            for key, value in answers.items():
                await uow.answers.record(run.id, key, value, "assessment", at)
            return run.id

    status = "reintegration.assessment.plan_made"
    note = "reintegration.assessment.plan_made.note"
    await run_with(world.case_a, 1, {status: "not_yet", note: "first", "other.key": "x"})
    await run_with(world.case_a, 2, {status: "done"})
    await run_with(world.case_b, 3, {status: "not_applicable", note: "case B"})
    await run_with(None, 4, {status: "not_yet"})
    async with app.database.reading() as uow:
        found_a = await uow.answers.latest_for_case(world.case_a, [status, note, "absent"])
        found_b = await uow.answers.latest_for_case(world.case_b, [status, note])
        none = await uow.answers.latest_for_case(world.case_a, [])
        simba = await uow.answers.latest_for_case(world.case_a, ["simba.siblings_together"])
    assert found_a == {status: "done", note: "first"}
    assert found_b == {status: "not_applicable", note: "case B"}
    assert none == {} and simba == {}

    # An answer changed later in an older run counts by when it was given.
    async with app.database.transaction() as uow:
        first_run = await uow.runs.start(
            world.coordinator.person_id, world.case_a, "reintegration", 1, "x", {}, t0
        )
        await uow.answers.record(first_run.id, status, "done", "assessment", t0)
        await uow.answers.record(
            first_run.id, status, "not_yet", "assessment", t0 + timedelta(minutes=9)
        )
    async with app.database.reading() as uow:
        assert (await uow.answers.latest_for_case(world.case_a, [status]))[status] == "not_yet"


async def test_remembered_statuses_are_the_case_s_own(world: World) -> None:
    app = world.app
    await start_flow(app, world.caseworker, "reintegration", case_code=CASE_A)
    await mark(app, world.caseworker, "plan_made", "done")
    await finish(app, world.caseworker)
    await answer(app, world.caseworker, Choose("stay"))

    turn = await start_flow(app, world.other_caseworker, "reintegration", case_code=CASE_B)
    assert "reintegration.assessment.plan_made" not in turn.state.answers
    # Another person's run of the same case remembers them: they belong to the case.
    turn = await start_flow(app, world.coordinator, "reintegration", case_code=CASE_A)
    assert turn.state.answers["reintegration.assessment.plan_made"] == "done"


# --- closure decisions on older proposals, concurrent decisions, cases given away, gates ---------
# (a decision on an older closure proposal, a coordinator approving their own proposal, two
# coordinators deciding at once, a guidance run whose case went to another caseworker, a "not
# applicable" without its note, proposing while a proposal waits, review reminders during a
# waiting closure, the stage a reopening records, what the case view shows of a returned or
# waiting closure)


SECOND_SUMMARY = "The school is on board now; the family asked to close."
RETURN_NOTE = "Talk with the school first."


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
    assert asked(await finish(app, cw)).key == "reintegration.assessment.ready"
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


# --- issue #14: the navigator for care programmes, its best-interests exit, the screenings
# and the Dutch legal frame of stage 3, and closure for family strengthening ----------------

CARE_PROGRAMMES = (
    "sos_family",
    "temporary_care",
    "foster_care",
    "kinship_care",
    "simba_family_care",
)
REUNIFICATION = (
    "supervised_contact",
    "screened_before_overnight",
    "views_heard",
    "legal_agreement",
    "screened_before_return",
    "living_at_home",
)
NOT_IN_INTEREST = "The assessment found ongoing violence at home; the parents refuse help."


def test_the_navigator_is_offered_for_alternative_care_programmes_only() -> None:
    from bot.engine.vocabulary import PROGRAMMES

    assert set(PROGRAMMES) == {"family_strengthening", *CARE_PROGRAMMES}


@pytest.mark.parametrize("programme", ["family_strengthening", *CARE_PROGRAMMES])
async def test_the_navigator_follows_the_programme(world: World, programme: str) -> None:
    app, cw = world.app, world.caseworker
    await set_programme(app, CASE_A, programme)
    case = await case_row(app, CASE_A)
    offered = [flow.id for flow in flows_for(app.flows, "caseworker", case, app.settings.country)]
    if programme == "family_strengthening":
        # The child lives at home: no navigator; its closure check instead, at any time.
        assert "reintegration" not in offered and "case_closure" in offered
        for who in (cw, world.coordinator):
            with pytest.raises(PermissionError):
                await start_flow(app, who, "reintegration", case_code=CASE_A)
        await screen(app, cw, CASE_A)
        assert (await case_view(app, cw, CASE_A)).next_step is None
    else:
        assert "reintegration" in offered and "case_closure" not in offered
        turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
        assert asked(turn).key in ("reintegration.assessment", "simba.siblings_together")


async def go_home_not_in_interest(app: Wegwijzer, cw: Participant, *, confirm: bool) -> Turn:
    """From stage 2's gate: returning home is not in the child's best interests."""
    await visits.set_stage(app, CASE_A, "preparation", by=cw)
    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    gate = asked(await finish(app, cw))
    assert gate.key == "reintegration.preparation.gate"
    assert [option.value for option in gate.options] == ["stay", "override", "not_in_interest"]
    why = asked(await answer(app, cw, Choose("not_in_interest")))
    assert why.key == "reintegration.not_in_interest_reason"
    sure = asked(await answer(app, cw, Reply(NOT_IN_INTEREST)))
    assert sure.key == "reintegration.not_in_interest"
    turn = await answer(app, cw, Choose(confirm))
    assert turn is not None and await run_status(app, turn.run_id) == "completed"
    return turn


async def test_returning_home_not_in_the_best_interests_leaves_the_stages(
    world: World, clock: Clock
) -> None:
    app, cw = world.app, world.caseworker
    turn = await go_home_not_in_interest(app, cw, confirm=True)

    case = await case_row(app, CASE_A)
    assert (case.stage, case.stage_since) == ("alternative_care", clock.now)
    (_, moved) = await events_of(app, world.case_a, "stage_set")
    assert moved.note == NOT_IN_INTEREST and moved.actor_id == cw.person_id
    assert moved.detail == {"stage": "alternative_care", "from": "preparation", "override": False}
    (told,) = said(turn, texts.ALTERNATIVE_CARE_CHOSEN.msgid)
    assert dict(told.text.params)["case"] == CASE_A
    # A case decision the coordinator reviews: a flag, with the rule's source.
    (raised,) = [e for e in turn.events if isinstance(e, FlagRaised)]
    assert (raised.rule_id, raised.level) == ("reintegration_not_in_best_interests", "medium")
    rule = next(r for r in app.flows.get("reintegration").flags if r.id == raised.rule_id)
    assert rule.source and "Guidelines on Children's Reintegration" in rule.source
    async with app.database.reading() as uow:
        (flag,) = await uow.flags.open_flags([world.case_a])
    assert dict(flag.evidence) == {"reintegration.not_in_interest": True}
    # The view shows why; nothing to guide next, and no closure check.
    view = await case_view(app, world.coordinator, CASE_A)
    assert (view.alternative_care_since, view.alternative_care_reason) == (
        clock.now,
        NOT_IN_INTEREST,
    )
    assert view.next_step == "risk_screening" and view.essentials == 0  # never screened
    await screen(app, cw, CASE_A)
    assert (await case_view(app, cw, CASE_A)).next_step is None  # not the navigator
    assert "case_closure" not in [
        flow.id for flow in flows_for(app.flows, "caseworker", case, app.settings.country)
    ]


async def test_declining_the_best_interests_exit_changes_nothing(world: World) -> None:
    app, cw = world.app, world.caseworker
    await go_home_not_in_interest(app, cw, confirm=False)
    assert (await case_row(app, CASE_A)).stage == "preparation"
    async with app.database.reading() as uow:
        assert await uow.flags.open_flags([world.case_a]) == []


async def test_a_case_in_alternative_care_can_be_assessed_for_return_again(
    world: World, clock: Clock
) -> None:
    app, cw = world.app, world.caseworker
    await go_home_not_in_interest(app, cw, confirm=True)
    clock.advance(days=90)

    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert asked(turn).key == "reintegration.reconsider"
    assert not said(turn, "Reintegration navigator.")  # no stage walk-through intro
    stays = await answer(app, cw, Choose(False))
    assert stays is not None and await run_status(app, stays.run_id) == "completed"
    assert (await case_row(app, CASE_A)).stage == "alternative_care"

    await start_flow(app, cw, "reintegration", case_code=CASE_A)
    await answer(app, cw, Choose(True))
    turn = await answer(app, cw, Reply("The father finished treatment; the child asks to see him."))
    assert turn is not None
    assert (await case_row(app, CASE_A)).stage == "assessment"
    moved = (await events_of(app, world.case_a, "stage_set"))[-1]
    assert moved.detail == {"stage": "assessment", "from": "alternative_care", "override": False}
    assert said(turn, texts.STAGE_MOVED.msgid)


async def test_stage_3_cannot_move_on_without_the_fresh_screenings(world: World) -> None:
    app, cw = world.app, world.caseworker
    await visits.set_stage(app, CASE_A, "reunification", by=cw)
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    # Never screened: the caseworker is told before the list.
    assert said(
        turn,
        next(
            s.text
            for s in app.flows.get("reintegration").steps
            if s.id == "reunification_unscreened"
        ),
    )
    for item in REUNIFICATION:
        if not item.startswith("screened"):
            await mark(app, cw, item, "done")
    gate = await finish(app, cw)
    assert asked(gate).key == "reintegration.reunification.gate"
    (missing,) = said(gate, ESSENTIALS_MISSING.msgid)
    assert [line.params["item"].msgid for line in missing.lines] == [
        "A risk screening in the 30 days before the first overnight stay found it safe",
        "A risk screening in the 30 days before the return home found it safe",
    ]
    await answer(app, cw, Choose("stay"))
    assert (await case_row(app, CASE_A)).stage == "reunification"


async def test_a_screening_older_than_30_days_is_no_fresh_one(world: World, clock: Clock) -> None:
    """Before overnight stays and the return, safety is assessed afresh: an old screening
    gets the same note as none at all."""
    app, cw = world.app, world.caseworker
    note = next(
        s.text for s in app.flows.get("reintegration").steps if s.id == "reunification_unscreened"
    )
    other = world.other_caseworker
    await screen(app, cw, CASE_A)
    clock.advance(days=31)
    await screen(app, other, CASE_B)
    for code, who in ((CASE_A, cw), (CASE_B, other)):
        await visits.set_stage(app, code, "reunification", by=who)
    assert said(await start_flow(app, cw, "reintegration", case_code=CASE_A), note)
    assert said(await start_flow(app, other, "reintegration", case_code=CASE_B), note) == []


async def test_the_dutch_legal_frame_is_essential_in_the_netherlands_only(world: World) -> None:
    app, cw = world.app, world.caseworker
    await screen(app, cw, CASE_A)
    await visits.set_stage(app, CASE_A, "reunification", by=cw)
    assert app.settings.country == "NL"
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert "legal_agreement" in [option.value for option in asked(turn).options]
    view = await case_view(app, cw, CASE_A)
    assert view.essentials == 6
    assert any("(GI)" in text.msgid for text in view.missing)
    for item in REUNIFICATION:
        if item != "legal_agreement":
            await mark(app, cw, item, "done")
    assert asked(await finish(app, cw)).key == "reintegration.reunification.gate"
    await answer(app, cw, Choose("stay"))

    app.settings = replace(app.settings, country="BE")
    turn = await start_flow(app, cw, "reintegration", case_code=CASE_A)
    assert "legal_agreement" not in [option.value for option in asked(turn).options]
    assert (await case_view(app, cw, CASE_A)).essentials == 5
    assert asked(await finish(app, cw)).key == "reintegration.reunification.ready"


async def test_a_family_strengthening_case_closes_without_stages(
    world: World, clock: Clock
) -> None:
    app, cw = world.app, world.caseworker
    await set_programme(app, CASE_A, "family_strengthening")
    await screen(app, cw, CASE_A)
    turn = await start_flow(app, cw, "case_closure", case_code=CASE_A)
    for criterion in CRITERIA:
        assert asked(turn).key == f"closure.{criterion}"
        turn = await answer(app, cw, Choose(True))
    await answer(app, cw, Reply(SUMMARY))
    await answer(app, cw, Choose(True))
    case = await case_row(app, CASE_A)
    assert (case.stage, case.closure_proposed_at) == (None, clock.now)

    await guidance.approve_closure(app, world.coordinator, CASE_A)
    assert (await case_row(app, CASE_A)).status == "closed"
    await guidance.reopen_case(app, world.coordinator, CASE_A)
    case = await case_row(app, CASE_A)
    # Open again, with a fresh screening due, and still without reintegration stages.
    assert (case.status, case.stage, case.review_due_at) == ("open", None, clock.now)
    assert await events_of(app, world.case_a, "stage_set") == []
