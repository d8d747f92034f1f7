"""Cadences: next due moments in local time across daylight-saving changes, the short text
form, storage as a dict, and validation.

Europe/Amsterdam in 2026: summer time starts Sunday 29 March at 01:00 UTC (02:00 CET -> 03:00
CEST) and ends Sunday 25 October at 01:00 UTC (03:00 CEST -> 02:00 CET). 18:00 local is
17:00 UTC in winter and 16:00 UTC in summer.
"""

from __future__ import annotations

import bisect
import json
import random
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.rules.cadence import (
    ACCEPTED_FORMS,
    DEFAULT_TIMEZONE,
    Cadence,
    cadence_text,
    next_due,
    parse_cadence,
)

AMS = ZoneInfo("Europe/Amsterdam")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(moment: datetime, zone: str = "Europe/Amsterdam") -> datetime:
    """A UTC moment as naive local wall time, for readable assertions."""
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def weekly(day: int, hh: int, mm: int = 0, **kw: object) -> Cadence:
    return Cadence("weekly", time(hh, mm), weekday=day, **kw)  # type: ignore[arg-type]


MON, SUN = 0, 6


# --- weekly across daylight-saving changes ----------------------------------------------------


def test_weekly_spring_change_keeps_18_local() -> None:
    c = weekly(MON, 18)
    # Monday 23 March: winter time, 18:00 CET = 17:00 UTC.
    first = next_due(c, utc(2026, 3, 20, 12))
    assert first == utc(2026, 3, 23, 17)
    # Monday 30 March, after the change: 18:00 CEST = 16:00 UTC (6 days 23 hours later).
    second = next_due(c, first)
    assert second == utc(2026, 3, 30, 16)
    assert local(first) == datetime(2026, 3, 23, 18) and local(second) == datetime(2026, 3, 30, 18)
    assert second - first == timedelta(days=6, hours=23)


def test_weekly_autumn_change_keeps_18_local() -> None:
    c = weekly(MON, 18)
    first = next_due(c, utc(2026, 10, 17))
    assert first == utc(2026, 10, 19, 16)  # CEST
    second = next_due(c, first)
    assert second == utc(2026, 10, 26, 17)  # CET
    assert second - first == timedelta(days=7, hours=1)


def test_weekly_on_the_change_sundays_themselves() -> None:
    c = weekly(SUN, 18)
    assert next_due(c, utc(2026, 3, 29)) == utc(2026, 3, 29, 16)  # already CEST by 18:00
    assert next_due(c, utc(2026, 10, 25)) == utc(2026, 10, 25, 17)  # already CET by 18:00


def test_results_are_aware_utc() -> None:
    due = next_due(weekly(MON, 18), utc(2026, 1, 1))
    assert due is not None and due.tzinfo is UTC


def test_after_exactly_at_an_occurrence_gives_the_next_one() -> None:
    c = weekly(MON, 18)
    at = utc(2026, 1, 5, 17)  # Monday 18:00 CET
    assert next_due(c, at - timedelta(microseconds=1)) == at
    assert next_due(c, at) == utc(2026, 1, 12, 17)
    assert next_due(c, at + timedelta(microseconds=1)) == utc(2026, 1, 12, 17)


def test_after_in_another_zone_is_the_same_moment() -> None:
    c = weekly(MON, 18)
    # 18:00 in Amsterdam on Monday 5 January is 19:00 in Nairobi: asking "after" that moment
    # expressed in Nairobi time is asking after the occurrence itself.
    nairobi = datetime(2026, 1, 5, 20, tzinfo=ZoneInfo("Africa/Nairobi"))
    assert nairobi == utc(2026, 1, 5, 17)
    assert next_due(c, nairobi) == utc(2026, 1, 12, 17)
    assert next_due(c, datetime(2026, 1, 5, 17, 59, tzinfo=timezone(timedelta(hours=1)))) == (
        utc(2026, 1, 5, 17)
    )


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due(weekly(MON, 18), datetime(2026, 1, 1))


