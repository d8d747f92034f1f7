"""The work that comes due with time, on a clock the test moves: telling people of a flag at
once, the daily digest, and escalation until somebody acknowledges (issue #5, "Notification"
and "Escalation").

The promise under test: no path exists where a raised flag is neither acknowledged nor
escalated, and nobody is told the same thing twice.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.app import Wegwijzer
from bot.config import DEFAULT_FLAG_DUE, FLAG_LEVELS
from bot.engine import Text
from bot.services import flags, texts
from bot.services.cases import create_case
from bot.services.duties import (
    DIGEST_LEVELS,
    Notice,
    digest_notices,
    due_notices,
    escalation_notices,
    immediate_notices,
    last_digest_time,
)
from bot.services.emergency import raise_alarm
from tests.world import (
    CASE_A,
    Clock,
    World,
    actions,
    add_person,
    audit,
    checkin,
    flag_row,
    raise_flag,
    render,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# Claiming due work (FOR UPDATE SKIP LOCKED) and comparing stored moments: on both backends.
pytestmark = pytest.mark.both_backends


def local(*args: int) -> datetime:
    """A moment given in Amsterdam's local time, as the UTC the clock keeps."""
    return datetime(*args, tzinfo=AMSTERDAM).astimezone(UTC)


def told(notices: list[Notice]) -> dict[int, Notice]:
    """The notices by person; fails if anybody got two."""
    by_person = {notice.recipient.person_id: notice for notice in notices}
    assert len(by_person) == len(notices), "somebody got two notices"
    return by_person


# --- told at once -------------------------------------------------------------------------


async def test_an_urgent_flag_is_told_at_once_to_the_caseworker_and_the_coordinators(
    world: World, clock: Clock
) -> None:
    app = world.app
    await checkin(app, world.family, safe_at_home="no")
    (flag,) = await flags.review_queue(app, world.coordinator)

    notices = told(await immediate_notices(app))
    # Not the family, not another case's caseworker, not a coordinator who refused the bot's
    # terms or left.
    assert set(notices) == world.staff_told()
    for notice in notices.values():
        assert notice.flag_ids == (flag.id,)
        assert notice.text.msgid == texts.NEW_FLAG.msgid
        assert notice.recipient.case_code == CASE_A
    english = render(app, notices[world.coordinator.person_id].text)
    assert english == (
        "New urgent flag for case TST-0001: A child does not feel safe at home. "
        "Type /flags to see the open flags."
    )
    dutch = notices[world.second_coordinator.person_id]
    assert dutch.recipient.language == "nl"
    reason_nl = render(app, Text(flag.reason), "nl")
    assert reason_nl != flag.reason  # the reason is translated for the Dutch reader
    assert "TST-0001" in render(app, dutch.text, "nl") and reason_nl in render(
        app, dutch.text, "nl"
    )

    # Told once: the next round (or another process) finds nothing left to tell.
    assert await immediate_notices(app) == []
    clock.advance(minutes=5)
    assert await immediate_notices(app) == []
    row = await flag_row(app, flag.id)
    assert row.notified_at == clock.now - timedelta(minutes=5)
    notified = [e for e in await audit(app, flag.id) if e.action == "notified"]
    assert [(e.actor_id, e.actor_role, e.detail) for e in notified] == [
        (None, "system", {"again": False})
    ]


async def test_high_is_told_at_once_medium_and_low_are_not(world: World) -> None:
    app = world.app
    high, _ = await raise_flag(app, world.case_a, level="high", rule="h")
    await raise_flag(app, world.case_a, level="medium", rule="m")
    await raise_flag(app, world.case_a, level="low", rule="l")
    notices = await immediate_notices(app)
    assert {notice.flag_ids for notice in notices} == {(high,)}
    assert set(told(notices)) == world.staff_told()


async def test_an_emergency_without_a_case_is_told_to_the_coordinators(world: World) -> None:
    app = world.app
    alarm = await raise_alarm(app, world.caseworker, "sos")  # staff have no case of their own
    notices = told(await immediate_notices(app))
    assert set(notices) == world.coordinators
    assert all(n.flag_ids == (alarm.flag_id,) for n in notices.values())
    assert "case —" in render(app, notices[world.coordinator.person_id].text)


