"""The outbox: notices queued with their change, claimed with a lease, settled by the answer.

Every notice is stored in the transaction of the change that causes it and is done with only
when the channel took it (or its recipient cannot be reached, or it can never be taken); a
notice whose sender died is claimed again when its lease lapses; one its recipient cannot
receive goes to the others who can act.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from bot.engine import Text
from bot.engine.events import Plural
from bot.services import outbox
from bot.services.duties import escalation_notices, immediate_notices
from bot.services.notices import Notice, decode, encode, queue
from bot.services.people import Recipient
from bot.storage.models import OutboxNotice
from tests.world import START, Clock, World, actions, add_person, audit, raise_flag

CHANNEL = "telegram"


async def _rows(world: World) -> list[Any]:
    """Every outbox row, oldest first."""
    async with world.app.database.engine.connect() as conn:
        table = OutboxNotice.__table__
        return list(await conn.execute(select(table).order_by(table.c.id)))


def test_a_notice_keeps_its_texts_buttons_and_values_in_its_stored_form() -> None:
    recipient = Recipient(7, CHANNEL, "123", "nl", "TST-0001")
    notice = Notice(
        recipient,
        Text("Flag {id} at {at}: {reason}", {"id": 4, "at": START, "reason": Text("Unsafe.")}),
        (4, 5),
        lines=(
            Plural("{count} day", "{count} days", count=3),
            Text("{when} {wait} {score} {ok} {share}").using(
                when=date(2026, 12, 2),
                wait=timedelta(hours=2),
                score=Decimal("7.5"),
                ok=True,
                share=0.25,
            ),
        ),
        start_flow=None,
        visit_case="TST-0001",
        guide=("meldcode", "TST-0001"),
        closure=("TST-0001", 99),
        plain=False,
        urgent=True,
        tells_of=(4, 5, 6),
    )
    again = decode(encode(notice), recipient, urgent=True)
    assert again == notice
    assert again.about == (4, 5, 6)


async def test_notices_are_stored_with_their_change_or_not_at_all(world: World) -> None:
    app = world.app
    recipient = Recipient(world.coordinator.person_id, CHANNEL, "1", "en")
    with pytest.raises(RuntimeError):
        async with app.database.transaction() as uow:
            await queue(uow, [Notice(recipient, Text("Hello."))], app.clock())
            raise RuntimeError("the change failed")
    assert await _rows(world) == []
    async with app.database.transaction() as uow:
        await queue(uow, [Notice(recipient, Text("Hello."))], app.clock())
    (row,) = await _rows(world)
    assert row.state == "queued" and row.attempts == 0


async def test_urgent_notices_are_claimed_first_and_each_only_once(world: World) -> None:
    app = world.app
    recipient = Recipient(world.family.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await queue(uow, [Notice(recipient, Text(f"Reminder {n}.")) for n in range(5)], app.clock())
        await queue(uow, [Notice(recipient, Text("Danger."), urgent=True)], app.clock())
    first = await outbox.claim(app, CHANNEL, 2)
    assert [out.notice.text.msgid for out in first] == ["Danger.", "Reminder 0."]
    rest = await outbox.claim(app, CHANNEL, 10)
    assert len(rest) == 4 and not {out.id for out in rest} & {out.id for out in first}
    assert await outbox.claim(app, CHANNEL, 10) == []  # all claimed
    assert await outbox.claim(app, "console", 10) == []  # another channel's sender: none


async def test_a_claim_whose_sender_died_lapses_and_the_notice_is_sent_again(
    world: World, clock: Clock
) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await immediate_notices(app)
    claimed = await outbox.claim(app, CHANNEL, 50)
    assert len(claimed) == 3  # the caseworker and both coordinators who can be told
    # The process is killed mid-send: nothing settles these claims.
    clock.advance(seconds=app.settings.outbox_lease.total_seconds() - 1)
    assert await outbox.claim(app, CHANNEL, 50) == []
    clock.advance(seconds=2)
    again = await outbox.claim(app, CHANNEL, 50)
    assert sorted(out.id for out in again) == sorted(out.id for out in claimed)
    assert {out.attempts for out in again} == {2}
    for out in again:
        await outbox.sent(app, out)
    # A late answer from the dead sender's try changes nothing more.
    await outbox.sent(app, claimed[0])
    told = [event for event in await audit(app, flag_id) if event.action == "told"]
    assert sorted(event.detail["to"] for event in told) == sorted(world.staff_told())
    assert {row.state for row in await _rows(world)} == {"sent"}


async def test_delivery_is_in_the_flags_history_with_whom_it_reached(world: World) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await immediate_notices(app)
    for out in await outbox.claim(app, CHANNEL, 50):
        if out.notice.recipient.person_id == world.caseworker.person_id:
            await outbox.sent(app, out)
    history = [
        (e.action, e.detail.get("to"), e.detail.get("role")) for e in await audit(app, flag_id)
    ]
    assert history[:2] == [("raised", None, None), ("notified", None, None)]
    assert history[2:] == [("told", world.caseworker.person_id, "caseworker")]


async def test_a_notice_not_taken_is_tried_again_later_and_later(
    world: World, clock: Clock
) -> None:
    app = world.app
    recipient = Recipient(world.coordinator.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await queue(uow, [Notice(recipient, Text("Escalated."), urgent=True)], app.clock())
    waits = []
    for _ in range(4):
        (out,) = await outbox.claim(app, CHANNEL, 5)
        await outbox.not_sent(app, out)
        (row,) = await _rows(world)
        waits.append((row.due_at - clock.now).total_seconds())
        clock.set(row.due_at)
    assert waits == [1, 2, 4, 8]
    # Flood control: the wait Telegram asked for.
    (out,) = await outbox.claim(app, CHANNEL, 5)
    await outbox.not_sent(app, out, timedelta(seconds=37))
    (row,) = await _rows(world)
    assert row.due_at - clock.now == timedelta(seconds=37) and row.state == "queued"
    # After two days of trying it is given up (an urgent flag still escalates meanwhile).
    clock.advance(days=3)
    (out,) = await outbox.claim(app, CHANNEL, 5)
    await outbox.not_sent(app, out)
    (row,) = await _rows(world)
    assert row.state == "failed"


async def test_a_caseworker_who_blocked_the_bot_their_flag_notice_goes_to_the_others(
    world: World,
) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await immediate_notices(app)
    for out in await outbox.claim(app, CHANNEL, 50):
        if out.notice.recipient.person_id == world.caseworker.person_id:
            told = await outbox.unreachable(app, world.caseworker.person_id, out)
        else:
            await outbox.sent(app, out)
    # The coordinators have this news already: nobody gets it twice; they are told that the
    # caseworker cannot be reached, urgently.
    assert told is not None
    assert {notice.recipient.person_id for notice in told} == world.coordinators
    waiting = await outbox.claim(app, CHANNEL, 50)
    assert {out.notice.recipient.person_id for out in waiting} == world.coordinators
    assert {out.notice.text.msgid for out in waiting} == {
        "{person} has blocked the bot and can no longer be told of flags here. What was "
        "waiting for them went to the other staff; please check their cases."
    }
    assert all(out.notice.urgent for out in waiting)
    assert "not_told" in await actions(app, flag_id)
    async with app.database.reading() as uow:
        person = await uow.people.get_by_id(world.caseworker.person_id)
    assert person is not None and person.status == "unreachable"


async def test_an_escalation_a_coordinator_cannot_receive_goes_to_the_one_who_can(
    world: World, clock: Clock
) -> None:
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    await immediate_notices(app)
    for out in await outbox.claim(app, CHANNEL, 50):
        await outbox.sent(app, out)
    clock.advance(hours=2)
    await escalation_notices(app)
    escalations = await outbox.claim(app, CHANNEL, 50)
    by_person = {out.notice.recipient.person_id: out for out in escalations}
    assert set(by_person) == world.coordinators
    await outbox.sent(app, by_person[world.second_coordinator.person_id])
    await outbox.unreachable(
        app, world.coordinator.person_id, by_person[world.coordinator.person_id]
    )
    # The second coordinator has the escalation already; the caseworker did not have it: they
    # get it now, rather than nobody new.
    moved = [out for out in await outbox.claim(app, CHANNEL, 50) if out.notice.about == (flag_id,)]
    assert [out.notice.recipient.person_id for out in moved] == [world.caseworker.person_id]


async def test_a_family_that_blocked_the_bot_loses_its_reminders_and_its_caseworker_is_told(
    world: World,
) -> None:
    app = world.app
    family = Recipient(world.family.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await queue(
            uow, [Notice(family, Text("Reminder."), start_flow="family_checkin")] * 2, START
        )
    first, second = await outbox.claim(app, CHANNEL, 50)
    told = await outbox.unreachable(app, world.family.person_id, first)
    assert told is not None
    assert [notice.recipient.person_id for notice in told] == [world.caseworker.person_id]
    rows = {row.id: row for row in await _rows(world)}
    assert rows[first.id].state == rows[second.id].state == "unreachable"
    # Known now: a second 403 tells nobody again.
    assert await outbox.unreachable(app, world.family.person_id) is None


@pytest.mark.both_backends
async def test_two_senders_claiming_at_once_never_take_the_same_notice(world: World) -> None:
    app = world.app
    recipient = Recipient(world.family.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await queue(uow, [Notice(recipient, Text(f"Reminder {n}.")) for n in range(40)], START)
    batches = await asyncio.gather(*(outbox.claim(app, CHANNEL, 15) for _ in range(4)))
    ids = [out.id for batch in batches for out in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_a_person_added_later_is_no_recipient_of_older_news(world: World) -> None:
    """Rerouting goes to those who can act and have not had the news since it was queued."""
    app = world.app
    await raise_flag(app, world.case_a)
    await immediate_notices(app)
    newcomer = await add_person(app, "coordinator")
    claimed = await outbox.claim(app, CHANNEL, 50)
    for out in claimed:
        if out.notice.recipient.person_id == world.caseworker.person_id:
            await outbox.unreachable(app, world.caseworker.person_id, out)
    moved = [
        out.notice.recipient.person_id
        for out in await outbox.claim(app, CHANNEL, 50)
        if out.notice.flag_ids
    ]
    assert moved == [newcomer.person_id]


async def test_a_late_outcome_of_a_lapsed_claim_is_not_recorded(world: World, clock: Clock) -> None:
    app = world.app
    recipient = Recipient(world.coordinator.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await queue(uow, [Notice(recipient, Text("Escalated."), urgent=True)], app.clock())
    (first,) = await outbox.claim(app, CHANNEL, 5)
    clock.advance(seconds=app.settings.outbox_lease.total_seconds() + 1)
    (second,) = await outbox.claim(app, CHANNEL, 5)  # the first sender died, or so it seemed
    await outbox.not_sent(app, first)  # its late answer must not release the second's claim
    assert await outbox.claim(app, CHANNEL, 5) == []
    await outbox.sent(app, second)
    ((_, state),) = [(row.id, row.state) for row in await _rows(world)]
    assert state == "sent"


async def test_notices_for_one_person_are_not_moved_to_others(world: World) -> None:
    """'Assigned to you' (or a digest of someone's flags) means nothing to anybody else."""
    app = world.app
    flag_id, _ = await raise_flag(app, world.case_a)
    recipient = Recipient(world.caseworker.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await queue(uow, [Notice(recipient, Text("Assigned to you."), (flag_id,))], app.clock())
    (out,) = await outbox.claim(app, CHANNEL, 5)
    await outbox.unreachable(app, world.caseworker.person_id, out)
    moved = [o for o in await outbox.claim(app, CHANNEL, 50) if o.notice.flag_ids]
    assert moved == []


async def test_an_unreadable_notice_is_set_aside_and_holds_up_no_other(world: World) -> None:
    app = world.app
    recipient = Recipient(world.coordinator.person_id, CHANNEL, "1", "en")
    async with app.database.transaction() as uow:
        await uow.outbox.add(
            recipient.person_id,
            {"text": "not a text"},
            channel=CHANNEL,
            at=START,
            urgent=True,
            flag_id=None,
        )
        await queue(uow, [Notice(recipient, Text("Hello."))], START)
    (readable,) = await outbox.claim(app, CHANNEL, 5)
    assert readable.notice.text.msgid == "Hello."
    assert [row.state for row in await _rows(world)] == ["failed", "queued"]


async def test_someone_who_left_stays_gone_when_a_late_notice_bounces(world: World) -> None:
    app = world.app
    assert await outbox.unreachable(app, world.left_coordinator.person_id) is None
    async with app.database.reading() as uow:
        person = await uow.people.get_by_id(world.left_coordinator.person_id)
    assert person is not None and person.status == "left"
