"""The case list's filters and the case page's parts (issue #17, "Cases"): who may see what
(a coordinator, the case's caseworker, another caseworker, a family, nobody signed in), the
filters done in the database, and the page's stage checklist, risk history, Child Status
Index chart and table, timeline with missed reminders, flags, visits, schedule and closure."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.rules.access import NotAllowed
from bot.rules.cadence import parse_cadence
from bot.services import case_detail, case_list, flags, guidance
from bot.services.schedules import (
    list_schedules,
    pause_schedule,
    reminder_notices,
    resume_schedule,
    set_schedule,
)
from bot.services.visits import set_stage
from bot.web import case_pages
from tests.services.test_child_status import FAIR, VERY_BAD, rate, two_children
from tests.services.test_guidance import PROTECTIVE, closure_check, screen, set_programme
from tests.world import (
    CASE_A,
    CASE_B,
    Clock,
    World,
    add_person,
    audit,
    checkin,
    raise_flag,
    refusals,
)

from .conftest import sign_in

CASE_ROW = re.compile(r'<a href="/cases/([A-Z0-9-]+)" id="case-')


def codes(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return CASE_ROW.findall(page.text)


def timeline(page: httpx.Response) -> list[str]:
    """The timeline's entries, newest first, as text without the time."""
    found = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page.text, re.S)
    assert found is not None, page.text
    entries = re.findall(r"<li[^>]*>(.*?)</li>", found[1], re.S)
    return [re.sub(r"<[^>]+>", "", entry).split(" · ", 1)[1] for entry in entries]


async def looks(world: World, case_id: int) -> list[tuple[int | None, str]]:
    return [
        (e.actor_id, e.actor_role)
        for e in await audit(world.app, case_id=case_id)
        if e.action == "case_viewed"
    ]


# --- the list's filters ---------------------------------------------------------------------


@pytest.mark.both_backends
async def test_the_list_filters_by_caseworker_programme_stage_and_risk(
    world: World, client: httpx.AsyncClient
) -> None:
    app = world.app
    await screen(app, world.caseworker, CASE_A, PROTECTIVE)  # low
    await set_stage(app, CASE_B, "preparation")
    await sign_in(app, client, world.coordinator)
    theirs = world.other_caseworker.person_id
    assert codes(await client.get(f"/cases?caseworker={theirs}")) == [CASE_B]
    assert codes(await client.get("/cases?programme=foster_care")) == [CASE_B]
    assert codes(await client.get("/cases?stage=preparation")) == [CASE_B]
    assert codes(await client.get("/cases?risk=low")) == [CASE_A]
    assert codes(await client.get("/cases?risk=none")) == [CASE_B]
    assert codes(await client.get("/cases?risk=high")) == []
    # Filters combine; what is not a choice is left out rather than matching nothing.
    assert codes(await client.get(f"/cases?risk=low&caseworker={theirs}")) == []
    assert codes(await client.get("/cases?programme=nonsense&stage=x&risk=1")) == [CASE_A, CASE_B]
    # Each column of a row.
    page = await client.get("/cases?case=TST-0001")
    for column in ("Caseworker", "Programme", "Stage", "Risk level", "Next review", "Next visit"):
        assert f'data-label="{column}"' in page.text
    assert (
        "low</span>" in page.text
        and 'data-label="Last check-in" class="last-checkin">never' in (page.text)
    )
    # Each look is on record with the cases shown.
    listed = [e.detail for e in await audit(app) if e.action == "cases_listed"]
    assert {"cases": [CASE_B], "page": 1} in listed


async def test_a_caseworker_s_filter_narrows_their_own_cases_and_never_widens_them(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.caseworker)
    mine, theirs = world.caseworker.person_id, world.other_caseworker.person_id
    assert codes(await client.get(f"/cases?caseworker={mine}")) == [CASE_A]
    assert codes(await client.get(f"/cases?caseworker={theirs}")) == []
    assert codes(await client.get("/cases?programme=foster_care")) == []
    page = await client.get("/cases")
    assert 'id="f-caseworker"' not in page.text  # the field is the coordinators'