async def test_a_repeated_urgent_flag_is_told_again(world: World, clock: Clock) -> None:
    app = world.app
    await checkin(app, world.family, safe_at_home="no")
    (flag,) = await flags.review_queue(app, world.coordinator)
    assert set(told(await immediate_notices(app))) == world.staff_told()
    await flags.acknowledge(app, world.caseworker, flag.id)
    await flags.assign(app, world.coordinator, flag.id, world.other_caseworker.person_id)

    clock.advance(days=1)
    await checkin(app, world.family, safe_at_home="no")  # the same danger, reported again
    again = told(await immediate_notices(app))
    # New danger must be heard, also after an acknowledgement; the assignee hears it too.
    assert set(again) == world.staff_told() | {world.other_caseworker.person_id}
    for notice in again.values():
        assert notice.text.msgid == texts.FLAG_AGAIN.msgid
        assert notice.flag_ids == (flag.id,)
    assert render(app, again[world.caseworker.person_id].text) == (
        "Again: urgent flag for case TST-0001: A child does not feel safe at home."
    )
    assert await immediate_notices(app) == []
    notified = [e.detail for e in await audit(app, flag.id) if e.action == "notified"]
    assert notified == [{"again": False}, {"again": True}]


async def test_a_repeated_medium_flag_is_not_told_again_at_once(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a, level="medium", rule="m")
    await raise_flag(app, world.case_a, level="medium", rule="m")
    assert await immediate_notices(app) == []
    assert (await flag_row(app, flag_id)).notified_at is None  # still waiting for the digest


async def test_a_flag_repeated_before_anybody_was_told_is_told_as_new(world: World) -> None:
    app = world.app
    await raise_alarm(app, world.family, "sos")
    await raise_alarm(app, world.family, "button")
    notices = await immediate_notices(app)
    assert notices and {n.text.msgid for n in notices} == {texts.NEW_FLAG.msgid}


async def test_an_alarm_storm_is_told_once_more_with_its_count_after_the_window(
    world: World, clock: Clock
) -> None:
    """Twenty presses of /sos: the first told at once; the rest within the window become one
    notice when it is over, with how many came; a repeat after a quiet spell is told at once."""
    app = world.app
    first = await raise_alarm(app, world.family, "sos")
    told = await immediate_notices(app)
    assert {n.text.msgid for n in told} == {texts.NEW_FLAG.msgid}
    per_alarm = len(told)

    for _ in range(19):
        clock.advance(seconds=10)
        await raise_alarm(app, world.family, "sos")
        assert await immediate_notices(app) == []  # not twenty messages to each of them
    clock.set(told_at := (await flag_row(app, first.flag_id)).notified_at)
    clock.advance(minutes=5)
    storm = await immediate_notices(app)
    assert len(storm) == per_alarm
    assert {n.text.msgid for n in storm} == {texts.FLAG_AGAIN.msgid}
    assert [n.lines for n in storm] == [(texts.REPORTS_SINCE.using(count=19),)] * per_alarm
    assert await immediate_notices(app) == []

    clock.set(told_at + timedelta(minutes=30))
    await raise_alarm(app, world.family, "button")  # after a quiet spell: at once, no count
    again = await immediate_notices(app)
    assert [n.lines for n in again] == [()] * per_alarm


async def test_two_processes_tell_each_flag_once(world: World) -> None:
    app = world.app
    await raise_flag(app, world.case_a)
    await raise_flag(app, world.case_b, rule="other")
    first, second = await asyncio.gather(immediate_notices(app), immediate_notices(app))
    pairs = [(n.recipient.person_id, n.flag_ids) for n in first + second]
    assert len(pairs) == len(set(pairs)) == 3 + 3  # per flag: its caseworker and 2 coordinators


# --- escalation ---------------------------------------------------------------------------


