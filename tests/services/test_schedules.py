"""Scheduled check-ins on a clock the test moves (issue #7): reminders at the family's local
time across daylight-saving changes, one reminder after downtime, waiting while the family is
in the middle of a flow, one gentle follow-up, pausing and resuming, and silence that raises a
"no contact" flag. Every test runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.

At the end, a PostgreSQL-only test: two app instances on one database claim a batch of due
reminders at the same moment, and each family is reminded exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.engine import FlowRegistry
from bot.rules.access import NotAllowed
from bot.rules.cadence import Cadence, parse_cadence
from bot.services import schedules as schedule_service
from bot.services import texts
from bot.services.cases import create_case
from bot.services.duties import due_notices
from bot.services.notices import Notice, queue
from bot.services.onboarding import record_consent
from bot.services.outbox import unreachable
from bot.services.people import Recipient
from bot.services.runs import pause, start_flow
from bot.services.schedules import (
    NO_CONTACT_RULE,
    family_pause,
    list_schedules,
    pause_schedule,
    reminder_notices,
    resume_schedule,
    set_schedule,
)
from bot.storage.schedules import ScheduleRepository
from tests.databases import empty_tables
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
    reread,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
WEEKLY = "weekly mon 18:00"


def local(*args: int) -> datetime:
    """A moment in Amsterdam's local time, as the UTC the clock keeps."""
    return datetime(*args, tzinfo=AMSTERDAM).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def cadence(text: str = WEEKLY, timezone: str = "Europe/Amsterdam") -> Cadence:
    return parse_cadence(text, timezone)


def reminders(notices: list[Notice]) -> list[Notice]:
    return [n for n in notices if n.text.msgid == texts.REMINDER.msgid]


def follow_ups(notices: list[Notice]) -> list[Notice]:
    return [n for n in notices if n.text.msgid == texts.REMINDER_FOLLOW_UP.msgid]


async def reminded(app: Wegwijzer) -> list[int]:
    """Who got a check-in reminder in this round (not a follow-up), by person id."""
    return [n.recipient.person_id for n in reminders(await reminder_notices(app))]


async def schedule_of(app: Wegwijzer, case_id: int) -> Any:
    async with app.database.reading() as uow:
        schedule = await uow.schedules.of_case(case_id)
        assert schedule is not None
        return schedule


async def case_actions(app: Wegwijzer, case_id: int) -> list[str]:
    return [event.action for event in await audit(app, case_id=case_id)]


async def no_contact_flags(app: Wegwijzer, case_id: int) -> list[Any]:
    async with app.database.reading() as uow:
        return [
            flag for flag in await uow.flags.open_flags([case_id]) if flag.rule == NO_CONTACT_RULE
        ]


async def close_case(app: Wegwijzer, case_id: int) -> None:
    async with app.database.transaction() as uow:
        case = await uow.cases.by_id(case_id)
        case.status = "closed"


@pytest.fixture
async def other_flow_run(app: Wegwijzer) -> AsyncIterator[Any]:
    """Put a person in the middle of a flow other than the check-in (stored as a run would
    be); returns the run id. The runs are finished at the end: a test database must not keep
    open runs of a flow that does not exist (the next bootstrap refuses them)."""
    started: list[int] = []

    async def start(who: Any, flow_id: str = "guide") -> int:
        async with app.database.transaction() as uow:
            run = await uow.runs.start(
                who.person_id, who.case_id, flow_id, 1, "start", {}, app.clock()
            )
            started.append(run.id)
            return run.id

    yield start
    for run_id in started:
        await finish_run(app, run_id)


async def finish_run(app: Wegwijzer, run_id: int) -> None:
    async with app.database.transaction() as uow:
        run = await uow.runs.get(run_id)
        if run.status != "completed":
            await uow.runs.update(run, step="end", state={}, status="completed", now=app.clock())


# --- reminders at the family's local time --------------------------------------------------


