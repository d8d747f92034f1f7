"""The coordinators' overview in the web view: who may open it (coordinators; a caseworker
is refused, someone not signed in asked to sign in), that each look and refusal is audited,
and that its figures link to the lists behind them — which list exactly those flags."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx

from bot.services.duties import escalation_notices
from tests.world import Clock, World, audit, raise_flag, refusals

from .conftest import sign_in

LINK = re.compile(r'<a href="(/(?:flags|cases)\?[^"]*)">(\d+)</a>')
ROW = re.compile(r'<a href="/flags/(\d+)" id="flag-\d+">')


def links(page: httpx.Response) -> dict[str, int]:
    """Every figure that links to a list: its address and its number."""
    assert page.status_code == 200, page.text
    return {html.unescape(href): int(number) for href, number in LINK.findall(page.text)}


def listed(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text
    return [int(number) for number in ROW.findall(page.text)]


async def looks(world: World) -> list[tuple[int | None, dict]]:
    return [
        (event.actor_id, dict(event.detail))
        for event in await audit(world.app)
        if event.action == "overview_viewed"
    ]


async def test_a_coordinator_sees_the_overview_and_its_look_is_audited(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await raise_flag(app, world.case_a, level="high", rule="r_high")
    await sign_in(app, client, world.coordinator)
    page = await client.get("/overview?days=7")
    assert page.status_code == 200, page.text
    assert "<h1>Overview</h1>" in page.text
    assert '<a href="/overview">Overview</a>' in page.text  # in the menu, for coordinators
    assert 'id="days-7" aria-current="page"' in page.text
    assert "style=" not in page.text  # the CSP allows no inline style
    # The chart has its numbers in a table, and a name.
    assert 'id="open-flags-table"' in page.text and 'role="img"' in page.text
    today = clock.now.date()
    first = today - timedelta(days=6)
    assert await looks(world) == [
        (world.coordinator.person_id, {"first": first.isoformat(), "last": today.isoformat()})
    ]


async def test_a_caseworker_is_refused_and_the_refusal_audited(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.caseworker)
    queue = await client.get("/flags")
    assert 'href="/overview"' not in queue.text  # no menu entry either
    before = len(await refusals(world.app))
    refused = await client.get("/overview")
    assert refused.status_code == 403
    assert "is for coordinators" in refused.text
    assert (await refusals(world.app))[before:] == [
        (
            world.caseworker.person_id,
            "caseworker",
            None,
            None,
            {"what": "overview", "action": "view"},
        )
    ]
    assert await looks(world) == []


async def test_not_signed_in_is_asked_to_sign_in(world: World, client: httpx.AsyncClient) -> None:
    page = await client.get("/overview")
    assert page.status_code == 401  # the sign-in page, in the default language (Dutch)
    assert "/web" in page.text and "<h1>" in page.text
    assert await looks(world) == []


async def test_each_flag_figure_links_to_the_flags_it_counts(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    old, _ = await raise_flag(app, world.case_a, level="high", rule="r_old")
    clock.advance(days=4)
    young, _ = await raise_flag(app, world.case_b, level="high", rule="r_young")
    low, _ = await raise_flag(app, world.case_a, level="low", rule="r_low")
    clock.advance(hours=5)  # the old high flag is overdue (due in 24 hours), the others not
    await sign_in(app, client, world.coordinator)
    figures = links(await client.get("/overview"))
    caseworker = world.caseworker.person_id
    expected = {
        "/flags?level=high": [young, old],
        "/flags?level=high&overdue=1": [old],
        "/flags?level=high&age=0-1": [young],
        "/flags?level=high&age=3-7": [old],
        "/flags?level=low": [low],
        f"/flags?caseworker={caseworker}": [old, low],
        f"/flags?caseworker={caseworker}&overdue=1": [old],
    }
    for href, flags in expected.items():
        assert figures[href] == len(flags), href
        assert sorted(listed(await client.get(href))) == sorted(flags), href
    today = clock.now.date()
    first = (today - timedelta(days=29)).isoformat()
    raised = f"/flags?level=high&status=all&raised_from={first}&raised_to={today.isoformat()}"
    assert figures[raised] == 2
    assert sorted(listed(await client.get(raised))) == sorted([old, young])
    # The cases: by caseworker, programme and stage, risk, silence — the case list's filters.
    assert figures[f"/cases?caseworker={caseworker}&status=open"] == 1
    assert figures["/cases?programme=foster_care&status=open"] == 1
    assert figures["/cases?silent=2&status=open"] == 2


async def test_a_chosen_period_and_one_not_understood(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    await sign_in(world.app, client, world.coordinator)
    page = await client.get("/overview?from=2026-01-01&to=2026-03-31")
    assert page.status_code == 200
    assert 'value="2026-01-01"' in page.text and 'value="2026-03-31"' in page.text
    assert 'role="alert"' not in page.text
    for wrong in ("from=2026-03-31&to=2026-01-01", "from=yesterday&to=2026-01-01", "days=12"):
        page = await client.get(f"/overview?{wrong}")
        assert page.status_code == 200
        assert 'role="alert"' in page.text, wrong
        assert 'id="days-30" aria-current="page"' in page.text  # the default period instead
    details = [detail for _, detail in await looks(world)]
    assert details[0] == {"first": "2026-01-01", "last": "2026-03-31"}


async def test_the_queue_keeps_the_overview_s_filters_when_paged_and_applied(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    for n in range(22):
        await raise_flag(app, world.case_a, level="medium", rule=f"r{n}")
    await sign_in(app, client, world.coordinator)
    caseworker = world.caseworker.person_id
    page = await client.get(f"/flags?caseworker={caseworker}&age=0-1")
    assert f'<input type="hidden" name="caseworker" value="{caseworker}">' in page.text
    assert '<input type="hidden" name="age" value="0-1">' in page.text
    assert f"Of the cases of caseworker {caseworker}" in page.text
    assert f"caseworker={caseworker}" in page.text.split('rel="next"')[0].rsplit("href=", 1)[1]
    # A filter that is no choice is left out, not an error.
    assert (await client.get("/flags?age=forever&raised_from=2026-13-01")).status_code == 200


async def test_escalations_link_to_the_flags_escalated_in_the_period(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    urgent, _ = await raise_flag(app, world.case_a, level="urgent", rule="r_urgent")
    await raise_flag(app, world.case_b, level="high", rule="r_high")
    clock.advance(hours=2)  # the urgent flag is past its due time: escalated
    assert await escalation_notices(app)
    await sign_in(app, client, world.coordinator)
    figures = links(await client.get("/overview?days=7"))
    today = clock.now.date()
    first = (today - timedelta(days=6)).isoformat()
    href = f"/flags?level=urgent&status=all&escalated_from={first}&escalated_to={today.isoformat()}"
    assert figures[href] == 1
    assert listed(await client.get(href)) == [urgent]
    # Escalated before the period chosen: not among them.
    earlier = "/flags?status=all&escalated_from=2026-01-01&escalated_to=2026-01-31"
    assert listed(await client.get(earlier)) == []