async def test_an_unacknowledged_flag_escalates_at_its_due_time_and_again(
    world: World, clock: Clock
) -> None:
    app = world.app
    raised = clock.now
    flag_id, _ = await raise_flag(app, world.case_a)  # urgent: due in an hour
    await immediate_notices(app)

    clock.set(raised + timedelta(minutes=59, seconds=59))
    assert await escalation_notices(app) == []

    clock.set(raised + timedelta(hours=1))
    notices = told(await escalation_notices(app))
    assert set(notices) == world.coordinators  # every coordinator, not the caseworker
    for notice in notices.values():
        assert notice.flag_ids == (flag_id,)
        assert notice.text.msgid == texts.ESCALATED.msgid
        assert notice.text.params["count"] == 1
    shown = render(app, notices[world.coordinator.person_id].text)
    assert "escalation 1" in shown and CASE_A in shown
    row = await flag_row(app, flag_id)
    assert (row.escalations, row.escalate_at) == (1, clock.now + timedelta(hours=1))
    escalated = [e for e in await audit(app, flag_id) if e.action == "escalated"]
    assert [(e.actor_role, e.detail, e.at) for e in escalated] == [
        ("system", {"count": 1}, clock.now)
    ]
    assert await escalation_notices(app) == []  # the same moment again: nothing new

    clock.advance(minutes=59)  # less than the repeat interval (the level's due time)
    assert await escalation_notices(app) == []
    clock.advance(minutes=1)
    again = told(await escalation_notices(app))
    assert set(again) == world.coordinators
    assert {n.text.params["count"] for n in again.values()} == {2}
    assert (await flag_row(app, flag_id)).escalations == 2

    await flags.acknowledge(app, world.caseworker, flag_id)
    for _ in range(5):
        clock.advance(hours=1)
        assert await escalation_notices(app) == []
    assert (await actions(app, flag_id)).count("escalated") == 2
    assert (await flag_row(app, flag_id)).escalations == 2


async def test_escalation_repeats_at_the_configured_interval(world: World, clock: Clock) -> None:
    app = world.app
    app.settings = replace(
        app.settings,
        flag_due={**DEFAULT_FLAG_DUE, "high": timedelta(hours=4)},
        escalation_repeat={**DEFAULT_FLAG_DUE, "high": timedelta(minutes=30)},
    )
    raised = clock.now
    flag_id, _ = await raise_flag(app, world.case_a, level="high", rule="h")
    assert (await flag_row(app, flag_id)).due_at == raised + timedelta(hours=4)
    clock.set(raised + timedelta(hours=4))
    assert len(await escalation_notices(app)) == 2
    clock.advance(minutes=29)
    assert await escalation_notices(app) == []
    clock.advance(minutes=1)
    assert len(await escalation_notices(app)) == 2
    assert (await flag_row(app, flag_id)).escalations == 2


