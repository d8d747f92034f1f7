"""The one order of checks every input goes through, whatever the channel: emergency first,
then who is writing, their language, their consent, their role, then what is waiting.

Played here without any channel: the conversation's outputs are collected and rendered as
plain lines, in the language the person chose (English for the world's people, and for those
who have not chosen: their phone's language).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import Wegwijzer
from bot.conversation import (
    Conversation,
    Incoming,
    Message,
    Other,
    Output,
    Pressed,
    Toast,
    Typed,
    render,
)
from bot.conversation.intents import Intent, OnFlag
from bot.conversation.people import StrangerThrottle
from bot.i18n import Translator
from bot.rules.alarms import AlarmKind
from bot.rules.people import NOTE_WAIT
from bot.services import texts
from bot.services.emergency import help_for
from tests.world import CASE_A, Clock, World, add_person, audit, external_id, raise_flag
from tests.world import render as say

# How both the general help (strangers, groups) and the help for immediate danger begin.
EMERGENCY = "Is someone in danger right now?"


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


async def send(
    conversation: Conversation, external: str, said: str | Intent, once: str | None = None
) -> Heard:
    """A person whose phone is set to English (until they choose a language) says something."""
    heard = Heard()
    message = Pressed(said) if isinstance(said, Intent) else Typed(said)
    incoming = Incoming("telegram", external, message, once=once, language_hint="en")
    await conversation.handle(incoming, heard)
    return heard


def help_lines(app: Wegwijzer, kinds: tuple[AlarmKind, ...], language: str = "en") -> list[str]:
    """The help for these kinds of alarm, as the person reads it."""
    return [say(app, line, language) for lines in help_for(app, kinds) for line in lines]


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
    heard = await send(conversation, await external_id(world.app, newcomer), "/sos")
    assert heard.lines[0].startswith(EMERGENCY)
    assert await open_flags(world) == ["emergency"]
    # The staff's notices are queued with it, urgent, for the bot's sender to deliver.
    async with world.app.database.reading() as uow:
        (flag,) = await uow.flags.open_flags()
        queued = await uow.outbox.of_flags([flag.id])
    assert queued and all(notice.urgent and notice.state == "queued" for notice in queued)


async def test_a_stranger_in_danger_gets_the_numbers_and_nothing_is_stored(
    world: World, conversation: Conversation
) -> None:
    heard = await send(conversation, "424242", "help, hij slaat mij")
    assert heard.lines == help_lines(world.app, ("immediate_danger",))  # only the help
    assert await open_flags(world) == []
    async with world.app.database.reading() as uow:
        assert await uow.people.get("telegram", "424242") is None
    assert await world.app.journal.pending() == []


def test_an_invite_code_is_no_danger_text(world: World) -> None:
    """`/start CODE` carries an invite's random letters ("…-od…", "…9yo…" once in a few
    hundred codes read as danger words): never an alarm; other commands' words still are."""
    from bot.conversation.emergency import Recogniser
    from bot.services.invites import new_invite_code

    recogniser = Recogniser(world.app)
    for _ in range(3000):
        assert recogniser.trigger(Typed(f"/start {new_invite_code()}"), None) is None
    assert recogniser.trigger(Typed("/start od"), None) is None
    assert recogniser.trigger(Typed("/help he hits me"), None) is not None


async def test_a_stranger_is_told_what_this_is_once_a_minute(conversation: Conversation) -> None:
    first = await send(conversation, "424242", "hello?")
    assert first.lines[0].startswith("Hello. This is Wegwijzer") and EMERGENCY in first.text()
    assert (await send(conversation, "424242", "hello??")).lines == []
    assert (await send(conversation, "424242", "/help")).lines == []


