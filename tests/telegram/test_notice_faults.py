"""Notices when Telegram or the process fails: each reaches someone who can act, once.

The real bot against the fake Bot API: a server error for each recipient, a caseworker who
blocked the bot, and `wegwijzer run` killed with SIGKILL while a notice hung in Telegram's
hands. Afterwards every notice is delivered exactly once, and the flag's history says whom it
reached.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.services import texts
from bot.services.cases import create_case
from tests.fakes.bot_api import FakeBotAPI

from .conftest import (
    Clock,
    RunningBot,
    family_at_first_who5,
    flags_of,
    render,
    staff,
    until,
)
from .test_emergency_faults import wegwijzer_run

NEW_FLAG = "New urgent flag"


async def told_roles(app: Wegwijzer, flag_id: int) -> list[str]:
    async with app.database.reading() as uow:
        return sorted(
            str(event.detail["role"])
            for event in await uow.audit.of_flags([flag_id])
            if event.action == "told"
        )


async def sent_to(app: Wegwijzer, chat_id: int, timeout: float = 10.0) -> None:
    """Until the outbox records a notice to this chat as sent (written by another process)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with app.database.reading() as uow:
            person = await uow.people.get("telegram", str(chat_id))
            assert person is not None
            if await uow.outbox.of_person(person.id, "sent"):
                return
        assert loop.time() < deadline, "the notice was not recorded as sent"
        await asyncio.sleep(0.05)


async def test_a_server_error_for_each_recipient_delays_their_notice_and_loses_nothing(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.fail_next("sendMessage", 500, chat_id=caseworker.chat_id)
    api.fail_next("sendMessage", 502, chat_id=coordinator.chat_id)

    family.command("/sos")
    await family.expect("Alarmnummer")
    await bot.idle(api)
    assert not caseworker.messages()[caseworker.read :]  # the first try failed
    clock.advance(seconds=2)  # past the first wait before trying again
    for reviewer in (caseworker, coordinator):
        await reviewer.expect(NEW_FLAG)
        await reviewer.expect_nothing_from(bot)  # once, not again
    (flag,) = await flags_of(wegwijzer)
    assert await told_roles(wegwijzer, flag.id) == ["caseworker", "coordinator"]


async def test_a_caseworker_who_blocked_the_bot_the_coordinator_hears_instead(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    api.block(caseworker.chat_id)

    family.command("/sos")
    await family.expect("Alarmnummer")
    # The coordinator has the flag's notice anyway; told once, and told that the caseworker
    # can no longer be reached.
    said = {(await coordinator.next())["text"] for _ in range(2)}
    assert any(NEW_FLAG in text for text in said)
    assert any("has blocked the bot" in text for text in said)
    await coordinator.expect_nothing_from(bot)
    (flag,) = await flags_of(wegwijzer)
    async with wegwijzer.database.reading() as uow:
        actions = [event.action for event in await uow.audit.of_flags([flag.id])]
        blocked = await uow.people.get("telegram", str(caseworker.chat_id))
    assert "not_told" in actions and actions.count("told") == 1
    assert blocked is not None and blocked.status == "unreachable"


async def test_killed_while_a_notice_hung_in_telegram_it_is_sent_once_after_the_restart(
    api: FakeBotAPI, wegwijzer: Wegwijzer, settings: Settings, case_code: str, clock: Clock
) -> None:
    first = RunningBot(wegwijzer)
    await first.start()
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await first.stop()

    api.stall_next("sendMessage", 30, chat_id=caseworker.chat_id)
    async with wegwijzer_run(api, settings, settings.database_url) as process:
        family.command("/sos")
        await family.expect("Alarmnummer", timeout=5)
        await coordinator.expect(NEW_FLAG, timeout=10)
        await sent_to(wegwijzer, coordinator.chat_id)  # Telegram took it, and that is stored
        # The caseworker's notice is in Telegram's hands, unanswered: the process dies.
        await until(lambda: api._stalls == [], 10, what="the caseworker's notice to hang")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=5)

    # Started again once the dead process's claim has lapsed (it ran on the real clock).
    clock.now = datetime.now(UTC) + settings.outbox_lease + timedelta(seconds=1)
    again = await RunningBot.after_a_kill(wegwijzer, api)
    try:
        await caseworker.expect(NEW_FLAG, timeout=10)
        await caseworker.expect_nothing_from(again)
        await coordinator.expect_nothing_from(again)
        (flag,) = await flags_of(wegwijzer)
        assert await told_roles(wegwijzer, flag.id) == ["caseworker", "coordinator"]
    finally:
        await again.stop()


async def test_an_alarm_nobody_can_receive_promises_nothing_and_reaches_the_operators(
    api: FakeBotAPI, settings: Settings, clock: Clock, assets: Assets
) -> None:
    """A case without a caseworker and no coordinator at all: the family gets the numbers
    and words that promise nothing; the operators' chat gets the alarm."""
    operators = -100_900
    api.add_group(operators, "Operators")
    app = await bootstrap(
        replace(settings, alarm_fallback_chat=str(operators)), clock=clock, assets=assets
    )
    running = RunningBot(app)
    await running.start()
    try:
        async with app.database.transaction() as uow:
            code = (await create_case(uow, "family_strengthening")).code
        family = await family_at_first_who5(api, app, code)
        family.command("/sos")
        await family.expect("Alarmnummer")
        await family.expect(render(app, texts.ALARM_SAVED_NOT_SENT, "nl"))
        await api.wait_for(lambda _calls: api.sent(operators))
        (told,) = api.sent(operators)
        # In the deployment's language (Dutch): the case and the emergency, nothing more.
        assert code in told["text"] and render(app, texts.EMERGENCY_FLAG, "nl") in told["text"]
        await running.idle(api)
        assert len(api.sent(operators)) == 1
    finally:
        await running.stop()
        await app.close()


async def test_sends_that_time_out_are_tried_again_and_arrive_once(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    """Telegram hangs on the family's numbers and on the caseworker's notice longer than the
    bot waits (python-telegram-bot gives up after 5 s): both are sent again, and arrive
    once — the hung requests never got through."""
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.stall_next("sendMessage", 5.5, chat_id=family.chat_id)
    api.stall_next("sendMessage", 5.5, chat_id=caseworker.chat_id)

    family.command("/sos")
    await family.expect("Alarmnummer", timeout=15)
    await until(lambda: not api._stalls, 10, what="the caseworker's notice to hang")
    await api.wait_for(
        lambda _calls: any(
            call.status == 499 and call.params.get("chat_id") == caseworker.chat_id
            for call in api.calls_of("sendMessage")
        ),
        timeout=15,
    )  # the bot gave up on it (and the fake saw it go)
    clock.advance(seconds=2)  # past the wait before the next try
    await caseworker.expect(NEW_FLAG, timeout=10)
    await caseworker.expect_nothing_from(bot)  # once
    numbers = [m for m in family.messages() if "Alarmnummer" in (m.get("text") or "")]
    assert len(numbers) == 1