# --- every N days -----------------------------------------------------------------------------


def test_every_14_days_from_the_start_date() -> None:
    c = Cadence("every", time(9, 30), every_days=14, starts_on=date(2026, 1, 5))
    first = next_due(c, utc(2025, 6, 1))
    assert first == utc(2026, 1, 5, 8, 30)
    assert next_due(c, first) == utc(2026, 1, 19, 8, 30)
    # 2026-03-30 is start + 84 days, the day after summer time starts: still 09:30 local.
    assert next_due(c, utc(2026, 3, 20)) == utc(2026, 3, 30, 7, 30)
    # The same day, just after its occurrence, goes on 14 days.
    assert next_due(c, utc(2026, 3, 30, 7, 30)) == utc(2026, 4, 13, 7, 30)


def test_every_n_days_far_away_stays_on_the_grid() -> None:
    c = Cadence("every", time(9, 30), every_days=14, starts_on=date(2026, 1, 5))
    for after in (utc(2031, 7, 4, 12), utc(2100, 2, 28, 23), utc(9000, 1, 1)):
        due = next_due(c, after)
        assert due is not None and due > after
        assert (local(due).date() - date(2026, 1, 5)).days % 14 == 0
        assert local(due).time() == time(9, 30)
        assert due - after <= timedelta(days=14, hours=1)


def test_every_1_day() -> None:
    c = Cadence("every", time(7, 0), every_days=1, starts_on=date(2026, 3, 27))
    dues = []
    moment = utc(2026, 3, 1)
    for _ in range(4):
        moment = next_due(c, moment)
        dues.append(local(moment))
    assert dues == [datetime(2026, 3, d, 7) for d in (27, 28, 29, 30)]


# --- monthly ---------------------------------------------------------------------------------


def test_monthly_31_falls_on_the_last_day_of_shorter_months() -> None:
    c = Cadence("monthly", time(10, 0), day_of_month=31)
    seen = []
    moment = utc(2026, 1, 1)
    for _ in range(5):
        moment = next_due(c, moment)
        seen.append(local(moment))
    assert seen == [
        datetime(2026, 1, 31, 10),
        datetime(2026, 2, 28, 10),
        datetime(2026, 3, 31, 10),
        datetime(2026, 4, 30, 10),  # CEST by then: 08:00 UTC
        datetime(2026, 5, 31, 10),
    ]
    assert next_due(c, utc(2026, 4, 1)) == utc(2026, 4, 30, 8)


def test_monthly_31_in_a_leap_february() -> None:
    c = Cadence("monthly", time(10, 0), day_of_month=31)
    assert next_due(c, utc(2028, 2, 1)) == utc(2028, 2, 29, 9)
    assert next_due(c, utc(2028, 2, 29, 9)) == utc(2028, 3, 31, 8)  # CEST from 26 March 2028


def test_monthly_1_and_the_turn_of_the_year() -> None:
    c = Cadence("monthly", time(10, 0), day_of_month=1)
    assert next_due(c, utc(2026, 12, 1, 9)) == utc(2027, 1, 1, 9)
    # 23:30 UTC on 31 December is already 00:30 on 1 January in Amsterdam, before 10:00:
    # that day's occurrence is still ahead.
    assert next_due(c, utc(2026, 12, 31, 23, 30)) == utc(2027, 1, 1, 9)


def test_monthly_29_and_30_in_february() -> None:
    assert next_due(Cadence("monthly", time(8), day_of_month=30), utc(2027, 2, 1)) == (
        utc(2027, 2, 28, 7)
    )
    assert next_due(Cadence("monthly", time(8), day_of_month=29), utc(2027, 2, 1)) == (
        utc(2027, 2, 28, 7)
    )
    assert next_due(Cadence("monthly", time(8), day_of_month=29), utc(2027, 2, 28, 7)) == (
        utc(2027, 3, 29, 6)
    )


