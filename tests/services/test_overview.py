"""The coordinators' overview (`bot.services.overview`): each figure exactly, on invented
flags, runs and cases written with the times the test needs, on SQLite and PostgreSQL —
percentiles by nearest rank, the age buckets and the period's edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update

from bot.rules.access import NotAllowed
from bot.services.overview import Period, overview, period_from
from bot.storage.models import AuditEvent, Case, Flag, Run
from bot.storage.overview import nearest_rank
from tests.world import START, Clock, World, refusals

pytestmark = pytest.mark.both_backends

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# The period of the tests: November 2026 (in Amsterdam, UTC+1 then).
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
NOVEMBER_START = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
NOVEMBER_END = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


async def add_flag(
    world: World,
    *,
    level: str,
    raised: datetime,
    due: timedelta = 24 * HOUR,
    acknowledged: timedelta | None = None,
    resolved: timedelta | None = None,
    case_id: int | None = None,
) -> int:
    """A flag raised at `raised`, acknowledged and resolved so long after it."""
    status = "resolved" if resolved else "acknowledged" if acknowledged else "open"
    values: dict[str, Any] = {
        "case_id": world.case_a if case_id is None else case_id,
        "flow_id": "family_checkin",
        "flow_version": 1,
        "rule": "invented",
        "level": level,
        "reason": "An invented reason.",
        "evidence": {},
        "status": status,
        "raised_at": raised,
        "due_at": raised + due,
        "acknowledged_at": raised + acknowledged if acknowledged else None,
        "resolved_at": raised + resolved if resolved else None,
    }
    async with world.app.database.engine.begin() as conn:
        result = await conn.execute(insert(Flag).values(**values).returning(Flag.id))
        return int(result.scalar_one())


async def test_open_flags_by_level_age_and_overdue(world: World, clock: Clock) -> None:
    now = clock.now
    for ago in (12 * HOUR, DAY, 2 * DAY, 3 * DAY + HOUR, 10 * DAY):
        await add_flag(world, level="medium", raised=now - ago, due=3 * DAY)
    await add_flag(world, level="urgent", raised=now - 2 * HOUR, due=HOUR, acknowledged=HOUR)
    await add_flag(world, level="high", raised=now - DAY, resolved=HOUR)  # resolved: not open
    found = await overview(world.app, world.coordinator, NOVEMBER)
    medium = found.open_flags["medium"]
    # Exactly a day old is still "1 day or less"; 3 days and an hour is "3 to 7 days".
    assert medium.by_age == (2, 1, 1, 1)
    assert (medium.total, medium.overdue) == (5, 2)  # due after 3 days: the two oldest
    urgent = found.open_flags["urgent"]
    assert (urgent.total, urgent.overdue, urgent.by_age) == (1, 1, (1, 0, 0, 0))
    assert "high" not in found.open_flags
    assert (found.open_total, found.overdue_total) == (6, 3)


async def test_response_times_are_nearest_rank_percentiles_of_the_period(world: World) -> None:
    start = NOVEMBER_START
    # Acknowledged after 1, 2, 3 and 30 hours (late: due in 24), one resolved after 6 hours
    # without being acknowledged, one not answered yet.
    await add_flag(world, level="high", raised=start, acknowledged=HOUR, resolved=30 * HOUR)
    await add_flag(world, level="high", raised=start + DAY, acknowledged=2 * HOUR)
    await add_flag(
        world, level="high", raised=start + 2 * DAY, acknowledged=3 * HOUR, resolved=50 * HOUR
    )
    await add_flag(world, level="high", raised=start + 3 * DAY, acknowledged=30 * HOUR)
    await add_flag(world, level="high", raised=start + 4 * DAY, resolved=6 * HOUR)
    await add_flag(world, level="high", raised=NOVEMBER_END - timedelta(seconds=1))
    # Just outside the period, on either side.
    await add_flag(world, level="high", raised=start - timedelta(seconds=1), acknowledged=HOUR)
    await add_flag(world, level="high", raised=NOVEMBER_END, acknowledged=HOUR)
    await add_flag(world, level="low", raised=start + DAY, due=7 * DAY, acknowledged=DAY)
    found = await overview(world.app, world.coordinator, NOVEMBER)
    high = found.responses["high"]
    assert (high.raised, high.answered, high.answered_in_time, high.resolved) == (6, 5, 4, 3)
    # To answer: 1, 2, 3, 6, 30 hours: p50 the 3rd (3 h), p90 the 5th (30 h).
    assert {p: round(s) for p, s in high.to_answer.items()} == {50: 3 * 3600, 90: 30 * 3600}
    # To resolve: 6, 30, 50 hours: p50 the 2nd, p90 the 3rd.
    assert {p: round(s) for p, s in high.to_resolve.items()} == {50: 30 * 3600, 90: 50 * 3600}
    low = found.responses["low"]
    assert (low.raised, low.answered, low.answered_in_time, low.resolved) == (1, 1, 1, 0)
    assert {p: round(s) for p, s in low.to_answer.items()} == {50: 86_400, 90: 86_400}
    assert low.to_resolve == {}
    assert found.due_hours["high"] == 24


def test_nearest_rank() -> None:
    assert [nearest_rank(50, n) for n in (1, 2, 3, 4, 5, 10)] == [1, 1, 2, 2, 3, 5]
    assert [nearest_rank(90, n) for n in (1, 2, 5, 10, 11)] == [1, 2, 5, 9, 10]


async def test_escalations_of_the_period_from_the_audit_log(world: World) -> None:
    urgent = await add_flag(world, level="urgent", raised=NOVEMBER_START - DAY)
    high = await add_flag(world, level="high", raised=NOVEMBER_START + DAY)
    moments = [
        (urgent, NOVEMBER_START - HOUR),  # before the period
        (urgent, NOVEMBER_START),
        (urgent, NOVEMBER_START + HOUR),
        (high, NOVEMBER_END - HOUR),
        (high, NOVEMBER_END),  # after it
    ]
    async with world.app.database.engine.begin() as conn:
        for flag_id, at in moments:
            await conn.execute(
                insert(AuditEvent).values(
                    at=at,
                    actor_role="system",
                    action="escalated",
                    flag_id=flag_id,
                    case_id=world.case_a,
                    detail={},
                )
            )
    found = await overview(world.app, world.coordinator, NOVEMBER)
    assert found.escalations == {"urgent": (2, 1), "high": (1, 1)}


async def test_silent_families_caseloads_cases_and_closures(world: World, clock: Clock) -> None:
    app, now = world.app, clock.now
    checkin = app.flows.for_purpose("checkin")
    assert checkin is not None
    async with app.database.engine.begin() as conn:
        ids = []
        for code, programme in (("TST-0003", "foster_care"), ("TST-0004", "kinship_care")):
            result = await conn.execute(
                insert(Case)
                .values(code=code, programme=programme, status="open", created_at=now)
                .returning(Case.id)
            )
            ids.append(int(result.scalar_one()))
        case_c, case_d = ids
        # Case D is closed: neither silent nor a caseload; closed in the period after 10 days.
        await conn.execute(
            update(Case)
            .where(Case.id == case_d)
            .values(
                status="closed",
                created_at=NOVEMBER_START,
                closed_at=NOVEMBER_START + 10 * DAY,
                caseworker_id=world.caseworker.person_id,
            )
        )
        await conn.execute(
            update(Case)
            .where(Case.id == world.case_a)
            .values(stage="reunification", risk_level="high")
        )
        await conn.execute(
            update(Case)
            .where(Case.id == case_c)
            .values(stage="reunification", caseworker_id=world.other_caseworker.person_id)
        )
        # Case A checked in a week ago, case B three weeks ago, case C began one an hour ago
        # and has not finished it: silent since ever.
        for case_id, ended, status in (
            (world.case_a, now - timedelta(weeks=1), "completed"),
            (world.case_b, now - timedelta(weeks=3), "completed"),
            (world.case_b, now - timedelta(weeks=9), "completed"),
            (case_c, None, "active"),
            (case_d, now - timedelta(days=2), "completed"),
        ):
            await conn.execute(
                insert(Run).values(
                    flow_id=checkin.id,
                    flow_version=checkin.version,
                    person_id=world.family.person_id,
                    case_id=case_id,
                    step="end",
                    status=status,
                    state={},
                    started_at=now - timedelta(weeks=10),
                    updated_at=now,
                    ended_at=ended,
                )
            )
        # Another closure, before the period; and one in it, after 20 days (the median of
        # 10 and 20 days by nearest rank is 10).
        for code, closed in (("TST-0005", NOVEMBER_START - HOUR), ("TST-0006", NOVEMBER_START)):
            await conn.execute(
                insert(Case).values(
                    code=code,
                    programme="foster_care",
                    status="closed",
                    created_at=closed - 20 * DAY,
                    closed_at=closed,
                )
            )
    await add_flag(world, level="high", raised=now - 2 * DAY)  # case A's: overdue
    await add_flag(world, level="low", raised=now - HOUR, due=7 * DAY, case_id=case_c)
    found = await overview(app, world.coordinator, NOVEMBER)
    assert found.silent == ((2, 2), (4, 1), (8, 1))
    loads = {load.caseworker_id: load for load in found.caseloads}
    mine = loads[world.caseworker.person_id]
    assert (mine.open_cases, mine.open_flags, mine.overdue_flags) == (1, 1, 1)
    theirs = loads[world.other_caseworker.person_id]
    assert (theirs.open_cases, theirs.open_flags, theirs.overdue_flags) == (2, 1, 0)
    # The one with more open cases first.
    assert [load.caseworker_id for load in found.caseloads] == [
        world.other_caseworker.person_id,
        world.caseworker.person_id,
    ]
    assert (found.caseworkers, found.without_caseworker) == (2, 0)
    cases = found.cases
    assert cases.total == 3
    assert cases.by_programme == {"family_strengthening": 1, "foster_care": 2}
    assert cases.by_stage == {
        ("family_strengthening", "reunification"): 1,
        ("foster_care", None): 1,
        ("foster_care", "reunification"): 1,
    }
    assert cases.by_risk == {"high": 1, None: 2}
    assert found.closed == 2
    assert found.closed_median_days == pytest.approx(10)


async def test_only_coordinators_see_it_and_a_refusal_is_recorded(world: World) -> None:
    for who in (world.caseworker, world.family, world.left_coordinator):
        with pytest.raises(NotAllowed):
            await overview(world.app, who, NOVEMBER)
    refused = [(actor, detail["what"]) for actor, _, _, _, detail in await refusals(world.app)]
    assert refused == [
        (world.caseworker.person_id, "overview"),
        (world.family.person_id, "overview"),
        (world.left_coordinator.person_id, "overview"),
    ]


def test_the_period_from_the_query_string() -> None:
    today = START.date()  # 27 November 2026
    assert period_from(today) == (Period(date(2026, 10, 29), today, 30), True)
    assert period_from(today, "7") == (Period(date(2026, 11, 21), today, 7), True)
    assert period_from(today, "", "2026-01-01", "2026-01-01") == (
        Period(date(2026, 1, 1), date(2026, 1, 1)),
        True,
    )
    for days, first, last in (
        ("8", "", ""),
        ("", "2026-02-01", "2026-01-01"),
        ("", "2026-01-01", ""),
        ("", "2020-01-01", "2026-01-01"),
        ("", "2026-1-1", "2026-01-02"),
    ):
        assert period_from(today, days, first, last) == (
            Period(date(2026, 10, 29), today, 30),
            False,
        ), (days, first, last)
    # In the deployment's time zone: a day in Amsterdam starts at 23:00 UTC in winter.
    assert NOVEMBER.bounds("Europe/Amsterdam") == (NOVEMBER_START, NOVEMBER_END)