async def test_a_reminder_goes_to_the_family_at_the_due_time_with_a_button_to_start(
    world: World, clock: Clock
) -> None:
    app = world.app
    second = await add_person(app, "family", case=CASE_A, language="nl")
    await add_person(app, "family", case=CASE_A, consent="refused")
    await add_person(app, "family", case=CASE_A, status="left")
    view = await set_schedule(app, CASE_A, cadence(), by=world.caseworker)
    # Friday 27 November 2026 10:30 local: the next Monday 18:00 CET is 17:00 UTC.
    assert view.next_due_at == utc(2026, 11, 30, 17, 0)

    clock.set(utc(2026, 11, 30, 16, 59))
    assert await reminder_notices(app) == []
    clock.set(utc(2026, 11, 30, 17, 0))
    notices = reminders(await reminder_notices(app))
    # The family members who can be told; not one who refused the terms or left, not staff,
    # not another case's family.
    assert sorted(n.recipient.person_id for n in notices) == sorted(
        [world.family.person_id, second.person_id]
    )
    for notice in notices:
        assert notice.start_flow == CHECKIN_FLOW
        assert notice.recipient.case_code == CASE_A
    assert {n.recipient.language for n in notices} == {"en", "nl"}
    assert await reminder_notices(app) == []  # once
    assert (await case_actions(app, world.case_a)).count("reminder_sent") == 1


async def test_due_notices_include_the_reminders(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(utc(2026, 11, 30, 17, 0))
    notices = await due_notices(app)
    assert [n.recipient.person_id for n in reminders(notices)] == [world.family.person_id]


@pytest.mark.both_backends
async def test_weekly_at_18_local_across_the_autumn_change(world: World, clock: Clock) -> None:
    app = world.app
    clock.set(utc(2026, 10, 19, 9, 0))  # Monday 19 October, summer time (UTC+2)
    view = await set_schedule(app, CASE_A, cadence())
    assert view.next_due_at == utc(2026, 10, 19, 16, 0)  # 18:00 CEST

    clock.set(utc(2026, 10, 19, 16, 0))
    assert await reminded(app) == [world.family.person_id]
    # The clocks go back on Sunday 25 October: the next 18:00 is 17:00 UTC, not 16:00.
    assert (await schedule_of(app, world.case_a)).next_due_at == utc(2026, 10, 26, 17, 0)
    clock.set(utc(2026, 10, 26, 16, 0))
    assert await reminded(app) == []
    clock.set(utc(2026, 10, 26, 17, 0))
    assert await reminded(app) == [world.family.person_id]
    assert (await schedule_of(app, world.case_a)).next_due_at == local(2026, 11, 2, 18, 0)


@pytest.mark.both_backends
async def test_weekly_at_18_local_across_the_spring_change(world: World, clock: Clock) -> None:
    app = world.app
    clock.set(utc(2026, 3, 23, 9, 0))  # Monday 23 March, winter time (UTC+1)
    view = await set_schedule(app, CASE_A, cadence())
    assert view.next_due_at == utc(2026, 3, 23, 17, 0)  # 18:00 CET

    clock.set(utc(2026, 3, 23, 17, 0))
    assert await reminded(app) == [world.family.person_id]
    # The clocks go forward on Sunday 29 March: the next 18:00 is 16:00 UTC.
    assert (await schedule_of(app, world.case_a)).next_due_at == utc(2026, 3, 30, 16, 0)
    clock.set(utc(2026, 3, 30, 15, 59))
    assert await reminded(app) == []
    clock.set(utc(2026, 3, 30, 16, 0))
    assert await reminded(app) == [world.family.person_id]


async def test_a_schedule_in_the_familys_own_timezone(world: World, clock: Clock) -> None:
    app = world.app
    view = await set_schedule(app, CASE_A, cadence(WEEKLY, "Africa/Nairobi"))
    assert view.next_due_at == utc(2026, 11, 30, 15, 0)  # 18:00 in Nairobi (UTC+3)
    shown = view.as_dict()
    assert shown["timezone"] == "Africa/Nairobi"
    assert shown["next_due_local"] == "2026-11-30T18:00:00+03:00"
    clock.set(utc(2026, 11, 30, 15, 0))
    assert await reminded(app) == [world.family.person_id]


# --- after downtime -------------------------------------------------------------------------


@pytest.mark.both_backends
async def test_after_three_weeks_of_downtime_one_reminder_and_the_next_in_the_future(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.advance(weeks=3)  # three Monday slots passed while the bot was down
    assert await reminded(app) == [world.family.person_id]
    assert await reminded(app) == []
    schedule = await schedule_of(app, world.case_a)
    assert schedule.next_due_at > clock.now
    assert schedule.next_due_at == local(2026, 12, 21, 18, 0)
    # The missed slots are not counted as missed check-ins: nobody was asked.
    assert schedule.missed == 0
    assert await no_contact_flags(app, world.case_a) == []


# --- waiting while the family is in the middle of a flow -------------------------------------


async def test_a_reminder_waits_while_a_checkin_is_under_way_and_is_not_sent_once_it_is_done(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 17, 50))
    await start_flow(app, world.family, CHECKIN_FLOW)  # started, not finished

    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == []
    clock.advance(minutes=5)
    assert await reminded(app) == []  # still waiting
    assert (await case_actions(app, world.case_a)).count("reminder_deferred") == 1

    clock.advance(minutes=5)
    await checkin(app, world.family)  # picks the started run up and finishes it
    clock.advance(minutes=1)
    assert await reminder_notices(app) == []  # answered: no reminder, and no follow-up later
    schedule = await schedule_of(app, world.case_a)
    assert schedule.next_due_at == local(2026, 12, 7, 18, 0)
    assert schedule.missed == 0 and schedule.deferred_since is None
    assert "reminder_sent" not in await case_actions(app, world.case_a)
    clock.advance(hours=25)
    assert await reminder_notices(app) == []


async def test_a_reminder_waits_for_another_flow_and_goes_out_when_it_ends(
    world: World, clock: Clock, other_flow_run: Any
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 17, 50))  # busy just before it comes due
    run_id = await other_flow_run(world.family)
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == []
    clock.advance(minutes=10)
    assert await reminded(app) == []
    assert (await case_actions(app, world.case_a)).count("reminder_deferred") == 1

    await finish_run(app, run_id)  # another flow done: the check-in is still not
    clock.advance(minutes=1)
    assert await reminded(app) == [world.family.person_id]
    assert await reminded(app) == []
    schedule = await schedule_of(app, world.case_a)
    assert schedule.deferred_since is None
    assert schedule.next_due_at == local(2026, 12, 7, 18, 0)