# --- start and end ----------------------------------------------------------------------------


def test_ends_on_cuts_off_inclusive() -> None:
    c = weekly(MON, 18, ends_on=date(2026, 2, 2))  # a Monday
    last = next_due(c, utc(2026, 1, 30))
    assert last == utc(2026, 2, 2, 17)  # the end date itself still counts
    assert next_due(c, last) is None
    assert next_due(c, utc(2027, 1, 1)) is None


def test_ends_on_before_the_weekday_gives_none() -> None:
    c = weekly(MON, 18, ends_on=date(2026, 2, 8))  # a Sunday
    assert next_due(c, utc(2026, 2, 2, 17)) is None


def test_every_and_monthly_end_too() -> None:
    every = Cadence(
        "every", time(9), every_days=10, starts_on=date(2026, 1, 1), ends_on=date(2026, 1, 20)
    )
    assert next_due(every, utc(2026, 1, 11, 8)) is None  # next would be 21 January
    monthly = Cadence("monthly", time(9), day_of_month=15, ends_on=date(2026, 3, 15))
    assert next_due(monthly, utc(2026, 3, 1)) == utc(2026, 3, 15, 8)
    assert next_due(monthly, utc(2026, 3, 15, 8)) is None


def test_starts_on_in_the_future_gives_first_occurrence_on_or_after_it() -> None:
    # 3 June 2026 is a Wednesday: the first Monday on or after it is 8 June.
    c = weekly(MON, 18, starts_on=date(2026, 6, 3))
    assert next_due(c, utc(2026, 1, 1)) == utc(2026, 6, 8, 16)
    # Starting on a Monday: that Monday itself.
    c = weekly(MON, 18, starts_on=date(2026, 6, 8))
    assert next_due(c, utc(2026, 1, 1)) == utc(2026, 6, 8, 16)
    monthly = Cadence("monthly", time(10), day_of_month=1, starts_on=date(2026, 6, 2))
    assert next_due(monthly, utc(2026, 1, 1)) == utc(2026, 7, 1, 8)


def test_starts_and_ends_on_the_same_day() -> None:
    c = weekly(MON, 18, starts_on=date(2026, 6, 8), ends_on=date(2026, 6, 8))
    assert next_due(c, utc(2026, 1, 1)) == utc(2026, 6, 8, 16)
    assert next_due(c, utc(2026, 6, 8, 16)) is None


# --- gaps and folds ---------------------------------------------------------------------------


def test_time_in_the_spring_gap_moves_to_the_end_of_the_gap() -> None:
    c = weekly(SUN, 2, 30)
    before = next_due(c, utc(2026, 3, 22, 1, 30))  # after the 22 March occurrence
    assert before == utc(2026, 3, 29, 1)  # 02:30 does not exist; 03:00 CEST = 01:00 UTC
    assert local(before) == datetime(2026, 3, 29, 3, 0)
    assert next_due(c, utc(2026, 3, 29, 0, 59, 59)) == utc(2026, 3, 29, 1)
    # From the moved occurrence, the next one is the ordinary 02:30 CEST a week later.
    assert next_due(c, before) == utc(2026, 4, 5, 0, 30)


def test_daily_through_the_gap_is_strictly_increasing() -> None:
    c = Cadence("every", time(2, 30), every_days=1, starts_on=date(2026, 3, 27))
    dues = []
    moment = utc(2026, 3, 27)
    for _ in range(4):
        moment = next_due(c, moment)
        dues.append(moment)
    assert dues == [
        utc(2026, 3, 27, 1, 30),
        utc(2026, 3, 28, 1, 30),
        utc(2026, 3, 29, 1, 0),  # gap: 03:00 CEST
        utc(2026, 3, 30, 0, 30),
    ]


