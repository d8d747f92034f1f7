"""The case view (`/case CODE`, issue #5): for the case's caseworker and the coordinators only,
every look recorded; WHO-5 well-being of the last completed check-ins with its trend."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.app import Wegwijzer
from bot.rules.access import NotAllowed
from bot.rules.people import Participant
from bot.rules.wellbeing import sparkline
from bot.services import flags
from bot.services.case_view import CHECKINS_SHOWN, case_view
from tests.world import (
    CASE_A,
    CASE_B,
    CHECKIN_FLOW,
    Clock,
    World,
    add_person,
    audit,
    checkin,
    raise_flag,
    refusals,
    set_status,
)


async def stored_checkin(
    app: Wegwijzer,
    who: Participant,
    raw: float,
    ended_at: datetime,
    *,
    flow_id: str = CHECKIN_FLOW,
    status: str = "completed",
    case_id: int | None = None,
) -> int:
    """A run with a WHO-5 raw score, written through the repositories."""
    async with app.database.transaction() as uow:
        run = await uow.runs.start(
            who.person_id,
            who.case_id if case_id is None else case_id,
            flow_id,
            1,
            "who5_interested",
            {},
            ended_at - timedelta(minutes=3),
        )
        await uow.scores.record(run.id, "who5_raw", raw, ended_at)
        await uow.runs.update(run, step="thanks", state={}, status=status, now=ended_at)
        return run.id


async def viewed(app: Wegwijzer, case_id: int) -> list[tuple[int | None, str]]:
    return [
        (e.actor_id, e.actor_role)
        for e in await audit(app, case_id=case_id)
        if e.action == "case_viewed"
    ]


# --- who may look -------------------------------------------------------------------------


async def test_the_caseworker_and_the_coordinators_see_the_case(world: World, clock: Clock) -> None:
    app = world.app
    mine = await case_view(app, world.caseworker, CASE_A)
    clock.advance(minutes=1)
    theirs = await case_view(app, world.coordinator, CASE_A)
    other = await case_view(app, world.other_caseworker, CASE_B)
    assert (mine.code, mine.programme, mine.stage, mine.status) == (
        CASE_A,
        "family_strengthening",
        None,
        "open",
    )
    assert theirs == mine
    assert other.code == CASE_B and other.programme == "foster_care"
    events = [e for e in await audit(app, case_id=world.case_a) if e.action == "case_viewed"]
    assert [(e.actor_id, e.actor_role, e.case_id, e.at) for e in events] == [
        (world.caseworker.person_id, "caseworker", world.case_a, clock.now - timedelta(minutes=1)),
        (world.coordinator.person_id, "coordinator", world.case_a, clock.now),
    ]


async def test_every_look_is_recorded(world: World) -> None:
    app = world.app
    for _ in range(3):
        await case_view(app, world.caseworker, CASE_A)
    assert await viewed(app, world.case_a) == [(world.caseworker.person_id, "caseworker")] * 3


async def test_the_code_is_read_as_people_type_it(world: World) -> None:
    view = await case_view(world.app, world.coordinator, "  tst-0001 ")
    assert view.code == CASE_A


@pytest.mark.parametrize(
    "stranger",
    ["other_caseworker", "family", "family_b", "left_coordinator", "assignee", "left_caseworker"],
)
async def test_others_get_the_same_answer_as_for_an_unknown_code(
    world: World, stranger: str
) -> None:
    app = world.app
    if stranger == "assignee":
        # A flag of the case assigned to them shows them that flag, not the whole case.
        flag_id, _ = await raise_flag(app, world.case_a)
        await flags.assign(app, world.coordinator, flag_id, world.other_caseworker.person_id)
        who = world.other_caseworker
    elif stranger == "left_caseworker":
        who = await set_status(app, world.caseworker, "left")
    else:
        who = getattr(world, stranger)
    with pytest.raises(NotAllowed) as refused:
        await case_view(app, who, CASE_A)
    with pytest.raises(NotAllowed) as unknown:
        await case_view(app, who, "TST-9999")
    assert type(refused.value) is type(unknown.value) is NotAllowed
    assert await viewed(app, world.case_a) == []


async def test_a_refused_look_is_on_record_with_the_answer_unchanged(world: World) -> None:
    """Issue #15, "who looked": a caseworker opening another caseworker's case is refused as
    before, and the refusal is in the audit log with the case it was about; a code that
    names no case is refused the same, on record without the code they typed."""
    app, who = world.app, world.other_caseworker
    with pytest.raises(NotAllowed) as refused:
        await case_view(app, who, CASE_A.lower())
    with pytest.raises(NotAllowed) as unknown:
        await case_view(app, who, "TST-9999")
    assert type(refused.value) is type(unknown.value) is NotAllowed
    assert (refused.value.args, unknown.value.args) == ((CASE_A.lower(),), ("TST-9999",))
    look = {"what": "case", "action": "view"}
    assert await refusals(app) == [
        (who.person_id, "caseworker", world.case_a, None, look),
        (who.person_id, "caseworker", None, None, look),
    ]
    assert [e for e in await audit(app) if "TST-9999" in repr(e.detail)] == []
    assert await viewed(app, world.case_a) == []
    # Their own case is theirs to see, and that look is not a refusal.
    await case_view(app, who, CASE_B)
    assert len(await refusals(app)) == 2 and await viewed(app, world.case_b) == [
        (who.person_id, "caseworker")
    ]


async def test_an_unknown_code_is_refused_to_a_coordinator_too(world: World) -> None:
    with pytest.raises(NotAllowed):
        await case_view(world.app, world.coordinator, "TST-9999")
    assert [e for e in await audit(world.app) if e.action == "case_viewed"] == []


# --- check-ins and their trend --------------------------------------------------------------


async def test_completed_checkins_as_who5_percentages_oldest_first(
    world: World, clock: Clock
) -> None:
    app = world.app
    for who5 in ((3, 3, 3, 3, 3), (2, 2, 2, 2, 2), (4, 4, 3, 4, 3)):
        clock.advance(days=7)
        await checkin(app, world.family, who5=who5)
    view = await case_view(app, world.caseworker, CASE_A)
    assert [c.well_being for c in view.checkins] == [60, 40, 72]
    assert [c.at for c in view.checkins] == [
        clock.now - timedelta(days=14),
        clock.now - timedelta(days=7),
        clock.now,
    ]
    assert (view.trend, view.change) == ("up", 32)
    assert sparkline(view.checkins) == "▅▄▆"
    # The low check-in raised a medium flag, which the view shows as open.
    assert [(f.level, f.rule) for f in view.open_flags] == [("medium", "low_wellbeing")]


async def test_only_completed_checkins_of_this_case_count(world: World, clock: Clock) -> None:
    app = world.app
    base = clock.now
    await stored_checkin(app, world.family, 20, base + timedelta(days=1))
    await stored_checkin(app, world.family, 5, base + timedelta(days=2), status="paused")
    await stored_checkin(app, world.family, 6, base + timedelta(days=3), status="active")
    await stored_checkin(app, world.family, 7, base + timedelta(days=4), flow_id="other_flow")
    await stored_checkin(app, world.family_b, 8, base + timedelta(days=5))
    await stored_checkin(app, world.family, 11, base + timedelta(days=6))
    view = await case_view(app, world.coordinator, CASE_A)
    assert [c.well_being for c in view.checkins] == [80, 44]
    assert (view.trend, view.change) == ("down", -36)
    assert [c.well_being for c in (await case_view(app, world.coordinator, CASE_B)).checkins] == [
        32
    ]


async def test_the_last_checkins_only(world: World, clock: Clock) -> None:
    app = world.app
    raws = [10, 11, 12, 13, 14, 15, 16, 17]
    for day, raw in enumerate(raws):
        await stored_checkin(app, world.family, raw, clock.now + timedelta(days=day))
    view = await case_view(app, world.caseworker, CASE_A)
    assert CHECKINS_SHOWN == 6
    assert [c.well_being for c in view.checkins] == [raw * 4 for raw in raws[-6:]]


@pytest.mark.parametrize(
    ("raws", "trend", "change"),
    [
        ((), "unknown", 0),
        ((15,), "unknown", 0),
        ((15, 18), "up", 12),
        ((15, 12), "down", -12),
        ((15, 17), "stable", 8),
        ((15, 13), "stable", -8),
        ((15, 15), "stable", 0),
        ((5, 25, 15, 17), "stable", 8),  # only the last two count
    ],
)
async def test_trend_of_the_last_two_checkins(
    world: World, clock: Clock, raws: tuple[int, ...], trend: str, change: int
) -> None:
    app = world.app
    for day, raw in enumerate(raws):
        await stored_checkin(app, world.family, raw, clock.now + timedelta(days=day))
    view = await case_view(app, world.caseworker, CASE_A)
    assert (view.trend, view.change) == (trend, change)


# --- open flags in the view -----------------------------------------------------------------


async def test_open_flags_of_this_case_only(world: World, clock: Clock) -> None:
    app = world.app
    low, _ = await raise_flag(app, world.case_a, level="low", rule="low")
    urgent, _ = await raise_flag(app, world.case_a, level="urgent", rule="urgent")
    acknowledged, _ = await raise_flag(app, world.case_a, level="high", rule="high")
    resolved, _ = await raise_flag(app, world.case_a, level="urgent", rule="gone")
    await raise_flag(app, world.case_b, level="urgent", rule="elsewhere")
    await flags.acknowledge(app, world.caseworker, acknowledged)
    await flags.resolve(app, world.caseworker, resolved, "Handled.")
    view = await case_view(app, world.caseworker, CASE_A)
    assert [f.id for f in view.open_flags] == [urgent, acknowledged, low]
    assert {f.case_code for f in view.open_flags} == {CASE_A}


async def test_a_new_caseworker_sees_the_case_the_old_one_no_longer(world: World) -> None:
    app = world.app
    newcomer = await add_person(app, "caseworker", case=CASE_A)
    await case_view(app, newcomer, CASE_A)
    with pytest.raises(NotAllowed):
        await case_view(app, world.caseworker, CASE_A)
