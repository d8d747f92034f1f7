"""Regressions found in review: flags that could go untold or unnoticed, and a look at a
family's answers that went unrecorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.rules.people import NOTE_WAIT, waiting_for_text
from bot.services import flags
from bot.services.duties import digest_notices, escalation_notices, immediate_notices
from bot.services.schedules import NO_CONTACT_RULE, SCHEDULES_FLOW
from tests.world import Clock, World, actions, flag_row, raise_flag, render, reread


@pytest.mark.both_backends
async def test_a_repeat_at_a_higher_level_raises_the_flag_and_tells_it_again(
    world: World, clock: Clock
) -> None:
    app = world.app
    no_contact = {"rule": NO_CONTACT_RULE, "flow_id": SCHEDULES_FLOW}
    flag_id, _ = await raise_flag(app, world.case_a, level="medium", **no_contact)
    clock.advance(days=1)
    assert await digest_notices(app)
    await flags.acknowledge(app, world.caseworker, flag_id)
    # An urgent flag is open now, so the next "no contact" is high.
    await raise_flag(app, world.case_a, level="urgent", rule="emergency", flow_id="emergency")
    await immediate_notices(app)
    clock.advance(days=7)
    same, new = await raise_flag(app, world.case_a, level="high", **no_contact)

    assert (same, new) == (flag_id, False)
    row = await flag_row(app, flag_id)
    assert (row.level, row.status) == ("high", "open")
    assert row.escalate_at == row.due_at == clock.now + app.settings.flag_due["high"]
    told = await immediate_notices(app)
    assert {n.recipient.person_id for n in told if flag_id in n.flag_ids} == world.staff_told()
    assert "raised_level" in await actions(app, flag_id)
    clock.advance(days=1)
    assert any(flag_id in n.flag_ids for n in await escalation_notices(app))


@pytest.mark.both_backends
async def test_one_trigger_at_a_time_makes_one_flag(world: World) -> None:
    """Four raises of one rule on one case at the same moment (on PostgreSQL: four
    transactions) make one flag with three repeats, not four flags."""
    results = await asyncio.gather(*(raise_flag(world.app, world.case_a) for _ in range(4)))
    assert len({flag_id for flag_id, _new in results}) == 1
    assert sorted(new for _id, new in results) == [False, False, False, True]
    (flag,) = await flags.review_queue(world.app, world.coordinator)
    assert len(flag.evidence["repeats"]) == 3


async def test_an_action_that_changes_nothing_still_records_the_look(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await flags.acknowledge(app, world.coordinator, flag_id)
    outcome = await flags.acknowledge(app, world.coordinator, flag_id)
    assert not outcome.changed and outcome.flag.evidence  # the answers are shown again
    assert (await actions(app, flag_id))[-2:] == ["acknowledged", "viewed"]


async def test_a_request_for_a_note_lapses(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await flags.ask_for_text(app, world.coordinator, flag_id, "resolve")
    asked = await reread(app, world.coordinator)
    assert waiting_for_text(asked, clock.now)
    clock.advance(seconds=NOTE_WAIT.total_seconds() - 1)
    assert waiting_for_text(asked, clock.now)
    clock.advance(seconds=1)
    assert not waiting_for_text(asked, clock.now)  # an "ok" days later resolves nothing
    assert not waiting_for_text(world.coordinator, clock.now)  # never asked


@pytest.mark.parametrize("rule", ["emergency", "child_unsafe_at_home"])
async def test_alarms_without_a_case_are_each_a_flag(world: World, rule: str) -> None:
    first, _ = await raise_flag(world.app, None, rule=rule)
    second, _ = await raise_flag(world.app, None, rule=rule)
    assert first != second
    assert (await flag_row(world.app, first)).due_at - (
        await flag_row(world.app, first)
    ).raised_at == timedelta(hours=1)


async def test_no_contact_evidence_reads_as_words_not_keys(world: World) -> None:
    app = world.app
    no_contact = {"rule": NO_CONTACT_RULE, "flow_id": SCHEDULES_FLOW, "level": "medium"}
    missed, _ = await raise_flag(app, world.case_a, evidence={"missed": 2}, **no_contact)
    blocked, _ = await raise_flag(app, world.case_b, evidence={"unreachable": True}, **no_contact)
    shown = {}
    for flag_id in (missed, blocked):
        view = await flags.flag_detail(app, world.coordinator, flag_id)
        shown[flag_id] = [render(app, line) for line in flags.evidence_lines(app, view)]
    assert shown[missed] == ["Check-in reminders not answered in a row: 2."]
    assert shown[blocked] == ["The family blocked the bot: they cannot be reached here."]
    dutch = render(app, flags.evidence_lines(app, view)[0], "nl")
    assert dutch == "Het gezin heeft de bot geblokkeerd: ze zijn hier niet meer bereikbaar."
