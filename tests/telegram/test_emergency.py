"""The emergency route on Telegram: numbers first, whatever the bot was doing, and the help
that fits the kind of danger."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Wegwijzer
from bot.i18n.danger import DangerMatch
from bot.rules.alarms import ALARM_KINDS, AlarmKind
from tests.fakes.bot_api import FakeBotAPI

from .conftest import (
    Clock,
    RunningBot,
    family_at_first_who5,
    flags_of,
    invite_code,
    onboard,
    person,
    staff,
)

LOCALES = Path(__file__).resolve().parents[2] / "locales"
# The help for immediate danger, in Dutch: its first helpline's name (locales/helplines.yaml).
HELP = "Alarmnummer"


def first_phrase(language: str) -> str:
    """The list's first plain phrase of immediate danger (no pattern syntax in it)."""
    lines = (LOCALES / language / "danger_words.txt").read_text("utf-8").splitlines()
    start = lines.index("[immediate_danger]")
    return next(line for line in lines[start:] if re.fullmatch(r"\w+( \w+)*", line))


async def test_sos_before_onboarding_gives_the_numbers_and_stores_nothing(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer
) -> None:
    stranger = person(api, 9001, "Onbekend", language="nl")
    stranger.command("/sos")
    reply = await stranger.expect(HELP)
    assert (
        "112" in reply["text"] and "Veilig Thuis" in reply["text"] and "0800-2000" in reply["text"]
    )
    stranger.command("/sos")  # never throttled
    await stranger.expect(HELP)
    async with wegwijzer.database.reading() as uow:
        assert await uow.people.get("telegram", "9001") is None
    assert await flags_of(wegwijzer) == []


async def test_danger_words_mid_flow_raise_an_urgent_flag_and_keep_the_flow(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)

    family.text(f"Alsjeblieft, {first_phrase('nl')}!")
    first = await family.next()
    assert HELP in first["text"], "the emergency numbers come before anything else"
    await family.expect("zijn gewaarschuwd")
    await family.expect("kun je hier verder")
    again = await family.expect("vrolijk")  # the interrupted question, still open
    told = await caseworker.expect(f"New urgent flag for case {case_code}")
    assert "emergency route" in told["text"]

    (flag,) = await flags_of(wegwijzer)
    assert (flag.level, flag.rule, flag.evidence["trigger"]) == (
        "urgent",
        "emergency",
        first_phrase("nl"),
    )
    family.press("De hele tijd", again)  # and the check-in goes on
    await family.expect("rustig en ontspannen")


