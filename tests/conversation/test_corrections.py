"""Correcting a wrong answer in the bot (`/correct`), the same in every channel: a case's run,
one of its answers, the new value — pressed and confirmed, or typed; refused alike to a
family, to another caseworker and to a button naming what is not theirs; harmless twice.

Played without a channel, as test_pipeline does: pressed buttons are their intents (the
Telegram channel's signature check is tested there), typed lines are text.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.conversation import Button, Conversation, Message
from bot.conversation.intents import Correct
from bot.engine import Choose, Reply
from bot.services.once import AlreadyHandled
from bot.services.runs import answer, start_flow
from tests.conversation.test_pipeline import Heard, send
from tests.flows import CHECKIN_FLOW
from tests.world import CASE_A, CASE_B, World, audit, checkin, external_id, refusals

REFUSED = "This is not an answer you can see or correct."
# In the family check-in, the third question is WHO-5 "calm" (after the check-in's consent
# and "cheerful"), the twelfth the message to the caseworker.
CALM, MESSAGE = "3", "12"


@pytest.fixture
def conversation(world: World) -> Conversation:
    return Conversation(world.app)


def buttons(heard: Heard) -> list[Button]:
    return [
        button
        for output in heard.outputs
        if isinstance(output, Message)
        for row in output.buttons
        for button in row
    ]


async def stored(world: World, run_id: int) -> tuple[dict[str, Any], dict[str, Any], dict]:
    async with world.app.database.reading() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        answers = dict(await uow.answers.of_run(run_id))
        return answers, dict(run.state["answers"]), await uow.scores.of_run(run_id)  # type: ignore[arg-type]


async def corrections(world: World) -> list[Any]:
    return [
        e for e in await audit(world.app, case_id=world.case_a) if e.action == "answer_corrected"
    ]


async def test_the_caseworker_corrects_a_who5_answer_with_buttons(
    world: World, conversation: Conversation
) -> None:
    run_id = await checkin(world.app, world.family)  # every WHO-5 item 3: raw 15
    me = await external_id(world.app, world.caseworker)

    runs = await send(conversation, me, f"/correct {CASE_A.lower()}")
    assert runs.lines[0] == f"Case {CASE_A}: in which one is the wrong answer?"
    assert [b.intent for b in buttons(runs)] == [Correct(None, run_id)]

    listed = await send(conversation, me, Correct(None, run_id))
    assert (
        "3. Over the last two weeks:\nI have felt calm and relaxed — More than half of the time"
        in (listed.lines)
    )
    assert Correct(None, run_id, CALM) in [b.intent for b in buttons(listed)]

    options = await send(conversation, me, Correct(None, run_id, CALM))
    assert "The answer now: More than half of the time" in options.lines
    chosen = {b.intent: b.label for b in buttons(options)}
    assert Correct(None, run_id, CALM, "5", confirmed=0) in chosen

    confirm = await send(conversation, me, Correct(None, run_id, CALM, "5", confirmed=0))
    assert "Change the answer from More than half of the time to All of the time?" in confirm.lines
    assert Correct(None, run_id, CALM, "5") in [b.intent for b in buttons(confirm)]
    assert (await stored(world, run_id))[0]["who5.calm"] == 3  # not before it is confirmed

    done = await send(conversation, me, Correct(None, run_id, CALM, "5"), once="telegram:1")
    assert done.lines[1:] == [
        "Corrected: More than half of the time → All of the time. The old answer is kept in the "
        "audit log.",
        "Score who5_raw is now 17.",
    ]
    answers, state, scores = await stored(world, run_id)
    assert answers["who5.calm"] == state["who5.calm"] == 5 and scores == {"who5_raw": 17.0}
    (event,) = await corrections(world)
    assert (event.actor_id, event.note) == (world.caseworker.person_id, "3")
    assert event.detail == {"run": run_id, "key": "who5.calm", "scores": ["who5_raw"], "flags": []}
    # Every look at the run's answers is on record.
    looks = [
        e for e in await audit(world.app, case_id=world.case_a) if e.action == "answers_viewed"
    ]
    assert looks and all(e.detail == {"run": run_id} for e in looks)

    # The same update again does nothing; the button pressed again (or a week later) finds the
    # answer already so, and changes nothing.
    with pytest.raises(AlreadyHandled):  # the channel drops a redelivered update
        await send(conversation, me, Correct(None, run_id, CALM, "5"), once="telegram:1")
    again = await send(conversation, me, Correct(None, run_id, CALM, "5"))
    assert again.lines == ["The answer is already All of the time: nothing changed."]
    stale = await send(conversation, me, Correct(None, run_id, CALM, "5", confirmed=0))
    assert stale.lines == ["The answer is already All of the time: nothing changed."]
    assert len(await corrections(world)) == 1


async def test_a_coordinator_corrects_by_typing_and_a_flag_is_raised(
    world: World, conversation: Conversation
) -> None:
    run_id = await checkin(world.app, world.family)
    me = await external_id(world.app, world.coordinator)
    done = await send(conversation, me, f"/correct {run_id} children.safe_at_home no")
    assert "Corrected: Yes → No. The old answer is kept in the audit log." in done.lines
    assert "The corrected answer raised a flag (urgent): A child does not feel safe at home." in (
        done.lines
    )
    async with world.app.database.reading() as uow:
        assert [f.rule for f in await uow.flags.open_flags([world.case_a])] == [
            "child_unsafe_at_home"
        ]
    (event,) = await corrections(world)
    assert (event.actor_role, event.note) == ("coordinator", '"yes"')


async def test_refused_alike_to_a_family_another_caseworker_and_a_button_not_theirs(
    world: World, conversation: Conversation
) -> None:
    run_id = await checkin(world.app, world.family)
    run_b = await checkin(world.app, world.family_b)
    family = await external_id(world.app, world.family)
    other = await external_id(world.app, world.other_caseworker)
    mine = await external_id(world.app, world.caseworker)
    before = await stored(world, run_id)

    typed = await send(conversation, family, f"/correct {run_id} who5.calm 5")
    assert typed.lines == ["/correct is not available for your role."]
    pressed = await send(conversation, family, Correct(None, run_id, CALM, "5"))
    assert pressed.lines == ["/correct is not available for your role."]
    assert (await send(conversation, other, f"/correct {CASE_A}")).lines == [
        f"Case {CASE_A} is not one of your cases."
    ]
    for wanted in (
        Correct(None, run_id),
        Correct(None, run_id, CALM),
        Correct(None, run_id, CALM, "5", confirmed=0),
        Correct(None, run_id, CALM, "5"),
    ):
        assert (await send(conversation, other, wanted)).lines == [REFUSED]
    # Their own caseworker, with a button naming another case's run, an answer the flow does
    # not have, an option the question does not have, or a run that does not exist.
    for wanted in (
        Correct(None, run_b, CALM, "5"),
        Correct(None, run_b),
        Correct(None, run_id, "99"),
        Correct(None, run_id, CALM, "7", confirmed=0),
        Correct(None, run_id + 1000, CALM, "5"),
        Correct(None, 2**40, CALM),
    ):
        assert (await send(conversation, mine, wanted)).lines == [REFUSED], wanted
    assert (await send(conversation, mine, f"/correct {CASE_B}")).lines == [
        f"Case {CASE_B} is not one of your cases."
    ]

    assert await stored(world, run_id) == before
    assert await corrections(world) == []
    refused = [(actor, detail) for actor, _, _, _, detail in await refusals(world.app)]
    assert (world.family.person_id, {"what": "run", "action": "correct"}) in refused
    assert (world.other_caseworker.person_id, {"what": "case", "action": "correct"}) in refused
    assert (world.caseworker.person_id, {"what": "run", "action": "correct"}) in refused


async def checkin_with_message(world: World, message: str) -> int:
    """A family check-in whose family wrote their caseworker a message."""
    turn = await start_flow(world.app, world.family, CHECKIN_FLOW)
    inputs: list[Any] = [
        *(Choose(value) for value in (True, 3, 3, 3, 3, 3, "enough", "every_day", "good")),
        Choose("yes"),
        Choose(True),
        Reply(message),
        Choose(True),
    ]
    for given in inputs:
        turn = await answer(world.app, world.family, given)
        assert turn is not None
    return turn.run_id


async def test_a_typed_value_the_question_refuses_changes_nothing(
    world: World, conversation: Conversation
) -> None:
    run_id = await checkin_with_message(world, "Plese call me")
    me = await external_id(world.app, world.caseworker)
    asked = await send(conversation, me, Correct(None, run_id, MESSAGE))
    assert asked.lines[-2:] == [
        "The answer now: Plese call me",
        "Type the right answer, or /cancel to stop.",
    ]
    too_long = await send(conversation, me, "x" * 1001)
    assert too_long.lines == [
        "Nothing was changed: Please write your message as text, at most 1,000 characters.",
        "Type the right answer, or /cancel to stop.",
    ]
    assert (await stored(world, run_id))[0]["caseworker.message"] == "Plese call me"
    # Still asked: the next message is the value.
    done = await send(conversation, me, "Please call me")
    assert (
        "Corrected: Plese call me → Please call me. The old answer is kept in the audit log."
        in (done.lines)
    )
    answers, state, _ = await stored(world, run_id)
    assert answers["caseworker.message"] == state["caseworker.message"] == "Please call me"
    (event,) = await corrections(world)
    assert event.note == '"Plese call me"'
    # Then an ordinary message again; and /cancel stops a correction being asked for.
    assert "Corrected" not in (await send(conversation, me, "thanks")).text()
    await send(conversation, me, Correct(None, run_id, MESSAGE))
    assert (await send(conversation, me, "/cancel")).lines == ["Stopped: nothing was corrected."]
    assert "Corrected" not in (await send(conversation, me, "Call me")).text()
    assert len(await corrections(world)) == 1
