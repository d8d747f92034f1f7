"""The alarm journal's replay: alarms the database could not take become flags later, at
their own time, once each; what is not a member's alarm leaves no trace."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.app import Wegwijzer
from bot.services import emergency, outbox
from bot.services.cases import create_case
from bot.services.duties import immediate_notices
from bot.services.emergency import journal_alarm, record_alarm, replay_alarms
from bot.storage import Unavailable
from tests.world import Clock, World, add_person, audit, external_id


def replace_settings(app: Wegwijzer, **changes: object) -> Wegwijzer:
    """The same bot (database, journal, clock) with other settings."""
    changed = replace(app, settings=replace(app.settings, **changes))
    changed.journal = app.journal
    return changed


async def open_emergencies(world: World) -> list:
    async with world.app.database.reading() as uow:
        return [f for f in await uow.flags.open_flags() if f.rule == "emergency"]


async def test_a_journaled_alarm_becomes_a_flag_at_its_own_time_once(
    world: World, clock: Clock
) -> None:
    app = world.app
    family = await external_id(app, world.family)
    alarm = await journal_alarm(
        app, "telegram", family, "in gevaar", once="telegram:41", recording=False
    )
    raised_at = clock.now
    clock.advance(minutes=10)  # the database was back only later

    await replay_alarms(app)
    (flag,) = await open_emergencies(world)
    assert (flag.raised_at, flag.due_at) == (raised_at, raised_at + timedelta(hours=1))
    assert (flag.case_id, flag.evidence["trigger"]) == (world.case_a, "in gevaar")
    assert await app.journal.pending() == []

    await app.journal.record(alarm)  # the same alarm again (say, a copy left by a crash)
    app.journal.release(alarm.key)
    await replay_alarms(app)
    (again,) = await open_emergencies(world)
    assert "repeats" not in again.evidence  # recorded once
    assert await app.journal.pending() == []


async def test_strangers_leavers_and_staff_notes_leave_no_trace(world: World) -> None:
    app = world.app
    await journal_alarm(
        app, "telegram", "999999", "sos", once=None, recording=False
    )  # nobody we know
    left = await external_id(app, world.left_coordinator)
    await journal_alarm(app, "telegram", left, "sos", once=None, recording=False)
    caseworker = await external_id(app, world.caseworker)
    await journal_alarm(
        app, "telegram", caseworker, "niet veilig", once=None, recording=False
    )  # a note
    await replay_alarms(app)
    assert await open_emergencies(world) == []
    assert await app.journal.pending() == []


async def test_while_the_database_is_unavailable_every_alarm_waits(world: World) -> None:
    app = world.app
    family = await external_id(app, world.family)
    alarm = await journal_alarm(app, "telegram", family, "sos", once=None, recording=False)

    real = app.database.transaction

    def unavailable() -> object:
        raise Unavailable("OperationalError")

    app.database.transaction = unavailable  # type: ignore[method-assign]
    try:
        await replay_alarms(app)
        assert await app.journal.pending() == [alarm]
        with pytest.raises(Unavailable):
            await record_alarm(app, world.family, alarm)
        assert await app.journal.pending() == [alarm]
    finally:
        app.database.transaction = real  # type: ignore[method-assign]
    await replay_alarms(app)
    assert len(await open_emergencies(world)) == 1 and await app.journal.pending() == []


async def test_an_alarm_its_own_process_is_recording_is_not_replayed_under_it(
    world: World,
) -> None:
    """The live path journals, then records: a replay round in between must not record it
    first (the family would then miss "help is coming")."""
    app = world.app
    family = await external_id(app, world.family)
    alarm = await journal_alarm(app, "telegram", family, "sos", once="telegram:51")
    await replay_alarms(app)
    assert await open_emergencies(world) == [] and await app.journal.pending() == [alarm]
    recorded = await record_alarm(app, world.family, alarm)
    assert recorded.new and await app.journal.pending() == []


async def test_one_alarm_that_cannot_be_replayed_does_not_hold_up_the_others(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = world.app
    broken = await journal_alarm(app, "telegram", "broken", "sos", once=None, recording=False)
    family = await external_id(app, world.family)
    await journal_alarm(app, "telegram", family, "sos", once=None, recording=False)
    real = emergency.find_participant

    async def find(app: object, channel: str, external: str) -> object:
        if external == "broken":
            raise RuntimeError("a bug, not the database")
        return await real(app, channel, external)  # type: ignore[arg-type]

    monkeypatch.setattr(emergency, "find_participant", find)
    await replay_alarms(app)
    assert len(await open_emergencies(world)) == 1
    assert await app.journal.pending() == [broken]  # kept, to be tried again


# --- no false reassurance -------------------------------------------------------------------


async def test_the_team_knows_only_when_someone_reachable_has_the_alarm(world: World) -> None:
    app = world.app
    alarm = await emergency.raise_alarm(app, world.family, "sos")
    await immediate_notices(app)
    assert await emergency.someone_will_hear(app, world.family, alarm)


async def test_an_alarm_that_reaches_nobody_goes_to_the_fallback_chat_and_the_log(
    app: Wegwijzer, caplog: pytest.LogCaptureFixture
) -> None:
    """A case without a caseworker, and no coordinator: nobody to tell. The family must not
    hear "the team has been alerted"; the operators' chat hears of it, once."""
    app = replace_settings(app, alarm_fallback_chat="-100777")
    async with app.database.transaction() as uow:
        await create_case(uow, "family_strengthening", "LONE-001")
    family = await add_person(app, "family", case="LONE-001")
    alarm = await emergency.raise_alarm(app, family, "sos")
    with caplog.at_level(logging.CRITICAL):
        await immediate_notices(app)
        assert not await emergency.someone_will_hear(app, family, alarm)
        assert not await emergency.someone_will_hear(app, family, alarm)  # asked again
    assert "flag reaches nobody who can act" in caplog.messages
    (fallback,) = await outbox.claim(app, "telegram", 10)
    assert fallback.to_fallback and fallback.notice.recipient.external_id == "-100777"
    assert fallback.notice.about == (alarm.flag_id,)
    await outbox.sent(app, fallback)
    told = [event for event in await audit(app, alarm.flag_id) if event.action == "told"]
    assert [(event.detail["to"], event.detail["role"]) for event in told] == [(None, "operators")]


async def test_an_alarm_whose_only_staff_blocked_the_bot_promises_nothing(world: World) -> None:
    app = world.app
    for person in (world.caseworker, world.coordinator, world.second_coordinator):
        await outbox.unreachable(app, person.person_id)
    alarm = await emergency.raise_alarm(app, world.family, "sos")
    await immediate_notices(app)
    assert not await emergency.someone_will_hear(app, world.family, alarm)


async def test_notices_that_failed_reassure_nobody(world: World) -> None:
    app = world.app
    alarm = await emergency.raise_alarm(app, world.family, "sos")
    await immediate_notices(app)
    for out in await outbox.claim(app, "telegram", 50):
        await outbox.failed(app, out)
    assert not await emergency.someone_will_hear(app, world.family, alarm)
