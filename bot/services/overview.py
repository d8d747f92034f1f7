"""The coordinators' overview: the whole organisation at a glance, over a chosen period.

Open flags by level and age, how fast flags raised in the period were answered and resolved
against their due times (p50 and p90), escalations, families gone silent, each caseworker's
caseload, the open cases by programme, stage and risk, and the closures of the period with
their duration. Every figure is counted in the database (`storage.overview`), so the page
costs the same with a hundred cases as with a hundred thousand.

Only coordinators see it (`may_see_overview`): it shows every caseworker's work. The figures
are counts, but each look is audited like any other (`overview_viewed`, with the period), and
a refusal too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..rules.access import NotAllowed, may_see_overview
from ..rules.people import Participant
from ..storage.models import FLAG_LEVELS
from ..storage.overview import PERCENTILES, Caseload, OpenFlags, Responses
from . import audit
from .flags import FLAG_AGES

__all__ = [
    "PERCENTILES",
    "PERIODS",
    "SILENT_WEEKS",
    "Caseload",
    "Overview",
    "Period",
    "overview",
    "period_from",
]

# The periods to choose from (days, ending today), the one shown first, and the longest span
# of dates that may be chosen.
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
LONGEST_PERIOD = 3 * 366
# "Silent": no check-in for at least so many weeks (never included), as the case list's
# `silent` filter counts it.
SILENT_WEEKS = (2, 4, 8)
# The caseworkers listed with their caseload: those with the most open cases.
CASELOADS_SHOWN = 25


@dataclass(frozen=True)
class Period:
    """From `first` to `last`, both included, in the deployment's time zone; `days` is the
    preset (7, 30, 90) it is, None for dates chosen."""

    first: date
    last: date
    days: int | None = None

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """The period as moments: the start of its first day, the start of the day after
        its last."""
        zone = ZoneInfo(timezone)
        start = datetime.combine(self.first, time(), tzinfo=zone)
        end = datetime.combine(self.last + timedelta(days=1), time(), tzinfo=zone)
        return start, end


def period_from(
    today: date, days: str = "", first: str = "", last: str = ""
) -> tuple[Period, bool]:
    """The period a query string asks for (`days`, or `first` and `last` as YYYY-MM-DD), and
    whether it was understood; anything else is the default period (and False)."""
    if first or last:
        start, end = _date(first), _date(last)
        if start is None or end is None or start > end or (end - start).days >= LONGEST_PERIOD:
            return _last_days(today, DEFAULT_PERIOD), False
        return Period(start, end), True
    if not days:
        return _last_days(today, DEFAULT_PERIOD), True
    if days.isascii() and days.isdigit() and int(days) in PERIODS:
        return _last_days(today, int(days)), True
    return _last_days(today, DEFAULT_PERIOD), False


def _last_days(today: date, days: int) -> Period:
    return Period(today - timedelta(days=days - 1), today, days)


def _date(text: str) -> date | None:
    if len(text) != 10 or not text.isascii():
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class CaseCounts:
    """The open cases: in all, by programme and stage ((programme, stage) → n; stage None:
    not set yet), by risk level (None: not screened)."""

    total: int
    by_programme: dict[str, int]
    by_stage: dict[tuple[str, str | None], int]
    by_risk: dict[str | None, int]


@dataclass(frozen=True)
class Overview:
    period: Period
    start: datetime
    end: datetime
    now: datetime
    open_flags: dict[str, OpenFlags]
    responses: dict[str, Responses]
    # The due time of each level (what "in time" means), in hours.
    due_hours: dict[str, float]
    escalations: dict[str, tuple[int, int]]
    # (weeks, open cases without a check-in in so many weeks)
    silent: tuple[tuple[int, int], ...]
    caseloads: tuple[Caseload, ...]
    caseworkers: int
    without_caseworker: int
    cases: CaseCounts
    closed: int
    closed_median_days: float | None
    levels: tuple[str, ...] = FLAG_LEVELS
    ages: tuple[str, ...] = field(default=tuple(key for key, _, _ in FLAG_AGES))

    @property
    def open_total(self) -> int:
        return sum(each.total for each in self.open_flags.values())

    @property
    def overdue_total(self) -> int:
        return sum(each.overdue for each in self.open_flags.values())


async def overview(app: Wegwijzer, who: Participant, period: Period) -> Overview:
    """The overview of `period` for a coordinator; anyone else is refused (NotAllowed), and
    the refusal recorded. The look is recorded too: who, and which period."""
    async with audit.refusal_recorded(app, who, "overview"):
        if not may_see_overview(who):
            raise NotAllowed("the overview is for coordinators")
    now = app.clock()
    start, end = period.bounds(app.settings.timezone)
    ages = [timedelta(days=younger) for _, _, younger in FLAG_AGES if younger is not None]
    checkin = app.flows.for_purpose("checkin")
    async with app.database.reading() as uow:
        figures = uow.overview
        open_flags = {each.level: each for each in await figures.open_flags(now, ages)}
        responses = {each.level: each for each in await figures.responses(start, end)}
        escalations = await figures.escalations(start, end)
        grouped = await figures.cases_by()
        checked_in = (
            await figures.checked_in(checkin.id, now, SILENT_WEEKS)
            if checkin is not None
            else [0] * len(SILENT_WEEKS)
        )
        loads, caseworkers, without = await figures.caseloads(now, CASELOADS_SHOWN)
        closed, median = await figures.closures(start, end)
    await audit.record_look(
        app,
        who,
        "overview_viewed",
        first=period.first.isoformat(),
        last=period.last.isoformat(),
    )
    cases = _case_counts(grouped)
    return Overview(
        period=period,
        start=start,
        end=end,
        now=now,
        open_flags=open_flags,
        responses=responses,
        due_hours={
            level: app.settings.flag_due[level].total_seconds() / 3600 for level in FLAG_LEVELS
        },
        escalations=escalations,
        silent=tuple(
            (weeks, cases.total - done)
            for weeks, done in zip(SILENT_WEEKS, checked_in, strict=True)
        ),
        caseloads=tuple(loads),
        caseworkers=caseworkers,
        without_caseworker=without,
        cases=cases,
        closed=closed,
        closed_median_days=None if median is None else median / 86_400,
    )


def _case_counts(grouped: list[tuple[str, str | None, str | None, int]]) -> CaseCounts:
    by_programme: dict[str, int] = {}
    by_stage: dict[tuple[str, str | None], int] = {}
    by_risk: dict[str | None, int] = {}
    for programme, stage, risk, n in grouped:
        by_programme[programme] = by_programme.get(programme, 0) + n
        by_stage[programme, stage] = by_stage.get((programme, stage), 0) + n
        by_risk[risk] = by_risk.get(risk, 0) + n
    return CaseCounts(sum(by_programme.values()), by_programme, by_stage, by_risk)