@pytest.mark.both_backends
async def test_silent_lists_the_cases_without_a_check_in_for_so_many_weeks(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await checkin(app, world.family)
    clock.advance(weeks=3)
    await checkin(app, world.family_b)
    clock.advance(days=1)
    await sign_in(app, client, world.coordinator)
    # Case A last checked in three weeks ago, case B a day ago; a case that never checked in
    # is silent too.
    async with app.database.transaction() as uow:
        from bot.services.cases import create_case

        await create_case(uow, "family_strengthening", "TST-0003")
    assert codes(await client.get("/cases?silent=3")) == [CASE_A, "TST-0003"]
    assert codes(await client.get("/cases?silent=4")) == ["TST-0003"]
    assert codes(await client.get("/cases?silent=0")) == [CASE_A, CASE_B, "TST-0003"]
    assert codes(await client.get("/cases?silent=99999999")) == ["TST-0003"]
    page = await client.get("/cases?silent=3")
    assert "weeks without a check-in: 3" in page.text
    assert 'name="silent" inputmode="numeric" pattern="[0-9]*" value="3"' in page.text


@pytest.mark.both_backends
async def test_the_pager_keeps_the_filters(world: World, client: httpx.AsyncClient) -> None:
    async with world.app.database.transaction() as uow:
        from bot.services.cases import create_case

        for number in range(23):
            await create_case(uow, "foster_care", f"ZZ{number:02d}-AAA")
    await sign_in(world.app, client, world.coordinator)
    first = await client.get("/cases?programme=foster_care&risk=none&silent=1")
    assert len(codes(first)) == 20
    assert 'href="/cases?programme=foster_care&amp;risk=none&amp;silent=1&amp;page=2"' in first.text
    assert "Cases found: 24" in first.text


async def test_no_list_for_a_family_or_without_a_session(
    world: World, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/cases?caseworker=1&silent=2")).status_code == 401
    with pytest.raises(NotAllowed):
        await case_list.case_page(world.app, world.family, 1, 20, query=case_list.CaseQuery())
    assert [(actor, role) for actor, role, *_ in await refusals(world.app)] == [
        (world.family.person_id, "family")
    ]


# --- the case page ------------------------------------------------------------------------


async def test_who_may_open_a_case_page(world: World, client: httpx.AsyncClient) -> None:
    app = world.app
    assert (await client.get(f"/cases/{CASE_A}")).status_code == 401  # nobody signed in
    await sign_in(app, client, world.caseworker)
    assert (await client.get(f"/cases/{CASE_A}")).status_code == 200
    refused = await client.get(f"/cases/{CASE_B}")
    assert refused.status_code == 404 and "Timeline" not in refused.text
    await sign_in(app, client, world.coordinator)
    for code in (CASE_A, CASE_B):
        assert (await client.get(f"/cases/{code}")).status_code == 200
    # A family has no web session (test_login); the service refuses them, and records it.
    with pytest.raises(NotAllowed):
        await case_detail.case_detail(app, world.family, CASE_A)
    stranger = await add_person(app, "caseworker")
    with pytest.raises(NotAllowed):
        await case_detail.case_detail(app, stranger, CASE_A)
    assert [(a, r) for a, r, *_ in await refusals(app)] == [
        (world.caseworker.person_id, "caseworker"),
        (world.family.person_id, "family"),
        (stranger.person_id, "caseworker"),
    ]
    assert await looks(world, world.case_a) == [
        (world.caseworker.person_id, "caseworker"),
        (world.coordinator.person_id, "coordinator"),
    ]


@pytest.mark.both_backends
async def test_the_timeline_shows_check_ins_reminders_answered_and_missed_and_flags(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    clock.advance(days=8)
    await reminder_notices(app)  # not answered before the next: missed
    clock.advance(days=7)
    await reminder_notices(app)
    clock.advance(hours=1)
    await checkin(app, world.family)  # answers the second
    clock.advance(days=7)
    await reminder_notices(app)  # not answered yet
    flag, _ = await raise_flag(app, world.case_a, level="high", rule="r_high")
    clock.advance(hours=2)
    await flags.resolve(app, world.coordinator, flag, "Spoke with the family; all well.")
    await sign_in(app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    assert page.status_code == 200, page.text
    assert timeline(page) == [
        f"Flag #{flag} resolved · coordinator {world.coordinator.person_id}",
        f"Flag #{flag} raised (high)",
        "Check-in reminder sent, not answered yet",
        "Check-in done (WHO-5 well-being 60)",
        "Check-in reminder sent, answered",
        "Check-in reminder sent, not answered (missed)",
    ]
    assert "Check-in reminders not answered before the next: 1" in page.text
    assert f'<a href="/flags/{flag}" id="flag-{flag}">' in page.text  # among the resolved
    assert "resolved " in page.text and "No open flags." in page.text
    assert 'id="who5-chart"' in page.text
    assert "style=" not in page.text  # the CSP allows no inline style


@pytest.mark.both_backends
async def test_a_reminder_before_a_pause_is_not_missed_as_the_bot_counts_it(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    clock.advance(days=8)
    await reminder_notices(app)  # R1, not answered
    clock.advance(days=1)
    await pause_schedule(app, CASE_A, by=world.caseworker)
    clock.advance(days=1)
    await resume_schedule(app, CASE_A, by=world.caseworker)  # the bot's count starts afresh
    clock.advance(days=7)
    await reminder_notices(app)  # R2: R1 is not held against them
    assert [s.missed for s in await list_schedules(app)] == [0]  # as the bot counts
    await sign_in(app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    assert page.status_code == 200, page.text
    assert timeline(page) == [
        "Check-in reminder sent, not answered yet",
        f"Check-in reminders resumed · caseworker {world.caseworker.person_id}",
        f"Check-in reminders paused · caseworker {world.caseworker.person_id}",
        "Check-in reminder sent, not answered (not counted: reminders paused, consent "
        "withdrawn or case closed)",
    ]
    assert "No check-in reminder went unanswered in this time." in page.text

    # R3 unanswered: the bot counts R2 missed, and the page says so, once.
    clock.advance(days=7)
    await reminder_notices(app)
    assert [s.missed for s in await list_schedules(app)] == [1]
    await sign_in(app, client, world.caseworker)  # a week later: a new session
    page = await client.get(f"/cases/{CASE_A}")
    kinds = [line for line in timeline(page) if line.startswith("Check-in reminder sent")]
    assert kinds[:2] == [
        "Check-in reminder sent, not answered yet",
        "Check-in reminder sent, not answered (missed)",
    ]
    assert "Check-in reminders not answered before the next: 1" in page.text
    missed = [e for e in await audit(app) if e.action == "reminder_missed"]
    assert len(missed) == 1 and set(missed[0].detail) == {"reminded_at", "missed"}


async def test_the_last_reminder_of_a_closed_case_does_not_wait_for_ever(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await set_schedule(app, CASE_A, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    await set_stage(app, CASE_A, "follow_up", by=world.caseworker)
    await screen(app, world.caseworker, CASE_A)
    clock.advance(days=8)
    await reminder_notices(app)  # the last reminder, never answered
    await closure_check(app, world.caseworker, CASE_A)
    clock.advance(hours=5)
    await guidance.approve_closure(app, world.coordinator, CASE_A)
    clock.advance(days=21)
    await reminder_notices(app)  # a closed case is reminded of nothing, nor counted
    await sign_in(app, client, world.coordinator)
    page = await client.get(f"/cases/{CASE_A}")
    reminders = [line for line in timeline(page) if line.startswith("Check-in reminder sent")]
    assert reminders == [
        "Check-in reminder sent, not answered (not counted: reminders paused, consent "
        "withdrawn or case closed)"
    ]
    assert "No check-in reminder went unanswered in this time." in page.text


async def test_the_risk_history_says_when_by_whom_and_from_what(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await set_programme(app, CASE_A, "sos_family")
    await screen(app, world.caseworker, CASE_A, PROTECTIVE)  # low, as computed
    clock.advance(days=30)
    reason = "Invented: the father moved out last week."
    await screen(
        app,
        world.caseworker,
        CASE_A,
        {"past_harm", "very_young", "addiction", "mental_health", *PROTECTIVE},  # high
        agree=False,
        own_level="medium",
        reason=reason,
    )
    await sign_in(app, client, world.coordinator)
    page = await client.get(f"/cases/{CASE_A}")
    found = re.search(
        r'<table class="history-table" id="risk-history">(.*?)</table>', page.text, re.S
    )
    assert found is not None, page.text
    rows = [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", found[1], re.S)[1:]
    ]
    by = f"caseworker {world.caseworker.person_id}"
    assert [row[1:] for row in rows] == [
        ["medium", by, f"chosen over the screening's high: {reason}"],
        ["low", by, "the screening's result"],
    ]
    assert 'id="risk-now"><span class="badge level-medium">medium</span>' in page.text


async def test_the_child_status_index_per_child_as_a_chart_and_a_table(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await two_children(app)
    await rate(app, world.caseworker, 1, food_security=FAIR)
    clock.advance(days=14)
    await rate(app, world.caseworker, 1, food_security=VERY_BAD, care="2")
    await sign_in(app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    table = re.search(r'<table class="csi" id="csi-table-1">(.*?)</table>', page.text, re.S)
    assert table is not None, page.text
    rows = {
        re.sub(r"<[^>]+>", "", name): values
        for name, values in (
            (row[0], re.findall(r"<td>([^<]*)</td>", row[1]))
            for row in re.findall(r'<th scope="row">(.*?)</th>(.*?)</tr>', table[1], re.S)
        )
    }
    assert rows["food and nutrition"] == ["7", "5"]
    assert rows["shelter and care"] == ["8", "6"]
    assert len(rows) == 6
    chart = re.search(r'<svg class="csi-chart" id="csi-chart-1".*?</svg>', page.text, re.S)
    assert chart is not None and chart[0].count('class="csi-line') == 6
    assert 'role="img"' in chart[0]
    # The second child was not rated: said so, no empty chart.
    assert "Not rated at a home visit yet." in page.text and 'id="csi-chart-2"' not in page.text
    # The visits are on record: in the visits list and on the timeline.
    visits = re.search(r'<ul class="visits" id="visits">(.*?)</ul>', page.text, re.S)
    assert visits is not None and visits[1].count("<li>") == 2
    assert (
        timeline(page).count(f"Home visit recorded · caseworker {world.caseworker.person_id}") == 2
    )


async def test_a_domain_has_one_colour_in_every_chart_whichever_are_rated(
    world: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The colour is the domain's, not its place among the domains a chart has: a chart
    without food and nutrition (say, visits of an older flow) draws shelter and care in the
    second domain's colour still, its swatch and its line alike."""
    app = world.app
    await two_children(app)
    await rate(app, world.caseworker, 1)
    await rate(app, world.caseworker, 2)
    chart_of = case_pages._csi_chart
    charted: list[Any] = []

    def without_food(label: Any, visits: list[tuple[Any, dict[str, float]]]) -> Any:
        charted.append(label)
        if len(charted) == 2:  # the second child's
            visits = [(at, {k: v for k, v in s.items() if k != "csi_food"}) for at, s in visits]
        return chart_of(label, visits)

    monkeypatch.setattr(case_pages, "_csi_chart", without_food)
    await sign_in(app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    colours = {}
    for number in (1, 2):
        table = re.search(
            rf'<table class="csi" id="csi-table-{number}">(.*?)</table>', page.text, re.S
        )
        chart = re.search(
            rf'<svg class="csi-chart" id="csi-chart-{number}".*?</svg>', page.text, re.S
        )
        assert table is not None and chart is not None, page.text
        swatches = re.findall(r'<span class="swatch (csi-\d)"></span>([^<]+)</th>', table[1])
        lines = re.findall(r'class="csi-line (csi-\d)" points="[^"]*"><title>([^<]+)<', chart[0])
        assert sorted(swatches) == sorted(lines)
        colours[number] = {name: colour for colour, name in swatches}
    assert colours[1]["food and nutrition"] == "csi-0"
    assert "food and nutrition" not in colours[2] and len(colours[2]) == 5
    assert all(colours[2][name] == colours[1][name] for name in colours[2])
    assert colours[2]["shelter and care"] == "csi-1"


async def test_a_case_without_children_or_rated_visits_says_the_index_is_not_rated_yet(
    world: World, client: httpx.AsyncClient
) -> None:
    await sign_in(world.app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    section = re.search(r'<section aria-labelledby="csi-heading">(.*?)</section>', page.text, re.S)
    assert section is not None, page.text
    assert "Not rated at a home visit yet." in section[1]
    assert "<svg" not in section[1]


async def test_the_stage_checklist_and_the_closure_with_its_dates(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await set_programme(app, CASE_A, "sos_family")
    await set_stage(app, CASE_A, "assessment")
    await sign_in(app, client, world.caseworker)
    page = await client.get(f"/cases/{CASE_A}")
    progress = re.search(r'id="stage-progress">Essential steps done: (\d+) of (\d+)<', page.text)
    assert progress is not None and int(progress[1]) < int(progress[2])
    assert 'id="stage-missing"' in page.text
    assert 'id="closure-state">Open: no closure proposed.<' in page.text
    await screen(app, world.caseworker, CASE_A)
    await closure_check(app, world.caseworker, CASE_A)
    proposed_page = await client.get(f"/cases/{CASE_A}")
    assert "waiting for a coordinator" in proposed_page.text
    clock.advance(days=2)
    note = "Invented: one more visit first."
    await guidance.return_closure(app, world.coordinator, CASE_A, note)
    await sign_in(app, client, world.caseworker)  # the session ended meanwhile
    page = await client.get(f"/cases/{CASE_A}")
    steps = re.search(r'<ol class="history" id="closure-steps">(.*?)</ol>', page.text, re.S)
    assert steps is not None, page.text
    text = re.sub(r"<[^>]+>", "", steps[1])
    assert text.index("returned") < text.index("proposed")  # newest first
    assert note in text
    assert 'id="closure-state">Open: no closure proposed.<' in page.text


async def test_the_schedule_and_visits_sections(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    app = world.app
    await sign_in(app, client, world.coordinator)
    page = await client.get(f"/cases/{CASE_B}")
    assert 'id="schedule">' in page.text and "No open flags." in page.text
    assert "No home visits recorded." in page.text
    assert 'id="next-visit">none planned<' in page.text
    assert "Nothing happened in this time." in page.text
    assert "No check-in reminder went unanswered in this time." in page.text
    await set_schedule(app, CASE_B, parse_cadence("weekly mon 18:00"), by=world.coordinator)
    page = await client.get(f"/cases/{CASE_B}")
    schedule = re.search(r'id="schedule">([^<]*)<', page.text)
    assert schedule is not None and "weekly" in schedule[1].lower()


@pytest.mark.both_backends
async def test_the_list_filters_open_and_closed_cases_and_the_days_they_were_closed(
    world: World, client: httpx.AsyncClient, clock: Clock
) -> None:
    """The overview's links: its open cases (`status=open`) and the cases closed in its
    period (`closed_from`, `closed_to`: days in the deployment's time zone, both included)."""
    app = world.app
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_B, for_update=True)
        assert case is not None
        case.status, case.closed_at = "closed", clock.now
    await sign_in(app, client, world.coordinator)
    assert codes(await client.get("/cases?status=open")) == [CASE_A]
    assert codes(await client.get("/cases?status=closed")) == [CASE_B]
    assert codes(await client.get("/cases?status=nonsense")) == [CASE_A, CASE_B]
    today = clock.now.astimezone(ZoneInfo(app.settings.timezone)).date()
    day_before, day_after = today - timedelta(days=1), today + timedelta(days=1)
    assert codes(await client.get(f"/cases?closed_from={today}&closed_to={today}")) == [CASE_B]
    assert codes(await client.get(f"/cases?closed_to={day_before}")) == []
    assert codes(await client.get(f"/cases?closed_from={day_after}")) == []
    # The period shown, and kept when the form is applied again.
    page = await client.get(f"/cases?status=closed&closed_from={day_before}&closed_to={today}")
    assert f"Closed from {day_before} to {today}" in page.text
    assert f'name="closed_from" value="{day_before}"' in page.text
    # The overview's closures lead there.
    overview = await client.get("/overview")
    found = re.search(r'<a href="([^"]+)" id="closed-list">', overview.text)
    assert found is not None, overview.text
    assert codes(await client.get(html.unescape(found[1]))) == [CASE_B]
