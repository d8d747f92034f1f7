"""Guidance on Telegram: a caseworker walks through a home visit for one of their cases.

`/guide` offers each guidance flow for each of the caseworker's own cases; the run belongs to
that case, so what it flags lands on that case, and its scores show in `/case`. Another
caseworker cannot start guidance on a case that is not theirs, even with a signed button.
"""

from __future__ import annotations

from bot.app import Wegwijzer
from bot.services import children
from bot.services.cases import create_case
from bot.telegram import CallbackSigner
from tests.fakes.bot_api import FakeBotAPI

from .conftest import Clock, RunningBot, invite_code, onboard, person, staff

# Good everywhere, except abuse and exploitation rated very bad and food security bad.
RATINGS = ["Bad", "Good", "Good", "Good", "Very bad", "Good", "Good", "Good", "Good"]
RATINGS += ["Good", "Good", "Good"]


def _is_question(message: dict) -> bool:
    labels = {
        button["text"].split(". ", 1)[-1]  # a question's option shows its number first
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
        for button in row
    }
    return bool(labels & {"Good", "Yes"})


async def test_a_home_visit_through_guide_flags_its_case_and_shows_in_the_case_view(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str, clock: Clock
) -> None:
    caseworker = await staff(api, wegwijzer, 2001, "caseworker", case_code)
    coordinator = person(api, 3001, "Coordinator", language="en")
    await onboard(coordinator, await invite_code(wegwijzer, "coordinator"), "English")

    # The Child Status Index rates one child: the case's children are offered first.
    await children.add_child(wegwijzer, case_code, birth_year=2015, placement="foster_care")
    await children.add_child(wegwijzer, case_code, birth_year=2018, placement="foster_care")
    caseworker.command("/guide")
    menu = await caseworker.expect("Guidance available to you:")
    caseworker.press(f"Home visit · {case_code}", menu)
    which = await caseworker.skip_to("which child do you rate now?")
    caseworker.press("child 1 (born 2015, foster family)", which)
    await caseworker.skip_to("Home visit: child 1 (born 2015, foster family).")
    question = await caseworker.skip_to("Food security")
    notices = []
    for rating in RATINGS:
        caseworker.press(rating, question)
        question = await caseworker.next()
        while not _is_question(question):
            if "flag for case" in question.get("text", ""):
                notices.append(question)  # the caseworker is told of the urgent flag too
            question = await caseworker.next()
    caseworker.press("No", question)  # no note
    await caseworker.skip_to("the ratings of child 1 (born 2015, foster family) are recorded")
    offered = await caseworker.skip_to("Still to rate in this visit: 1.")
    labels = [b["text"] for row in offered["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["child 2 (born 2018, foster family)"]

    assert [n["text"].split(":")[0] for n in notices] == [f"New urgent flag for case {case_code}"]
    told = await coordinator.expect(f"New urgent flag for case {case_code}")
    assert "abuse and exploitation rated very bad" in told["text"]
    async with wegwijzer.database.reading() as uow:
        case = await uow.cases.by_code(case_code)
        flags = await uow.flags.open_flags([case.id])
    assert sorted(flag.rule for flag in flags) == [
        "csi_abuse_exploitation_very_bad",
        "csi_food_security_bad",
    ]
    assert {flag.evidence.get("csi.abuse_exploitation") for flag in flags} >= {1}
    assert {flag.evidence.get("child") for flag in flags} == {1}

    caseworker.command("/case", case_code)
    view = await caseworker.skip_to(f"Case {case_code}")
    assert "food and nutrition: 6" in view["text"]
    assert "protection: 5" in view["text"]


async def test_guidance_only_for_a_caseworker_s_own_cases(
    api: FakeBotAPI, bot: RunningBot, wegwijzer: Wegwijzer, case_code: str
) -> None:
    async with wegwijzer.database.transaction() as uow:
        other_case = (await create_case(uow, "foster_care")).code
    other = await staff(api, wegwijzer, 2002, "caseworker", other_case)
    other.command("/guide")
    menu = await other.expect("Guidance available to you:")
    labels = [b["text"] for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    # Every caseworkers' guidance flow for their one case (alphabetical by flow id); the
    # caregivers' check is a family flow, and the closure check waits for the closure stage.
    assert labels == [
        f"{title} · {other_case}"
        for title in (
            "Home visit",
            "Meldcode walkthrough",
            "Reintegration navigator",
            "Risk screening",
        )
    ]
    other.command("/guide", case_code)
    await other.expect("You have no cases yet.")

    # A button signed for them, naming a case that is not theirs: refused, nothing started.
    forged = CallbackSigner.from_token(api.token).sign(other.user.id, "g", "home_visit", case_code)
    query = api.press(other.user, menu, forged, strict=False)
    answer = await other.answered(query)
    assert answer.get("text") == f"Case {case_code} is not one of your cases."
    async with wegwijzer.database.reading() as uow:
        person_row = await uow.people.get("telegram", str(other.user.id))
        assert await uow.runs.current(person_row.id) is None
