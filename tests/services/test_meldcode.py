"""The Meldcode's dated re-evaluation and its decisions (issue #14).

Afwegingskader question 5 ("does the help lead to lasting safety?") can only be weighed once
help has been given: the walkthrough plans a re-evaluation with the case, the caseworker is
reminded on that day (not before, and after a restart too: the date is in the case row), and
the re-evaluation asks question 5. A decision not to report after acute unsafety is a flag for
the coordinator with the caseworker's reasoning in its evidence, and never in a log.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Assets
from bot.bootstrap import bootstrap
from bot.engine import Ask, FlagRaised, Reply, RunState, Say
from bot.rules.people import Participant
from bot.services import duties, texts
from bot.services.case_view import case_view
from bot.services.review_texts import guidance_lines
from bot.services.runs import Turn, answer, start_flow
from tests.world import CASE_A, Clock, World, audit

YES, NO = "1", "2"
# The walkthrough to decision 1 with no unsafety and help accepted (question 5 deferred).
HELP_ACCEPTED = (YES, YES, YES, YES, YES, NO, NO, YES, YES)
# Six weeks from 27 November 2026, 10:30 in Amsterdam: 8 January 2027, 09:00 local (CET).
SIX_WEEKS = datetime(2027, 1, 8, 8, 0, tzinfo=UTC)


def asked(turn: Turn | None) -> Ask:
    assert turn is not None
    last = turn.events[-1]
    assert isinstance(last, Ask), turn.events
    return last


async def walk(app: Any, who: Participant, typed: tuple[str, ...], start: bool = True) -> Turn:
    turn: Turn | None = await start_flow(app, who, "meldcode", case_code=CASE_A) if start else None
    for line in typed:
        turn = await answer(app, who, Reply(line))
    assert turn is not None
    return turn


async def case_row(app: Any) -> Any:
    async with app.database.reading() as uow:
        return await uow.cases.by_code(CASE_A)


def reminders(notices: list[Any]) -> list[Any]:
    return [n for n in notices if n.text.msgid == texts.REEVALUATION_DUE.msgid]


async def test_the_reevaluation_reminds_the_caseworker_on_its_date_after_a_restart(
    world: World, clock: Clock, assets: Assets
) -> None:
    app, cw = world.app, world.caseworker
    turn = await walk(app, cw, (*HELP_ACCEPTED, NO, YES, "Parenting support, accepted."))
    assert asked(turn).key == "meldcode.reevaluation.when"
    assert asked(turn).options[0].value == "weeks_6"  # the default comes first
    turn = await walk(app, cw, (YES,), start=False)  # 6 weeks
    assert turn.state.status == "completed"
    planned = [
        e
        for e in turn.events
        if getattr(e, "text", None) and e.text.msgid == texts.REEVALUATION_PLANNED.msgid
    ]
    assert len(planned) == 1
    case = await case_row(app)
    assert (case.reevaluation_due_at, case.reevaluation_reminded_at) == (SIX_WEEKS, None)
    (event,) = [
        e for e in await audit(app, case_id=world.case_a) if e.action == "reevaluation_planned"
    ]
    assert event.detail["weeks"] == 6

    # The case view shows it to the caseworker (and the coordinators).
    view = await case_view(app, cw, CASE_A)
    assert view.reevaluation_due_at == SIX_WEEKS
    shown = [line for line in guidance_lines(view) if line.msgid == texts.REEVALUATION_LINE.msgid]
    assert [dict(line.params) for line in shown] == [{"date": SIX_WEEKS.date()}]

    # Not before its day: a minute early, nothing.
    clock.set(SIX_WEEKS - timedelta(minutes=1))
    assert reminders(await duties.due_notices(app)) == []

    # A restart: the plan is in the database, not in the memory of the process that made it.
    await app.close()
    again = await bootstrap(app.settings, clock=clock, assets=assets, migrate=False)
    try:
        clock.set(SIX_WEEKS)
        (notice,) = reminders(await duties.due_notices(again))
        assert notice.recipient.person_id == cw.person_id
        assert notice.recipient.case_code == CASE_A
        assert notice.guide == ("meldcode", CASE_A)
        assert dict(notice.text.params) == {"case": CASE_A, "date": SIX_WEEKS.date()}
        async with again.database.reading() as uow:  # queued for the sender, in the database
            queued = await uow.outbox.of_person(cw.person_id, "queued")
        bodies = [n.body for n in queued if n.body.get("guide") == ["meldcode", CASE_A]]
        assert len(bodies) == 1
        # Told once, then again two days later until the re-evaluation is done.
        assert reminders(await duties.due_notices(again)) == []
        clock.advance(days=2)
        assert len(reminders(await duties.due_notices(again))) == 1

        # The button's walkthrough offers the re-evaluation: question 5, "no" advises a report
        # (again) and raises its flag; step 5 is taken again, and a new date planned.
        turn = await start_flow(again, cw, "meldcode", case_code=CASE_A)
        assert asked(turn).key == "meldcode.reevaluation.now"
        turn = await answer(again, cw, Reply(YES))
        assert asked(turn).key == "meldcode.weigh.lasting_safety"
        turn = await answer(again, cw, Reply(NO))
        (flag,) = [e for e in turn.events if isinstance(e, FlagRaised)]
        assert flag.rule_id == "meldcode_no_lasting_safety"
        assert asked(turn).key == "meldcode.decision.report"
        turn = await walk(again, cw, (YES, YES, "1", "Reporting; help goes on.", "2"), start=False)
        assert turn.state.status == "completed"
        case = await case_row(again)
        # Two weeks from the re-evaluation (10 January), in the morning.
        assert case.reevaluation_due_at == datetime(2027, 1, 24, 8, 0, tzinfo=UTC)
        assert case.reevaluation_reminded_at is None
        assert reminders(await duties.due_notices(again)) == []
    finally:
        await again.close()


async def test_no_help_cancels_the_planned_reevaluation(world: World, clock: Clock) -> None:
    app, cw = world.app, world.caseworker
    await walk(app, cw, (*HELP_ACCEPTED, NO, YES, "Support accepted.", YES))
    assert (await case_row(app)).reevaluation_due_at == SIX_WEEKS
    # The whole walkthrough again (not the re-evaluation), this time without help from us.
    turn = await walk(app, cw, (NO, *HELP_ACCEPTED, NO, NO, "Moved away; GP informed."))
    assert turn.state.status == "completed"
    assert [e.text.msgid for e in turn.events if hasattr(e, "text")].count(
        texts.REEVALUATION_CANCELLED.msgid
    ) == 1
    assert (await case_row(app)).reevaluation_due_at is None
    clock.set(SIX_WEEKS + timedelta(days=1))
    assert reminders(await duties.due_notices(app)) == []


async def test_no_reminder_for_a_closed_case_and_the_coordinators_for_one_without_a_caseworker(
    world: World, clock: Clock
) -> None:
    app = world.app
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        case.reevaluation_due_at = clock.now
        case.status = "closed"
    assert reminders(await duties.due_notices(app)) == []
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        case.status, case.caseworker_id = "open", None
    # Not forgotten: the coordinators are reminded, without the button (only a caseworker
    # walks the Meldcode).
    told = reminders(await duties.due_notices(app))
    async with app.database.reading() as uow:
        coordinators = {
            p.id
            for p in await uow.people.with_role("coordinator")
            if p.status == "active" and p.consent == "given"
        }
    assert {n.recipient.person_id for n in told} == coordinators
    assert world.coordinator.person_id in coordinators
    assert {n.guide for n in told} == {None}


async def test_not_reporting_after_acute_unsafety_is_a_flag_with_the_reasoning(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    app, cw = world.app, world.caseworker
    reason = "Father moved out today; mother has a safety plan with the shelter."
    caplog.set_level(logging.DEBUG, logger="bot")
    turn = await walk(app, cw, (YES, YES, YES, YES, YES, YES, NO, YES))
    assert asked(turn).key == "meldcode.decision.no_report_reason"
    turn = await answer(app, cw, Reply(reason))
    (flag,) = [e for e in turn.events if isinstance(e, FlagRaised)]
    assert flag.rule_id == "meldcode_no_report_after_unsafety" and flag.level == "high"
    assert flag.evidence["meldcode.decision.no_report_reason"] == reason
    async with app.database.reading() as uow:
        stored = [f for f in await uow.flags.open_flags() if f.rule == flag.rule_id]
    assert stored[0].evidence["meldcode.decision.no_report_reason"] == reason
    # The coordinator (the aandachtsfunctionaris) is told of it; the notice names no answers.
    told = await duties.immediate_notices(app)
    assert world.coordinator.person_id in {n.recipient.person_id for n in told}
    assert all(reason not in repr(n.text) for n in told)
    ours = [r.getMessage() + repr(r.__dict__) for r in caplog.records if r.name.startswith("bot")]
    assert ours and not [line for line in ours if "safety plan" in line]


async def test_the_decisions_are_shown_at_the_end(world: World) -> None:
    app, cw = world.app, world.caseworker
    turn = await walk(app, cw, (*HELP_ACCEPTED, YES, NO, "1", "Reporting today."))
    end = turn.events[-2]
    assert isinstance(end, Say)
    params = dict(end.text.params)
    assert params["report_decision"].msgid == "yes, you report"
    assert params["help_decision"].msgid == "no help from you"
    assert (await case_row(app)).reevaluation_due_at is None


async def test_a_run_begun_on_version_1_finishes_on_version_1(world: World, clock: Clock) -> None:
    """Runs are pinned to their version: one open at the upgrade ends as it began (the
    archived file keeps version 1 loadable), and plans no re-evaluation."""
    app, cw = world.app, world.caseworker
    assert app.flows.get("meldcode").version == 2
    state = RunState(flow_id="meldcode", version=1, step="decision", case={"country": "NL"})
    async with app.database.transaction() as uow:
        await uow.runs.start(
            cw.person_id, world.case_a, "meldcode", 1, "decision", state.to_dict(), clock.now
        )
    turn = await answer(app, cw, Reply(NO))
    assert asked(turn).key == "meldcode.reasoning"
    turn = await answer(app, cw, Reply("Consulting the aandachtsfunctionaris first."))
    assert turn is not None and turn.state.status == "completed"
    assert (await case_row(app)).reevaluation_due_at is None