async def test_after_downtime_an_overdue_flag_escalates_once(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    clock.advance(days=2)  # the bot was down: 48 intervals missed
    assert len(await escalation_notices(app)) == 2
    assert await escalation_notices(app) == []
    assert (await flag_row(app, flag_id)).escalations == 1


async def test_a_resolved_flag_never_escalates(world: World, clock: Clock) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await flags.resolve(app, world.coordinator, flag_id, "Handled by phone.")
    clock.advance(days=10)
    assert await escalation_notices(app) == []


async def test_two_processes_escalate_each_flag_once(world: World, clock: Clock) -> None:
    app = world.app
    first, _ = await raise_flag(app, world.case_a)
    second, _ = await raise_flag(app, world.case_b, rule="other")
    clock.advance(hours=1)
    a, b = await asyncio.gather(escalation_notices(app), escalation_notices(app))
    assert sorted(n.flag_ids for n in a + b) == sorted([(first,), (second,)] * 2)
    assert (await flag_row(app, first)).escalations == 1
    assert (await flag_row(app, second)).escalations == 1


async def test_with_no_coordinator_the_caseworker_gets_the_escalation(
    app: Wegwijzer, clock: Clock
) -> None:
    async with app.database.transaction() as uow:
        case = await create_case(uow, "kinship_care", "TST-0003")
    caseworker = await add_person(app, "caseworker", case="TST-0003")
    flag_id, _ = await raise_flag(app, case.id)
    assert {n.recipient.person_id for n in await immediate_notices(app)} == {caseworker.person_id}
    clock.advance(hours=1)
    # Escalation goes to the coordinators; with none to tell, to the case's caseworker
    # rather than to nobody.
    escalated = await escalation_notices(app)
    assert [n.recipient.person_id for n in escalated] == [caseworker.person_id]
    assert escalated[0].text.msgid == texts.ESCALATED.msgid
    assert (await flag_row(app, flag_id)).escalations == 1


# --- no path loses a flag -------------------------------------------------------------------

# Everything a reviewer or the bot can do with a flag short of acknowledging it.
NOT_ACKNOWLEDGING = ("look", "note", "assign", "repeat", "tell", "resolve_and_reopen")


@pytest.mark.parametrize("level", FLAG_LEVELS)
async def test_no_path_leaves_a_flag_neither_acknowledged_nor_escalated(
    world: World, clock: Clock, level: str
) -> None:
    """Property-style: flags of a level, each given a different random history of everything
    but acknowledgement at random moments before its due time, are all escalated at their
    due time, and not a second earlier."""
    app = world.app
    chance = random.Random(f"wegwijzer-{level}")
    due = app.settings.flag_due[level]
    histories: dict[int, list[str]] = {}
    for n in range(8):
        case_id = chance.choice([world.case_a, world.case_b, None])
        flag_id, _ = await raise_flag(app, case_id, level=level, rule=f"rule_{n}")
        steps = [chance.choice(NOT_ACKNOWLEDGING) for _ in range(chance.randint(0, 4))]
        histories[flag_id] = steps
        for step in steps:
            # Each step somewhere before the due time (possibly moved on by a reopen).
            row = await flag_row(app, flag_id)
            clock.advance(seconds=(row.due_at - clock.now).total_seconds() * chance.random() / 3)
            if step == "look":
                await flags.flag_detail(app, world.coordinator, flag_id)
            elif step == "note":
                await flags.add_note(app, world.coordinator, flag_id, "Tried to call.")
            elif step == "assign":
                await flags.assign(app, world.coordinator, flag_id, world.caseworker.person_id)
            elif step == "repeat":
                row = await flag_row(app, flag_id)
                await raise_flag(app, row.case_id, level=level, rule=row.rule)
            elif step == "tell":
                await immediate_notices(app)
                await digest_notices(app)
            else:
                await flags.resolve(app, world.coordinator, flag_id, "Closed too soon.")
                await flags.reopen(app, world.coordinator, flag_id)

    due_at = {flag_id: (await flag_row(app, flag_id)).due_at for flag_id in histories}
    for flag_id, moment in sorted(due_at.items(), key=lambda item: item[1]):
        clock.set(moment - timedelta(seconds=1))
        early = {i for n in await escalation_notices(app) for i in n.flag_ids}
        assert flag_id not in early, histories[flag_id]
        clock.set(moment)
        await escalation_notices(app)
    for flag_id, steps in histories.items():
        row = await flag_row(app, flag_id)
        assert row.status == "open" and row.acknowledged_at is None
        assert row.escalations >= 1, (level, steps)
        assert row.due_at == due_at[flag_id] and row.due_at - row.raised_at >= due
    # And escalation keeps coming back until somebody acknowledges.
    clock.set(max(due_at.values()) + app.settings.escalation_repeat[level])
    escalated = {i for n in await escalation_notices(app) for i in n.flag_ids}
    # (A superset: a repeat without a case raised a flag of its own, escalated as well.)
    assert escalated >= set(histories)


async def test_the_due_time_of_each_level_is_its_configured_response_time(
    world: World, clock: Clock
) -> None:
    app = world.app
    for level in FLAG_LEVELS:
        flag_id, _ = await raise_flag(app, world.case_a, level=level, rule=level)
        row = await flag_row(app, flag_id)
        assert row.due_at == row.escalate_at == clock.now + DEFAULT_FLAG_DUE[level]
    issue_defaults = {
        "urgent": timedelta(hours=1),
        "high": timedelta(hours=24),
        "medium": timedelta(days=3),
        "low": timedelta(days=7),
    }
    assert issue_defaults == DEFAULT_FLAG_DUE


# --- the daily digest -----------------------------------------------------------------------


async def test_a_medium_flag_waits_for_the_next_digest_and_is_in_it_once(
    world: World, clock: Clock
) -> None:
    app = world.app
    clock.set(local(2026, 11, 27, 10, 0))
    await checkin(app, world.family, who5=(2, 2, 2, 2, 2))  # raw 10: low wellbeing, medium
    (flag,) = await flags.review_queue(app, world.coordinator)
    assert (flag.level, flag.rule) == ("medium", "low_wellbeing")
    assert await immediate_notices(app) == []

    clock.set(local(2026, 11, 27, 10, 5))
    assert await digest_notices(app) == []
    clock.set(local(2026, 11, 28, 7, 59, 59))
    assert await digest_notices(app) == []

    clock.set(local(2026, 11, 28, 8, 0))
    digest = told(await digest_notices(app))
    assert set(digest) == world.staff_told()
    mine = digest[world.caseworker.person_id]
    assert mine.flag_ids == ()
    assert render(app, mine.text) == "Daily digest: 1 new flag."
    (line,) = mine.lines
    shown = render(app, line)
    assert shown.startswith("[medium] case TST-0001 — Low wellbeing")

    for moment in (local(2026, 11, 28, 8, 0), local(2026, 11, 28, 12, 0), local(2026, 11, 29, 8)):
        clock.set(moment)
        assert await digest_notices(app) == []
    assert (await actions(app, flag.id)).count("digested") == 1


async def test_a_digest_reads_who_to_tell_once_for_all_its_flags(
    world: World, clock: Clock
) -> None:
    app = world.app
    clock.set(local(2026, 11, 27, 10, 0))
    raised = [
        await raise_flag(app, world.case_a, level="medium", rule="low_wellbeing"),
        await raise_flag(app, world.case_b, level="low", rule="message"),
        await raise_flag(app, None, level="low", rule="message", flow_id="emergency"),
        await raise_flag(app, world.case_a, level="low", rule="message", flow_id="home_visit"),
    ]
    ids = [flag_id for flag_id, _ in raised]
    async with app.database.transaction() as uow:
        # Assigned: to the other case's caseworker, and to a coordinator told anyway.
        for flag_id, to in ((ids[0], world.other_caseworker), (ids[2], world.coordinator)):
            flag = await uow.flags.get(flag_id)
            assert flag is not None
            await uow.flags.assign(flag, to.person_id)
    async with app.database.reading() as uow:
        found = [await uow.flags.get(flag_id) for flag_id in ids]
        each = [await flags.flag_recipients(uow, f.case_id, extra=f.assigned_to) for f in found]  # type: ignore[union-attr]
        assert await flags.flags_recipients(uow, found) == each  # type: ignore[arg-type]
    assert [len(recipients) for recipients in each] == [4, 3, 2, 3]

    sent: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append(statement)

    clock.set(local(2026, 11, 28, 8, 0))
    event.listen(app.database.engine.sync_engine, "before_cursor_execute", watch)
    try:
        digest = told(await digest_notices(app))
    finally:
        event.remove(app.database.engine.sync_engine, "before_cursor_execute", watch)
    assert set(digest) == world.staff_told() | {world.other_caseworker.person_id}
    assert len(digest[world.coordinator.person_id].lines) == 4
    assert len(digest[world.other_caseworker.person_id].lines) == 2
    # The coordinators, the cases and the people named: one query each, for four flags.
    person_reads = [
        sql for sql in sent if sql.lstrip().startswith("SELECT") and "FROM person" in sql
    ]
    case_reads = [
        sql for sql in sent if sql.lstrip().startswith("SELECT") and "FROM case_file" in sql
    ]
    assert len(person_reads) == 2 and len(case_reads) <= 2  # the cases' codes may be read again
    # Their audit lines in one flush: one INSERT of four rows on PostgreSQL (SQLAlchemy writes
    # rows one by one to SQLite, where RETURNING gives no order; no round trip there).
    audit_writes = [sql for sql in sent if sql.lstrip().startswith("INSERT INTO audit_event")]
    assert len(audit_writes) == (1 if app.database.dialect == "postgresql" else len(ids))


async def test_after_downtime_the_missed_digest_goes_out_once(world: World, clock: Clock) -> None:
    app = world.app
    clock.set(local(2026, 11, 27, 10, 0))
    flag_id, _ = await raise_flag(app, world.case_a, level="low", rule="message")
    clock.set(local(2026, 11, 30, 15, 0))  # three days later: three digests were missed
    digest = told(await digest_notices(app))
    assert set(digest) == world.staff_told()
    assert all(len(notice.lines) == 1 for notice in digest.values())
    assert await digest_notices(app) == []
    clock.set(local(2026, 12, 1, 8, 0))
    assert await digest_notices(app) == []
    assert (await actions(app, flag_id)).count("digested") == 1


async def test_the_digest_is_one_message_per_person_with_their_flags(
    world: World, clock: Clock
) -> None:
    app = world.app
    clock.set(local(2026, 11, 27, 9, 0))
    a_low, _ = await raise_flag(app, world.case_a, level="low", rule="a_low")
    clock.advance(minutes=10)
    b_low, _ = await raise_flag(app, world.case_b, level="low", rule="b_low")
    clock.advance(minutes=10)
    b_medium, _ = await raise_flag(app, world.case_b, level="medium", rule="b_medium")
    acknowledged, _ = await raise_flag(app, world.case_a, level="medium", rule="a_ack")
    resolved, _ = await raise_flag(app, world.case_a, level="medium", rule="a_resolved")
    urgent, _ = await raise_flag(app, world.case_a, level="urgent", rule="a_urgent")
    await flags.acknowledge(app, world.coordinator, acknowledged)
    await flags.resolve(app, world.coordinator, resolved, "A misunderstanding.")

    clock.set(local(2026, 11, 28, 8, 0))
    digest = told(await digest_notices(app))
    assert set(digest) == world.staff_told() | {world.other_caseworker.person_id}
    coordinator = digest[world.coordinator.person_id]
    assert render(app, coordinator.text) == "Daily digest: 4 new flags."
    cases = [render(app, line).split(" — ")[0] for line in coordinator.lines]
    # Medium first, then low; within a level the oldest first. Resolved and urgent: not here.
    assert cases == [
        "[medium] case TST-0002",
        "[medium] case TST-0001",
        "[low] case TST-0001",
        "[low] case TST-0002",
    ]
    assert len(digest[world.caseworker.person_id].lines) == 2  # a_ack and a_low
    assert len(digest[world.other_caseworker.person_id].lines) == 2  # b_medium and b_low
    assert render(app, digest[world.second_coordinator.person_id].text, "nl")
    for flag_id in (a_low, b_low, b_medium, acknowledged):
        assert "digested" in await actions(app, flag_id)
    for flag_id in (resolved, urgent):
        assert "digested" not in await actions(app, flag_id)
    assert set(DIGEST_LEVELS) == {"medium", "low"}


async def test_a_flag_raised_at_digest_time_waits_a_day(world: World, clock: Clock) -> None:
    app = world.app
    clock.set(local(2026, 11, 28, 7, 59, 59))
    before, _ = await raise_flag(app, world.case_a, level="low", rule="before")
    clock.set(local(2026, 11, 28, 8, 0))
    at, _ = await raise_flag(app, world.case_a, level="low", rule="at")
    assert {len(notice.lines) for notice in await digest_notices(app)} == {1}
    assert "digested" in await actions(app, before)
    assert "digested" not in await actions(app, at)
    clock.set(local(2026, 11, 29, 8, 0))
    assert {len(n.lines) for n in await digest_notices(app)} == {1}
    assert "digested" in await actions(app, at)


async def test_the_digest_time_is_configurable(world: World, clock: Clock) -> None:
    app = world.app
    app.settings = replace(app.settings, digest_time=time(18, 30))
    clock.set(local(2026, 11, 27, 10, 0))
    await raise_flag(app, world.case_a, level="medium", rule="m")
    clock.set(local(2026, 11, 27, 18, 29))
    assert await digest_notices(app) == []
    clock.set(local(2026, 11, 27, 18, 30))
    assert len(await digest_notices(app)) == 3


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # An ordinary winter day (CET, UTC+1): 08:00 local is 07:00 UTC.
        (datetime(2026, 11, 27, 9, 30, tzinfo=UTC), datetime(2026, 11, 27, 7, 0, tzinfo=UTC)),
        (datetime(2026, 11, 27, 7, 0, tzinfo=UTC), datetime(2026, 11, 27, 7, 0, tzinfo=UTC)),
        (datetime(2026, 11, 27, 6, 59, tzinfo=UTC), datetime(2026, 11, 26, 7, 0, tzinfo=UTC)),
        # Summer (CEST, UTC+2): 06:00 UTC.
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),
        # Last Sunday of October 2026 (the 25th): the clocks go back at 03:00 CEST.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 24, 6, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 6, 30, tzinfo=UTC), datetime(2026, 10, 24, 6, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 7, 0, tzinfo=UTC), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        (datetime(2026, 10, 26, 6, 59, tzinfo=UTC), datetime(2026, 10, 25, 7, 0, tzinfo=UTC)),
        # Last Sunday of March 2026 (the 29th): the clocks go forward at 02:00 CET.
        (datetime(2026, 3, 29, 5, 59, tzinfo=UTC), datetime(2026, 3, 28, 7, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
        (datetime(2026, 3, 30, 5, 0, tzinfo=UTC), datetime(2026, 3, 29, 6, 0, tzinfo=UTC)),
    ],
)
async def test_the_digest_is_at_eight_local_across_daylight_saving(
    app: Wegwijzer, now: datetime, expected: datetime
) -> None:
    slot = last_digest_time(app, now)
    assert slot == expected and slot.tzinfo is UTC
    assert slot.astimezone(AMSTERDAM).time() == time(8, 0)
    assert slot <= now < slot + timedelta(hours=25)


