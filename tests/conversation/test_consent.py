"""Consent that means something (issue #15, item 3): withdrawing it with /privacy stops
processing for the person — nothing started or stored, a short answer saying why — while the
emergency route works as before; what is kept and why is shown; the staff following the case
are told; giving it again resumes. The consent text says who is responsible, on which basis,
how long, the rights and where to ask, from the deployment's privacy policy.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import Assets, Wegwijzer
from bot.config import Settings
from bot.conversation import Conversation
from bot.conversation.intents import Answer, CheckIn
from bot.rules.people import Participant
from bot.rules.privacy import PrivacyPolicy, Term
from bot.services import texts
from tests.conversation.test_pipeline import help_lines, open_flags, send
from tests.world import CASE_A, World, add_person, external_id, reread
from tests.world import render as say

# Invented values, unlike the shipped example's, so the text shown can only come from here.
PRIVACY_YAML = """\
controller: Stichting Testhulp Noord (invented)
contact: loket@testhulp.example
legal_basis: legal_obligation
retention:
  case_file: 15 years
  contact: 1 month
  processed_updates: 2 days
  notices: 30 days
  invites: 1 week
"""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "privacy.yaml"
    path.write_text(PRIVACY_YAML, encoding="utf-8")
    return replace(settings, privacy_file=path)


@pytest.fixture
def assets(assets: Assets, settings: Settings) -> Assets:
    """The shipped flows and catalogs, with the test's privacy policy."""
    return replace(assets, privacy=PrivacyPolicy.load(settings.privacy_path))


@pytest.fixture
def conversation(world: World) -> Conversation:
    return Conversation(world.app)


async def answer_count(app: Wegwijzer) -> int:
    return len([row async for row in app.database.answer_rows()])


async def queued_for(app: Wegwijzer, who: Participant) -> list[str]:
    """The msgids of the notices waiting for a person."""
    async with app.database.reading() as uow:
        return [
            str(notice.body["text"]["msgid"])
            for notice in await uow.outbox.of_person(who.person_id, "queued")
        ]


async def consent_events(app: Wegwijzer) -> list[tuple[str, int | None, int | None]]:
    async with app.database.reading() as uow:
        return [
            (event.action, event.actor_id, event.case_id)
            for event in await uow.audit.events()
            if event.action.startswith("consent_")
        ]


async def test_the_consent_text_comes_from_the_privacy_policy(
    world: World, conversation: Conversation
) -> None:
    family = await external_id(world.app, world.family)
    shown = (await send(conversation, family, "/privacy")).text()
    assert "Responsible for your information: Stichting Testhulp Noord (invented)." in shown
    assert say(world.app, texts.LEGAL_BASES["legal_obligation"]) in shown
    assert "kept for 15 years after the case is closed" in shown
    assert "deleted 1 month after you leave" in shown  # the singular, from the plural forms
    assert "Ask at loket@testhulp.example." in shown
    assert "corrected or erased" in shown and "Autoriteit Persoonsgegevens" in shown
    assert shown.endswith(say(world.app, texts.DO_YOU_AGREE))
    staff = await external_id(world.app, world.caseworker)
    assert "loket@testhulp.example" in (await send(conversation, staff, "/privacy")).text()


def test_a_term_reads_in_the_plural_forms_of_the_language(world: World) -> None:
    assert say(world.app, texts.term(Term.parse("1 year"))) == "1 year"
    assert say(world.app, texts.term(Term.parse("20 years"))) == "20 years"
    assert say(world.app, texts.term(Term.parse("2 weeks"))) == "2 weeks"