async def test_a_checkin_left_with_cancel_no_longer_holds_the_reminder_back(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 17, 50))  # busy just before it comes due
    await start_flow(app, world.family, CHECKIN_FLOW)
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == []
    assert await pause(app, world.family)  # /cancel: the run is paused, not finished
    clock.advance(minutes=1)
    assert await reminded(app) == [world.family.person_id]
    assert (await case_actions(app, world.case_a)).count("reminder_deferred") == 1


async def test_one_busy_family_member_holds_the_reminder_for_the_whole_family(
    world: World, clock: Clock, other_flow_run: Any
) -> None:
    app = world.app
    second = await add_person(app, "family", case=CASE_A)
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 17, 50))  # busy just before it comes due
    run_id = await other_flow_run(second)
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == []
    await finish_run(app, run_id)
    assert sorted(await reminded(app)) == sorted([world.family.person_id, second.person_id])


async def test_a_busy_family_does_not_hold_up_the_other_cases(
    world: World, clock: Clock, other_flow_run: Any
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await set_schedule(app, CASE_B, cadence())
    clock.set(local(2026, 11, 30, 17, 50))  # busy just before it comes due
    await other_flow_run(world.family)
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family_b.person_id]


@pytest.mark.both_backends
async def test_many_families_mid_flow_do_not_keep_the_reminder_round_going(
    world: World, clock: Clock, other_flow_run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    monkeypatch.setattr(schedule_service, "BATCH", 2)
    await set_schedule(app, CASE_A, cadence())
    await set_schedule(app, CASE_B, cadence())
    async with app.database.transaction() as uow:
        await create_case(uow, "foster_care", "TST-0003")
    family_c = await add_person(app, "family", case="TST-0003")
    await set_schedule(app, "TST-0003", cadence())
    clock.set(local(2026, 11, 30, 17, 50))  # busy just before it comes due
    await other_flow_run(world.family)
    await other_flow_run(world.family_b)
    claims = 0
    original = ScheduleRepository.due

    async def counted(self: ScheduleRepository, *args: Any, **kwargs: Any) -> list:
        nonlocal claims
        claims += 1
        if claims > 20:  # stands for "forever"
            raise RuntimeError("reminder_notices keeps claiming the same deferred schedules")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(ScheduleRepository, "due", counted)
    clock.set(local(2026, 11, 30, 18, 0))
    # The third case comes after the two waiting ones (same due time, higher id): it must
    # not starve behind them either.
    assert await reminded(app) == [family_c.person_id]
    assert claims <= 3


async def test_a_family_that_abandoned_a_checkin_half_way_is_still_noticed(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]
    clock.advance(hours=1)
    await start_flow(app, world.family, CHECKIN_FLOW)  # and never another word
    for _ in range(6):  # six weeks of silence
        clock.advance(weeks=1)
        await reminder_notices(app)
    assert await no_contact_flags(app, world.case_a) != []


# --- the gentle follow-up -------------------------------------------------------------------


@pytest.mark.both_backends
async def test_one_gentle_follow_up_a_day_later_when_not_answered(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]

    clock.advance(hours=23, minutes=59)
    assert await reminder_notices(app) == []
    clock.advance(minutes=1)
    notices = await reminder_notices(app)
    assert [n.recipient.person_id for n in follow_ups(notices)] == [world.family.person_id]
    assert reminders(notices) == []
    assert notices[0].start_flow == CHECKIN_FLOW
    clock.advance(hours=24)
    assert await reminder_notices(app) == []  # one follow-up, not one a day
    assert (await case_actions(app, world.case_a)).count("reminder_followed_up") == 1


async def test_no_follow_up_in_the_middle_of_the_checkin(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]
    clock.advance(hours=23, minutes=55)
    await start_flow(app, world.family, CHECKIN_FLOW)  # answering, when the follow-up comes due
    clock.advance(minutes=5)
    assert follow_ups(await reminder_notices(app)) == []
    clock.advance(minutes=5)
    await checkin(app, world.family)
    clock.advance(minutes=1)
    assert follow_ups(await reminder_notices(app)) == []


async def test_no_follow_up_when_the_checkin_was_done(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]
    clock.advance(hours=2)
    await checkin(app, world.family)
    clock.advance(hours=24)
    assert await reminder_notices(app) == []
    assert "reminder_followed_up" not in await case_actions(app, world.case_a)


async def test_a_checkin_done_while_the_next_reminder_waited_needs_no_follow_up(
    world: World, clock: Clock
) -> None:
    app = world.app
    # A follow-up later than the next slot, so that one is still pending when it comes.
    app.settings = replace(app.settings, reminder_follow_up=timedelta(days=8))
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]  # follow-up due 8 Dec, 18:00
    clock.set(local(2026, 12, 7, 17, 50))
    await start_flow(app, world.family, CHECKIN_FLOW)
    clock.set(local(2026, 12, 7, 18, 0))
    assert await reminded(app) == []  # Monday's reminder waits for the check-in under way
    clock.set(local(2026, 12, 7, 18, 5))
    await checkin(app, world.family)
    clock.advance(minutes=1)
    assert await reminder_notices(app) == []  # done: no reminder

    # The pending follow-up is dropped too. (It used to stay, and then crashed every round
    # asking answered_since(None): due_notices() failed after the flag notices were
    # committed as told, so they were lost.)
    clock.set(local(2026, 12, 8, 17, 59))
    await raise_flag(app, world.case_b, level="urgent")
    clock.set(local(2026, 12, 8, 18, 0))
    notices = await due_notices(app)
    assert follow_ups(notices) == []  # answered: no follow-up
    assert {n.text.msgid for n in notices} == {texts.NEW_FLAG.msgid}  # and the flag is told


