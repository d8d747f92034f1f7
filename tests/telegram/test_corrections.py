"""Correcting a wrong answer on Telegram, end to end: the caseworker picks the check-in, the
answer and the right option with buttons, confirms old → new, and the answer changes; the
family's copy or a forged press of the same button changes nothing.
"""

from __future__ import annotations

from bot.app import Wegwijzer
from bot.telegram import CallbackSigner
from tests.fakes.bot_api import FakeBotAPI

from .conftest import RunningBot, answers_of, family_at_first_who5, staff
from .test_flag_review import BUTTON_NOT_VALID, report_child_unsafe


async def test_a_caseworker_corrects_an_answer_with_buttons(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    family = await family_at_first_who5(api, wegwijzer, case_code)
    await report_child_unsafe(family)  # every WHO-5 item "all of the time" (5)
    await caseworker.skip_to("New urgent flag")

    caseworker.command("/correct", case_code)
    runs = await caseworker.skip_to("in which one is the wrong answer?")
    (first,) = runs["reply_markup"]["inline_keyboard"][0]
    assert first["text"].startswith("Family check-in · ")
    caseworker.press(first["text"], runs)
    listed = await caseworker.skip_to("which answer is wrong?")
    assert (
        "3. Over the last two weeks:\nI have felt calm and relaxed — All of the time"
        in (listed["text"])
    )
    caseworker.press("3", listed)
    options = await caseworker.skip_to("The answer now: All of the time")
    caseworker.press("Some of the time", options)
    confirm = await caseworker.skip_to("Change the answer from All of the time to Some of")
    _message, data = caseworker.button_data("Yes, correct it", confirm)
    caseworker.press("Yes, correct it", confirm)
    await caseworker.skip_to("Corrected: All of the time → Some of the time.")
    assert (await answers_of(wegwijzer))["who5.calm"] == 1

    # The family pressing a copy of the button, or a payload signed for them: refused.
    target = api.sent(family.chat_id)[-1]
    copied = api.press(family.user, target, data, strict=False)
    assert (await family.answered(copied)).get("text") in BUTTON_NOT_VALID
    run = data.split(":")[2]
    forged = CallbackSigner.from_token(api.token).sign(family.user.id, "r", "", run, 3, "5")
    query = api.press(family.user, target, forged, strict=False)
    assert (await family.answered(query)).get("text") in (
        "/correct is not available for your role.",
        "/correct is niet beschikbaar voor jouw rol.",
    )
    # The caseworker's own button again: already so, nothing changes.
    caseworker.press("Yes, correct it", confirm)
    await caseworker.skip_to("The answer is already Some of the time: nothing changed.")
    assert (await answers_of(wegwijzer))["who5.calm"] == 1
    async with wegwijzer.database.reading() as uow:
        events = [e for e in await uow.audit.events(None) if e.action == "answer_corrected"]
    assert [event.note for event in events] == ["5"]
