"""A coordinator decides on a case's closure on the case's page (issue #17: a coordinator's
whole day in the browser): approve, return with a note, reopen — the bot's services, so the
same rules hold and the caseworker is told the same way; a caseworker, a stale form, a
forged one and a coordinator's own proposal change nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.rules.guidance import proposal_id
from bot.services import outbox, texts
from tests.services.test_guidance import closure_check, screen
from tests.world import CASE_A, Clock, World, add_person, audit

from .conftest import sign_in


async def proposed(world: World) -> int:
    """Case A's closure proposed by its caseworker; the proposal's id as the page has it."""
    await screen(world.app, world.caseworker, CASE_A)
    await closure_check(world.app, world.caseworker, CASE_A)
    async with world.app.database.reading() as uow:
        case = await uow.cases.by_code(CASE_A)
        assert case is not None and case.closure_proposed_at is not None
        return proposal_id(case.closure_proposed_at)


async def status(world: World) -> tuple[str, bool]:
    async with world.app.database.reading() as uow:
        case = await uow.cases.by_code(CASE_A)
        assert case is not None
        return case.status, case.closure_proposed_at is not None


async def told(world: World) -> list[str]:
    """What the outbox holds for case A's caseworker."""
    return [
        out.notice.text.msgid
        for out in await outbox.claim(world.app, "telegram", 100)
        if out.notice.recipient.person_id == world.caseworker.person_id
    ]


def outcome(page: httpx.Response) -> str:
    found = re.search(r'id="closure-outcome">([^<]*)<', page.text)
    assert found is not None, page.text
    return found[1]


@pytest.mark.both_backends
async def test_a_coordinator_approves_a_closure_and_reopens_the_case(
    world: World, client: httpx.AsyncClient
) -> None:
    proposal = await proposed(world)
    csrf = await sign_in(world.app, client, world.coordinator)
    page = await client.get(f"/cases/{CASE_A}")
    assert f'name="proposal" value="{proposal}"' in page.text
    assert 'id="approve-closure"' in page.text and 'for="closure-note"' in page.text
    await told(world)  # what the proposal queued, out of the way
    done = await client.post(
        f"/cases/{CASE_A}/closure/approve",
        data={"csrf": csrf, "proposal": str(proposal)},
        follow_redirects=True,
    )
    assert (
        outcome(done) == f"Case {CASE_A} is closed. Its check-in, visit and review reminders stop."
    )
    assert await status(world) == ("closed", False)
    assert await told(world) == [texts.CLOSURE_APPROVED.msgid]
    assert 'id="reopen"' in done.text and 'id="approve-closure"' not in done.text
    # The same form again (pressed twice, or in a second tab): nothing more happens.
    again = await client.post(
        f"/cases/{CASE_A}/closure/approve",
        data={"csrf": csrf, "proposal": str(proposal)},
        follow_redirects=True,
    )
    assert outcome(again) == f"Case {CASE_A} has no closure waiting for a decision."
    reopened = await client.post(
        f"/cases/{CASE_A}/closure/reopen", data={"csrf": csrf}, follow_redirects=True
    )
    assert outcome(reopened).startswith(f"Case {CASE_A} is open again")
    assert await status(world) == ("open", False)
    actions = [e.action for e in await audit(world.app, case_id=world.case_a)]
    assert "case_closed" in actions and "case_reopened" in actions


async def test_a_closure_is_returned_with_a_note_and_never_without(
    world: World, client: httpx.AsyncClient
) -> None:
    proposal = await proposed(world)
    csrf = await sign_in(world.app, client, world.coordinator)
    await told(world)
    form = {"csrf": csrf, "proposal": str(proposal)}
    empty = await client.post(
        f"/cases/{CASE_A}/closure/return", data={**form, "note": "  "}, follow_redirects=True
    )
    assert outcome(empty).startswith("Nothing was changed")
    too_long = await client.post(
        f"/cases/{CASE_A}/closure/return", data={**form, "note": "x" * 4001}, follow_redirects=True
    )
    assert "too long" in outcome(too_long)
    assert await status(world) == ("open", True)
    note = "Invented: one more home visit first."
    returned = await client.post(
        f"/cases/{CASE_A}/closure/return", data={**form, "note": note}, follow_redirects=True
    )
    assert outcome(returned) == (
        f"The closure of case {CASE_A} is returned to its caseworker with your note."
    )
    assert await status(world) == ("open", False)
    assert await told(world) == [texts.CLOSURE_RETURNED_NOTICE.msgid]
    assert note in returned.text  # in the closure's steps


async def test_a_form_for_an_older_proposal_decides_nothing(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    old = await proposed(world)
    csrf = await sign_in(world.app, client, world.coordinator)
    # Returned in the bot meanwhile, and proposed again a minute later.
    from bot.services import guidance

    await guidance.return_closure(world.app, world.coordinator, CASE_A, "Invented: not yet.")
    clock.advance(minutes=1)
    new = await proposed(world)
    assert new != old
    stale = await client.post(
        f"/cases/{CASE_A}/closure/approve",
        data={"csrf": csrf, "proposal": str(old)},
        follow_redirects=True,
    )
    assert outcome(stale) == f"Case {CASE_A} has no closure waiting for a decision."
    assert await status(world) == ("open", True)


@pytest.mark.both_backends
async def test_own_proposal_caseworker_forged_and_foreign_forms_change_nothing(
    world: World, client: httpx.AsyncClient
) -> None:
    proposal = await proposed(world)
    form = {"proposal": str(proposal)}
    # A caseworker (the case's own) sees no decision and cannot make one.
    csrf = await sign_in(world.app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    assert 'id="approve-closure"' not in page.text
    refused = await client.post(f"/cases/{CASE_A}/closure/approve", data={**form, "csrf": csrf})
    assert refused.status_code == 404
    # A coordinator: without the CSRF token, from another site, without the proposal.
    csrf = await sign_in(world.app, client, world.coordinator)
    no_token = await client.post(f"/cases/{CASE_A}/closure/approve", data=form)
    assert no_token.status_code == 403
    elsewhere = await client.post(
        f"/cases/{CASE_A}/closure/approve",
        data={**form, "csrf": csrf},
        headers={"origin": "https://elsewhere.example"},
    )
    assert elsewhere.status_code == 403
    no_proposal = await client.post(f"/cases/{CASE_A}/closure/approve", data={"csrf": csrf})
    assert no_proposal.status_code == 400
    unknown = await client.post(f"/cases/{CASE_A}/closure/delete", data={"csrf": csrf})
    assert unknown.status_code == 404
    for code in ("A%00", "A%F4%8F%BF%BF", "A%25"):  # never looked up (no 500 on PostgreSQL)
        odd = await client.post(f"/cases/{code}/closure/reopen", data={"csrf": csrf})
        assert odd.status_code == 404, code
    assert await status(world) == ("open", True)
    # A coordinator who proposed it themselves: another coordinator decides.
    proposer = await add_person(world.app, "coordinator")
    async with world.app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A, for_update=True)
        assert case is not None
        case.closure_proposed_by = proposer.person_id
    await client.post("/logout", data={"csrf": csrf})
    csrf = await sign_in(world.app, client, proposer)
    own = await client.post(
        f"/cases/{CASE_A}/closure/approve",
        data={**form, "csrf": csrf},
        follow_redirects=True,
    )
    assert outcome(own).startswith("You proposed the closure")
    assert await status(world) == ("open", True)
