"""Flags (`services/flags.py`): raising and repeating them, who may do what with them (issue
#5, "Access"), what each action changes, and that every step is in the audit log.

Access is tried for every action as every kind of person: a test of the server-side check, not
of which buttons a channel shows. "No such flag" and "not yours" must be the same answer.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bot.app import Wegwijzer
from bot.rules.access import FLAG_ACTIONS as ACTIONS
from bot.rules.access import NotAllowed
from bot.rules.people import NOTE_WAIT, Participant, waiting_for_text
from bot.services import flags
from bot.services.duties import digest_notices, escalation_notices, immediate_notices
from bot.services.emergency import raise_alarm
from bot.services.flags import NoteRequired
from bot.services.review_texts import flag_detail_lines
from bot.services.schedules import NO_CONTACT_RULE, SCHEDULES_FLOW
from tests.world import (
    CASE_A,
    CASE_B,
    CHECKIN_FLOW,
    Clock,
    World,
    actions,
    add_person,
    audit,
    checkin,
    event_ids,
    flag_row,
    raise_flag,
    refusals,
    render,
    reread,
    set_status,
)

# --- the access matrix ----------------------------------------------------------------------

NOT_ASSIGN = frozenset(ACTIONS) - {"assign"}
# Who tries, and which actions they may take on an urgent flag of case A.
ALLOWED: dict[str, frozenset[str]] = {
    "coordinator": frozenset(ACTIONS),
    "case_caseworker": NOT_ASSIGN,
    "other_caseworker": frozenset(),
    "other_caseworker_assigned": NOT_ASSIGN,
    "family_of_the_case": frozenset(),
    "left_coordinator": frozenset(),
    "left_case_caseworker": frozenset(),
    "unknown_flag_id": frozenset(),
}
NOTE = "Called the mother; visiting tomorrow."
RESOLUTION = "Home visit done; the children are safe with their grandmother."


def test_the_matrix_covers_every_action() -> None:
    assert set(ACTIONS) == {"view", "acknowledge", "assign", "note", "resolve", "reopen"}


async def _prepare(world: World, subject: str, action: str) -> tuple[Participant, int]:
    """The person trying, and the id of the flag they try it on, set up for `action`."""
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a, by=world.family)
    if action == "reopen":
        await flags.resolve(app, world.coordinator, flag_id, "Resolved to be reopened.")
    who = {
        "coordinator": world.coordinator,
        "case_caseworker": world.caseworker,
        "other_caseworker": world.other_caseworker,
        "other_caseworker_assigned": world.other_caseworker,
        "family_of_the_case": world.family,
        "left_coordinator": world.left_coordinator,
        "unknown_flag_id": world.coordinator,
    }.get(subject)
    if subject == "other_caseworker_assigned":
        await flags.assign(app, world.coordinator, flag_id, world.other_caseworker.person_id)
    if subject == "left_case_caseworker":
        who = await set_status(app, world.caseworker, "left")
    if subject == "unknown_flag_id":
        flag_id += 1000
    assert who is not None
    return who, flag_id


async def _do(world: World, who: Participant, action: str, flag_id: int) -> Any:
    app = world.app
    if action == "view":
        return await flags.flag_detail(app, who, flag_id)
    if action == "acknowledge":
        return await flags.acknowledge(app, who, flag_id)
    if action == "assign":
        return await flags.assign(app, who, flag_id, world.caseworker.person_id)
    if action == "note":
        return await flags.add_note(app, who, flag_id, NOTE)
    if action == "resolve":
        return await flags.resolve(app, who, flag_id, RESOLUTION)
    assert action == "reopen"
    return await flags.reopen(app, who, flag_id)


def _state(flag: Any) -> tuple:
    return (
        flag.status,
        flag.assigned_to,
        flag.acknowledged_by,
        flag.resolved_by,
        flag.resolution,
        flag.due_at,
        flag.escalate_at,
    )


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("subject", ALLOWED)
async def test_each_action_as_each_kind_of_person(world: World, subject: str, action: str) -> None:
    app = world.app
    who, flag_id = await _prepare(world, subject, action)
    real_id = flag_id - 1000 if subject == "unknown_flag_id" else flag_id
    before, logged = _state(await flag_row(app, real_id)), await event_ids(app, real_id)

    if action not in ALLOWED[subject]:
        with pytest.raises(NotAllowed) as refused:
            await _do(world, who, action, flag_id)
        assert type(refused.value) is NotAllowed and refused.value.args == (flag_id,)
        # Nothing changed, and neither the change nor a look was recorded: only the refusal,
        # with the flag and its case when the flag exists.
        assert _state(await flag_row(app, real_id)) == before
        unknown = subject == "unknown_flag_id"
        added = [i for i in await event_ids(app, real_id) if i not in logged]
        assert len(added) == (0 if unknown else 1)
        assert (await refusals(app))[-1] == (
            who.person_id,
            who.role,
            None if unknown else world.case_a,
            None if unknown else flag_id,
            {"what": "flag", "action": action},
        )
        return

    result = await _do(world, who, action, flag_id)
    view = result if action == "view" else result.flag
    if action != "view":
        assert result.changed
    assert view.id == flag_id and view.case_code == CASE_A
    row = await flag_row(app, flag_id)
    expected = {
        "view": lambda: _state(row) == before,
        "acknowledge": lambda: (
            (row.status, row.acknowledged_by, row.escalate_at)
            == ("acknowledged", who.person_id, None)
        ),
        "assign": lambda: row.assigned_to == world.caseworker.person_id,
        "note": lambda: row.status == "open",
        "resolve": lambda: (
            (row.status, row.resolved_by, row.resolution) == ("resolved", who.person_id, RESOLUTION)
        ),
        "reopen": lambda: (row.status, row.resolved_by, row.resolution) == ("open", None, None),
    }[action]
    assert expected(), _state(row)
    last = (await audit(app, flag_id))[-1]
    audit_action = {
        "view": "viewed",
        "acknowledge": "acknowledged",
        "assign": "assigned",
        "note": "noted",
        "resolve": "resolved",
        "reopen": "reopened",
    }[action]
    assert (last.action, last.actor_id, last.actor_role) == (audit_action, who.person_id, who.role)
    assert last.at == app.clock() and last.case_id == world.case_a and last.flag_id == flag_id


async def test_not_yours_and_no_such_flag_are_the_same_answer(world: World) -> None:
    app = world.app
    theirs, _ = await raise_flag(app, world.case_a)
    missing = theirs + 1000
    for who in (world.other_caseworker, world.family_b, world.family):
        answers = []
        for flag_id in (theirs, missing):
            with pytest.raises(NotAllowed) as refused:
                await flags.flag_detail(app, who, flag_id)
            answers.append((type(refused.value), str(refused.value).replace(str(flag_id), "ID")))
        assert answers[0] == answers[1]


async def test_a_caseworker_loses_access_when_the_flag_is_assigned_away(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_b)  # not a case of `world.caseworker`
    await flags.assign(app, world.coordinator, flag_id, world.caseworker.person_id)
    await flags.flag_detail(app, world.caseworker, flag_id)  # assigned: may look
    await flags.assign(app, world.coordinator, flag_id, world.other_caseworker.person_id)
    with pytest.raises(NotAllowed):
        await flags.flag_detail(app, world.caseworker, flag_id)
    # ... while the case's own caseworker keeps it whoever it is assigned to.
    await flags.flag_detail(app, world.other_caseworker, flag_id)


async def test_a_caseless_flag_is_for_coordinators_and_its_assignee_only(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, None, flow_id="emergency", rule="emergency", evidence={})
    for who in (world.caseworker, world.other_caseworker, world.family):
        with pytest.raises(NotAllowed):
            await flags.flag_detail(app, who, flag_id)
    assert (await flags.flag_detail(app, world.coordinator, flag_id)).case_code is None
    await flags.assign(app, world.coordinator, flag_id, world.caseworker.person_id)
    await flags.acknowledge(app, world.caseworker, flag_id)


async def test_an_unreachable_person_acts_on_nothing(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    unreachable = await set_status(app, world.coordinator, "unreachable")
    with pytest.raises(NotAllowed):
        await flags.acknowledge(app, unreachable, flag_id)


async def test_refused_flag_lists_and_forged_flag_ids_are_on_record(world: World) -> None:
    """Issue #15, "who looked": a family asking for flags, and a caseworker trying ids that
    are not theirs or name no flag, are refused as before and each refusal is recorded —
    with the flag and its case only when the flag exists."""
    app, family, caseworker = world.app, world.family, world.caseworker
    with pytest.raises(NotAllowed) as listed:
        await flags.review_queue(app, family)
    assert listed.value.args == ("families do not see flags",)
    theirs, _ = await raise_flag(app, world.case_b)
    for flag_id in (theirs + 1000, 2**40, theirs):
        with pytest.raises(NotAllowed) as refused:
            await flags.flag_detail(app, caseworker, flag_id)
        assert type(refused.value) is NotAllowed and refused.value.args == (flag_id,)
    with pytest.raises(NotAllowed):
        await flags.ask_for_text(app, caseworker, theirs, "note")
    with pytest.raises(NotAllowed):
        await flags.assignable_caseworkers(app, caseworker, theirs)
    view = {"what": "flag", "action": "view"}
    mine = (caseworker.person_id, "caseworker")
    assert await refusals(app) == [
        (family.person_id, "family", None, None, {"what": "flags", "action": "view"}),
        (*mine, None, None, view),
        (*mine, None, None, view),
        (*mine, world.case_b, theirs, view),
        (*mine, world.case_b, theirs, {"what": "flag", "action": "note"}),
        (*mine, world.case_b, theirs, {"what": "flag", "action": "assign"}),
    ]
    # The refused note was not asked for; the flag was neither looked at nor changed.
    assert (await reread(app, caseworker)).awaiting is None
    assert await actions(app, theirs) == ["raised", *["refused"] * 3]


@pytest.mark.both_backends
@pytest.mark.parametrize("number", [0, -1, 2**31, 2**40, 10**60])
async def test_an_impossible_flag_id_is_no_such_flag(world: World, number: int) -> None:
    """A button's payload is up to 64 bytes of digits: any number at all can arrive."""
    with pytest.raises(NotAllowed):
        await flags.flag_detail(world.app, world.coordinator, number)
    with pytest.raises(NotAllowed):
        await flags.acknowledge(world.app, world.coordinator, number)
    # Both refusals are on record, without an id no column could hold.
    assert [(case, flag) for _, _, case, flag, _ in await refusals(world.app)] == [(None, None)] * 2