async def test_staff_writing_about_danger_is_no_alarm(
    world: World, conversation: Conversation
) -> None:
    caseworker = await external_id(world.app, world.caseworker)
    # Not yet known in memory (the bot just started without a database): the numbers, from
    # memory, do no harm; the database then says it is staff, and that is all.
    cold = await send(conversation, caseworker, "not safe")
    assert cold.lines == help_lines(world.app, ("immediate_danger",))
    # Known: a note about danger is just a note.
    heard = await send(conversation, caseworker, "the child is not safe")
    assert EMERGENCY not in heard.text()
    assert await open_flags(world) == [] and await world.app.journal.pending() == []
    # Staff at start-up are known before they write.
    fresh = Conversation(world.app)
    await fresh.remember_staff()
    assert EMERGENCY not in (await send(fresh, caseworker, "not safe")).text()
    # Their own /sos is an alarm, like anyone's.
    assert (await send(fresh, caseworker, "/sos")).lines[0].startswith(EMERGENCY)
    assert await open_flags(world) == ["emergency"]


async def test_in_a_group_and_to_an_edit_only_the_emergency_route_answers(
    world: World, conversation: Conversation
) -> None:
    family = await external_id(world.app, world.family)

    async def hear(said: Typed | Other, group: bool = False, edited: bool = False) -> Heard:
        heard = Heard()
        incoming = Incoming(
            "telegram", family, said, language_hint="en", group=group, edited=edited
        )
        await conversation.handle(incoming, heard)
        return heard

    assert (await hear(Typed("/help"), group=True)).lines == []
    assert (await hear(Typed("hello everyone"), group=True)).lines == []
    assert (await hear(Typed("I typed it wrong"), edited=True)).lines == []
    assert (await hear(Other("photo", "a new caption"), edited=True)).lines == []
    in_group = await hear(Typed("hij slaat me"), group=True)
    assert in_group.lines[0].startswith(EMERGENCY) and len(in_group.lines) == 2
    assert "hij slaat me" not in in_group.text()
    assert await open_flags(world) == []  # nothing about a group is stored
    for said, edited in ((Typed("ik ben in gevaar"), True), (Other("photo", "help me"), False)):
        assert (await hear(said, edited=edited)).lines[0].startswith(EMERGENCY)
    assert await open_flags(world) == ["emergency"]


async def test_the_language_first_then_consent_then_the_command(
    world: World, conversation: Conversation
) -> None:
    app = world.app
    undecided = await add_person(app, "family", case=CASE_A, consent=None)
    async with app.database.transaction() as uow:
        await uow.people.set_language(undecided.person_id, None)  # type: ignore[arg-type]
    external = await external_id(world.app, undecided)
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
    family = await external_id(world.app, world.family)
    refused = await send(conversation, family, "/flags")
    assert refused.outputs == [Toast(texts.NOT_FOR_ROLE.using(command="/flags"))]
    unknown = await send(conversation, family, "/frobnicate")
    assert unknown.lines == ["Unknown command /frobnicate. Type /help to see what you can do."]


async def test_typed_and_pressed_are_the_same_command(
    world: World, conversation: Conversation
) -> None:
    flag_id, _ = await raise_flag(world.app, world.case_a)
    coordinator = await external_id(world.app, world.coordinator)
    typed = await send(conversation, coordinator, f"/flag {flag_id} ack")
    pressed = await send(conversation, coordinator, OnFlag(flag_id, "ack"))
    assert typed.lines[0] == f"Flag {flag_id} is acknowledged: escalation has stopped."
    assert pressed.lines[0] == f"Flag {flag_id} was already acknowledged."
    assert typed.lines[1:] == pressed.lines[1:]  # the flag's detail, in place


async def test_a_duplicate_delivery_is_answered_once(
    world: World, conversation: Conversation
) -> None:
    from bot.services.once import AlreadyHandled

    family = await external_id(world.app, world.family)
    await send(conversation, family, "/help", once="telegram:7")
    with pytest.raises(AlreadyHandled):
        await send(conversation, family, "/help", once="telegram:7")