async def test_the_help_button_and_repeated_alarms_make_one_flag_with_more_evidence(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    family.press("🆘 Ik heb nu hulp nodig")
    await family.expect(HELP)
    await family.skip_to("vrolijk")  # the question again, after the numbers
    family.command("/sos")
    await family.expect(HELP)
    await family.skip_to("vrolijk")
    (flag,) = await flags_of(wegwijzer)
    assert flag.evidence["trigger"] == "button"
    assert [repeat["trigger"] for repeat in flag.evidence["repeats"]] == ["sos"]


@pytest.mark.parametrize("language", ["nl", "en", "ar", "tr", "pl", "uk", "fr", "sw"])
async def test_danger_words_of_every_language_are_heard(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, language: str
) -> None:
    stranger = person(api, 9100, "Onbekend", language=language)
    stranger.text(first_phrase(language))
    reply = await stranger.next()
    assert "112" in reply["text"] and "0800-2000" in reply["text"]


async def test_one_unreachable_staff_chat_does_not_break_the_alarm(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    """A 502 for one coordinator's chat: the family still hears that help is coming, the
    other coordinator is still told."""
    told = person(api, 3001, "Coordinator", language="en")
    await onboard(told, await invite_code(wegwijzer, "coordinator"), "English")
    failing = person(api, 3002, "Coordinator", language="en")
    await onboard(failing, await invite_code(wegwijzer, "coordinator"), "English")
    family = await family_at_first_who5(api, wegwijzer, case_code)

    api.fail_next("sendMessage", 502, chat_id=failing.chat_id)
    family.command("/sos")
    await family.expect(HELP)
    await family.expect("zijn gewaarschuwd")
    await family.expect("kun je hier verder")
    await told.expect("New urgent flag")
    await api.wait_for(
        lambda calls: any(c.status == 502 and c.params["chat_id"] == failing.chat_id for c in calls)
    )


async def test_a_caption_an_edited_message_and_the_help_label_typed_are_alarms(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    api.send_photo(family.user, caption="help me, hij slaat me")
    await family.expect(HELP)
    await family.skip_to("vrolijk")
    sent = family.text("Het gaat wel")  # then changed into a call for help
    await family.skip_to("vrolijk")  # not one of the answers: asked again
    api.edit_text(family.user, sent["message"], "het gaat niet, ik ben in gevaar")
    await family.expect(HELP)
    await family.skip_to("vrolijk")
    for typed in ("Ik heb nu hulp nodig", "SOS!", "🆘 I need help now"):
        family.text(typed)
        await family.expect(HELP)
        await family.skip_to("vrolijk")
    (flag,) = await flags_of(wegwijzer)
    triggers = [flag.evidence["trigger"]] + [r["trigger"] for r in flag.evidence["repeats"]]
    assert triggers == ["help me", "in gevaar", "sos", "sos", "sos"]


async def test_in_a_group_the_numbers_and_an_invitation_to_write_privately_only(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    family = await family_at_first_who5(api, wegwijzer, case_code)
    group = -100_555
    api.add_group(group, "Buurtgroep")
    api.send_command(family.user, "/sos@wegwijzer_test_bot", group=group)
    api.send_text(family.user, "hij slaat me, help", group=group)
    api.send_text(family.user, "hallo allemaal", group=group)  # not for the bot
    await api.wait_for(lambda _calls: len(api.sent(group)) == 4)
    await family.expect_nothing_from(bot)
    texts = [message["text"] for message in api.sent(group)]
    assert len(texts) == 4 and "Bel 112" in texts[0]  # both alarms at once: in either order
    numbers = [text for text in texts if "Bel 112" in text]
    invitations = [text for text in texts if "https://t.me/wegwijzer_test_bot" in text]
    assert len(numbers) == 2 and len(invitations) == 2 and len(set(invitations)) == 1
    assert not any("slaat" in text or "hallo" in text for text in texts)  # never repeated
    assert await flags_of(wegwijzer) == []
    assert await wegwijzer.journal.pending() == []


async def test_twenty_alarms_in_a_minute_reach_the_caseworker_as_two_messages(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    for _ in range(20):
        family.command("/sos")
        await family.expect(HELP)  # every time, at once
        await family.skip_to("vrolijk")
        clock.advance(seconds=3)
    await caseworker.expect("New urgent flag")
    await caseworker.expect_nothing_from(bot)
    clock.advance(minutes=5)
    again = await caseworker.expect("Again: urgent flag")
    assert "Reports since the last notice: 19" in again["text"]
    await caseworker.expect_nothing_from(bot)


# --- help that fits the danger --------------------------------------------------------------

# One invented phrase per kind of alarm: the real danger lists are another part of issue #14,
# and the help must not depend on them.
PHRASES: dict[AlarmKind, str] = {
    "immediate_danger": "zwarte wolk boven ons",
    "violence_at_home": "de storm in de keuken",
    "self_harm": "het lange donker",
    "child_speaking": "de kleine stem",
}
# What the Dutch family must read (helpline names and numbers from locales/helplines.yaml),
# and how the English notice to the caseworker names the kind.
GIVEN: dict[AlarmKind, tuple[str, ...]] = {
    "immediate_danger": ("Alarmnummer", "112", "Veilig Thuis", "0800-2000"),
    "violence_at_home": ("Alarmnummer", "112", "Veilig Thuis", "0800-2000"),
    "self_harm": ("113 Zelfmoordpreventie", "0800-0113", "113.nl", "Alarmnummer", "112"),
    "child_speaking": ("De Kindertelefoon", "0800-0432", "kindertelefoon.nl", "Alarmnummer"),
}
NAMED: dict[AlarmKind, str] = {
    "immediate_danger": "The person asked for help now",
    "violence_at_home": "Violence at home:",
    "self_harm": "Self-harm:",
    "child_speaking": "A child asking for help:",
}


class OneKindEach:
    """A danger matcher that knows `PHRASES` only, each with its kind."""

    def find(self, text: str) -> DangerMatch | None:
        for kind, phrase in PHRASES.items():
            if phrase in text.casefold():
                return DangerMatch(phrase, (kind,))
        return None


@pytest.fixture
def phrases_of_each_kind(wegwijzer: Wegwijzer) -> None:
    """Before the bot starts (request it before `bot`): the bot hears `PHRASES`."""
    wegwijzer.assets = replace(wegwijzer.assets, danger=OneKindEach())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ALARM_KINDS)
async def test_each_kind_of_alarm_gets_its_help_and_the_caseworker_is_told_its_kind(
    api: FakeBotAPI,
    phrases_of_each_kind: None,
    bot: RunningBot,
    wegwijzer: Wegwijzer,
    case_code: str,
    kind: AlarmKind,
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)

    family.text(f"Ik schrijf het maar: {PHRASES[kind]}")
    given = (await family.next())["text"]  # the help, before anything else
    assert all(words in given for words in GIVEN[kind]), given
    if kind == "self_harm":
        assert given.index("0800-0113") < given.index("112") and "0800-2000" not in given
    await family.skip_to("vrolijk")  # and the check-in goes on
    told = await caseworker.expect(f"New urgent flag for case {case_code}")
    assert NAMED[kind] in told["text"] and PHRASES[kind] not in told["text"]
    (flag,) = await flags_of(wegwijzer)
    assert (flag.evidence["trigger"], flag.evidence["kinds"]) == (PHRASES[kind], [kind])