@pytest.mark.both_backends
async def test_two_presses_of_one_button_change_the_flag_once(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    first, second = await asyncio.gather(
        flags.acknowledge(app, world.coordinator, flag_id),
        flags.acknowledge(app, world.caseworker, flag_id),
    )
    assert sorted([first.changed, second.changed]) == [False, True]
    assert (await actions(app, flag_id)).count("acknowledged") == 1
    done = await asyncio.gather(
        flags.resolve(app, world.coordinator, flag_id, RESOLUTION),
        flags.resolve(app, world.second_coordinator, flag_id, "Also resolved."),
    )
    assert sorted(outcome.changed for outcome in done) == [False, True]
    resolved = [e for e in await audit(app, flag_id) if e.action == "resolved"]
    assert len(resolved) == 1
    assert (await flag_row(app, flag_id)).resolution == resolved[0].note


# --- assigning ----------------------------------------------------------------------------


async def test_only_an_active_caseworker_can_be_assigned(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    left_caseworker = await add_person(app, "caseworker", status="left")
    before = await event_ids(app, flag_id)
    for target in (
        world.family.person_id,
        world.second_coordinator.person_id,
        left_caseworker.person_id,
        987654,  # nobody
        -1,  # no id at all
    ):
        with pytest.raises(flags.NotAssignable):
            await flags.assign(app, world.coordinator, flag_id, target)
    assert (await flag_row(app, flag_id)).assigned_to is None
    # Not refusals (the coordinator may assign the flag; the person chosen cannot take it):
    # nothing is on record.
    assert [e.action for e in await audit(app, flag_id) if e.id not in before] == []
    # Someone who may not assign is refused first, whoever they chose.
    with pytest.raises(NotAllowed):
        await flags.assign(app, world.caseworker, flag_id, world.family.person_id)
    assert [e.action for e in await audit(app, flag_id) if e.id not in before] == ["refused"]


async def test_assigning_twice_to_the_same_caseworker_changes_nothing(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    target = world.other_caseworker.person_id
    first = await flags.assign(app, world.coordinator, flag_id, target)
    again = await flags.assign(app, world.second_coordinator, flag_id, target)
    assert (first.changed, again.changed) == (True, False)
    assert first.flag.assigned_to == again.flag.assigned_to == target
    assigned = [e for e in await audit(app, flag_id) if e.action == "assigned"]
    assert [(e.actor_id, e.detail) for e in assigned] == [
        (world.coordinator.person_id, {"to": target})
    ]


async def test_assignable_caseworkers_with_their_cases(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    newcomer = await add_person(app, "caseworker")
    await add_person(app, "caseworker", status="left")
    found = await flags.assignable_caseworkers(app, world.coordinator, flag_id)
    assert found == [
        (world.caseworker.person_id, [CASE_A]),
        (world.other_caseworker.person_id, [CASE_B]),
        (newcomer.person_id, []),
    ]
    for who in (world.caseworker, world.family, world.left_coordinator):
        with pytest.raises(NotAllowed):
            await flags.assignable_caseworkers(app, who, flag_id)
    with pytest.raises(NotAllowed):
        await flags.assignable_caseworkers(app, world.coordinator, flag_id + 1000)


# --- the life of a flag ---------------------------------------------------------------------


async def test_acknowledging_stops_escalation_and_is_recorded_once(
    world: World, clock: Clock
) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    assert (await flag_row(app, flag_id)).escalate_at == clock.now + timedelta(hours=1)
    clock.advance(minutes=5)
    first = await flags.acknowledge(app, world.caseworker, flag_id)
    assert first.changed
    assert first.flag.status == "acknowledged"
    assert (first.flag.acknowledged_by, first.flag.acknowledged_at) == (
        world.caseworker.person_id,
        clock.now,
    )
    assert (await flag_row(app, flag_id)).escalate_at is None

    clock.advance(minutes=5)
    again = await flags.acknowledge(app, world.coordinator, flag_id)
    assert not again.changed
    assert again.flag.acknowledged_by == world.caseworker.person_id  # the first one stays
    assert (await actions(app, flag_id)).count("acknowledged") == 1


async def test_a_resolved_flag_is_not_acknowledged_again(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await flags.resolve(app, world.coordinator, flag_id, RESOLUTION)
    outcome = await flags.acknowledge(app, world.coordinator, flag_id)
    assert not outcome.changed and outcome.flag.status == "resolved"
    assert "acknowledged" not in await actions(app, flag_id)


@pytest.mark.parametrize("empty", ["", "   ", "\n\t ", None])
async def test_resolving_and_noting_need_a_note(world: World, empty: Any) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    before = await event_ids(app, flag_id)
    with pytest.raises(NoteRequired):
        await flags.resolve(app, world.coordinator, flag_id, empty)
    with pytest.raises(NoteRequired):
        await flags.add_note(app, world.coordinator, flag_id, empty)
    row = await flag_row(app, flag_id)
    assert (row.status, row.resolution, row.resolved_by) == ("open", None, None)
    assert await event_ids(app, flag_id) == before


async def test_resolving_keeps_the_resolution(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    clock.advance(minutes=30)
    outcome = await flags.resolve(app, world.caseworker, flag_id, f"  {RESOLUTION}\n")
    assert outcome.changed
    view = outcome.flag
    assert (view.status, view.resolution) == ("resolved", RESOLUTION)
    assert (view.resolved_by, view.resolved_at) == (world.caseworker.person_id, clock.now)
    row = await flag_row(app, flag_id)
    assert row.escalate_at is None
    (event,) = [e for e in await audit(app, flag_id) if e.action == "resolved"]
    assert event.note == RESOLUTION

    again = await flags.resolve(app, world.coordinator, flag_id, "Something else.")
    assert not again.changed and again.flag.resolution == RESOLUTION
    assert (await actions(app, flag_id)).count("resolved") == 1


async def test_reopening_starts_the_clock_again(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a, level="high", rule="child_not_always_safe")
    await flags.acknowledge(app, world.caseworker, flag_id)
    await flags.resolve(app, world.caseworker, flag_id, RESOLUTION)
    clock.advance(days=3)
    outcome = await flags.reopen(app, world.coordinator, flag_id)
    assert outcome.changed
    view = outcome.flag
    assert view.status == "open"
    assert view.due_at == clock.now + timedelta(hours=24)  # the level's due time, from now
    assert (view.acknowledged_by, view.acknowledged_at) == (None, None)
    assert (view.resolved_by, view.resolved_at, view.resolution) == (None, None, None)
    assert (await flag_row(app, flag_id)).escalate_at == view.due_at
    assert [f.id for f in await flags.review_queue(app, world.coordinator)] == [flag_id]

    again = await flags.reopen(app, world.coordinator, flag_id)
    assert not again.changed
    assert (await actions(app, flag_id)).count("reopened") == 1


async def test_history_lists_every_step_in_order_with_who_and_notes(
    world: World, clock: Clock
) -> None:
    app = world.app
    await checkin(app, world.family, safe_at_home="no")
    (queued,) = await flags.review_queue(app, world.coordinator)
    flag_id = queued.id
    clock.advance(minutes=10)
    await flags.acknowledge(app, world.coordinator, flag_id)
    clock.advance(minutes=10)
    await flags.add_note(app, world.caseworker, flag_id, NOTE)
    clock.advance(minutes=10)
    await flags.resolve(app, world.coordinator, flag_id, RESOLUTION)
    clock.advance(minutes=10)
    outcome = await flags.reopen(app, world.caseworker, flag_id)

    history = [
        (entry.action, entry.actor_id, entry.actor_role, entry.note)
        for entry in outcome.flag.history
    ]
    assert history == [
        ("raised", world.family.person_id, "family", None),
        ("acknowledged", world.coordinator.person_id, "coordinator", None),
        ("noted", world.caseworker.person_id, "caseworker", NOTE),
        ("resolved", world.coordinator.person_id, "coordinator", RESOLUTION),
        ("reopened", world.caseworker.person_id, "caseworker", None),
    ]
    times = [entry.at for entry in outcome.flag.history]
    assert times == sorted(times) and times[-1] == clock.now
    assert outcome.flag.history[0].detail == {
        "level": "urgent",
        "rule": "child_unsafe_at_home",
        "flow": f"{CHECKIN_FLOW}@2",
    }
    # The command line's JSON carries the same history.
    as_json = outcome.flag.as_dict()
    assert [entry["action"] for entry in as_json["history"]] == [h[0] for h in history]
    assert as_json["case"] == CASE_A and as_json["status"] == "open"


async def test_all_flags_by_status_with_history(world: World) -> None:
    app = world.app
    open_id, _ = await raise_flag(app, world.case_a)
    acknowledged_id, _ = await raise_flag(app, world.case_b)
    resolved_id, _ = await raise_flag(app, world.case_a, level="low", rule="message")
    await flags.acknowledge(app, world.coordinator, acknowledged_id)
    await flags.resolve(app, world.coordinator, resolved_id, RESOLUTION)
    assert {f.id for f in await flags.all_flags(app)} == {open_id, acknowledged_id, resolved_id}
    assert [f.id for f in await flags.all_flags(app, "open")] == [open_id]
    assert [f.id for f in await flags.all_flags(app, "acknowledged")] == [acknowledged_id]
    (resolved,) = await flags.all_flags(app, "resolved")
    assert resolved.id == resolved_id
    assert [h.action for h in resolved.history] == ["raised", "resolved"]


# --- the review queue ---------------------------------------------------------------------


async def test_review_queue_per_role(world: World, clock: Clock) -> None:
    app = world.app

    async def make(case_id: int | None, level: str, rule: str) -> int:
        clock.advance(minutes=7)  # later raised, later due (within a level)
        flag_id, new = await raise_flag(app, case_id, level=level, rule=rule)
        assert new
        return flag_id

    a_low = await make(world.case_a, "low", "a_low")
    a_urgent_1 = await make(world.case_a, "urgent", "a_urgent_1")
    b_medium = await make(world.case_b, "medium", "b_medium")
    a_high = await make(world.case_a, "high", "a_high")
    b_urgent = await make(world.case_b, "urgent", "b_urgent")
    caseless = await make(None, "urgent", "emergency")
    a_urgent_2 = await make(world.case_a, "urgent", "a_urgent_2")
    b_high_assigned = await make(world.case_b, "high", "b_high_assigned")
    a_resolved = await make(world.case_a, "urgent", "a_resolved")
    await flags.acknowledge(app, world.coordinator, a_urgent_2)  # acknowledged: still queued
    await flags.resolve(app, world.coordinator, a_resolved, RESOLUTION)
    await flags.assign(app, world.coordinator, b_high_assigned, world.caseworker.person_id)

    coordinator = [f.id for f in await flags.review_queue(app, world.coordinator)]
    assert coordinator == [
        a_urgent_1,
        b_urgent,
        caseless,
        a_urgent_2,
        a_high,
        b_high_assigned,
        b_medium,
        a_low,
    ]
    mine = [f.id for f in await flags.review_queue(app, world.caseworker)]
    assert mine == [a_urgent_1, a_urgent_2, a_high, b_high_assigned, a_low]
    theirs = [f.id for f in await flags.review_queue(app, world.other_caseworker)]
    assert theirs == [b_urgent, b_high_assigned, b_medium]
    nobodys = await add_person(app, "caseworker")
    assert await flags.review_queue(app, nobodys) == []

    queue = await flags.review_queue(app, world.coordinator)
    assert [(f.level, f.due_at) for f in queue] == sorted(
        ((f.level, f.due_at) for f in queue),
        key=lambda item: (("urgent", "high", "medium", "low").index(item[0]), item[1]),
    )
    # The queue is a look at a list, not at a family's answers: nothing is recorded.
    assert "viewed" not in {e.action for e in await audit(app, case_id=None)}


@pytest.mark.both_backends
async def test_review_pages_are_the_queue_a_page_at_a_time(world: World, clock: Clock) -> None:
    app = world.app
    levels = ("low", "urgent", "medium", "high", "urgent", "low", "high")
    for number, level in enumerate(levels):
        clock.advance(minutes=7)
        case = world.case_a if number % 2 else world.case_b
        await raise_flag(app, case, level=level, rule=f"rule_{number}")
        if number == 2:  # one of the other case's, assigned to case A's caseworker
            (flag,) = [
                f for f in await flags.review_queue(app, world.coordinator) if f.rule == "rule_2"
            ]
            await flags.assign(app, world.coordinator, flag.id, world.caseworker.person_id)

    for who in (world.coordinator, world.caseworker, world.other_caseworker):
        queue = [f.id for f in await flags.review_queue(app, who)]
        pages = [await flags.review_page(app, who, page, 3) for page in (1, 2, 3)]
        assert [page.pages for page in pages] == [-(-len(queue) // 3)] * 3
        paged = [f.id for page in pages[: pages[0].pages] for f in page.flags]
        assert paged == queue
    # Past the last page: the last; before the first: the first.
    queue = [f.id for f in await flags.review_queue(app, world.coordinator)]
    assert len(queue) == len(levels)
    last = await flags.review_page(app, world.coordinator, 99, 3)
    assert (last.page, [f.id for f in last.flags]) == (3, queue[6:])
    first = await flags.review_page(app, world.coordinator, 0, 3)
    assert (first.page, [f.id for f in first.flags]) == (1, queue[:3])
    nobodys = await add_person(app, "caseworker")
    assert await flags.review_page(app, nobodys, 1, 3) == flags.QueuePage((), 1, 0)
    with pytest.raises(NotAllowed):
        await flags.review_page(app, world.family, 1, 3)


async def test_families_and_people_who_left_have_no_queue(world: World) -> None:
    app = world.app
    await raise_flag(app, world.case_a)
    for who in (world.family, world.family_b, world.left_coordinator):
        with pytest.raises(NotAllowed):
            await flags.review_queue(app, who)
    left = await set_status(app, world.caseworker, "left")
    with pytest.raises(NotAllowed):
        await flags.review_queue(app, left)


async def test_overdue_is_marked_until_resolved(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    (view,) = await flags.review_queue(app, world.coordinator)
    assert not view.overdue(clock.now)
    assert not view.overdue(clock.now + timedelta(minutes=59))
    assert view.overdue(clock.now + timedelta(hours=1))
    resolved = await flags.resolve(app, world.coordinator, flag_id, RESOLUTION)
    assert not resolved.flag.overdue(clock.now + timedelta(days=30))


# --- a repeated trigger ---------------------------------------------------------------------


@pytest.mark.both_backends
async def test_a_repeated_checkin_adds_evidence_instead_of_a_second_flag(
    world: World, clock: Clock
) -> None:
    app = world.app
    first_run = await checkin(app, world.family, safe_at_home="no")
    clock.advance(days=1)
    second_run = await checkin(app, world.family, safe_at_home="no")

    async with app.database.reading() as uow:
        (flag,) = await uow.flags.open_flags([world.case_a])
        assert [f.id for f in await uow.flags.of_run(first_run)] == [flag.id]
        assert await uow.flags.of_run(second_run) == []
    assert flag.rule == "child_unsafe_at_home" and flag.run_id == first_run
    assert flag.evidence == {
        "children.safe_at_home": "no",
        "repeats": [
            {"children.safe_at_home": "no", "run_id": second_run, "at": clock.now.isoformat()}
        ],
    }
    events = await audit(app, flag.id)
    assert [e.action for e in events] == ["raised", "repeated"]
    assert (events[1].actor_id, events[1].detail) == (
        world.family.person_id,
        {"run_id": second_run},
    )


async def test_after_resolving_a_new_trigger_raises_a_new_flag(world: World, clock: Clock) -> None:
    app = world.app
    await checkin(app, world.family, safe_at_home="no")
    (first,) = await flags.review_queue(app, world.coordinator)
    await flags.acknowledge(app, world.coordinator, first.id)
    clock.advance(days=1)
    await checkin(app, world.family, safe_at_home="no")  # acknowledged is not resolved: adds
    await flags.resolve(app, world.coordinator, first.id, RESOLUTION)
    clock.advance(days=1)
    await checkin(app, world.family, safe_at_home="no")

    (second,) = await flags.review_queue(app, world.coordinator)
    assert second.id != first.id
    assert second.evidence == {"children.safe_at_home": "no"}
    assert second.status == "open" and second.raised_at == clock.now
    old = await flag_row(app, first.id)
    assert old.status == "resolved" and len(old.evidence["repeats"]) == 1


async def test_dedup_is_per_case_flow_and_rule(world: World) -> None:
    app = world.app
    first, new = await raise_flag(app, world.case_a, rule="r1")
    assert new
    assert await raise_flag(app, world.case_a, rule="r1") == (first, False)
    other_case, new_b = await raise_flag(app, world.case_b, rule="r1")
    other_rule, new_r = await raise_flag(app, world.case_a, rule="r2")
    other_flow, new_f = await raise_flag(app, world.case_a, rule="r1", flow_id="other_flow")
    assert new_b and new_r and new_f
    assert len({first, other_case, other_rule, other_flow}) == 4


async def test_a_repeated_alarm_adds_to_the_emergency_flag(world: World) -> None:
    app = world.app
    first = await raise_alarm(app, world.family, "sos")
    second = await raise_alarm(app, world.family, "button")
    assert first.new and not second.new and first.flag_id == second.flag_id
    row = await flag_row(app, first.flag_id)
    assert (row.level, row.case_id, row.flow_id) == ("urgent", world.case_a, "emergency")
    assert row.evidence["trigger"] == "sos"
    assert [item["trigger"] for item in row.evidence["repeats"]] == ["button"]
    assert await actions(app, first.flag_id) == ["raised", "repeated"]


async def test_alarms_of_two_people_without_a_case_are_two_flags(world: World) -> None:
    app = world.app
    first = await raise_alarm(app, world.caseworker, "sos")
    second = await raise_alarm(app, world.other_caseworker, "sos")
    assert first.flag_id != second.flag_id


# --- looking at a flag ----------------------------------------------------------------------


async def test_every_look_at_a_flag_is_recorded(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    view = await flags.flag_detail(app, world.caseworker, flag_id)
    assert view.evidence == {"children.safe_at_home": "no"}
    clock.advance(minutes=1)
    await flags.flag_detail(app, world.coordinator, flag_id)
    clock.advance(minutes=1)
    last = await flags.flag_detail(app, world.caseworker, flag_id)
    viewed = [(e.actor_id, e.at) for e in await audit(app, flag_id) if e.action == "viewed"]
    assert viewed == [
        (world.caseworker.person_id, clock.now - timedelta(minutes=2)),
        (world.coordinator.person_id, clock.now - timedelta(minutes=1)),
        (world.caseworker.person_id, clock.now),
    ]
    assert [h.action for h in last.history] == ["raised", "viewed", "viewed", "viewed"]


# --- evidence, as a reviewer reads it -------------------------------------------------------


async def test_evidence_shows_the_question_and_the_chosen_answer(world: World) -> None:
    app = world.app
    await checkin(app, world.family, safe_at_home="no", everyone_safe_now=False)
    queue = await flags.review_queue(app, world.coordinator)
    by_rule = {flag.rule: flag for flag in queue}
    assert set(by_rule) == {"child_unsafe_at_home", "household_unsafe_now"}

    child = flags.evidence_lines(app, by_rule["child_unsafe_at_home"])
    assert [render(app, line) for line in child] == ["Do the children feel safe at home? — No"]
    assert [render(app, line, "nl") for line in child] == [
        "Voelen de kinderen zich thuis veilig? — Nee"
    ]
    household = flags.evidence_lines(app, by_rule["household_unsafe_now"])
    assert [render(app, line) for line in household] == [
        "One last question. Is everyone at home safe right now? — No"
    ]


async def test_evidence_of_scores_and_labels_of_other_options(world: World) -> None:
    app = world.app
    await checkin(app, world.family, who5=(1, 1, 1, 1, 1), safe_at_home="not_always")
    by_rule = {f.rule: f for f in await flags.review_queue(app, world.coordinator)}
    assert set(by_rule) == {"very_low_wellbeing", "child_not_always_safe"}
    assert [
        render(app, line) for line in flags.evidence_lines(app, by_rule["child_not_always_safe"])
    ] == ["Do the children feel safe at home? — Not always"]
    score_lines = [render(app, x) for x in flags.evidence_lines(app, by_rule["very_low_wellbeing"])]
    assert score_lines == ["score.who5_raw: 5"]  # a score by its key, untranslated


async def test_evidence_of_an_emergency_names_its_trigger_and_repeats(world: World) -> None:
    app = world.app
    alarm = await raise_alarm(app, world.family, "sos")
    (view,) = await flags.review_queue(app, world.coordinator)
    assert [render(app, line) for line in flags.evidence_lines(app, view)] == [
        "Set off by the /sos command.",
        "Kind of danger: immediate danger.",
    ]
    await raise_alarm(app, world.family, "ik ben in gevaar")
    await raise_alarm(app, world.family, "button")
    view = await flags.flag_detail(app, world.coordinator, alarm.flag_id)
    assert [render(app, line) for line in flags.evidence_lines(app, view)] == [
        "Set off by the /sos command.",
        "Kind of danger: immediate danger.",
        "Triggered again 2 times.",
    ]
    words = await raise_alarm(app, world.family_b, "ik ben in gevaar")
    view = await flags.flag_detail(app, world.coordinator, words.flag_id)
    assert [render(app, line) for line in flags.evidence_lines(app, view)] == [
        "Set off by the words “ik ben in gevaar”.",
        "Kind of danger: immediate danger.",
    ]


async def test_the_detail_names_where_the_rule_comes_from(world: World) -> None:
    """A flow rule's `source:` is shown with its flag (issue #14), looked up in the flow version
    that raised it; an alarm, which no flow rule raised, shows none."""
    app = world.app
    await checkin(app, world.family, who5=(1, 1, 1, 1, 1))
    (view,) = await flags.review_queue(app, world.coordinator)
    rule = app.flows.get(view.flow_id, view.flow_version).flags
    (source,) = [r.source for r in rule if r.id == "very_low_wellbeing"]
    assert source and "Topp et al. 2015" in source
    assert flags.rule_source(app, view) == source
    detail = [render(app, line) for line in flag_detail_lines(app, view, app.clock())]
    assert f"Source of the rule: {source}" in detail

    alarm = await raise_alarm(app, world.family_b, "sos")
    sos = await flags.flag_detail(app, world.coordinator, alarm.flag_id)
    assert flags.rule_source(app, sos) is None
    assert not any(
        line.startswith("Source of the rule")
        for line in (render(app, line) for line in flag_detail_lines(app, sos, app.clock()))
    )


async def test_evidence_of_a_flow_that_is_gone_is_shown_as_keys(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(
        app,
        world.case_a,
        flow_id="retired_flow",
        evidence={"children.safe_at_home": "no", "visits.count": 3},
    )
    view = await flags.flag_detail(app, world.coordinator, flag_id)
    assert [render(app, line) for line in flags.evidence_lines(app, view)] == [
        "children.safe_at_home: no",
        "visits.count: 3",
    ]


# --- who is told ----------------------------------------------------------------------------


async def test_flag_recipients_are_staff_who_can_be_told(world: World) -> None:
    app = world.app
    async with app.database.reading() as uow:
        everyone = await flags.flag_recipients(uow, world.case_a)
        no_caseworker = await flags.flag_recipients(uow, world.case_a, caseworker=False)
        with_assignee = await flags.flag_recipients(
            uow, world.case_a, extra=world.other_caseworker.person_id
        )
        twice = await flags.flag_recipients(uow, world.case_a, extra=world.caseworker.person_id)
        caseless = await flags.flag_recipients(uow, None)
    assert [r.person_id for r in everyone] == [
        world.caseworker.person_id,
        world.coordinator.person_id,
        world.second_coordinator.person_id,
    ]
    assert {r.case_code for r in everyone} == {CASE_A}
    assert [r.language for r in everyone] == ["en", "en", "nl"]
    assert {r.person_id for r in no_caseworker} == world.coordinators
    assert {r.person_id for r in with_assignee} == world.staff_told() | {
        world.other_caseworker.person_id
    }
    assert [r.person_id for r in twice] == [r.person_id for r in everyone]  # each once
    assert {r.person_id for r in caseless} == world.coordinators
    assert {r.case_code for r in caseless} == {None}


async def test_a_caseworker_who_left_is_not_told(world: World, app: Wegwijzer) -> None:
    await set_status(app, world.caseworker, "left")
    async with app.database.reading() as uow:
        told = await flags.flag_recipients(uow, world.case_a)
    assert {r.person_id for r in told} == world.coordinators


async def test_a_repeat_of_an_acknowledged_urgent_flag_must_be_acknowledged_again(
    world: World, clock: Clock
) -> None:
    """New danger on a flag someone already took on: told again, open again, and escalated
    again if nobody reacts — a medium one only gathers evidence."""
    app = world.app
    urgent, _ = await raise_flag(app, world.case_a)
    medium, _ = await raise_flag(app, world.case_a, level="medium", rule="low_wellbeing")
    for flag_id in (urgent, medium):
        await flags.acknowledge(app, world.coordinator, flag_id)
    clock.advance(minutes=10)
    await raise_flag(app, world.case_a)
    await raise_flag(app, world.case_a, level="medium", rule="low_wellbeing")

    again = await flag_row(app, urgent)
    assert (again.status, again.acknowledged_by, again.notified_at) == ("open", None, None)
    assert again.escalate_at == clock.now + app.settings.flag_due["urgent"]
    quiet = await flag_row(app, medium)
    assert (quiet.status, quiet.escalate_at) == ("acknowledged", None)
    assert len(quiet.evidence["repeats"]) == 1


# --- raising, repeating, and what a look records ------------------------------------------------


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