def test_time_in_the_autumn_fold_takes_the_first_and_only_once() -> None:
    c = weekly(SUN, 2, 30)
    first = next_due(c, utc(2026, 10, 20))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, the first of the two
    assert first.astimezone(AMS).utcoffset() == timedelta(hours=2)
    # Not again at the second 02:30 (CET, 01:30 UTC): next week.
    assert next_due(c, first) == utc(2026, 11, 1, 1, 30)
    assert next_due(c, utc(2026, 10, 25, 1, 30)) == utc(2026, 11, 1, 1, 30)


def test_edges_of_gap_and_fold() -> None:
    # 02:00 does not exist on the spring Sunday (03:00 does); 03:00 exists once.
    assert next_due(weekly(SUN, 2, 0), utc(2026, 3, 28)) == utc(2026, 3, 29, 1)
    assert next_due(weekly(SUN, 3, 0), utc(2026, 3, 28)) == utc(2026, 3, 29, 1)
    assert next_due(weekly(SUN, 1, 59), utc(2026, 3, 28)) == utc(2026, 3, 29, 0, 59)
    # 02:00 happens twice on the autumn Sunday: the first is 00:00 UTC; 03:00 is once, CET.
    assert next_due(weekly(SUN, 2, 0), utc(2026, 10, 24)) == utc(2026, 10, 25, 0)
    assert next_due(weekly(SUN, 3, 0), utc(2026, 10, 24)) == utc(2026, 10, 25, 2)


# --- other timezones --------------------------------------------------------------------------


def test_nairobi_has_no_daylight_saving() -> None:
    c = weekly(4, 8, timezone="Africa/Nairobi")  # Friday 08:00 EAT (UTC+3)
    assert next_due(c, utc(2026, 3, 23)) == utc(2026, 3, 27, 5)
    assert next_due(c, utc(2026, 10, 20)) == utc(2026, 10, 23, 5)


def test_sao_paulo_now_and_a_midnight_gap_in_2018() -> None:
    c = weekly(MON, 18, timezone="America/Sao_Paulo")  # UTC-3, no DST since 2019
    assert next_due(c, utc(2026, 1, 1)) == utc(2026, 1, 5, 21)
    # In 2018 summer time started Sunday 4 November at 00:00 -> 01:00: 00:30 did not exist.
    c = Cadence(
        "every",
        time(0, 30),
        every_days=1,
        starts_on=date(2018, 11, 1),
        timezone="America/Sao_Paulo",
    )
    due = next_due(c, utc(2018, 11, 3, 4))
    assert due == utc(2018, 11, 4, 3)
    assert local(due, "America/Sao_Paulo") == datetime(2018, 11, 4, 1, 0)
    assert next_due(c, due) == utc(2018, 11, 5, 2, 30)


def test_new_york_changes_on_other_dates() -> None:
    c = weekly(MON, 18, timezone="America/New_York")
    assert next_due(c, utc(2026, 3, 1)) == utc(2026, 3, 2, 23)  # EST
    assert next_due(c, utc(2026, 3, 3)) == utc(2026, 3, 9, 22)  # EDT since 8 March


def test_half_hour_shift_lord_howe() -> None:
    # Lord Howe Island moves its clock by 30 minutes: 02:00 -> 02:30 on 4 October 2026.
    c = weekly(SUN, 2, 15, timezone="Australia/Lord_Howe")
    due = next_due(c, utc(2026, 10, 1))
    assert local(due, "Australia/Lord_Howe") == datetime(2026, 10, 4, 2, 30)


def test_a_skipped_calendar_day_samoa_2011() -> None:
    # Samoa skipped Friday 30 December 2011 (29 December 23:59 -10:00 was followed by
    # 31 December 00:00 +14:00). A Friday occurrence moves to the first moment after the gap.
    c = weekly(4, 18, timezone="Pacific/Apia")
    due = next_due(c, utc(2011, 12, 29, 12))
    assert due == utc(2011, 12, 30, 10)
    assert local(due, "Pacific/Apia") == datetime(2011, 12, 31, 0, 0)
    assert next_due(c, due) == utc(2012, 1, 6, 4)


