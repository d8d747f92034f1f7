"""Check-in reminders on Telegram, end to end (issue #7): the real bot against the fake Bot
API, with a clock the test moves.

A family with a schedule is reminded at the due time in their own language, with a button that
starts the check-in; they can pause and resume the reminders, which their caseworker sees; the
caseworker sets the schedule with /schedule; a family that blocked the bot is unreachable at
once; and a thousand reminders go out at the Bot API's rate without a single 429.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import insert

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.rules.cadence import parse_cadence
from bot.services import texts
from bot.services.cases import create_case
from bot.services.duties import due_notices
from bot.services.schedules import NO_CONTACT_RULE, list_schedules, set_schedule
from bot.storage import crypto, models
from bot.telegram import build_application, deliver_due_notices
from tests.fakes.bot_api import FakeBotAPI, User
from tests.flows import CHECKIN_FLOW

from .conftest import (
    Clock,
    Person,
    RunningBot,
    invite_code,
    onboard,
    person,
    render,
    staff,
)

T = TypeVar("T")

# Friday 27 November 2026 10:30 in Amsterdam (the conftest's START); the next Monday 18:00
# CET is 17:00 UTC.
DUE = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
WEEKLY = "weekly mon 18:00"


async def family_of(api: FakeBotAPI, app: Wegwijzer, case: str, user_id: int = 1001) -> Person:
    """A Dutch family member, onboarded and at the welcome (no flow started)."""
    family = person(api, user_id, "Testouder")
    await onboard(family, await invite_code(app, "family", case))
    return family


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 5.0) -> T:
    """Wait until `check()` returns something truthy (the duties loop runs every 0.2 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError("the condition never came true")
        await asyncio.sleep(0.05)


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def the_schedule(app: Wegwijzer) -> dict[str, Any]:
    (view,) = await list_schedules(app)
    return view.as_dict()


# --- (a) the reminder --------------------------------------------------------------------------


async def test_a_reminder_in_the_familys_language_whose_button_starts_the_checkin(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    dutch = await family_of(api, wegwijzer, case_code)
    other = person(api, 1002, "Test parent", language="en")
    await onboard(other, await invite_code(wegwijzer, "family", case_code), "English")
    await set_schedule(wegwijzer, case_code, parse_cadence(WEEKLY))

    clock.now = DUE.replace(minute=0, hour=16)
    await dutch.expect_nothing_from(bot)
    clock.now = DUE
    reminder = await dutch.expect(render(wegwijzer, texts.REMINDER, "nl"))
    assert buttons(reminder) == ["Check-in starten"]
    in_english = await other.expect("Hello! It is time for your check-in.")
    assert buttons(in_english) == ["Start check-in"]
    await dutch.expect_nothing_from(bot)  # once, not at every round of the duties

    dutch.press("Check-in starten", reminder)
    consent = await dutch.expect("Dit is je check-in")
    assert "1. Ja" in buttons(consent)
    dutch_id = await person_id(wegwijzer, dutch)
    async with wegwijzer.database.reading() as uow:
        run = await uow.runs.open_of(dutch_id)
        assert run is not None and run.flow_id == CHECKIN_FLOW and run.status == "active"


async def person_id(app: Wegwijzer, who: Person) -> int:
    async with app.database.reading() as uow:
        found = await uow.people.get("telegram", str(who.chat_id))
        assert found is not None
        return found.id


async def test_one_gentle_follow_up_a_day_later(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    family = await family_of(api, wegwijzer, case_code)
    await set_schedule(wegwijzer, case_code, parse_cadence(WEEKLY))
    clock.now = DUE
    await family.expect(render(wegwijzer, texts.REMINDER, "nl"))
    clock.advance(hours=24)
    follow_up = await family.expect(render(wegwijzer, texts.REMINDER_FOLLOW_UP, "nl"))
    assert buttons(follow_up) == ["Check-in starten"]
    clock.advance(hours=24)
    await family.expect_nothing_from(bot)


# --- (b) /stop and /resume -----------------------------------------------------------------------


async def test_the_family_stops_and_resumes_and_the_caseworker_sees_it(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_of(api, wegwijzer, case_code)
    await set_schedule(wegwijzer, case_code, parse_cadence(WEEKLY))

    family.command("/stop")
    await family.expect(render(wegwijzer, texts.REMINDERS_PAUSED, "nl"))
    # Monitoring stops while paused: the caseworker is told at once.
    await caseworker.expect(f"The family of case {case_code} paused their check-in reminders")
    caseworker.command("/case", case_code)
    shown = await caseworker.expect(f"Case {case_code}")
    assert "Check-in reminders: paused by the family." in shown["text"]

    clock.now = DUE
    await family.expect_nothing_from(bot)  # paused: no reminder

    clock.advance(days=2)  # Wednesday: resumed from now on, no catch-up for Monday
    family.command("/resume")
    resumed = await family.expect("")
    next_due = (await the_schedule(wegwijzer))["next_due_utc"]
    assert next_due == "2026-12-07T17:00:00+00:00"
    expected = texts.REMINDERS_RESUMED.using(when=datetime.fromisoformat(next_due))
    assert resumed["text"] == render(wegwijzer, expected, "nl")
    await family.expect_nothing_from(bot)

    caseworker.command("/case", case_code)
    shown = await caseworker.expect(f"Case {case_code}")
    assert "paused" not in shown["text"]
    assert "Check-in reminders: weekly mon 18:00, next" in shown["text"]

    async with wegwijzer.database.reading() as uow:
        events = [e for e in await uow.audit.events() if e.action.startswith("schedule_")]
    assert [(e.action, e.actor_role) for e in events] == [
        ("schedule_set", "operator"),
        ("schedule_paused", "family"),
        ("schedule_resumed", "family"),
    ]


async def test_stop_without_a_schedule_says_there_are_no_reminders(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_of(api, wegwijzer, case_code)
    family.command("/stop")
    await family.expect(render(wegwijzer, texts.NO_REMINDERS, "nl"))


async def test_withdrawn_consent_stops_the_reminders_until_given_again(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_of(api, wegwijzer, case_code)
    await set_schedule(wegwijzer, case_code, parse_cadence(WEEKLY))

    family.command("/privacy")
    family.press("Ik ga niet akkoord", await family.skip_to_button("Ik ga niet akkoord"))
    await family.expect(render(wegwijzer, texts.CONSENT_WITHDRAWN, "nl"))
    await caseworker.expect(f"A family member of case {case_code} withdrew their consent")
    clock.now = DUE
    await family.expect_nothing_from(bot)  # withdrawn: no reminder

    family.command("/privacy")
    family.press("Ik ga akkoord", await family.skip_to_button("Ik ga akkoord"))
    await family.expect(render(wegwijzer, texts.WELCOME["family"], "nl"))
    await caseworker.expect(f"A family member of case {case_code} gave their consent again")
    clock.advance(days=7)  # the next slot: reminded again
    await family.expect(render(wegwijzer, texts.REMINDER, "nl"))


# --- (c) /schedule ---------------------------------------------------------------------------


async def test_the_caseworker_sets_the_schedule_and_others_cannot(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    async with wegwijzer.database.transaction() as uow:
        other_case = (await create_case(uow, "foster_care")).code
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    other = await staff(api, wegwijzer, 2002, "caseworker", other_case)

    caseworker.command("/schedule", f"{case_code.lower()} weekly mon 18:00")
    done = await caseworker.expect(f"Check-in reminders for case {case_code}: weekly mon 18:00.")
    assert "The next one:" in done["text"]
    shown = await the_schedule(wegwijzer)
    assert (shown["case"], shown["cadence"], shown["status"]) == (case_code, WEEKLY, "active")
    assert shown["next_due_utc"] == DUE.isoformat()

    other.command("/schedule", f"{case_code} weekly tue 10:00")
    await other.expect(f"Case {case_code} is not one of your cases.")
    assert (await the_schedule(wegwijzer))["cadence"] == WEEKLY  # unchanged

    caseworker.command("/schedule", f"{case_code} now and then")
    refused = await caseworker.expect("That is not a schedule I understand")
    assert "/schedule" in refused["text"]  # and how to write it
    caseworker.command("/schedule")
    await caseworker.expect("Type /schedule, the case code and when")
    assert (await the_schedule(wegwijzer))["cadence"] == WEEKLY

    family = await family_of(api, wegwijzer, case_code)
    family.command("/schedule", f"{case_code} weekly sun 08:00")
    await family.expect("")  # not for families
    assert (await the_schedule(wegwijzer))["cadence"] == WEEKLY


async def test_a_coordinator_may_set_any_cases_schedule(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    coordinator.command("/schedule", f"{case_code} monthly 1 10:00")
    await coordinator.expect(f"Check-in reminders for case {case_code}: monthly 1 10:00.")


# --- (d) a family that blocked the bot --------------------------------------------------------


async def test_a_blocked_family_is_unreachable_and_the_case_gets_a_no_contact_flag(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_of(api, wegwijzer, case_code)
    await set_schedule(wegwijzer, case_code, parse_cadence(WEEKLY))
    api.block(family.chat_id)

    clock.now = DUE
    await caseworker.expect(
        f"A family member of case {case_code} has blocked the bot and can no longer be reached"
    )
    refused = [
        call
        for call in api.calls_of("sendMessage")
        if call.params.get("chat_id") == family.chat_id and call.status == 403
    ]
    assert len(refused) == 1

    async def flag() -> Any:
        async with wegwijzer.database.reading() as uow:
            found = [f for f in await uow.flags.open_flags() if f.rule == NO_CONTACT_RULE]
            return found

    (no_contact,) = await eventually(flag)
    assert no_contact.level == "medium" and no_contact.evidence.get("unreachable") is True
    async with wegwijzer.database.reading() as uow:
        found = await uow.people.get("telegram", str(family.chat_id))
        assert found is not None and found.status == "unreachable"
    # The caseworker hears of the flag in the next morning's digest (medium); the family is
    # not tried again, and nobody is told twice that they blocked the bot.
    clock.advance(weeks=1)
    digest = await caseworker.skip_to("No contact")
    assert case_code in digest["text"]
    await bot.idle(api)
    told = [m for m in caseworker.messages() if "has blocked the bot" in (m.get("text") or "")]
    assert len(told) == 1
    tried = [c for c in api.calls_of("sendMessage") if c.params.get("chat_id") == family.chat_id]
    assert [c.status for c in tried[-1:]] == [403] and len(refused) == 1
    assert sum(c.status == 403 for c in tried) == 1


# --- (e) the rate ----------------------------------------------------------------------------

FAMILIES = 1000
LIMIT = 200
FIRST_USER = 500_000


async def seed_families(app: Wegwijzer, count: int) -> None:
    """`count` cases, each with one English family member (Telegram user FIRST_USER + n) and
    a weekly schedule due now: written in bulk, as onboarding and /schedule would leave them."""
    now = app.clock()
    weekly = parse_cadence(WEEKLY).as_dict()
    ids = range(1, count + 1)
    rows = {
        models.Person: [
            {
                "id": n,
                "channel": "telegram",
                "external_id": str(FIRST_USER + n - 1),
                "external_key": crypto.active().lookup_key("telegram", FIRST_USER + n - 1),
                "role": "family",
                "language": "en",
                "consent": "given",
                "consent_at": now,
                "created_at": now,
            }
            for n in ids
        ],
        models.Case: [
            {"id": n, "code": f"R-{n:04d}", "programme": "family_strengthening", "created_at": now}
            for n in ids
        ],
        models.Membership: [{"person_id": n, "case_id": n, "created_at": now} for n in ids],
        models.Schedule: [
            {
                "case_id": n,
                "flow_id": CHECKIN_FLOW,
                "cadence": weekly,
                "status": "active",
                "next_due_at": now,
                "missed": 0,
                "created_at": now,
            }
            for n in ids
        ],
    }
    async with app.database.engine.begin() as conn:
        for model, values in rows.items():
            await conn.execute(insert(model.__table__), values)


async def test_a_thousand_reminders_at_the_bot_api_limit_without_a_429(
    settings: Settings, clock: Clock, assets: Assets
) -> None:
    async with FakeBotAPI(flood_limit_per_second=LIMIT, per_chat_per_second=1) as api:
        fast = replace(
            settings,
            telegram_messages_per_second=LIMIT,
            telegram_token=api.token,
            telegram_base_url=api.base_url,
        )
        app = await bootstrap(fast, clock=clock, assets=assets)
        try:
            for n in range(FAMILIES):
                api.register(User(FIRST_USER + n, f"Parent {n}", language_code="en"))
            await seed_families(app, FAMILIES)
            clock.advance(minutes=1)

            application = build_application(app, token=api.token, base_url=api.base_url)
            async with application:
                notices = await due_notices(app)
                assert len(notices) == FAMILIES
                assert await deliver_due_notices(application) == FAMILIES
        finally:
            await app.close()

        sent = [call for call in api.calls_of("sendMessage") if call.status == 200]
        assert len(sent) == FAMILIES
        assert len({call.params["chat_id"] for call in sent}) == FAMILIES
        assert api.rejected_429 == 0
        assert api.peak_sends_per_second() <= LIMIT
