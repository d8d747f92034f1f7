"""Flags on Telegram, end to end: told at once, acknowledged, resolved, escalated, audited.

The real bot against the fake Bot API, with a clock the test moves: a family reports a child
not safe; the caseworker and the coordinator hear of it at once; the coordinator acknowledges
and resolves it with a note; the audit log shows each step. And nobody else gets near it.
"""

from __future__ import annotations

from typing import Any

from bot.app import Wegwijzer
from bot.services.cases import create_case
from bot.services.flags import raise_or_repeat
from bot.telegram import CallbackSigner
from tests.fakes.bot_api import FakeBotAPI

from .conftest import (
    Clock,
    Person,
    RunningBot,
    family_at_first_who5,
    person,
    staff,
)

BUTTON_NOT_VALID = ("This button is not valid.", "Deze knop is niet geldig.")


async def report_child_unsafe(family: Person) -> None:
    """Answer the check-in well, except that the children do not feel safe at home."""
    for label in ["De hele tijd"] * 5 + ["Ja, genoeg", "Elke dag", "Goed"]:
        family.press(label)
        question = await family.next()
        while not question.get("reply_markup"):
            question = await family.next()
    family.press("Nee", question)


async def edited(api: FakeBotAPI, who: Person, message: dict[str, Any], fragment: str) -> dict:
    """Wait until the bot has edited `message` to contain `fragment`; the message as it is."""

    def now_says() -> dict | None:
        current = api.message(who.chat_id, message["message_id"])
        return current if current and fragment in (current.get("text") or "") else None

    return await api.wait_for(lambda _calls: now_says())


async def audit_actions(app: Wegwijzer, flag_id: int) -> list[tuple[str, str, str | None]]:
    async with app.database.reading() as uow:
        return [
            (event.action, event.actor_role, event.note)
            for event in await uow.audit.of_flags([flag_id])
        ]


async def the_flag(app: Wegwijzer) -> Any:
    async with app.database.reading() as uow:
        (flag,) = await uow.flags.open_flags(statuses=("open", "acknowledged", "resolved"))
        return flag