def test_extreme_moments_give_none_rather_than_overflow() -> None:
    c = weekly(MON, 18)
    assert next_due(c, datetime.max.replace(tzinfo=UTC)) is None
    assert next_due(c, utc(9999, 12, 31)) is None
    earliest = next_due(c, datetime.min.replace(tzinfo=UTC))  # Monday 1 January of year 1
    assert earliest is not None and local(earliest) == datetime(1, 1, 1, 18, 0)
    every = Cadence("every", time(9), every_days=4_000_000, starts_on=date(2026, 1, 1))
    assert next_due(every, utc(2026, 1, 2)) is None  # next would be past year 9999


# --- properties over a year -------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone", ["Europe/Amsterdam", "America/New_York", "Australia/Sydney", "Africa/Nairobi"]
)
def test_a_year_of_weekly_occurrences(zone: str) -> None:
    c = weekly(MON, 18, timezone=zone)
    moment = utc(2026, 1, 1)
    previous = None
    for _ in range(60):
        due = next_due(c, moment)
        assert due is not None and due > moment
        wall = local(due, zone)
        assert wall.time() == time(18, 0) and wall.weekday() == MON
        if previous is not None:
            assert timedelta(days=6) <= due - previous <= timedelta(days=8)
            assert due - previous in {
                timedelta(days=7),
                timedelta(days=7, hours=1),
                timedelta(days=6, hours=23),
            }
        previous = moment = due


def _reference_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """Independently of fold handling: the first UTC moment whose local wall time is at or
    past `wall`. That is the exact moment when `wall` exists (its first occurrence when it
    exists twice) and the end of the gap when it does not."""
    base = wall.replace(tzinfo=UTC)
    offsets = {(base + timedelta(hours=h)).astimezone(zone).utcoffset() for h in range(-48, 49, 3)}
    exact = [base - o for o in offsets if (base - o).astimezone(zone).replace(tzinfo=None) == wall]
    if exact:
        return min(exact)
    moment = min(base - o for o in offsets)
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return moment


def _on_schedule(c: Cadence, day: date) -> bool:
    if c.kind == "weekly":
        return day.weekday() == c.weekday
    if c.kind == "every":
        return day >= c.starts_on and (day - c.starts_on).days % c.every_days == 0
    last = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return day.day == min(c.day_of_month, last.day)


@pytest.mark.parametrize(
    "cadence",
    [
        weekly(SUN, 2, 30),
        weekly(MON, 18),
        Cadence("every", time(2, 15), every_days=3, starts_on=date(2025, 12, 30)),
        Cadence("every", time(23, 45), every_days=1, starts_on=date(2026, 1, 1)),
        Cadence("monthly", time(2, 30), day_of_month=31),
        weekly(SUN, 0, 30, timezone="America/Santiago"),
        Cadence("monthly", time(2, 0), day_of_month=29, timezone="America/New_York"),
    ],
    ids=cadence_text,
)
def test_next_due_matches_a_day_by_day_reference(cadence: Cadence) -> None:
    zone = ZoneInfo(cadence.timezone)
    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(800)]
    occurrences = [
        _reference_utc(datetime.combine(d, cadence.at), zone)
        for d in days
        if _on_schedule(cadence, d)
    ]
    assert occurrences == sorted(occurrences)
    rng = random.Random(7)
    start, span = utc(2026, 1, 2), (occurrences[-1] - utc(2026, 1, 2)).total_seconds()
    probes = [start + timedelta(seconds=rng.uniform(0, span)) for _ in range(300)]
    probes += occurrences[:-1]  # exactly at each occurrence
    for after in probes:
        expected = occurrences[bisect.bisect_right(occurrences, after)]
        assert next_due(cadence, after) == expected, after