async def test_a_digest_around_the_autumn_change_is_sent_once(world: World, clock: Clock) -> None:
    app = world.app
    clock.set(local(2026, 10, 24, 12, 0))
    await raise_flag(app, world.case_a, level="medium", rule="m")
    clock.set(datetime(2026, 10, 25, 6, 59, tzinfo=UTC))  # 07:59 CET, after the change
    assert await digest_notices(app) == []
    clock.set(datetime(2026, 10, 25, 7, 0, tzinfo=UTC))  # 08:00 CET
    assert len(await digest_notices(app)) == 3
    clock.set(datetime(2026, 10, 26, 7, 0, tzinfo=UTC))
    assert await digest_notices(app) == []


# --- all together -------------------------------------------------------------------------


async def test_due_notices_gathers_every_kind(world: World, clock: Clock) -> None:
    app = world.app
    clock.set(local(2026, 11, 27, 7, 0))
    overdue, _ = await raise_flag(app, world.case_b, level="urgent", rule="overdue")
    medium, _ = await raise_flag(app, world.case_a, level="medium", rule="medium")
    await immediate_notices(app)
    clock.set(local(2026, 11, 27, 8, 0))
    fresh, _ = await raise_flag(app, world.case_a, level="high", rule="fresh")
    notices = await due_notices(app)
    kinds = {(n.text.msgid, n.flag_ids) for n in notices}
    assert kinds == {
        (texts.NEW_FLAG.msgid, (fresh,)),
        ("Daily digest: {count} new flag.", ()),
        (texts.ESCALATED.msgid, (overdue,)),
    }
    assert "digested" in await actions(app, medium)
    assert await due_notices(app) == []
