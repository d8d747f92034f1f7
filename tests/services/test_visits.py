"""Home visits planned by the reintegration stage: weekly in the first weeks after the return
home, then by the stage's interval; the caseworker reminded until the visit is recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.rules.access import NotAllowed
from bot.services import visits
from bot.services.duties import due_notices
from tests.world import CASE_A, CASE_B, Clock, World


async def visit_notices_now(world: World) -> list:
    return [n for n in await due_notices(world.app) if n.visit_case is not None]


async def test_no_visits_are_planned_before_the_return_home(world: World, clock: Clock) -> None:
    for stage in ("assessment", "preparation"):
        plan = await visits.set_stage(world.app, CASE_A, stage, by=world.caseworker)
        assert plan.visit_due_at is None
    clock.advance(days=60)
    assert await visit_notices_now(world) == []


@pytest.mark.both_backends
async def test_weekly_after_the_return_then_monthly_in_follow_up(
    world: World, clock: Clock
) -> None:
    app = world.app
    returned = clock.now
    plan = await visits.set_stage(app, CASE_A, "reunification", by=world.caseworker)
    assert plan.visit_due_at == returned + timedelta(days=7)

    clock.advance(days=6, hours=23)
    assert await visit_notices_now(world) == []
    clock.advance(hours=1)
    (notice,) = await visit_notices_now(world)
    assert notice.recipient.person_id == world.caseworker.person_id
    assert notice.visit_case == CASE_A and notice.text.msgid == visits.texts.VISIT_DUE.msgid
    assert await visit_notices_now(world) == []  # told once, not at every round
    clock.advance(days=2)  # not recorded: reminded again
    assert len(await visit_notices_now(world)) == 1

    plan = await visits.record_visit(app, CASE_A, by=world.caseworker)
    assert plan.visit_due_at == clock.now + timedelta(days=7)
    # Follow-up support, still within the first 8 weeks after the return: weekly.
    clock.advance(days=3)
    plan = await visits.set_stage(app, CASE_A, "follow_up", by=world.coordinator)
    assert plan.visit_due_at == plan.last_visit_at + timedelta(days=7)
    # After the first 8 weeks: the stage's own interval, monthly.
    clock.set(returned + timedelta(weeks=9))
    plan = await visits.record_visit(app, CASE_A, by=world.caseworker)
    assert plan.visit_due_at == clock.now + timedelta(days=30)


async def test_the_intervals_are_configuration(world: World, clock: Clock) -> None:
    world.app.settings = replace(world.app.settings, visit_days={"follow_up": 14})
    plan = await visits.set_stage(world.app, CASE_A, "follow_up", by=world.caseworker)
    assert plan.visit_due_at == clock.now + timedelta(days=14)
    plan = await visits.set_stage(world.app, CASE_A, "reunification", by=world.caseworker)
    assert plan.visit_due_at is None  # this deployment plans no visits in that stage


async def test_only_the_case_caseworker_and_coordinators(world: World) -> None:
    app = world.app
    for who in (world.other_caseworker, world.family, world.left_coordinator):
        with pytest.raises(NotAllowed):
            await visits.set_stage(app, CASE_A, "reunification", by=who)
        with pytest.raises(NotAllowed):
            await visits.record_visit(app, CASE_A, by=who)
    with pytest.raises(NotAllowed):
        await visits.record_visit(app, "NOPE-0000", by=world.coordinator)
    with pytest.raises(ValueError, match="unknown stage"):
        await visits.set_stage(app, CASE_B, "somewhere", by=world.coordinator)
    await visits.set_stage(app, CASE_B, "reunification", by=world.other_caseworker)


async def test_every_step_is_in_the_audit_log(world: World, clock: Clock) -> None:
    app = world.app
    await visits.set_stage(app, CASE_A, "reunification", by=world.caseworker)
    clock.advance(days=7)
    await visit_notices_now(world)
    await visits.record_visit(app, CASE_A, by=world.caseworker)
    async with app.database.reading() as uow:
        events = await uow.audit.events(case_id=world.case_a)
    assert [(e.action, e.actor_role) for e in events] == [
        ("stage_set", "caseworker"),
        ("visit_reminded", "system"),
        ("visit_recorded", "caseworker"),
    ]