# --- the short text form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekly mon 18:00", weekly(MON, 18)),
        ("Weekly  MONDAY   18:00", weekly(MON, 18)),
        ("  weekly tue 7:05 ", weekly(1, 7, 5)),
        ("weekly wednesday 18:00", weekly(2, 18)),
        ("weekly thu 18.30", weekly(3, 18, 30)),
        ("weekly ma 18:00", weekly(MON, 18)),
        ("weekly di 18:00", weekly(1, 18)),
        ("weekly wo 18:00", weekly(2, 18)),
        ("weekly do 18:00", weekly(3, 18)),
        ("weekly vr 18:00", weekly(4, 18)),
        ("weekly za 18:00", weekly(5, 18)),
        ("weekly zo 18:00", weekly(SUN, 18)),
        ("weekly Zondag 00:00", weekly(SUN, 0)),
        ("weekly donderdag 23:59", weekly(3, 23, 59)),
        ("weekly sunday 18:00", weekly(SUN, 18)),
        ("monthly 1 10:00", Cadence("monthly", time(10), day_of_month=1)),
        ("MONTHLY 31 10:00", Cadence("monthly", time(10), day_of_month=31)),
    ],
)
def test_parse(text: str, expected: Cadence) -> None:
    assert parse_cadence(text) == expected


def test_parse_every_needs_and_uses_starts_on() -> None:
    start = date(2026, 1, 5)
    assert parse_cadence("every 14 days 09:30", starts_on=start) == Cadence(
        "every", time(9, 30), every_days=14, starts_on=start
    )
    assert parse_cadence("Every 1 Day 09:30", starts_on=start).every_days == 1
    with pytest.raises(ValueError, match="needs a start date"):
        parse_cadence("every 14 days 09:30")


def test_parse_passes_timezone_and_bounds() -> None:
    c = parse_cadence(
        "weekly fri 08:00",
        timezone="Africa/Nairobi",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
    )
    assert c == Cadence(
        "weekly",
        time(8),
        "Africa/Nairobi",
        weekday=4,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
    )
    assert parse_cadence("weekly fri 08:00").timezone == DEFAULT_TIMEZONE == "Europe/Amsterdam"
    with pytest.raises(ValueError, match="unknown timezone"):
        parse_cadence("weekly fri 08:00", timezone="Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="before starts_on"):
        parse_cadence("weekly fri 08:00", starts_on=date(2026, 2, 1), ends_on=date(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("weekly", "weekly mon 18:00"),
        ("weekly mon", "weekly mon 18:00"),
        ("weekly mon 18:00 extra", "weekly mon 18:00"),
        ("weekly xyz 18:00", "unknown weekday"),
        ("weekly m 18:00", "unknown weekday"),
        ("weekly mon 25:00", "00:00 to 23:59"),
        ("weekly mon 18:60", "00:00 to 23:59"),
        ("weekly mon 1800", "HH:MM"),
        ("weekly mon 18:0", "HH:MM"),
        ("weekly mon 6pm", "HH:MM"),
        ("every two days 09:00", "whole number"),
        ("every -3 days 09:00", "whole number"),
        ("every 0 days 09:00", "at least 1"),
        ("every 14 weeks 09:00", "every 14 days 09:30"),
        ("every 14 09:00", "every 14 days 09:30"),
        ("monthly 0 10:00", "1 to 31"),
        ("monthly 32 10:00", "1 to 31"),
        ("monthly first 10:00", "1 to 31"),
        ("monthly 10:00", "monthly 1 10:00"),
        ("daily 10:00", "monthly 1 10:00"),
        ("wekelijks ma 18:00", "weekly mon 18:00"),
        ("weekly ١ 18:00", "unknown weekday"),
        ("monthly ١ 10:00", "1 to 31"),  # Arabic-Indic digit: not accepted as a number
    ],
)
def test_parse_errors_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cadence(text, starts_on=date(2026, 1, 1))


def test_general_parse_error_lists_all_forms() -> None:
    with pytest.raises(ValueError) as info:
        parse_cadence("fortnightly 10:00")
    text = str(info.value)
    assert "'fortnightly 10:00'" in text and ACCEPTED_FORMS in text
    for form in ("weekly mon 18:00", "every 14 days 09:30", "monthly 1 10:00", "HH:MM"):
        assert form in text


# --- round trips ------------------------------------------------------------------------------

ROUND_TRIP = [
    weekly(MON, 18),
    weekly(SUN, 0, 5, timezone="America/Sao_Paulo"),
    weekly(3, 23, 59, starts_on=date(2026, 1, 1), ends_on=date(2026, 6, 30)),
    Cadence("every", time(9, 30), every_days=14, starts_on=date(2026, 1, 5)),
    Cadence(
        "every", time(9, 30), every_days=1, starts_on=date(2026, 1, 5), ends_on=date(2027, 1, 5)
    ),
    Cadence("monthly", time(10), day_of_month=1),
    Cadence("monthly", time(10), "Africa/Nairobi", day_of_month=31, starts_on=date(2026, 2, 1)),
]


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("weekly mon 18:00", "weekly mon 18:00"),
        ("WEEKLY  Maandag 8:05", "weekly mon 08:05"),
        ("weekly zondag 18.00", "weekly sun 18:00"),
        ("every 1 days 9:30", "every 1 day 09:30"),
        ("every 14 day 09:30", "every 14 days 09:30"),
        ("every 007 days 09:30", "every 7 days 09:30"),
        ("monthly 31 10:00", "monthly 31 10:00"),
        ("monthly 01 10:00", "monthly 1 10:00"),
    ],
)
def test_text_is_canonical_and_parses_back(text: str, canonical: str) -> None:
    start = date(2026, 1, 5)
    c = parse_cadence(text, starts_on=start)
    assert cadence_text(c) == canonical
    assert parse_cadence(canonical, starts_on=start) == c


