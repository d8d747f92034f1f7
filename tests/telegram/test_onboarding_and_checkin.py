"""End to end on Telegram: invites, onboarding, a whole check-in with buttons, staff menus."""

from __future__ import annotations

from datetime import date

import pytest

from bot.app import Wegwijzer
from bot.engine import Text
from tests.fakes.bot_api import FakeBotAPI

from .conftest import RunningBot, answers_of, family_at_first_who5, invite_code, onboard, person

WRITE_YOUR_MESSAGE = (
    "Write your message. Only your caseworker and their team will read it. If it shows that a "
    "child is not safe, they may report it to child protection, even without your permission."
)
THANKS = "Thank you for your check-in. Your next check-in is on {next_checkin}."
WHO5_NL = ["De hele tijd", "Het grootste deel van de tijd", "De hele tijd", "Af en toe", "Nooit"]


async def test_family_joins_by_invite_and_does_the_whole_checkin(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    code = await invite_code(wegwijzer, "family", case_code)
    family = person(api, 1001, "Testouder", language="nl")

    family.command("/start", code)
    choose = await family.expect("Welke taal wil je gebruiken?")
    labels = [row[0]["text"] for row in choose["reply_markup"]["inline_keyboard"]]
    assert labels == [  # each language in its own name
        "Nederlands",
        "English",
        "العربية",
        "Türkçe",
        "Polski",
        "Українська",
        "Français",
        "Kiswahili",
    ]

    family.press("Nederlands")
    privacy = await family.expect("Wat we bewaren")
    assert "Wie het ziet" in privacy["text"] and "/privacy" in privacy["text"]
    assert api.message(family.chat_id, choose["message_id"])["text"] == (
        "De taal is nu Nederlands."
    )
    family.press("Ik ga akkoord")
    await family.expect("Je kunt je check-in nu starten")
    menu = api.commands[(f"chat:{family.chat_id}", "")]
    assert [command["command"] for command in menu] == [
        "checkin",
        "guide",
        "stop",
        "resume",
        "sos",
        "help",
        "language",
        "privacy",
        "cancel",
    ]

    family.press("Check-in starten")
    consent = await family.expect("Dit is je check-in")
    family.press("Ja", consent)
    await family.expect("Eerst vijf vragen")
    for label in WHO5_NL:
        question = await family.expect("In de afgelopen twee weken")
        family.press(label, question)
    await family.expect("een paar vragen over de kinderen")
    for label in ["Ja, genoeg", "Elke dag", "Goed", "Ja"]:
        question = await family.next()
        family.press(label, question)
    write = await family.expect("Wil je een bericht schrijven")
    family.press("Ja", write)
    await family.expect("Schrijf je bericht")
    family.text("Kunt u volgende week langskomen?")
    safe = await family.expect("Is iedereen thuis op dit moment veilig?")
    family.press("Ja", safe)
    await family.expect("Je volgende check-in is op 11 december 2026")

    # Each answered question lost its buttons and shows the chosen answer.
    answered = api.message(family.chat_id, safe["message_id"])
    assert answered["text"].endswith("✅ Ja")
    assert "reply_markup" not in answered or not answered["reply_markup"].get("inline_keyboard")
    assert await answers_of(wegwijzer) == {
        "checkin.consent": True,
        "who5.cheerful": 5,
        "who5.calm": 4,
        "who5.active": 5,
        "who5.rested": 1,
        "who5.interested": 0,
        "children.food": "enough",
        "children.school": "every_day",
        "children.health": "good",
        "children.safe_at_home": "yes",
        "caseworker.wants_to_write": True,
        "caseworker.message": "Kunt u volgende week langskomen?",
        "safety.everyone_safe_now": True,
    }
    # Every callback query was answered, and no button carried more than 64 bytes.
    queries = [call for call in api.calls_of("answerCallbackQuery")]
    assert len(queries) == len(api.answered_callbacks) >= 13


async def test_a_used_invite_does_not_work_twice(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    code = await invite_code(wegwijzer, "family", case_code)
    first = person(api, 1001, "Eerste")
    await onboard(first, code)

    second = person(api, 1002, "Tweede")
    second.command("/start", code)
    await second.expect("alleen gebruiken met een persoonlijke uitnodiging")
    async with wegwijzer.database.reading() as uow:
        assert await uow.people.get("telegram", "1002") is None


async def test_an_expired_invite_is_refused(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock
) -> None:
    code = await invite_code(wegwijzer, "family", case_code)
    clock.advance(days=15)
    late = person(api, 1001, "Laat")
    late.command("/start", code)
    await late.expect("persoonlijke uitnodiging")
    async with wegwijzer.database.reading() as uow:
        assert await uow.people.get("telegram", "1001") is None


async def test_refusing_consent_is_respected_and_recorded(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    code = await invite_code(wegwijzer, "family", case_code)
    family = person(api, 1001, "Testouder", language="en")
    family.command("/start", code)
    await family.expect("Which language")
    family.press("English")
    await family.expect("What we store")
    family.press("I do not agree")
    await family.expect("nothing more will be asked or stored")

    family.command("/checkin")
    await family.expect("Please answer the question about your information first.")
    await family.expect("What we store")
    async with wegwijzer.database.reading() as uow:
        stored = await uow.people.get("telegram", "1001")
        assert (stored.consent, stored.consent_at is not None) == ("refused", True)
    assert await answers_of(wegwijzer) == {}

    family.command("/privacy")  # changing one's mind
    await family.expect("What we store")
    family.press("I agree")
    await family.expect("You can start your check-in now")


async def test_staff_join_with_their_role_and_see_only_their_commands(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = person(api, 2001, "Begeleider", language="en")
    await onboard(caseworker, await invite_code(wegwijzer, "caseworker", case_code), "English")
    coordinator = person(api, 3001, "Coordinator", language="en")
    await onboard(coordinator, await invite_code(wegwijzer, "coordinator"), "English")

    caseworker.command("/cases")
    cases = await caseworker.expect("Your cases:")
    assert (
        f"{case_code} · family strengthening · last check-in: none yet · 0 open flags"
        in (cases["text"])
    )
    caseworker.command("/checkin")
    await caseworker.expect("/checkin is not available for your role.")
    caseworker.command("/guide")
    guides = await caseworker.expect("Guidance available to you:")
    assert [b["text"] for row in guides["reply_markup"]["inline_keyboard"] for b in row] == [
        f"{title} · {case_code}"
        # A family-strengthening case: its closure check, no reintegration navigator.
        for title in (
            "Case closure readiness",
            "Home visit",
            "Meldcode walkthrough",
            "Risk screening",
        )
    ]

    coordinator.command("/flags")
    await coordinator.expect("There are no open flags.")
    coordinator.command("/cases")
    await coordinator.expect("/cases is not available for your role.")
    coordinator.command("/nonsense")
    await coordinator.expect("Unknown command /nonsense.")
    assert [c["command"] for c in api.commands[(f"chat:{coordinator.chat_id}", "")]] == [
        "flags",
        "flag",
        "case",
        "closure",
        "guide",
        "schedule",
        "invite",
        "correct",
        "web",
        "sos",
        "help",
        "language",
        "privacy",
        "cancel",
    ]


async def test_caseworker_invites_a_family_of_their_own_case_only(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = person(api, 2001, "Begeleider", language="nl")
    await onboard(caseworker, await invite_code(wegwijzer, "caseworker", case_code))

    caseworker.command("/invite", case_code)
    invite = await caseworker.expect(f"Uitnodiging voor casus {case_code}")
    assert invite["photo"], "the invite comes as a QR code picture"
    link = invite["caption"].rsplit(" ", 1)[-1]
    assert link.startswith(f"https://t.me/{api.bot_user['username']}?start=")

    family = person(api, 1001, "Testouder")
    await onboard(family, link.rsplit("=", 1)[-1])
    caseworker.command("/invite", "ZZZ-9999")  # no such case, or not theirs: same answer
    await caseworker.expect("Casus ZZZ-9999 is niet een van jouw casussen.")

    family.command("/invite", case_code)
    await family.expect("/invite is niet beschikbaar voor jouw rol.")


@pytest.mark.parametrize("first_words", ["/start", "/start not-a-real-code", "hallo", "/help"])
async def test_a_stranger_gets_an_explanation_and_the_emergency_numbers_only(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, first_words: str
) -> None:
    stranger = person(api, 9001, "Onbekend", language="nl-BE")
    if first_words.startswith("/"):
        name, _, payload = first_words.partition(" ")
        stranger.command(name, payload or None)
    else:
        stranger.text(first_words)
    reply = await stranger.expect("persoonlijke uitnodiging")
    assert "Bel 112" in reply["text"] and "Veilig Thuis 0800-2000" in reply["text"]

    stranger.text("is daar iemand?")  # throttled: one explanation is enough
    await stranger.expect_nothing_from(bot)
    async with wegwijzer.database.reading() as uow:
        assert await uow.people.get("telegram", "9001") is None


async def test_stranger_menus_are_registered_per_language(api: FakeBotAPI, bot: RunningBot):
    assert [c["command"] for c in api.commands[("default", "nl")]] == ["start", "help"]
    assert api.commands[("default", "nl")][0]["description"] == "begin met je uitnodiging"
    assert api.commands[("default", "en")][0]["description"] == "start with your invite"


async def test_switching_language_mid_flow_asks_the_same_question_in_the_new_language(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    family.command("/language")
    choose = await family.expect("Welke taal wil je gebruiken?")
    family.press("English", choose)
    again = await family.expect("Over the last two weeks:\nI have felt cheerful")
    family.press("Most of the time", again)
    await family.expect("Over the last two weeks:\nI have felt calm and relaxed")
    assert (
        api.message(family.chat_id, choose["message_id"])["text"] == "The language is now English."
    )
    menu = api.commands[(f"chat:{family.chat_id}", "")]
    assert menu[0]["description"] == "start your check-in, or continue it"
    assert (await answers_of(wegwijzer))["who5.cheerful"] == 4


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [
        ("ar-SA", "دعوة"),
        ("pt-br", "persoonlijke uitnodiging"),
        ("fr-BE", "invitation"),
        (None, "persoonlijke uitnodiging"),
    ],
)
async def test_a_strangers_language_is_negotiated_from_telegrams_language_code(
    api: FakeBotAPI, bot: RunningBot, language_code: str | None, expected: str
) -> None:
    stranger = person(api, 9002, "Onbekend", language=language_code)
    stranger.command("/start")
    await stranger.expect(expected)


async def test_an_urgent_flag_reaches_the_caseworker_and_coordinators_at_once(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = person(api, 2001, "Begeleider", language="en")
    await onboard(caseworker, await invite_code(wegwijzer, "caseworker", case_code), "English")
    coordinator = person(api, 3001, "Coordinator", language="nl")
    await onboard(coordinator, await invite_code(wegwijzer, "coordinator"))
    family = await family_at_first_who5(api, wegwijzer, case_code)
    for label in ["De hele tijd"] * 5 + ["Ja, genoeg", "Elke dag", "Goed"]:
        family.press(label)
        question = await family.next()
        while not question.get("reply_markup"):
            question = await family.next()
    family.press("Nee", question)  # the children do not feel safe at home

    told = await caseworker.expect(f"New urgent flag for case {case_code}")
    assert "A child does not feel safe at home." in told["text"]
    told_nl = await coordinator.expect(f"casus {case_code}")
    assert "Een kind voelt zich thuis niet veilig." in told_nl["text"]
    await family.expect("Dank je wel dat je dit vertelt")  # the family gets the numbers
    coordinator.command("/flags")
    listed = await coordinator.expect("Open signalen")
    assert case_code in listed["text"]


@pytest.mark.parametrize(
    ("language", "name"),
    [
        ("nl", "Nederlands"),
        ("en", "English"),
        ("ar", "العربية"),
        ("tr", "Türkçe"),
        ("pl", "Polski"),
        ("uk", "Українська"),
        ("fr", "Français"),
        ("sw", "Kiswahili"),
    ],
)
async def test_a_family_does_the_whole_checkin_in_any_shipped_language(
    api: FakeBotAPI,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    language: str,
    name: str,
) -> None:
    family = person(api, 1001, "Testouder", language="nl")
    family.command("/start", await invite_code(wegwijzer, "family", case_code))
    family.press(name, await family.next())
    translate = wegwijzer.catalogs.translator(language)
    family.press(translate(Text("I agree")), await family.next())
    family.press(translate(Text("Start check-in")), await family.next())
    write = translate(Text(WRITE_YOUR_MESSAGE))
    thanks = translate(Text(THANKS, {"next_checkin": date(2026, 12, 11)}))
    message = await family.next()
    while message["text"] != thanks:  # each question answered with its first option
        buttons = (message.get("reply_markup") or {}).get("inline_keyboard")
        if buttons:
            api.press(family.user, message, buttons[0][0]["callback_data"])
        elif message["text"] == write:
            family.text("Test")
        message = await family.next()
    answers = await answers_of(wegwijzer)
    assert len(answers) == 13 and answers["caseworker.message"] == "Test"
    assert answers["who5.cheerful"] == 5 and answers["children.safe_at_home"] == "yes"
