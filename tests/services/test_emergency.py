"""The alarm journal's replay: alarms the database could not take become flags later, at
their own time, once each; what is not a member's alarm leaves no trace."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.services import emergency
from bot.services.emergency import journal_alarm, record_alarm, replay_alarms
from bot.storage import Unavailable
from tests.world import Clock, World, external_id


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
