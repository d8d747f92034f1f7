"""The operations metrics and readiness, without Telegram: what the database's commits count,
the scrape-time reading and its cache, and each readiness check's verdict.

(The endpoint of a running bot, over HTTP, is tested in tests/telegram/test_operations.py.)
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Assets, Wegwijzer
from bot.config import ConfigError, Settings
from bot.operations import (
    BOT_API_LIMIT,
    OUTBOX_LIMIT,
    BotApiContact,
    CachedReading,
    DatabaseReading,
    Operations,
    read_database,
)
from bot.services.duties import immediate_notices
from bot.services.emergency import raise_alarm
from bot.storage import Database, Unavailable
from tests.world import Clock, World, checkin, raise_flag


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scraped(exposition: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition.decode())
        for sample in family.samples
    }


def test_one_setting_turns_it_on() -> None:
    assert Settings.from_env({}).operations_port is None
    assert Settings.from_env({"OPERATIONS_PORT": ""}).operations_port is None
    on = Settings.from_env({"OPERATIONS_PORT": "9464"})
    assert (on.operations_port, on.operations_listen) == (9464, "127.0.0.1")
    everywhere = Settings.from_env({"OPERATIONS_PORT": "9464", "OPERATIONS_LISTEN": "0.0.0.0"})
    assert everywhere.operations_listen == "0.0.0.0"
    for wrong in ("http", "-1", "70000", "94.64"):
        with pytest.raises(ConfigError, match="OPERATIONS_PORT must be a port number"):
            Settings.from_env({"OPERATIONS_PORT": wrong})


async def test_what_commits_is_counted_and_what_rolls_back_is_not(
    app: Wegwijzer, world: World
) -> None:
    operations = Operations(app)
    app.database.on_committed.append(operations.committed)
    try:
        await checkin(app, world.family, safe_at_home="no")
        await raise_alarm(app, world.family, "sos", kinds=("violence_at_home",))
        told = await immediate_notices(app)  # the urgent flags, to each who acts on them
        with pytest.raises(RuntimeError):
            async with app.database.transaction() as uow:
                uow.written.answers += 5
                uow.written.alarm("urgent", "immediate_danger")
                raise RuntimeError("rolled back")
    finally:
        app.database.on_committed.remove(operations.committed)
    samples = scraped(operations.metrics.exposition())
    # consent, five WHO-5 questions, four about the children, the message and safety now
    assert samples[("wegwijzer_answers_stored_total", ())] == 12
    raised = "wegwijzer_alarms_raised_total"
    assert samples[(raised, (("kind", "child_unsafe_at_home"), ("level", "urgent")))] == 1
    assert samples[(raised, (("kind", "violence_at_home"), ("level", "urgent")))] == 1
    assert (raised, (("kind", "immediate_danger"), ("level", "urgent"))) not in samples
    queued = "wegwijzer_notices_queued_total"
    assert samples[(queued, (("urgent", "true"),))] == len(told) > 0
    assert samples[(queued, (("urgent", "false"),))] == 0


async def test_the_reading_counts_open_and_overdue_flags_by_level_and_the_outbox_age(
    app: Wegwijzer, world: World, clock: Clock
) -> None:
    await raise_flag(app, world.case_a, level="urgent")
    await raise_flag(app, world.case_b, level="medium", rule="food_worry")
    clock.advance(hours=2)  # past the urgent flag's hour, within the medium one's three days
    await raise_flag(app, world.case_a, level="low", rule="school_worry")
    async with app.database.transaction() as uow:
        await uow.outbox.add(
            world.caseworker.person_id,
            {"text": "x"},
            channel="telegram",
            at=clock.now - timedelta(minutes=20),
            urgent=False,
            flag_id=None,
        )
        await uow.outbox.add(  # not due yet: not waiting
            world.caseworker.person_id,
            {"text": "x"},
            channel="telegram",
            at=clock.now + timedelta(minutes=30),
            urgent=False,
            flag_id=None,
        )

    reading = await read_database(app)
    assert reading.flags == {"urgent": (1, 1), "medium": (1, 0), "low": (1, 0)}
    assert reading.outbox_age == 20 * 60

    operations = Operations(app)
    samples = scraped(await operations.scrape())
    assert samples[("wegwijzer_open_flags", (("level", "urgent"),))] == 1
    assert samples[("wegwijzer_overdue_flags", (("level", "urgent"),))] == 1
    assert samples[("wegwijzer_open_flags", (("level", "high"),))] == 0  # shown, at zero
    assert samples[("wegwijzer_outbox_age_seconds", ())] == 20 * 60
    assert samples[("wegwijzer_database_up", ())] == 1

    clock.advance(minutes=OUTBOX_LIMIT / 60)  # the notice has waited past the limit now
    operations = Operations(app)
    ready = await operations.readiness()
    assert ready.failing == ("outbox",)
    assert ready.as_dict()["checks"]["outbox"] == {
        "ok": False,
        "seconds": 20 * 60 + OUTBOX_LIMIT,
        "limit": OUTBOX_LIMIT,
    }


async def test_a_scrape_storm_reads_the_database_once_every_few_seconds() -> None:
    ticks = Ticks()
    readings: list[float] = []

    async def read() -> DatabaseReading:
        readings.append(ticks.now)
        return DatabaseReading(0.001, 0.0, {})

    cached = CachedReading(read, 5.0, ticks)
    results = await asyncio.gather(*(cached.get() for _ in range(50)))
    assert len(readings) == 1 and all(result is results[0] for result in results)
    ticks.now += 4.9
    await cached.get()
    assert len(readings) == 1
    ticks.now += 0.2
    await cached.get()
    assert readings == [1000.0, 1005.1]


async def test_a_database_that_does_not_answer_is_asked_once_per_period_too() -> None:
    ticks = Ticks()
    tries = 0

    async def read() -> DatabaseReading:
        nonlocal tries
        tries += 1
        raise Unavailable("ConnectionRefusedError")

    cached = CachedReading(read, 5.0, ticks)
    assert await cached.get() is None and await cached.get() is None
    assert (tries, cached.failure) == (1, "Unavailable")


async def test_a_slow_reading_fails_in_time_and_is_not_started_twice() -> None:
    ticks = Ticks()
    answer = asyncio.Event()
    started = 0

    async def read() -> DatabaseReading:
        nonlocal started
        started += 1
        await answer.wait()  # the database takes its time
        return DatabaseReading(3.0, 0.0, {})

    cached = CachedReading(read, 5.0, ticks, timeout=0.01)
    assert await cached.get() is None and cached.failure == "TimeoutError"
    ticks.now += 6  # the next reading is due, the first one still going on: waited for
    answer.set()
    reading = await cached.get()
    assert reading is not None and reading.answered_in == 3.0
    assert (started, cached.failure) == (1, None)
    await cached.close()


async def test_an_unreachable_database_fails_readiness_by_name(
    settings: Settings, assets: Assets, clock: Clock
) -> None:
    # Nothing listens on port 1: connection refused, at once.
    database = Database.connect("postgresql://postgres@127.0.0.1:1/nothing")
    app = Wegwijzer(replace(settings, database_url="postgresql://"), database, assets, clock)
    try:
        operations = Operations(app)
        ready = await operations.readiness()
        assert ready.failing == ("database",)
        assert ready.as_dict()["checks"]["database"] == {
            "ok": False,
            "error": "Unavailable",
            "limit": 2.0,
        }
        samples = scraped(await operations.scrape())
        assert samples[("wegwijzer_database_up", ())] == 0
    finally:
        await database.dispose()


def test_telegram_must_have_answered_lately_once_a_call_failed() -> None:
    ticks = Ticks()
    contact = BotApiContact(ticks)
    assert contact.check().ok  # just started
    contact.called(answered=False)
    ticks.now += BOT_API_LIMIT - 1
    assert contact.check().ok  # still just started
    ticks.now += 2
    assert not contact.check().ok  # never answered since the start
    contact.called(answered=True)
    assert contact.check().ok
    ticks.now += 10 * BOT_API_LIMIT
    assert contact.check().ok  # idle behind a webhook: nothing failed since it answered
    contact.called(answered=False)
    failing = contact.check()
    assert not failing.ok
    assert failing.values == {
        "seconds_since_answer": 10 * BOT_API_LIMIT,
        "failed_since": 1,
        "limit": BOT_API_LIMIT,
    }
    contact.called(answered=True)
    assert contact.check().ok