async def test_the_follow_up_delay_is_configurable(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    monkeypatch.setattr(
        app, "settings", replace(app.settings, reminder_follow_up=timedelta(hours=3))
    )
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    await reminder_notices(app)
    clock.advance(hours=3)
    assert len(follow_ups(await reminder_notices(app))) == 1


# --- pausing and resuming ---------------------------------------------------------------------


async def test_the_family_pauses_and_resumes_and_it_is_recorded(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    view = await family_pause(app, world.family, True)
    assert view is not None and view.status == "paused" and view.paused_by == "family"
    assert view.as_dict()["next_due_utc"] is None

    clock.advance(weeks=3)  # three slots while paused
    assert await reminder_notices(app) == []
    resumed = await family_pause(app, world.family, False)
    assert resumed is not None and resumed.status == "active" and resumed.paused_by is None
    # From now on, not making up for the slots that passed while paused.
    assert await reminder_notices(app) == []
    assert resumed.next_due_at == local(2026, 12, 21, 18, 0)
    assert resumed.next_due_at > clock.now

    events = [e for e in await audit(app, case_id=world.case_a) if e.action.startswith("schedule")]
    assert [(e.action, e.actor_role, e.actor_id) for e in events] == [
        ("schedule_set", "operator", None),
        ("schedule_paused", "family", world.family.person_id),
        ("schedule_resumed", "family", world.family.person_id),
    ]


async def test_pausing_twice_is_recorded_once(world: World) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await family_pause(app, world.family, True)
    await family_pause(app, world.family, True)
    await family_pause(app, world.family, False)
    await family_pause(app, world.family, False)
    actions = await case_actions(app, world.case_a)
    assert actions.count("schedule_paused") == 1 and actions.count("schedule_resumed") == 1


async def test_a_family_without_a_schedule_and_staff_cannot_use_the_family_pause(
    world: World,
) -> None:
    app = world.app
    assert await family_pause(app, world.family, True) is None
    with pytest.raises(NotAllowed):
        await family_pause(app, world.caseworker, True)


async def test_a_pause_drops_the_pending_follow_up(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    await reminder_notices(app)
    await family_pause(app, world.family, True)
    clock.advance(hours=25)
    assert await reminder_notices(app) == []


async def test_staff_pause_and_resume_and_the_operator_too(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence(), by=world.caseworker)
    paused = await pause_schedule(app, CASE_A, by=world.caseworker)
    assert (paused.status, paused.paused_by) == ("paused", "caseworker")
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminder_notices(app) == []

    clock.set(local(2026, 12, 2, 12, 0))
    resumed = await resume_schedule(app, CASE_A, by=world.coordinator)
    assert resumed.status == "active"
    assert resumed.next_due_at == local(2026, 12, 7, 18, 0)  # no catch-up for the 30th
    assert await reminder_notices(app) == []

    by_operator = await pause_schedule(app, CASE_A)
    assert by_operator.paused_by == "operator"
    await resume_schedule(app, CASE_A)
    events = [e for e in await audit(app, case_id=world.case_a) if e.action.startswith("schedule")]
    assert [(e.action, e.actor_role) for e in events] == [
        ("schedule_set", "caseworker"),
        ("schedule_paused", "caseworker"),
        ("schedule_resumed", "coordinator"),
        ("schedule_paused", "operator"),
        ("schedule_resumed", "operator"),
    ]


async def test_after_a_resume_the_missed_count_starts_afresh(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]  # not answered
    clock.advance(days=1)
    await family_pause(app, world.family, True)  # on holiday
    clock.advance(weeks=2)
    await family_pause(app, world.family, False)
    clock.set(local(2026, 12, 21, 18, 0))
    assert await reminded(app) == [world.family.person_id]
    # The reminder before the pause is not held against them after it.
    assert (await schedule_of(app, world.case_a)).missed == 0
    clock.set(local(2026, 12, 28, 18, 0))  # one missed since the resume: no flag yet
    await reminder_notices(app)
    assert (await schedule_of(app, world.case_a)).missed == 1
    assert await no_contact_flags(app, world.case_a) == []


async def test_staff_of_another_case_and_families_cannot_pause(world: World) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    for who in (world.other_caseworker, world.family, world.left_coordinator):
        with pytest.raises(NotAllowed):
            await pause_schedule(app, CASE_A, by=who)
        with pytest.raises(NotAllowed):
            await resume_schedule(app, CASE_A, by=who)
    assert (await schedule_of(app, world.case_a)).status == "active"
    with pytest.raises(LookupError):
        await pause_schedule(app, CASE_B, by=world.other_caseworker)  # no schedule there


# --- missed check-ins -------------------------------------------------------------------------


async def remind_weekly(app: Wegwijzer, clock: Clock, weeks: int) -> None:
    """Let `weeks` Monday reminders come due (starting 30 November), none of them answered."""
    for week in range(weeks):
        clock.set(local(2026, 11, 30, 18, 0) + timedelta(weeks=week))
        await reminder_notices(app)


@pytest.mark.both_backends
async def test_two_unanswered_reminders_in_a_row_raise_a_medium_no_contact_flag(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 2)  # the first is known to be missed at the second
    assert (await schedule_of(app, world.case_a)).missed == 1
    assert await no_contact_flags(app, world.case_a) == []

    await remind_weekly(app, clock, 3)  # the third slot: the second reminder missed as well
    assert (await schedule_of(app, world.case_a)).missed == 2
    (flag,) = await no_contact_flags(app, world.case_a)
    assert flag.level == "medium" and flag.status == "open"
    assert flag.reason == texts.NO_CONTACT.msgid
    assert flag.flow_id == schedule_service.SCHEDULES_FLOW
    assert flag.evidence.get("missed") == 2
    assert "raised" in [e.action for e in await audit(app, flag_id=flag.id)]
    assert await no_contact_flags(app, world.case_b) == []


@pytest.mark.parametrize("serious", ["high", "urgent"])
async def test_the_no_contact_flag_is_high_when_the_case_has_a_serious_flag_open(
    world: World, clock: Clock, serious: str
) -> None:
    app = world.app
    await raise_flag(app, world.case_a, level=serious)
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 3)
    (flag,) = await no_contact_flags(app, world.case_a)
    assert flag.level == "high"


async def test_a_medium_flag_open_keeps_no_contact_medium(world: World, clock: Clock) -> None:
    app = world.app
    await raise_flag(app, world.case_a, level="medium", rule="low_wellbeing")
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 3)
    (flag,) = await no_contact_flags(app, world.case_a)
    assert flag.level == "medium"


async def test_an_answered_checkin_resets_the_missed_count(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 2)
    assert (await schedule_of(app, world.case_a)).missed == 1
    clock.advance(hours=1)
    await checkin(app, world.family)  # answers the second reminder

    clock.set(local(2026, 12, 14, 18, 0))
    assert await reminded(app) == [world.family.person_id]
    assert (await schedule_of(app, world.case_a)).missed == 0
    clock.set(local(2026, 12, 21, 18, 0))  # one missed: not two in a row
    await reminder_notices(app)
    assert (await schedule_of(app, world.case_a)).missed == 1
    assert await no_contact_flags(app, world.case_a) == []


async def test_a_family_answering_when_the_next_slot_comes_has_not_missed_it(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 2)  # the first reminder missed
    clock.set(local(2026, 12, 14, 17, 55))
    await start_flow(app, world.family, CHECKIN_FLOW)  # answering the second, late
    clock.set(local(2026, 12, 14, 18, 0))
    assert await reminded(app) == []  # the third waits
    clock.set(local(2026, 12, 14, 18, 5))
    await checkin(app, world.family)
    clock.advance(minutes=1)
    assert await reminded(app) == []  # done: no reminder needed
    assert await no_contact_flags(app, world.case_a) == []
    assert (await schedule_of(app, world.case_a)).missed == 0


async def test_the_number_of_missed_checkins_is_configurable(
    world: World, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    monkeypatch.setattr(app, "settings", replace(app.settings, missed_checkins_flag=1))
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 2)
    assert len(await no_contact_flags(app, world.case_a)) == 1


async def test_a_family_that_blocked_the_bot_is_unreachable_at_once(world: World) -> None:
    app = world.app
    told = await unreachable(app, world.family.person_id)
    assert told is not None
    assert [notice.recipient.person_id for notice in told] == [world.caseworker.person_id]
    (flag,) = await no_contact_flags(app, world.case_a)
    assert flag.level == "medium" and flag.evidence.get("unreachable") is True
    assert await no_contact_flags(app, world.case_b) == []
    # Marked and flagged together; a second 403 changes nothing and tells nobody again.
    assert await unreachable(app, world.family.person_id) is None
    (again,) = await no_contact_flags(app, world.case_a)
    assert "repeats" not in again.evidence


async def test_unreachable_with_a_serious_flag_open_is_high(world: World) -> None:
    app = world.app
    await raise_flag(app, world.case_a, level="urgent")
    await unreachable(app, world.family.person_id)
    (flag,) = await no_contact_flags(app, world.case_a)
    assert flag.level == "high"


# --- consent withdrawn -----------------------------------------------------------------------


async def test_withdrawn_consent_stops_the_reminders_and_the_counting_until_given_again(
    world: World, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await remind_weekly(app, clock, 2)  # the first reminder missed
    assert (await schedule_of(app, world.case_a)).missed == 1
    clock.advance(hours=1)
    await record_consent(app, world.family, False)  # withdrawn after the second reminder

    clock.set(local(2026, 12, 21, 18, 0))  # week after week: nobody reminded, nothing missed
    notices = await reminder_notices(app)
    clock.advance(days=1)  # nor the second reminder followed up
    notices += await reminder_notices(app)
    clock.set(local(2026, 12, 28, 18, 0))
    notices += await reminder_notices(app)
    assert reminders(notices) == follow_ups(notices) == []
    assert (await schedule_of(app, world.case_a)).missed == 0
    assert await no_contact_flags(app, world.case_a) == []

    clock.advance(hours=1)
    await record_consent(app, await reread(app, world.family), True)
    clock.set(local(2027, 1, 4, 18, 0))  # the next slot of the schedule
    assert await reminded(app) == [world.family.person_id]


@pytest.mark.both_backends
async def test_a_withdrawal_settles_the_reminders_queued_for_the_person_and_nothing_else(
    world: World, clock: Clock
) -> None:
    """A reminder queued a moment before the withdrawal never goes out; what is urgent or
    about a flag stays queued (it may be about a child's safety), as do others' reminders."""
    app = world.app
    second = await add_person(app, "family", case=CASE_A)
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert sorted(await reminded(app)) == sorted([world.family.person_id, second.person_id])
    clock.advance(days=1)
    assert follow_ups(await reminder_notices(app))  # the follow-up, queued as well
    me = world.family
    recipient = Recipient(me.person_id, "telegram", "invented", "nl", CASE_A)
    flag_id, _ = await raise_flag(app, world.case_a, level="urgent")
    async with app.database.transaction() as uow:
        await queue(
            uow,
            [
                Notice(recipient, texts.REMINDER, urgent=True, start_flow=CHECKIN_FLOW),
                Notice(recipient, texts.REMINDER, (flag_id,), start_flow=CHECKIN_FLOW),
                Notice(recipient, texts.REMINDER, plain=True),
            ],
            clock(),
        )

    await record_consent(app, me, False)
    async with app.database.reading() as uow:
        mine = await uow.outbox.of_person(me.person_id)
        theirs = await uow.outbox.of_person(second.person_id)
    # The reminder and its follow-up settled; the three queued here kept.
    assert [n.state for n in mine] == ["withdrawn", "withdrawn", "queued", "queued", "queued"]
    kept = [n for n in mine if n.state == "queued"]
    assert [(n.urgent, n.flag_id, n.body["start_flow"]) for n in kept] == [
        (True, None, CHECKIN_FLOW),
        (False, flag_id, CHECKIN_FLOW),
        (False, None, None),
    ]
    assert {n.state for n in theirs} == {"queued"} and len(theirs) == 2
    assert all(n.done_at == clock() for n in mine if n.state == "withdrawn")


async def test_a_withdrawal_by_one_member_leaves_the_others_reminded(
    world: World, clock: Clock
) -> None:
    app = world.app
    second = await add_person(app, "family", case=CASE_A)
    await record_consent(app, second, False)
    await set_schedule(app, CASE_A, cadence())
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family.person_id]
    await remind_weekly(app, clock, 3)  # the others can answer: counted as before
    assert len(await no_contact_flags(app, world.case_a)) == 1


# --- closed cases, access, listing ----------------------------------------------------------


async def test_a_closed_case_gets_no_reminders(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await set_schedule(app, CASE_B, cadence())
    await close_case(app, world.case_a)
    clock.set(local(2026, 11, 30, 18, 0))
    assert await reminded(app) == [world.family_b.person_id]
    await remind_weekly(app, clock, 4)
    assert await no_contact_flags(app, world.case_a) == []
    assert "reminder_sent" not in await case_actions(app, world.case_a)


async def test_who_may_set_a_schedule(world: World) -> None:
    app = world.app
    for who in (world.other_caseworker, world.family, world.family_b, world.left_coordinator):
        with pytest.raises(NotAllowed):
            await set_schedule(app, CASE_A, cadence(), by=who)
    with pytest.raises(NotAllowed):
        await set_schedule(app, "ZZZ-9999", cadence())
    # A deployment without a check-in flow has nothing to remind of.
    no_checkin = FlowRegistry([flow for flow in app.flows if flow.purpose != "checkin"])
    bare = replace(app, assets=replace(app.assets, flows=no_checkin))
    with pytest.raises(LookupError):
        await set_schedule(bare, CASE_A, cadence())
    assert await list_schedules(app) == []

    await set_schedule(app, CASE_A, cadence(), by=world.caseworker)
    await set_schedule(app, CASE_B, cadence("monthly 1 10:00"), by=world.coordinator)
    await set_schedule(app, CASE_A.lower(), cadence("weekly fri 09:00"))  # operator, any case
    assert [(v.case_code, v.cadence) for v in await list_schedules(app)] == [
        (CASE_A, "weekly fri 09:00"),
        (CASE_B, "monthly 1 10:00"),
    ]


async def test_a_new_cadence_replaces_the_old_and_ends_a_pause(world: World, clock: Clock) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await family_pause(app, world.family, True)
    view = await set_schedule(app, CASE_A, cadence("weekly wed 09:00"), by=world.caseworker)
    assert view.status == "active"
    assert view.next_due_at == local(2026, 12, 2, 9, 0)
    assert len(await list_schedules(app)) == 1


async def test_the_listing_shows_the_next_due_time_in_utc_and_local_time(world: World) -> None:
    app = world.app
    await set_schedule(app, CASE_A, cadence())
    await set_schedule(app, CASE_B, cadence("monthly 1 10:00"))
    await pause_schedule(app, CASE_B)
    shown = [view.as_dict() for view in await list_schedules(app)]
    assert shown == [
        {
            "case": CASE_A,
            "flow": CHECKIN_FLOW,
            "cadence": WEEKLY,
            "timezone": "Europe/Amsterdam",
            "status": "active",
            "paused_by": None,
            "next_due_utc": "2026-11-30T17:00:00+00:00",
            "next_due_local": "2026-11-30T18:00:00+01:00",
            "missed": 0,
        },
        {
            "case": CASE_B,
            "flow": CHECKIN_FLOW,
            "cadence": "monthly 1 10:00",
            "timezone": "Europe/Amsterdam",
            "status": "paused",
            "paused_by": "operator",
            "next_due_utc": None,
            "next_due_local": None,
            "missed": 0,
        },
    ]


# --- several bot processes on PostgreSQL --------------------------------------------------------

FAMILIES = 200


@pytest.fixture
async def two_instances(
    postgres_url: str, clock: Clock, assets: Assets
) -> AsyncIterator[tuple[Wegwijzer, Wegwijzer]]:
    """Two app instances on one PostgreSQL database, each with its own engine (and pool)."""
    settings = replace(Settings(), database_url=postgres_url)
    first = await bootstrap(settings, clock=clock, assets=assets, migrate=False)
    second = await bootstrap(settings, clock=clock, assets=assets, migrate=False)
    try:
        await empty_tables(first.database)
        assert first.database.engine is not second.database.engine
        yield first, second
    finally:
        await first.close()
        await second.close()


async def many_due_schedules(app: Wegwijzer, count: int) -> dict[int, int]:
    """`count` cases, each with a family member and a weekly schedule; person id → case id."""
    now = app.clock()
    weekly = cadence()
    family: dict[int, int] = {}
    async with app.database.transaction() as uow:
        for n in range(count):
            case = await uow.cases.add(f"PG-{n:04d}", "family_strengthening")
            person = await uow.people.add("telegram", str(900_000 + n), "family", language="en")
            await uow.people.set_consent(person.id, "given", now)
            await uow.cases.add_member(case.id, person.id)
            await uow.schedules.set(case.id, CHECKIN_FLOW, weekly.as_dict(), now, now)
            family[person.id] = case.id
    return family


async def together(first: Wegwijzer, second: Wegwijzer) -> list[Notice]:
    """Both instances (twice each) claim due work at the same moment, round after round, until
    a round finds nothing (a round claims one batch of follow-ups); everything they sent."""
    notices: list[Notice] = []
    for _ in range(100):
        rounds = await asyncio.gather(*(reminder_notices(app) for app in (first, second) * 2))
        if not any(rounds):
            return notices
        notices += [notice for found in rounds for notice in found]
    raise AssertionError("due work never ran out")


@pytest.mark.postgres
@pytest.mark.parametrize("batch", [schedule_service.BATCH, 7])
async def test_two_instances_send_each_reminder_exactly_once(
    two_instances: tuple[Wegwijzer, Wegwijzer],
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
) -> None:
    first, second = two_instances
    monkeypatch.setattr(schedule_service, "BATCH", batch)
    family = await many_due_schedules(first, FAMILIES)
    clock.advance(minutes=1)

    told = Counter(n.recipient.person_id for n in reminders(await together(first, second)))
    assert set(told) == set(family)
    assert set(told.values()) == {1}
    async with first.database.reading() as uow:
        sent = [e for e in await uow.audit.events() if e.action == "reminder_sent"]
    assert len(sent) == FAMILIES and len({e.case_id for e in sent}) == FAMILIES

    clock.advance(hours=24)  # and the follow-ups, also exactly once
    followed = Counter(n.recipient.person_id for n in follow_ups(await together(first, second)))
    assert set(followed) == set(family) and set(followed.values()) == {1}