async def test_withdrawing_stops_answers_and_says_what_is_kept(
    world: World, conversation: Conversation
) -> None:
    app = world.app
    family = await external_id(app, world.family)
    asked = await send(conversation, family, CheckIn())
    question = next(o for o in asked.outputs if getattr(o, "buttons", ()))
    yes: Answer = question.buttons[0][0].intent
    stored = await answer_count(app)

    withdrawn = await send(conversation, family, "/privacy refuse")
    assert (await reread(app, world.family)).consent == "withdrawn"
    assert withdrawn.lines[:2] == [
        say(app, texts.CONSENT_WITHDRAWN),
        say(app, texts.CONSENT_WITHDRAWN_TOLD),
    ]
    assert "stays in the case file for 15 years after the case is closed" in withdrawn.text()
    assert say(app, texts.LEGAL_BASES["legal_obligation"]) in withdrawn.lines
    assert "erasure, at loket@testhulp.example" in withdrawn.text()
    # Their caseworker is told, once, in the caseworker's language; the audit says so.
    assert await queued_for(app, world.caseworker) == [texts.FAMILY_WITHDREW_CONSENT.msgid]
    assert await consent_events(app) == [
        ("consent_withdrawn", world.family.person_id, world.case_a)
    ]

    # Nothing started or stored: a message, the question's button, a command.
    note = [say(app, texts.CONSENT_WITHDRAWN_NOTE)]
    assert (await send(conversation, family, "yes")).lines == note
    assert (await send(conversation, family, yes)).lines == note
    assert (await send(conversation, family, "/checkin")).lines == note
    assert await answer_count(app) == stored
    # Refusing again changes nothing and tells nobody again.
    await send(conversation, family, "/privacy refuse")
    assert len(await queued_for(app, world.caseworker)) == 1

    # Giving it again resumes: told again, in the audit, and the check-in goes on.
    again = await send(conversation, family, "/privacy agree")
    assert say(app, texts.WELCOME["family"]) in again.text()
    assert await queued_for(app, world.caseworker) == [
        texts.FAMILY_WITHDREW_CONSENT.msgid,
        texts.FAMILY_GAVE_CONSENT_AGAIN.msgid,
    ]
    assert [action for action, _, _ in await consent_events(app)] == [
        "consent_withdrawn",
        "consent_given",
    ]
    await send(conversation, family, "/checkin")
    await send(conversation, family, "1")  # the check-in's first question: 1. Yes
    assert await answer_count(app) == stored + 1


async def test_the_emergency_route_works_after_withdrawing(
    world: World, conversation: Conversation
) -> None:
    family = await external_id(world.app, world.family)
    await send(conversation, family, "/privacy refuse")
    heard = await send(conversation, family, "ik wil dood")
    assert heard.lines[: len(help_lines(world.app, ("self_harm",)))] == help_lines(
        world.app, ("self_harm",)
    )
    assert say(world.app, texts.HELP_IS_COMING) in heard.lines
    assert await open_flags(world) == ["emergency"]
    assert (
        (await send(conversation, family, "/sos"))
        .lines[0]
        .startswith("Is someone in danger right now?")
    )


async def test_a_first_refusal_is_no_withdrawal(world: World, conversation: Conversation) -> None:
    newcomer = await add_person(world.app, "family", case=CASE_A, consent=None)
    external = await external_id(world.app, newcomer)
    refused = await send(conversation, external, "/privacy refuse")
    assert say(world.app, texts.CONSENT_REFUSED) in refused.lines
    assert (await reread(world.app, newcomer)).consent == "refused"
    asked = await send(conversation, external, "/checkin")
    assert asked.lines[0] == say(world.app, texts.CONSENT_FIRST)
    assert await queued_for(world.app, world.caseworker) == []
    assert await consent_events(world.app) == []


async def test_coordinators_hear_when_a_caseworker_withdraws_and_gives_it_again(
    world: World, conversation: Conversation
) -> None:
    """Staff without consent are told nothing, flags included: the coordinators must know."""
    app = world.app
    caseworker = await external_id(app, world.caseworker)
    await send(conversation, caseworker, "/privacy refuse")
    assert await queued_for(app, world.coordinator) == [texts.STAFF_WITHDREW_CONSENT.msgid]
    assert await queued_for(app, world.second_coordinator) == [texts.STAFF_WITHDREW_CONSENT.msgid]
    assert await queued_for(app, world.refused_coordinator) == []  # refused: hears nothing
    await send(conversation, caseworker, "/privacy agree")
    assert await queued_for(app, world.coordinator) == [
        texts.STAFF_WITHDREW_CONSENT.msgid,
        texts.STAFF_GAVE_CONSENT_AGAIN.msgid,
    ]
