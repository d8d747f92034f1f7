"""The one order of checks every input goes through, whatever the channel: emergency first,
then who is writing, their language, their consent, their role, then what is waiting.

Played here without any channel: the conversation's outputs are collected and rendered as
plain lines, in the language the person chose (English for the world's people, and for those
who have not chosen: their phone's language).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.conversation import (
    Conversation,
    Incoming,
    Message,
    Output,
    Pressed,
    TellStaffNow,
    Toast,
    Typed,
    render,
)
from bot.conversation.intents import Intent, OnFlag
from bot.i18n import Translator
from bot.rules.people import NOTE_WAIT, Participant
from bot.services import texts
from tests.world import CASE_A, Clock, World, add_person, raise_flag
from tests.world import render as say

EMERGENCY = "Is someone in danger right now? Call 112."


class Heard:
    """What the conversation said, in order, as lines of text."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []
        self.lines: list[str] = []

    async def __call__(self, output: Output, translate: Translator) -> None:
        self.outputs.append(output)
        if isinstance(output, Message):
            self.lines += [render(translate, line) for part in output.paragraphs for line in part]
        elif isinstance(output, Toast):
            self.lines.append(translate(output.text))

    def text(self) -> str:
        return "\n".join(self.lines)


async def external_id(world: World, who: Participant) -> str:
    async with world.app.database.reading() as uow:
        person = await uow.people.get_by_id(who.person_id)
        assert person is not None
        return person.external_id


async def send(
    conversation: Conversation, external: str, said: str | Intent, once: str | None = None
) -> Heard:
    """A person whose phone is set to English (until they choose a language) says something."""
    heard = Heard()
    message = Pressed(said) if isinstance(said, Intent) else Typed(said)
    incoming = Incoming("telegram", external, message, once=once, language_hint="en")
    await conversation.handle(incoming, heard)
    return heard


@pytest.fixture
def conversation(world: World) -> Conversation:
    return Conversation(world.app)


async def open_flags(world: World) -> list[str]:
    async with world.app.database.reading() as uow:
        return [flag.rule for flag in await uow.flags.open_flags()]


async def test_the_emergency_comes_before_the_language_and_consent(
    world: World, conversation: Conversation
) -> None:
    # Joined a moment ago: no language chosen, no consent given yet.
    newcomer = await add_person(world.app, "family", case=CASE_A, consent=None)
    async with world.app.database.transaction() as uow:
        await uow.people.set_language(newcomer.person_id, None)  # type: ignore[arg-type]
    heard = await send(conversation, await external_id(world, newcomer), "/sos")
    assert heard.lines[0].startswith(EMERGENCY)
    assert any(isinstance(output, TellStaffNow) for output in heard.outputs)
    assert await open_flags(world) == ["emergency"]


async def test_a_stranger_in_danger_gets_the_numbers_and_nothing_is_stored(
    world: World, conversation: Conversation
) -> None:
    heard = await send(conversation, "424242", "help, hij slaat mij")
    assert heard.lines[0].startswith(EMERGENCY) and len(heard.lines) == 1
    assert await open_flags(world) == []
    async with world.app.database.reading() as uow:
        assert await uow.people.get("telegram", "424242") is None


async def test_a_stranger_is_told_what_this_is_once_a_minute(conversation: Conversation) -> None:
    first = await send(conversation, "424242", "hello?")
    assert first.lines[0].startswith("Hello. This is Wegwijzer") and EMERGENCY in first.text()
    assert (await send(conversation, "424242", "hello??")).lines == []
    assert (await send(conversation, "424242", "/help")).lines == []


async def test_staff_writing_about_danger_is_no_alarm(
    world: World, conversation: Conversation
) -> None:
    heard = await send(conversation, await external_id(world, world.caseworker), "not safe")
    assert EMERGENCY not in heard.text() and await open_flags(world) == []


async def test_the_language_first_then_consent_then_the_command(
    world: World, conversation: Conversation
) -> None:
    app = world.app
    undecided = await add_person(app, "family", case=CASE_A, consent=None)
    async with app.database.transaction() as uow:
        await uow.people.set_language(undecided.person_id, None)  # type: ignore[arg-type]
    external = await external_id(world, undecided)
    assert (await send(conversation, external, "/checkin")).lines == [
        say(app, texts.CHOOSE_LANGUAGE)
    ]
    assert (
        (await send(conversation, external, "/language nl"))
        .lines[0]
        .startswith("Voordat we beginnen")
    )
    asked = await send(conversation, external, "/checkin")
    assert asked.lines[0] == say(app, texts.CONSENT_FIRST, "nl")
    assert asked.lines[1].startswith("Voordat we beginnen")
    started = await send(conversation, external, "/privacy agree")
    assert say(app, texts.WELCOME["family"], "nl") in started.text()


async def test_commands_of_another_role_and_unknown_commands(
    world: World, conversation: Conversation
) -> None:
    family = await external_id(world, world.family)
    refused = await send(conversation, family, "/flags")
    assert refused.outputs == [Toast(texts.NOT_FOR_ROLE.using(command="/flags"))]
    unknown = await send(conversation, family, "/frobnicate")
    assert unknown.lines == ["Unknown command /frobnicate. Type /help to see what you can do."]


async def test_typed_and_pressed_are_the_same_command(
    world: World, conversation: Conversation
) -> None:
    flag_id, _ = await raise_flag(world.app, world.case_a)
    coordinator = await external_id(world, world.coordinator)
    typed = await send(conversation, coordinator, f"/flag {flag_id} ack")
    pressed = await send(conversation, coordinator, OnFlag(flag_id, "ack"))
    assert typed.lines[0] == f"Flag {flag_id} is acknowledged: escalation has stopped."
    assert pressed.lines[0] == f"Flag {flag_id} was already acknowledged."
    assert typed.lines[1:] == pressed.lines[1:]  # the flag's detail, in place


async def test_a_duplicate_delivery_is_answered_once(
    world: World, conversation: Conversation
) -> None:
    from bot.services.once import AlreadyHandled

    family = await external_id(world, world.family)
    await send(conversation, family, "/help", once="telegram:7")
    with pytest.raises(AlreadyHandled):
        await send(conversation, family, "/help", once="telegram:7")


async def test_the_note_asked_for_is_the_next_message_until_it_lapses(
    world: World, conversation: Conversation, clock: Clock
) -> None:
    flag_id, _ = await raise_flag(world.app, world.case_a)
    coordinator = await external_id(world, world.coordinator)
    asked = await send(conversation, coordinator, f"/flag {flag_id} note")
    assert asked.lines == [f"Type your note for flag {flag_id}, or /cancel to stop."]
    noted = await send(conversation, coordinator, "Called the family; all calm.")
    assert noted.lines[0] == f"Note added to flag {flag_id}."

    await send(conversation, coordinator, f"/flag {flag_id} note")
    clock.advance(seconds=NOTE_WAIT.total_seconds() + 1)
    late = await send(conversation, coordinator, "ok")
    assert late.lines == [say(world.app, texts.NOTHING_WAITING["coordinator"])]
    clock.advance(minutes=1)
    # Nothing is waited for any more: a later text is an ordinary message too.
    assert (await send(conversation, coordinator, "ok")).lines == late.lines
    assert timedelta(minutes=30) == NOTE_WAIT