async def test_child_unsafe_told_at_once_acknowledged_resolved_and_audited(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await report_child_unsafe(family)

    for reviewer in (caseworker, coordinator):
        notice = await reviewer.expect(f"New urgent flag for case {case_code}")
        assert "A child does not feel safe at home." in notice["text"]
        reviewer.button_data("Acknowledge", notice)  # both can act from the notice itself
        reviewer.button_data("Open", notice)
    await caseworker.expect_nothing_from(bot)  # told once, not again by the duties loop

    coordinator.press("Acknowledge", notice)
    detail = await edited(api, coordinator, notice, "Status: acknowledged")
    # The evidence as the family saw it: the question and their answer, in English here.
    assert "Evidence:\nDo the children feel safe at home? — No" in detail["text"]
    coordinator.press("Resolve", detail)
    await coordinator.expect("Type the resolution note")
    coordinator.text("Spoke with the family and the school; a safety plan is agreed.")
    resolved = await coordinator.expect("Flag")
    assert "is resolved" in resolved["text"]
    assert "Status: resolved" in resolved["text"]
    assert "safety plan is agreed" in resolved["text"]

    flag = await the_flag(wegwijzer)
    assert flag.status == "resolved" and flag.escalate_at is None
    # Each delivery is on record once Telegram took it: the caseworker and the coordinator.
    async with wegwijzer.database.reading() as uow:
        told = [event for event in await uow.audit.of_flags([flag.id]) if event.action == "told"]
    assert sorted(event.detail["role"] for event in told) == ["caseworker", "coordinator"]
    steps = [step for step in await audit_actions(wegwijzer, flag.id) if step[0] != "told"]
    assert [action for action, _role, _note in steps] == [
        "raised",
        "notified",
        "acknowledged",
        "resolved",
    ]
    assert steps[0][1] == "family" and steps[1][1] == "system"
    assert steps[2][1] == steps[3][1] == "coordinator"
    assert steps[3][2] == "Spoke with the family and the school; a safety plan is agreed."


async def test_an_unacknowledged_flag_is_escalated_to_coordinators_until_acknowledged(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await report_child_unsafe(family)
    await caseworker.expect("New urgent flag")
    await coordinator.expect("New urgent flag")

    clock.advance(minutes=59)
    await coordinator.expect_nothing_from(bot)
    clock.advance(minutes=1)  # the urgent flag's hour is up
    escalation = await coordinator.expect("Not acknowledged in time (escalation 1)")
    await caseworker.expect_nothing_from(bot)  # escalation goes to the coordinators
    clock.advance(minutes=30)
    await coordinator.expect_nothing_from(bot)
    clock.advance(minutes=30)  # the repeat interval of an urgent flag: its hour again
    await coordinator.expect("(escalation 2)")

    coordinator.press("Acknowledge", escalation)
    await edited(api, coordinator, escalation, "Status: acknowledged")
    clock.advance(hours=5)
    await coordinator.expect_nothing_from(bot)
    flag = await the_flag(wegwijzer)
    assert flag.escalations == 2
    actions = [action for action, _role, _note in await audit_actions(wegwijzer, flag.id)]
    assert actions.count("escalated") == 2 and actions[-1] == "acknowledged"


async def test_the_queue_pages_opens_notes_assigns_and_reopens(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await report_child_unsafe(family)
    notice = await coordinator.expect("New urgent flag")
    await caseworker.expect("New urgent flag")

    coordinator.command("/flags")
    queue = await coordinator.expect("Open flags, most urgent first (page 1 of 1)")
    assert case_code in queue["text"]
    flag = await the_flag(wegwijzer)
    coordinator.press(f"Open #{flag.id} · urgent · {case_code}", queue)
    detail = await coordinator.expect(f"Flag {flag.id} · urgent · case {case_code}")
    assert "Evidence:" in detail["text"] and "History:" in detail["text"]

    coordinator.press("Add a note", detail)
    await coordinator.expect("Type your note")
    coordinator.text("Called the caseworker.")
    noted = await coordinator.expect("Note added")
    assert "Called the caseworker." in noted["text"]

    coordinator.press("Assign", noted)
    choice = await coordinator.expect("Assign flag")
    (label,) = [b["text"] for row in choice["reply_markup"]["inline_keyboard"] for b in row]
    assert case_code in label
    coordinator.press(label, choice)
    await edited(api, coordinator, choice, "Assigned to caseworker")

    # The caseworker hears that it is theirs now, resolves it; the coordinator reopens it.
    assigned = await caseworker.expect(f"Flag {flag.id} is assigned to you: urgent flag")
    caseworker.button_data("Acknowledge", assigned)
    caseworker.command("/flags")
    theirs = await caseworker.expect("Open flags")
    caseworker.press(f"Open #{flag.id} · urgent · {case_code}", theirs)
    mine = await caseworker.expect(f"Flag {flag.id}")
    assert not [
        b for row in mine["reply_markup"]["inline_keyboard"] for b in row if b["text"] == "Assign"
    ]
    caseworker.press("Resolve", mine)
    await caseworker.expect("Type the resolution note")
    caseworker.command("/cancel")
    await caseworker.expect("Stopped: nothing was added")
    caseworker.press("Resolve", mine)
    await caseworker.expect("Type the resolution note")
    caseworker.text("   ")
    await caseworker.expect("The note is empty")
    caseworker.text("Home visit done; the child is safe with the grandmother.")
    await caseworker.expect("is resolved")

    coordinator.command("/flags")
    await coordinator.expect("There are no open flags.")
    coordinator.press("Open", notice)  # the notice still opens it, resolved as it is
    resolved = await coordinator.expect("Status: resolved")
    assert "the child is safe with the grandmother" in resolved["text"]
    coordinator.press("Reopen", resolved)
    await edited(api, coordinator, resolved, "Status: open")
    coordinator.command("/flags")
    assert case_code in (await coordinator.expect("Open flags"))["text"]

    flag = await the_flag(wegwijzer)
    async with wegwijzer.database.reading() as uow:
        history = [
            event for event in await uow.audit.of_flags([flag.id]) if event.action != "viewed"
        ]
    # Told: the coordinator at once, and the caseworker when the flag was assigned to them.
    assert {event.detail["role"] for event in history if event.action == "told"} == {
        "coordinator",
        "caseworker",
    }
    assert [event.action for event in history if event.action != "told"] == [
        "raised",
        "notified",
        "noted",
        "assigned",
        "resolved",
        "reopened",
    ]


async def test_nobody_else_sees_or_acts_on_a_flag(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    """A family, a caseworker of another case and a stranger, each trying."""
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    async with wegwijzer.database.transaction() as uow:
        other_case = (await create_case(uow, "foster_care")).code
    other = await staff(api, wegwijzer, 2002, "caseworker", other_case)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await report_child_unsafe(family)
    notice = await coordinator.expect("New urgent flag")
    await other.expect_nothing_from(bot)  # not their case: not told
    flag = await the_flag(wegwijzer)
    _message, acknowledge = coordinator.button_data("Acknowledge", notice)

    other.command("/flags")
    await other.expect("There are no open flags.")
    other.command("/case", case_code)
    await other.expect(f"Case {case_code} is not one of your cases.")
    # A payload made for someone else does not verify; one properly signed for them still
    # names a flag that is not theirs: the server says no either way, and nothing changes.
    signer = CallbackSigner.from_token(api.token)
    for press_as in (other, family):
        target = api.sent(press_as.chat_id)[-1]
        copied = api.press(press_as.user, target, acknowledge, strict=False)
        assert (await press_as.answered(copied)).get("text") in BUTTON_NOT_VALID
        for action in ("a", "o", "r", "n", "R", "s"):
            forged = signer.sign(press_as.user.id, "f", action, flag.id)
            query = api.press(press_as.user, target, forged, strict=False)
            answer = (await press_as.answered(query)).get("text")
            assert answer in (
                f"Flag {flag.id} is not one you can see or change.",
                *BUTTON_NOT_VALID,
            )
        forged = signer.sign(press_as.user.id, "f", "t", flag.id, press_as.user.id)
        query = api.press(press_as.user, target, forged, strict=False)
        assert (await press_as.answered(query)).get("text")
    family.command("/flags")
    await family.skip_to("niet beschikbaar")
    family.command("/case", case_code)
    await family.skip_to("niet beschikbaar")

    stranger = person(api, 9001, "Onbekend", language="nl")
    stranger.command("/flags")
    await stranger.expect("Wegwijzer")
    assert (await the_flag(wegwijzer)).status == "open"
    async with wegwijzer.database.reading() as uow:
        actions = [event.action for event in await uow.audit.of_flags([flag.id])]
    assert "acknowledged" not in actions and "viewed" not in actions


async def test_the_queue_is_paged_most_serious_first_with_overdue_ones_marked(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    coordinator = await staff(api, wegwijzer, 3001, "coordinator", None)
    now = clock.now
    async with wegwijzer.database.transaction() as uow:
        case = await uow.cases.by_code(case_code)
        for number, level in enumerate(["low"] * 3 + ["medium"] * 3 + ["urgent"]):
            await raise_or_repeat(
                wegwijzer,
                uow,
                by=None,
                case_id=case.id,
                run_id=None,
                flow_id="family_checkin",
                flow_version=1,
                rule=f"test_rule_{number}",
                level=level,
                reason="Low wellbeing (WHO-5 raw score below 13, or an item answered 0 or 1).",
                evidence={},
                now=now,
            )
    clock.advance(hours=2)  # the urgent one is overdue now, the others not yet

    coordinator.command("/flags")
    first = await coordinator.skip_to("(page 1 of 2)")
    lines = first["text"].splitlines()[1:]
    assert len(lines) == 5
    assert lines[0].startswith("#7 ⚠️ [urgent]") and "overdue since" in lines[0]
    assert all("[medium]" in line for line in lines[1:4]) and "[low]" in lines[4]
    coordinator.press("Next ›", first)
    second = await edited(api, coordinator, first, "(page 2 of 2)")
    assert [line.split()[1] for line in second["text"].splitlines()[1:]] == ["[low]", "[low]"]
    coordinator.press("‹ Previous", second)
    await edited(api, coordinator, second, "(page 1 of 2)")
