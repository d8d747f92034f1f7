"""The flag queue and a flag in the web view: what each role may see and do, through the
same services as the bot's `/flags` and `/flag`, audited the same way."""

from __future__ import annotations

import re

import httpx

from bot.conversation import Conversation
from bot.services.duties import immediate_notices
from bot.services.flags import NOTE_MAX
from tests.conversation.test_pipeline import send
from tests.world import CASE_A, CASE_B, Clock, World, audit, external_id, flag_row, raise_flag

from .conftest import sign_in

ROW = re.compile(r'<a href="/flags/(\d+)" id="flag-\d+">')


def listed(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text
    return [int(number) for number in ROW.findall(page.text)]


async def test_the_queue_is_sorted_as_in_the_bot_and_filtered(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    low, _ = await raise_flag(app, world.case_a, level="low", rule="r_low")
    urgent, _ = await raise_flag(app, world.case_b, level="urgent", rule="r_urgent")
    high, _ = await raise_flag(app, world.case_a, level="high", rule="r_high")
    await sign_in(app, client, world.coordinator)
    assert listed(await client.get("/flags")) == [urgent, high, low]
    assert listed(await client.get("/flags?level=high")) == [high]
    assert listed(await client.get(f"/flags?case={CASE_A.lower()}")) == [high, low]
    assert listed(await client.get("/flags?programme=foster_care")) == [urgent]
    assert listed(await client.get("/flags?case=NOPE-0000")) == []
    clock.advance(hours=2)  # the urgent flag is due within the hour (and the session idle)
    csrf = await sign_in(app, client, world.coordinator)
    assert listed(await client.get("/flags?overdue=1")) == [urgent]
    await client.post(
        f"/flags/{high}/assign", data={"csrf": csrf, "to": str(world.caseworker.person_id)}
    )
    assert listed(await client.get(f"/flags?assignee={world.caseworker.person_id}")) == [high]
    await client.post(f"/flags/{low}/resolve", data={"csrf": csrf, "text": "Handled."})
    assert low not in listed(await client.get("/flags"))
    assert listed(await client.get("/flags?status=resolved")) == [low]
    assert listed(await client.get("/flags?status=all&level=low")) == [low]
    # Values that are no choice are ignored, not errors.
    assert listed(await client.get("/flags?level=bogus&status=x&assignee=-1")) == [urgent, high]


async def test_the_queue_is_paginated(world: World, client: httpx.AsyncClient) -> None:
    ids = [
        (await raise_flag(world.app, world.case_a, level="medium", rule=f"r{n}"))[0]
        for n in range(23)
    ]
    await sign_in(world.app, client, world.coordinator)
    first = await client.get("/flags")
    assert len(listed(first)) == 20 and 'rel="next"' in first.text
    second = await client.get("/flags?page=2")
    assert sorted(listed(first) + listed(second)) == sorted(ids)
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    # Not a number: the first page; a number past the last, however long: the last.
    for wrong in ("abc", "-1", "0", "", "1.5", "%E2%91%A1"):
        assert listed(await client.get(f"/flags?page={wrong}")) == listed(first), wrong
    for huge in ("3", "999999999", "1" + "0" * 40):
        assert listed(await client.get(f"/flags?page={huge}")) == listed(second), huge


async def test_a_caseworker_sees_only_their_cases_flags(
    world: World, client: httpx.AsyncClient
) -> None:
    mine, _ = await raise_flag(world.app, world.case_a)
    theirs, _ = await raise_flag(world.app, world.case_b)
    await sign_in(world.app, client, world.caseworker)
    assert listed(await client.get("/flags")) == [mine]
    # Even when asking for the other case by its code.
    assert listed(await client.get(f"/flags?case={CASE_B}")) == []
    refused = await client.get(f"/flags/{theirs}")
    assert refused.status_code == 404
    assert f"Flag {theirs} is not one you can see or change." in refused.text
    refusals = [e for e in await audit(world.app) if e.action == "refused"]
    assert refusals[-1].flag_id == theirs and refusals[-1].actor_id == world.caseworker.person_id


async def test_a_caseworker_cannot_act_on_another_case_s_flag(
    world: World, client: httpx.AsyncClient
) -> None:
    theirs, _ = await raise_flag(world.app, world.case_b)
    csrf = await sign_in(world.app, client, world.caseworker)
    for action, data in (
        ("acknowledge", {}),
        ("note", {"text": "x"}),
        ("resolve", {"text": "x"}),
        ("reopen", {}),
        ("assign", {"to": str(world.caseworker.person_id)}),
    ):
        refused = await client.post(f"/flags/{theirs}/{action}", data={"csrf": csrf, **data})
        assert refused.status_code == 404, action
    assert (await flag_row(world.app, theirs)).status == "open"


async def test_a_caseworker_cannot_assign_even_their_own_case_s_flag(
    world: World, client: httpx.AsyncClient
) -> None:
    mine, _ = await raise_flag(world.app, world.case_a)
    csrf = await sign_in(world.app, client, world.caseworker)
    page = await client.get(f"/flags/{mine}")
    assert page.status_code == 200 and 'id="assign-link"' not in page.text
    assert (await client.get(f"/flags/{mine}/assign")).status_code == 404
    to = str(world.other_caseworker.person_id)
    refused = await client.post(f"/flags/{mine}/assign", data={"csrf": csrf, "to": to})
    assert refused.status_code == 404
    assert (await flag_row(world.app, mine)).assigned_to is None


async def test_nobody_signed_in_sees_nothing(world: World, client: httpx.AsyncClient) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    for path in ("/flags", f"/flags/{flag}", "/"):
        page = await client.get(path)
        assert page.status_code == 401 and "/web" in page.text
        assert "A child does not feel safe" not in page.text
    posted = await client.post(f"/flags/{flag}/acknowledge", data={"csrf": "x"})
    assert posted.status_code == 401
    assert (await flag_row(world.app, flag)).status == "open"


async def test_a_flag_page_shows_evidence_history_and_delivery(
    world: World, client: httpx.AsyncClient
) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    await immediate_notices(world.app)  # the bot's duty queues the urgent flag's notices
    await sign_in(world.app, client, world.coordinator)
    page = await client.get(f"/flags/{flag}")
    assert page.status_code == 200
    text = page.text
    assert "A child does not feel safe at home." in text
    assert "History" in text and "raised" in text
    assert "Delivery" in text and "waiting to be sent" in text  # the urgent notices queued
    viewed = [e for e in await audit(world.app, flag) if e.action == "viewed"]
    assert viewed and viewed[-1].actor_id == world.coordinator.person_id


async def test_every_action_without_the_csrf_token_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    await sign_in(world.app, client, world.coordinator)
    for action in ("acknowledge", "note", "resolve", "reopen", "assign"):
        refused = await client.post(f"/flags/{flag}/{action}", data={"text": "x", "to": "1"})
        assert refused.status_code == 403, action
        wrong = await client.post(f"/flags/{flag}/{action}", data={"csrf": "f" * 64})
        assert wrong.status_code == 403, action
    assert (await flag_row(world.app, flag)).status == "open"


async def test_actions_in_the_browser_show_in_the_bot_and_back(
    world: World, client: httpx.AsyncClient
) -> None:
    app = world.app
    flag, _ = await raise_flag(app, world.case_a)
    csrf = await sign_in(app, client, world.coordinator)
    acked = await client.post(f"/flags/{flag}/acknowledge", data={"csrf": csrf})
    assert acked.status_code == 303 and acked.headers["location"].endswith("done=acknowledged")
    conversation = Conversation(app)
    coordinator = await external_id(app, world.coordinator)
    heard = await send(conversation, coordinator, "/flags")
    assert any(f"#{flag} " in line for line in heard.lines)
    assert "acknowledged" in (await send(conversation, coordinator, f"/flag {flag}")).text()
    # An empty resolution is refused, as in the bot.
    empty = await client.post(f"/flags/{flag}/resolve", data={"csrf": csrf, "text": "  "})
    assert empty.headers["location"].endswith("problem=note")
    assert "cannot be empty" in (await client.get(empty.headers["location"])).text
    done = await client.post(f"/flags/{flag}/resolve", data={"csrf": csrf, "text": "Safe now."})
    assert done.headers["location"].endswith("done=resolved")
    assert "no open flags" in (await send(conversation, coordinator, "/flags")).text()
    # Reopened in the bot: open again in the browser.
    await send(conversation, coordinator, f"/flag {flag} reopen")
    assert flag in listed(await client.get("/flags"))
    noted = await client.post(f"/flags/{flag}/note", data={"csrf": csrf, "text": "Called."})
    assert noted.headers["location"].endswith("done=noted")
    page = await client.get(f"/flags/{flag}")
    assert "Called." in page.text and "Safe now." in page.text
    actions = [e.action for e in await audit(app, flag)]
    for expected in ("acknowledged", "resolved", "reopened", "noted"):
        assert expected in actions


async def test_a_coordinator_chooses_the_caseworker_on_a_page_of_its_own(
    world: World, client: httpx.AsyncClient
) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    csrf = await sign_in(world.app, client, world.coordinator)
    page = await client.get(f"/flags/{flag}")
    assert f'href="/flags/{flag}/assign"' in page.text
    choice = await client.get(f"/flags/{flag}/assign")
    assert choice.status_code == 200
    assert f'<option value="{world.other_caseworker.person_id}">' in choice.text
    assert CASE_B in choice.text
    to = str(world.other_caseworker.person_id)
    done = await client.post(f"/flags/{flag}/assign", data={"csrf": csrf, "to": to})
    assert done.headers["location"].endswith("done=assigned")
    assert (await flag_row(world.app, flag)).assigned_to == world.other_caseworker.person_id


async def test_a_note_longer_than_the_limit_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    csrf = await sign_in(world.app, client, world.coordinator)
    long = "x" * (NOTE_MAX + 1)
    for action in ("note", "resolve"):
        refused = await client.post(f"/flags/{flag}/{action}", data={"csrf": csrf, "text": long})
        assert refused.status_code == 303, action
        assert refused.headers["location"] == f"/flags/{flag}?problem=too_long"
    page = await client.get(f"/flags/{flag}?problem=too_long")
    assert f"at most {NOTE_MAX:,} characters" in page.text
    assert f'maxlength="{NOTE_MAX}"' in page.text
    assert (await flag_row(world.app, flag)).status == "open"
    assert not [e for e in await audit(world.app, flag) if e.note]
    fits = await client.post(f"/flags/{flag}/note", data={"csrf": csrf, "text": "y" * NOTE_MAX})
    assert fits.headers["location"].endswith("done=noted")


async def test_assigning_to_someone_who_is_no_caseworker_is_not_a_refusal(
    world: World, client: httpx.AsyncClient
) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    csrf = await sign_in(world.app, client, world.coordinator)
    for to in ("abc", "", "-3", "1e3"):
        bad = await client.post(f"/flags/{flag}/assign", data={"csrf": csrf, "to": to})
        assert bad.status_code == 400, to
    missing = await client.post(f"/flags/{flag}/assign", data={"csrf": csrf})
    assert missing.status_code == 400
    for person in (world.second_coordinator, world.family):
        to = str(person.person_id)
        wrong = await client.post(f"/flags/{flag}/assign", data={"csrf": csrf, "to": to})
        assert wrong.status_code == 303
        assert wrong.headers["location"] == f"/flags/{flag}/assign?problem=assignee"
    again = await client.get(f"/flags/{flag}/assign?problem=assignee")
    assert "no longer an active caseworker" in again.text
    assert (await flag_row(world.app, flag)).assigned_to is None
    # The coordinator may assign this flag: nothing was refused, nothing is audited as such.
    assert not [e for e in await audit(world.app) if e.action == "refused"]


async def test_a_file_posted_as_a_field_is_refused(world: World, client: httpx.AsyncClient) -> None:
    flag, _ = await raise_flag(world.app, world.case_a)
    csrf = await sign_in(world.app, client, world.coordinator)
    upload = {"text": ("note.txt", b"Called the family.", "text/plain")}
    refused = await client.post(f"/flags/{flag}/note", data={"csrf": csrf}, files=upload)
    assert refused.status_code == 400
    assert not [e for e in await audit(world.app, flag) if e.note]
    as_token = {"csrf": ("csrf.txt", csrf.encode(), "text/plain")}
    refused = await client.post(f"/flags/{flag}/acknowledge", files=as_token)
    assert refused.status_code == 400
    # A token that is not even ASCII is a wrong token, not an error.
    odd = await client.post(f"/flags/{flag}/acknowledge", data={"csrf": "é" * 64})
    assert odd.status_code == 403
    assert (await flag_row(world.app, flag)).status == "open"
    # The same form as text is taken, multipart or not.
    fields = {"csrf": (None, csrf), "text": (None, "Called the family.")}
    taken = await client.post(f"/flags/{flag}/note", files=fields)
    assert taken.headers["location"].endswith("done=noted")
