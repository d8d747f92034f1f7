"""A case's page in the web view: the same service as the bot's `/case` (the one access
check, the same audit record), its WHO-5 well-being as a table and a chart."""

from __future__ import annotations

import re

import httpx
import pytest

from bot.rules.access import NotAllowed
from bot.services import case_list
from bot.services.cases import create_case
from bot.services.rights import erase
from tests.world import CASE_A, CASE_B, Clock, World, audit, checkin, raise_flag, refusals

from .conftest import sign_in

SCORES = re.compile(r"<tr><td>[^<]+</td><td>(\d+)</td></tr>")
POINTS = re.compile(r'<circle class="who5-point" cx="[\d.]+" cy="([\d.]+)"')


async def viewed(world: World, case_id: int) -> list[tuple[int | None, str]]:
    return [
        (e.actor_id, e.actor_role)
        for e in await audit(world.app, case_id=case_id)
        if e.action == "case_viewed"
    ]


async def test_the_caseworker_sees_their_case_with_its_who5_table_and_chart(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    for who5 in ((3, 3, 3, 3, 3), (1, 1, 1, 1, 1), (4, 4, 3, 4, 3)):
        clock.advance(days=7)
        await checkin(app, world.family, who5=who5)
    flag, _ = await raise_flag(app, world.case_a, level="high", rule="r_high")
    await sign_in(app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A.lower()}")
    assert page.status_code == 200, page.text
    assert f"Case {CASE_A}" in page.text
    # The numbers (the chart's text alternative), oldest first, and one point each.
    assert SCORES.findall(page.text) == ["60", "20", "72"]
    # The bot's lines of the case, its trend among them, but not its list of check-ins again.
    assert "Trend: better ↗ (52 points since the check-in before)" in page.text
    assert "Last check-ins" not in page.text
    ys = [float(y) for y in POINTS.findall(page.text)]
    # Higher well-being is drawn higher (a smaller y): 72 above 60 above 20.
    assert ys[2] < ys[0] < ys[1]
    assert 'class="cutoff-poor"' in page.text and 'class="cutoff-low"' in page.text
    assert "style=" not in page.text  # the CSP allows no inline style
    assert f'<a href="/flags/{flag}"' in page.text
    assert (world.caseworker.person_id, "caseworker") in await viewed(world, world.case_a)


async def test_a_coordinator_sees_any_case(world: World, client: httpx.AsyncClient) -> None:
    await sign_in(world.app, client, world.coordinator)
    page = await client.get(f"/cases/{CASE_B}")
    assert page.status_code == 200, page.text
    assert "No check-ins yet." in page.text and "No open flags." in page.text
    assert (world.coordinator.person_id, "coordinator") in await viewed(world, world.case_b)


async def test_another_caseworker_s_case_is_refused_as_in_the_bot(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.caseworker)
    before = len(await refusals(world.app))
    for code in (CASE_B, "NOPE-0000"):
        refused = await client.get(f"/cases/{code}")
        assert refused.status_code == 404
        # The same answer for another's case as for no case at all: codes cannot be probed.
        assert f"Case {code} is not one of your cases." in refused.text
    refused_now = (await refusals(world.app))[before:]
    assert [(actor, role) for actor, role, *_ in refused_now] == [
        (world.caseworker.person_id, "caseworker")
    ] * 2
    assert not await viewed(world, world.case_b)


async def test_without_a_session_or_with_a_bad_code_nothing_is_looked_up(
    world: World, client: httpx.AsyncClient
) -> None:
    anonymous = await client.get(f"/cases/{CASE_A}")
    assert anonymous.status_code == 401
    assert not await viewed(world, world.case_a)
    await sign_in(world.app, client, world.coordinator)
    before = len(await audit(world.app))
    for wrong in ("%00", "x" * 200, "%E2%91%A1", "-A"):
        answer = await client.get(f"/cases/{wrong}")
        assert answer.status_code == 404, wrong
        assert "is not one of your cases" in answer.text
    assert len(await audit(world.app)) == before


# --- the list of cases ---------------------------------------------------------------------

CASE_ROW = re.compile(r'<a href="/cases/([A-Z0-9-]+)" id="case-')


def codes(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return CASE_ROW.findall(page.text)


async def test_the_list_shows_whom_each_may_see_searchable_by_code(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.caseworker)
    mine = await client.get("/cases")
    assert codes(mine) == [CASE_A]
    assert '<a href="/cases">Cases</a>' in mine.text  # beside "Flags" in the menu
    # Asking for the other's case by its code finds nothing either.
    assert codes(await client.get(f"/cases?case={CASE_B}")) == []
    await sign_in(world.app, client, world.coordinator)
    assert codes(await client.get("/cases")) == sorted([CASE_A, CASE_B])
    assert codes(await client.get(f"/cases?case={CASE_B.lower()}")) == [CASE_B]
    assert codes(await client.get(f"/cases?case={CASE_A[:3]}")) == sorted([CASE_A, CASE_B])
    # Only a code's letters, digits and dashes are searched for: wildcards are dropped.
    for wrong in ("%25", "_"):
        assert codes(await client.get(f"/cases?case={wrong}")) == sorted([CASE_A, CASE_B])
    assert codes(await client.get("/cases?case=" + "x" * 200)) == []
    listed = [e.detail for e in await audit(world.app) if e.action == "cases_listed"]
    assert listed[0] == {"cases": [CASE_A], "page": 1}
    assert {"cases": sorted([CASE_A, CASE_B]), "page": 1} in listed


@pytest.mark.both_backends
async def test_a_case_search_of_other_characters_drops_them(
    world: World, client: httpx.AsyncClient
) -> None:
    """The highest code point failed SQLite's prefix range (chr()), a NUL PostgreSQL's
    query: neither reaches the database, nor the flag queue's."""
    await sign_in(world.app, client, world.coordinator)
    prefix = CASE_A[:3]
    for odd in ("%F4%8F%BF%BF", "%00", "%C3%A9", "%20%0A", "%27%3B"):
        found = await client.get(f"/cases?case={prefix}{odd}")
        assert codes(found) == sorted([CASE_A, CASE_B]), odd
        assert f'value="{prefix}"' in found.text
        flags = await client.get(f"/flags?case={prefix}{odd}")
        assert flags.status_code == 200, odd
    only_odd = await client.get("/cases?case=%00%F4%8F%BF%BF")
    assert codes(only_odd) == sorted([CASE_A, CASE_B])


async def test_the_list_is_paginated_in_the_database(
    world: World, client: httpx.AsyncClient
) -> None:
    async with world.app.database.transaction() as uow:
        for number in range(23):
            await create_case(uow, "family_strengthening", f"ZZ{number:02d}-AAA")
    await sign_in(world.app, client, world.coordinator)
    first = await client.get("/cases?case=ZZ")
    assert len(codes(first)) == 20 and 'rel="next"' in first.text
    second = await client.get("/cases?case=ZZ&page=2")
    assert codes(second) == [f"ZZ{number:02d}-AAA" for number in range(20, 23)]
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    for huge in ("3", "1" + "0" * 40):
        assert codes(await client.get(f"/cases?case=ZZ&page={huge}")) == codes(second)
    assert codes(await client.get("/cases?case=ZZ&page=abc")) == codes(first)


async def test_the_list_needs_a_session(world: World, client: httpx.AsyncClient) -> None:
    assert (await client.get("/cases")).status_code == 401
    assert not [e for e in await audit(world.app) if e.action == "cases_listed"]


async def test_a_family_is_refused_the_list_and_the_refusal_recorded(world: World) -> None:
    # A family cannot sign in to the web view at all (test_login); the service refuses too.
    with pytest.raises(NotAllowed):
        await case_list.case_page(world.app, world.family, 1, 20)
    assert [(actor, role) for actor, role, *_ in await refusals(world.app)] == [
        (world.family.person_id, "family")
    ]


async def test_an_erased_case_shows_as_its_tombstone_and_leaves_the_list(
    world: World, client: httpx.AsyncClient
) -> None:
    flag, _ = await raise_flag(world.app, world.case_a, level="high", rule="r_high")
    await erase(world.app, CASE_A, "invented reason")
    await sign_in(world.app, client, world.coordinator)
    page = await client.get(f"/cases/{CASE_A}")
    assert page.status_code == 200, page.text
    assert f"Case {CASE_A} was erased" in page.text
    assert "who5-table" not in page.text  # nothing of the family's answers is left
    assert f'<a href="/flags/{flag}"' in page.text  # the flags it left may still wait
    assert codes(await client.get("/cases")) == [CASE_B]
