"""End to end on Telegram: the ways Telegram and people really behave.

Restarts mid-flow, buttons pressed twice or days later, updates delivered twice, forged
button payloads, photos where text was expected, overlong messages, a blocked bot, flood
control, and several updates of one person arriving at once.
"""

from __future__ import annotations

import logging

import pytest

from bot import logs
from bot.app import Wegwijzer
from tests.fakes.bot_api import FakeBotAPI

from .conftest import (
    Clock,
    RunningBot,
    answers_of,
    family_at_first_who5,
    invite_code,
    onboard,
    person,
)


async def test_restart_mid_flow_continues_where_the_person_was(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    question = family.last_with_buttons()
    await bot.restart()

    family.press("De hele tijd", question)  # a button from before the restart still works
    await family.expect("rustig en ontspannen")
    await bot.restart()

    family.command("/start")  # coming back after a while: a short reminder of the question
    await family.expect("Welkom terug")
    await family.expect("rustig en ontspannen")
    family.text("2")  # typed: the second option
    await family.expect("actief en energiek")
    assert await answers_of(wegwijzer) == {
        "checkin.consent": True,
        "who5.cheerful": 5,
        "who5.calm": 4,
    }


async def test_a_button_pressed_twice_records_one_answer(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    question = family.last_with_buttons()
    first = family.press("Nooit", question)
    second = family.press("De hele tijd", question)  # a quick second press, another option

    await family.expect("rustig en ontspannen")
    assert (await family.answered(second)).get("text") == "Deze vraag is al beantwoord."
    assert "text" not in await family.answered(first)
    await family.expect_nothing_from(bot)
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 0


async def test_a_plain_answer_goes_the_drivers_way_and_anything_else_the_repositories(
    api: FakeBotAPI,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.services import runs

    ways: list[str] = []
    plainly, take_option = runs._answer_plainly, runs.take_option

    async def driver(*args, **kwargs):
        outcome = await plainly(*args, **kwargs)
        ways.append("driver" if isinstance(outcome, runs.PressedBy) else "not plain")
        return outcome

    async def repositories(*args, **kwargs):
        ways.append("repositories")
        return await take_option(*args, **kwargs)

    monkeypatch.setattr(runs, "_answer_plainly", driver)
    monkeypatch.setattr(runs, "take_option", repositories)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    ways.clear()
    question = family.last_with_buttons()
    family.press("Nooit", question)
    await family.expect("rustig en ontspannen")
    assert ways == ["driver"]  # one transaction on the driver, nothing else
    # The same button again: the run moved on, so the repositories' way says so.
    again = family.press("De hele tijd", question, strict=False)
    assert (await family.answered(again)).get("text") == "Deze vraag is al beantwoord."
    assert ways == ["driver", "not plain", "repositories"]
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 0


async def test_an_old_button_pressed_days_later_records_nothing(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    old = family.last_with_buttons()
    family.press("Het grootste deel van de tijd", old)
    await family.expect("rustig en ontspannen")
    clock.advance(days=6)

    # The old message lost its buttons; a client that still shows them sends the old data.
    late = family.press("Nooit", old, strict=False)
    assert (await family.answered(late)).get("text") == "Deze vraag is al beantwoord."
    await family.expect_nothing_from(bot)
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 4


async def test_an_update_delivered_twice_is_handled_once(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    question = family.last_with_buttons()
    _, data = family.button_data("Af en toe", question)
    # Telegram serves an update again when the bot did not confirm it (it stopped between
    # handling and the next poll): the bot then gets the same update_id twice in one poll.
    await bot.stop()
    handled = bot.activity.updates_handled
    api.press(family.user, question, data, update_id=777_001)
    api.press(family.user, question, data, update_id=777_001, strict=False)
    family.text("1", update_id=777_002)
    family.text("1", update_id=777_002)
    await bot.start()
    await family.expect("rustig en ontspannen")
    await family.expect("actief en energiek")
    await family.expect_nothing_from(bot)
    assert bot.activity.updates_handled - handled == 4  # all four reached the handler
    assert await answers_of(wegwijzer) == {
        "checkin.consent": True,
        "who5.cheerful": 1,
        "who5.calm": 5,
    }


@pytest.mark.parametrize(
    "tamper",
    [
        lambda data: data[:-1] + ("A" if data[-1] != "A" else "B"),  # signature changed
        lambda data: data.replace(":0:", ":1:", 1),  # option changed, signature kept
        lambda data: "a:1:3:0:forgedsignatu",  # made up
        lambda data: "garbage",
    ],
    ids=["signature", "field", "made-up", "garbage"],
)
async def test_a_forged_button_is_rejected_and_logged_without_content(
    api: FakeBotAPI,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    caplog: pytest.LogCaptureFixture,
    tamper,
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    question = family.last_with_buttons()
    _, data = family.button_data("De hele tijd", question)
    with caplog.at_level(logging.INFO):
        query = api.press(family.user, question, tamper(data), strict=False)
        assert (await family.answered(query)).get("text") == "Deze knop is niet geldig."
    await family.expect_nothing_from(bot)
    assert "who5.cheerful" not in await answers_of(wegwijzer)
    rejected = [record for record in caplog.records if record.getMessage() == "callback rejected"]
    assert rejected and all(tamper(data) not in str(vars(record)) for record in rejected)


async def test_a_button_of_someone_else_is_not_valid_for_me(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    other = person(api, 1002, "Andere ouder")
    await onboard(other, await invite_code(wegwijzer, "family", case_code))
    _, data = family.button_data("Nooit", family.last_with_buttons())
    query = api.press(other.user, other.last_with_buttons(), data, strict=False)
    assert (await other.answered(query)).get("text") == "Deze knop is niet geldig."
    assert "who5.cheerful" not in await answers_of(wegwijzer)


@pytest.mark.parametrize("send", ["send_photo", "send_sticker", "send_voice", "send_document"])
async def test_no_text_where_text_was_expected_gets_a_polite_reask(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, send: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    getattr(api, send)(family.user)
    await family.expect("Kies alsjeblieft een van de zes antwoorden.")
    again = await family.expect("vrolijk")
    assert again["reply_markup"]["inline_keyboard"], "the question comes back with its buttons"
    assert await answers_of(wegwijzer) == {"checkin.consent": True}


async def test_a_message_over_the_limit_is_refused_with_the_limit_stated(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    for label in ["De hele tijd"] * 5 + ["Ja, genoeg", "Elke dag", "Goed", "Ja", "Ja"]:
        family.press(label)
        question = await family.next()
        while not question.get("reply_markup") and "Schrijf je bericht" not in question["text"]:
            question = await family.next()  # a message between questions
    assert "Schrijf je bericht" in question["text"]
    family.text("x" * 4000)
    await family.expect("maximaal 1.000 tekens")
    await family.expect("Schrijf je bericht")  # asked again
    family.text("Alles goed.")
    await family.expect("Is iedereen thuis op dit moment veilig?")
    assert (await answers_of(wegwijzer))["caseworker.message"] == "Alles goed."


async def test_a_person_who_blocked_the_bot_is_marked_unreachable_and_their_caseworker_told(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = person(api, 2001, "Begeleider", language="en")
    await onboard(caseworker, await invite_code(wegwijzer, "caseworker", case_code), "English")
    family = await family_at_first_who5(api, wegwijzer, case_code)

    api.block(family.chat_id)
    family.press("De hele tijd")  # the bot's next question cannot be delivered: 403
    told = await caseworker.expect(f"case {case_code} has blocked the bot")
    assert "Testouder" not in told["text"]
    async with wegwijzer.database.reading() as uow:
        assert (await uow.people.get("telegram", "1001")).status == "unreachable"

    api.unblock(family.chat_id)
    family.text("1")  # writing again makes them reachable again
    await family.api.wait_for(
        lambda _c: any("actief" in (m.get("text") or "") for m in family.messages())
    )
    async with wegwijzer.database.reading() as uow:
        assert (await uow.people.get("telegram", "1001")).status == "active"


async def test_flood_control_is_honoured(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.fail_next("sendMessage", error_code=429, retry_after=1)
    family.press("De hele tijd")
    await family.expect("rustig en ontspannen", timeout=10)  # sent again after retry_after
    refused = [call for call in api.calls_of("sendMessage") if call.status == 429]
    assert len(refused) == 1


async def test_updates_of_one_person_are_handled_in_order(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    for typed in ["1", "2", "3", "4", "5"]:  # all five WHO-5 answers arrive at once
        family.text(typed)
    await family.api.wait_for(
        lambda _c: any("genoeg te eten" in (m.get("text") or "") for m in family.messages()), 10
    )
    answers = await answers_of(wegwijzer)
    assert [
        answers[key]
        for key in ("who5.cheerful", "who5.calm", "who5.active", "who5.rested", "who5.interested")
    ] == [5, 4, 3, 2, 1]


async def test_logs_carry_ids_and_events_never_names_texts_or_answers(
    api: FakeBotAPI,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret_words = ["Testouder", "Geheimzinnig bericht", "Nooit", "Kies alsjeblieft", api.token]
    logs.configure("DEBUG")  # the most a deployment can ask for
    with caplog.at_level(logging.DEBUG):
        family = await family_at_first_who5(api, wegwijzer, case_code)
        family.press("Nooit")
        await family.expect("rustig")
        family.text("Geheimzinnig bericht")
        await family.expect("Kies alsjeblieft")
    ours = [record for record in caplog.records if record.name.startswith("bot.")]
    assert ours, "the bot logs its events"
    for record in caplog.records:  # ours and the libraries' alike
        rendered = f"{record.getMessage()} {vars(record)}"
        for word in secret_words:
            assert word not in rendered, f"{word!r} leaked into a log record: {record.name}"


async def test_a_failure_while_handling_is_told_and_nothing_is_half_stored(
    api: FakeBotAPI,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.services import runs

    family = await family_at_first_who5(api, wegwijzer, case_code)
    question = family.last_with_buttons()
    real = runs.take_option  # what the repositories' way to an answer comes to
    real_resume = wegwijzer.engine.resume  # and the driver's way (`_answer_plainly`)

    async def failing(*args, **kwargs):
        raise RuntimeError("database went away")

    def failing_resume(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(runs, "take_option", failing)
    monkeypatch.setattr(wegwijzer.engine, "resume", failing_resume)
    query = family.press("Nooit", question)
    reply = await family.answered(query)
    assert "ging iets mis" in reply["text"]
    assert "database went away" not in caplog.text  # the log names the error type only
    assert "who5.cheerful" not in await answers_of(wegwijzer)

    monkeypatch.setattr(runs, "take_option", real)
    monkeypatch.setattr(wegwijzer.engine, "resume", real_resume)
    family.press("Nooit", question)  # trying again works: the buttons are still there
    await family.expect("rustig en ontspannen")
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 0


async def test_a_press_answered_too_late_or_on_an_inaccessible_message_still_goes_on(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    question = family.last_with_buttons()
    _, data = family.button_data("Nooit", question)
    # After downtime Telegram refuses to answer old callback queries...
    api.fail_next(
        "answerCallbackQuery",
        error_code=400,
        description="Bad Request: query is too old and response timeout expired",
    )
    # ...and an old message may come as an InaccessibleMessage (date 0, no text).
    api.queue_update(
        {
            "callback_query": {
                "id": "late-1",
                "from": family.user.to_dict(),
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": question["message_id"],
                    "chat": family.user.chat(),
                    "date": 0,
                },
            }
        }
    )
    await family.expect("rustig en ontspannen")  # the next question still comes
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 0


@pytest.mark.parametrize("method", ["answerCallbackQuery", "editMessageText"])
async def test_a_server_error_on_the_press_itself_does_not_lose_the_next_question(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, method: str
) -> None:
    """Answering the press and marking the choice on the question are cosmetic: the answer is
    stored, so a 500 there must not turn the reply into an apology."""
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.fail_next(method, 500, chat_id=None if method == "answerCallbackQuery" else family.chat_id)
    family.press("Nooit")
    await family.expect("rustig en ontspannen")
    assert [c.status for c in api.calls_of(method)][-1] == 500
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 0