@pytest.mark.parametrize("cadence", ROUND_TRIP, ids=cadence_text)
def test_round_trip_text(cadence: Cadence) -> None:
    again = parse_cadence(
        cadence_text(cadence), cadence.timezone, cadence.starts_on, cadence.ends_on
    )
    assert again == cadence


@pytest.mark.parametrize("cadence", ROUND_TRIP, ids=cadence_text)
def test_round_trip_dict_through_json(cadence: Cadence) -> None:
    stored = json.dumps(cadence.as_dict())
    assert Cadence.from_dict(json.loads(stored)) == cadence


def test_as_dict_shape() -> None:
    c = Cadence("every", time(9, 30), every_days=14, starts_on=date(2026, 1, 5))
    assert c.as_dict() == {
        "kind": "every",
        "at": "09:30",
        "timezone": "Europe/Amsterdam",
        "weekday": None,
        "every_days": 14,
        "day_of_month": None,
        "starts_on": "2026-01-05",
        "ends_on": None,
    }


def test_from_dict_accepts_missing_optionals_and_longer_iso_times() -> None:
    assert Cadence.from_dict({"kind": "weekly", "at": "18:00:00", "weekday": 0}) == weekly(MON, 18)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "weekly", "at": "18:00", "weekday": 0, "colour": "red"}, "unknown cadence field"),
        ({"at": "18:00", "weekday": 0}, "needs 'kind'"),
        ({"kind": "weekly", "weekday": 0}, "needs 'at'"),
        ({"kind": "weekly", "at": "six", "weekday": 0}, "not an ISO time"),
        ({"kind": "weekly", "at": 1800, "weekday": 0}, "ISO time string"),
        ({"kind": "weekly", "at": "18:00+01:00", "weekday": 0}, "must not carry a timezone"),
        ({"kind": "weekly", "at": "18:00", "weekday": "0"}, "weekday must be"),
        ({"kind": "weekly", "at": "18:00", "weekday": 0, "starts_on": "soon"}, "not an ISO date"),
        ({"kind": "weekly", "at": "18:00", "weekday": 0, "ends_on": 20260101}, "ISO date string"),
        (
            {"kind": "weekly", "at": "18:00", "weekday": 0, "timezone": "Nowhere"},
            "unknown timezone",
        ),
        (["weekly"], "must be a dict"),
    ],
)
def test_from_dict_errors(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cadence.from_dict(data)  # type: ignore[arg-type]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "daily", "at": time(9)}, "unknown cadence kind"),
        (
            {"kind": "weekly", "at": time(9), "weekday": 0, "timezone": "Europe/Amsterdm"},
            "unknown timezone",
        ),
        ({"kind": "weekly", "at": time(9), "weekday": 0, "timezone": "Europe"}, "unknown timezone"),
        ({"kind": "weekly", "at": time(9), "weekday": 0, "timezone": ""}, "unknown timezone"),
        (
            {"kind": "weekly", "at": time(9), "weekday": 0, "timezone": "../etc/passwd"},
            "unknown timezone",
        ),
        ({"kind": "weekly", "at": time(9), "weekday": 0, "timezone": None}, "IANA name"),
        ({"kind": "weekly", "at": time(9)}, "weekly cadence needs weekday"),
        ({"kind": "weekly", "at": time(9), "weekday": 0, "every_days": 7}, "takes no every_days"),
        (
            {"kind": "weekly", "at": time(9), "weekday": 0, "day_of_month": 1},
            "takes no day_of_month",
        ),
        ({"kind": "weekly", "at": time(9), "weekday": 7}, "weekday must be 0"),
        ({"kind": "weekly", "at": time(9), "weekday": -1}, "weekday must be 0"),
        ({"kind": "weekly", "at": time(9), "weekday": True}, "weekday must be 0"),
        ({"kind": "every", "at": time(9), "starts_on": date(2026, 1, 1)}, "needs every_days"),
        ({"kind": "every", "at": time(9), "every_days": 14}, "needs starts_on"),
        (
            {"kind": "every", "at": time(9), "every_days": 0, "starts_on": date(2026, 1, 1)},
            "at least 1",
        ),
        (
            {"kind": "every", "at": time(9), "every_days": 1.5, "starts_on": date(2026, 1, 1)},
            "whole number",
        ),
        (
            {
                "kind": "every",
                "at": time(9),
                "every_days": 2,
                "weekday": 1,
                "starts_on": date(2026, 1, 1),
            },
            "takes no weekday",
        ),
        ({"kind": "monthly", "at": time(9)}, "needs day_of_month"),
        ({"kind": "monthly", "at": time(9), "day_of_month": 0}, "1 to 31"),
        ({"kind": "monthly", "at": time(9), "day_of_month": 32}, "1 to 31"),
        ({"kind": "weekly", "at": "18:00", "weekday": 0}, "datetime.time"),
        ({"kind": "weekly", "at": time(18, tzinfo=UTC), "weekday": 0}, "must not carry a timezone"),
        ({"kind": "weekly", "at": time(18, 0, 30), "weekday": 0}, "whole minutes"),
        (
            {"kind": "weekly", "at": time(9), "weekday": 0, "starts_on": datetime(2026, 1, 1)},
            "datetime.date",
        ),
        ({"kind": "weekly", "at": time(9), "weekday": 0, "ends_on": "2026-01-01"}, "datetime.date"),
        (
            {
                "kind": "weekly",
                "at": time(9),
                "weekday": 0,
                "starts_on": date(2026, 2, 1),
                "ends_on": date(2026, 1, 31),
            },
            "ends_on \\(2026-01-31\\) is before starts_on \\(2026-02-01\\)",
        ),
    ],
)
def test_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Cadence(**kwargs)


def test_cadence_is_frozen_and_hashable() -> None:
    c = weekly(MON, 18)
    with pytest.raises(AttributeError):
        c.weekday = 1  # type: ignore[misc]
    assert {c, weekly(MON, 18)} == {c}