async def test_the_note_asked_for_is_the_next_message_until_it_lapses(
    world: World, conversation: Conversation, clock: Clock
) -> None:
    flag_id, _ = await raise_flag(world.app, world.case_a)
    coordinator = await external_id(world.app, world.coordinator)
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


async def test_a_note_too_long_is_refused_and_still_asked_for(
    world: World, conversation: Conversation
) -> None:
    from bot.services.flags import NOTE_MAX

    flag_id, _ = await raise_flag(world.app, world.case_a)
    coordinator = await external_id(world.app, world.coordinator)
    long = "x" * (NOTE_MAX + 1)
    refused = await send(conversation, coordinator, f"/flag {flag_id} note {long}")
    expected = f"The note is too long: {NOTE_MAX + 1:,} characters, at most {NOTE_MAX:,}."
    assert refused.lines[0].startswith(expected)
    await send(conversation, coordinator, f"/flag {flag_id} resolve")
    again = await send(conversation, coordinator, long)
    assert again.lines[0].startswith(expected)
    # Still asked: a shorter text is taken, exactly the limit too.
    done = await send(conversation, coordinator, "y" * NOTE_MAX)
    assert done.lines[0] == f"Flag {flag_id} is resolved."
    notes = [e.note for e in await audit(world.app, flag_id) if e.note]
    assert notes == ["y" * NOTE_MAX]


async def test_assigning_to_someone_who_is_no_caseworker_says_so(
    world: World, conversation: Conversation
) -> None:
    flag_id, _ = await raise_flag(world.app, world.case_a)
    coordinator = await external_id(world.app, world.coordinator)
    other = world.second_coordinator.person_id
    said = await send(conversation, coordinator, f"/flag {flag_id} assign {other}")
    assert said.lines == [
        f"{other} is not the number of an active caseworker. Type /flag {flag_id} assign "
        "to choose one."
    ]
    # Not a refusal: the coordinator may assign the flag.
    assert not [e for e in await audit(world.app) if e.action == "refused"]


def test_the_stranger_throttle_allows_one_answer_a_minute_and_forgets_the_oldest() -> None:
    throttle = StrangerThrottle(interval_seconds=60, capacity=2)
    assert throttle.allow("telegram:1", 0.0)
    assert not throttle.allow("telegram:1", 59.9)
    assert throttle.allow("telegram:1", 60.0)
    assert throttle.allow("telegram:2", 61.0) and throttle.allow("telegram:3", 62.0)
    assert throttle.allow("telegram:1", 63.0)  # the oldest was forgotten: memory is bounded


async def test_every_option_button_shows_the_number_that_answers_it(
    world: World, conversation: Conversation
) -> None:
    """A typed number answers by the option's position, so every channel shows that number on
    the option's button: "1" on the WHO-5 is "All of the time", whatever the scale's values."""
    family = await external_id(world.app, world.family)
    await send(conversation, family, "/checkin")
    first_who5 = await send(conversation, family, "1")  # consent: 1. Yes
    (question,) = [out for out in first_who5.outputs if isinstance(out, Message) and out.buttons]
    tr = world.app.catalogs.translator("en")
    labels = [render(tr, button.label) for row in question.buttons for button in row]
    assert labels[:6] == [
        "1. All of the time",
        "2. Most of the time",
        "3. More than half of the time",
        "4. Less than half of the time",
        "5. Some of the time",
        "6. At no time",
    ]
    assert [button.option for row in question.buttons for button in row][6:] == [False]  # SOS
    await send(conversation, family, "5")  # typed: the fifth button, "Some of the time"
    await send(conversation, family, "٦")  # in Arabic-Indic digits: the sixth, "At no time"
    await send(conversation, family, "3. More than half of the time")  # the whole button
    answers = {row.key: row.value async for row in world.app.database.answer_rows()}
    assert (answers["who5.cheerful"], answers["who5.calm"], answers["who5.active"]) == (1, 0, 3)
