"""When a schedule is next due: cadences in the family's own local time.

A cadence says "weekly on Monday at 18:00", "every 14 days at 09:30" or "monthly on the 1st at
10:00", always with a timezone (Europe/Amsterdam unless told otherwise). This module is pure: it
reads no clock, database or network; callers pass the moment they ask about and store the
cadence wherever they like (`as_dict`/`from_dict` give a JSON-friendly form).

Why local time: a family asked at 18:00 expects 18:00 on their own clock, in winter and in
summer. A schedule kept in UTC would drift by an hour at every daylight-saving change (18:00 CET
is 17:00 UTC, 18:00 CEST is 16:00 UTC). So each occurrence is worked out as a local date and
time in the cadence's timezone, and only then turned into a UTC moment for storage and
comparison. "Every 14 days" counts calendar days from `starts_on` in local time, so it too stays
at the same local time across a change.

Twice a year the local clock misbehaves (Europe/Amsterdam: the last Sunday of March and of
October, both at 01:00 UTC):

* Gap (spring forward): 02:00-03:00 local does not exist. An occurrence that falls in the gap
  (02:30) moves to the first valid moment after it, the end of the gap (03:00 local), not an
  hour past its time (03:30). It is never skipped.
* Fold (fall back): 02:00-03:00 local happens twice. An occurrence there is due at the first of
  the two (fold=0: 02:30 CEST, 00:30 UTC), and only once: the one after it is the next
  occurrence in the cadence, not the same wall time an hour later.

The same rules hold for any IANA timezone and any size of transition (half-hour shifts, a
transition at midnight, even a skipped calendar day). `starts_on` and `ends_on` are local
calendar dates, compared with the date an occurrence is scheduled on.

`next_due` looks at a handful of candidate dates around the moment asked about; it never walks
day by day from the start of the schedule, so asking about a moment years away costs the same.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..engine.events import JSONValue

__all__ = [
    "ACCEPTED_FORMS",
    "DEFAULT_TIMEZONE",
    "KINDS",
    "Cadence",
    "cadence_text",
    "next_due",
    "parse_cadence",
]

DEFAULT_TIMEZONE = "Europe/Amsterdam"
Kind = Literal["weekly", "every", "monthly"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# Canonical (English, three letters) weekday names, 0 = Monday as in date.weekday().
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES: dict[str, int] = {}
for _number, _names in enumerate(
    (
        ("mon", "monday", "ma", "maandag"),
        ("tue", "tuesday", "di", "dinsdag"),
        ("wed", "wednesday", "wo", "woensdag"),
        ("thu", "thursday", "do", "donderdag"),
        ("fri", "friday", "vr", "vrijdag"),
        ("sat", "saturday", "za", "zaterdag"),
        ("sun", "sunday", "zo", "zondag"),
    )
):
    for _name in _names:
        _WEEKDAY_NAMES[_name] = _number

_FIELDS = (
    "kind",
    "at",
    "timezone",
    "weekday",
    "every_days",
    "day_of_month",
    "starts_on",
    "ends_on",
)
# Which of the optional fields each kind needs; the others must be None.
_NEEDS = {"weekly": "weekday", "every": "every_days", "monthly": "day_of_month"}

ACCEPTED_FORMS = (
    "'weekly mon 18:00' (weekday in English or Dutch: mon/monday/ma/maandag ...), "
    "'every 14 days 09:30' (needs a start date) or 'monthly 1 10:00' (day 1-31; "
    "in shorter months the last day); time as HH:MM, 24-hour"
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)  # ZoneInfo caches instances by key


@dataclass(frozen=True)
class Cadence:
    """How often a schedule is due, at what local time, in which timezone.

    kind "weekly" needs `weekday` (0 = Monday ... 6 = Sunday); "every" needs `every_days`
    (>= 1) and `starts_on` (the days are counted from it); "monthly" needs `day_of_month`
    (1-31; in shorter months the last day of the month). The other two of these are None.
    `starts_on`/`ends_on` (inclusive) bound the local dates occurrences fall on.
    """

    kind: Kind
    at: time
    timezone: str = DEFAULT_TIMEZONE
    weekday: int | None = None
    every_days: int | None = None
    day_of_month: int | None = None
    starts_on: date | None = None
    ends_on: date | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown cadence kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if not isinstance(self.at, time):
            raise ValueError(f"at must be a datetime.time, got {self.at!r}")
        if self.at.tzinfo is not None:
            raise ValueError("at is a local time of day and must not carry a timezone")
        if self.at.second or self.at.microsecond:
            raise ValueError(f"at must be whole minutes (HH:MM), got {self.at.isoformat()}")
        if not isinstance(self.timezone, str):
            raise ValueError(f"timezone must be an IANA name, got {self.timezone!r}")
        try:
            _zone(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"unknown timezone {self.timezone!r}; use an IANA name such as "
                f"'Europe/Amsterdam' or 'Africa/Nairobi'"
            ) from None

        needed = _NEEDS[self.kind]
        for name in _NEEDS.values():
            value = getattr(self, name)
            if name == needed and value is None:
                raise ValueError(f"a {self.kind} cadence needs {name}")
            if name != needed and value is not None:
                raise ValueError(f"a {self.kind} cadence takes no {name} (got {value!r})")
        if self.weekday is not None and not (_is_int(self.weekday) and 0 <= self.weekday <= 6):
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday!r}")
        if self.every_days is not None and not (_is_int(self.every_days) and self.every_days >= 1):
            raise ValueError(
                f"every_days must be a whole number of at least 1, got {self.every_days!r}"
            )
        if self.day_of_month is not None and not (
            _is_int(self.day_of_month) and 1 <= self.day_of_month <= 31
        ):
            raise ValueError(f"day_of_month must be 1 to 31, got {self.day_of_month!r}")

        for name in ("starts_on", "ends_on"):
            value = getattr(self, name)
            # datetime is a subclass of date; a moment is not a calendar date.
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise ValueError(f"{name} must be a datetime.date, got {value!r}")
        if self.kind == "every" and self.starts_on is None:
            raise ValueError(
                "an 'every N days' cadence needs starts_on: the days are counted from it"
            )
        if (
            self.starts_on is not None
            and self.ends_on is not None
            and self.ends_on < self.starts_on
        ):
            raise ValueError(
                f"ends_on ({self.ends_on.isoformat()}) is before starts_on "
                f"({self.starts_on.isoformat()})"
            )

    def as_dict(self) -> dict[str, JSONValue]:
        """A JSON-ready dict: every field, time as "HH:MM", dates as "YYYY-MM-DD" or None."""
        return {
            "kind": self.kind,
            "at": self.at.isoformat(timespec="minutes"),
            "timezone": self.timezone,
            "weekday": self.weekday,
            "every_days": self.every_days,
            "day_of_month": self.day_of_month,
            "starts_on": self.starts_on.isoformat() if self.starts_on else None,
            "ends_on": self.ends_on.isoformat() if self.ends_on else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, JSONValue]) -> Cadence:
        """The inverse of `as_dict`. Missing optional keys are None (timezone: the default);
        unknown keys and malformed values raise ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a cadence must be a dict, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_FIELDS), key=str)
        if unknown:
            raise ValueError(f"unknown cadence field(s): {', '.join(map(str, unknown))}")
        for name in ("kind", "at"):
            if name not in data:
                raise ValueError(f"a stored cadence needs {name!r}")
        at = data["at"]
        if not isinstance(at, str):
            raise ValueError(f"at must be an ISO time string, got {at!r}")
        try:
            parsed_at = time.fromisoformat(at)
        except ValueError:
            raise ValueError(f"at is not an ISO time: {at!r}") from None

        def _date(name: str) -> date | None:
            value = data.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                raise ValueError(f"{name} must be an ISO date string, got {value!r}")
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{name} is not an ISO date: {value!r}") from None

        def _number(name: str) -> int | None:
            value = data.get(name)
            if value is not None and not _is_int(value):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            return value if isinstance(value, int) else None

        kind, zone = data["kind"], data.get("timezone", DEFAULT_TIMEZONE)
        if kind not in KINDS or not isinstance(zone, str):
            raise ValueError(f"not a stored cadence: kind {kind!r}, timezone {zone!r}")
        return cls(
            kind=kind,  # one of KINDS: checked just above
            at=parsed_at,
            timezone=zone,
            weekday=_number("weekday"),
            every_days=_number("every_days"),
            day_of_month=_number("day_of_month"),
            starts_on=_date("starts_on"),
            ends_on=_date("ends_on"),
        )


# --- when it is due ---------------------------------------------------------------------------


def _month_day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _dates_from(c: Cadence, first: date) -> Iterator[date]:
    """The cadence's local dates on or after `first`, ascending, without end."""
    if c.kind == "weekly":
        assert c.weekday is not None
        day = first + timedelta(days=(c.weekday - first.weekday()) % 7)
        while True:
            yield day
            day += timedelta(days=7)
    elif c.kind == "every":
        assert c.every_days is not None and c.starts_on is not None
        behind = (first - c.starts_on).days
        steps = max(0, -(-behind // c.every_days))  # ceiling division
        day = c.starts_on + timedelta(days=steps * c.every_days)
        while True:
            yield day
            day += timedelta(days=c.every_days)
    else:
        assert c.day_of_month is not None
        year, month = first.year, first.month
        while True:
            day = _month_day(year, month, c.day_of_month)
            if day >= first:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC moment a naive local wall time stands for in `zone`.

    Ambiguous (fold) times take their first occurrence; times in a gap move to the end of the
    gap, the first moment that exists after them.
    """
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # In a gap. fold=0 reads the wall time with the offset from before the transition, fold=1
    # with the one from after; the transition moment lies between the two readings.
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(first, second), max(first, second)
    before = lo.astimezone(zone).utcoffset()
    # Binary search for the first whole second with the new offset (tz transitions fall on
    # whole seconds): a few dozen steps even for a day-long gap.
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=(hi - lo) // timedelta(seconds=1) // 2)
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def next_due(cadence: Cadence, after: datetime) -> datetime | None:
    """The first occurrence strictly after the moment `after`, as an aware UTC datetime.

    `after` must be timezone-aware (any zone; it is compared as a moment). None when there is
    no such occurrence on or before `ends_on` (or none representable by datetime).
    """
    if not isinstance(after, datetime):
        raise ValueError(f"after must be a datetime, got {after!r}")
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware (a UTC moment), not a naive datetime")
    zone = _zone(cadence.timezone)
    at = time(cadence.at.hour, cadence.at.minute)
    try:
        after = after.astimezone(UTC)
        # An occurrence scheduled on a local date resolves to that date at `at` or, pushed past
        # a gap (at most a day), to a moment on the next day. So every occurrence after `after`
        # is scheduled no earlier than the day before `after`'s local date; two days back
        # leaves a day's margin (also for folds, where the local clock goes back).
        today = after.astimezone(zone).date()
        first = today - timedelta(days=2) if today > date.min + timedelta(days=2) else date.min
        if cadence.starts_on is not None and cadence.starts_on > first:
            first = cadence.starts_on
        for day in _dates_from(cadence, first):
            if cadence.ends_on is not None and day > cadence.ends_on:
                return None
            moment = _local_to_utc(datetime.combine(day, at), zone)
            if moment > after:
                return moment
    except OverflowError:
        return None
    raise AssertionError("unreachable: the dates never run out")  # pragma: no cover


# --- the short text form -----------------------------------------------------------------------

_TIME = re.compile(r"([0-9]{1,2})[:.]([0-9]{2})")
_NUMBER = re.compile(r"[0-9]{1,6}")


def _parse_time(word: str, text: str) -> time:
    match = _TIME.fullmatch(word)
    if match is None:
        raise ValueError(f"cannot read the time {word!r} in {text!r}: use HH:MM, e.g. 18:00")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"there is no time {word!r} (in {text!r}): use 00:00 to 23:59")
    return time(hour, minute)


def parse_cadence(
    text: str,
    timezone: str = DEFAULT_TIMEZONE,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Cadence:
    """Read the short form people type: "weekly mon 18:00", "every 14 days 09:30",
    "monthly 31 10:00". Case and extra spaces do not matter; weekdays may be English (mon,
    monday) or Dutch (ma, maandag); the time may be written 18:00 or 18.00. "every N days"
    needs `starts_on`. Raises ValueError saying what is wrong and which forms are accepted."""
    if not isinstance(text, str):
        raise ValueError(f"a cadence must be text, got {type(text).__name__}")
    words = text.lower().split()
    if not words:
        raise ValueError(f"the schedule is empty; use {ACCEPTED_FORMS}")
    kind, rest = words[0], words[1:]

    if kind == "weekly":
        if len(rest) != 2:
            raise ValueError(f"cannot read {text!r}; use {ACCEPTED_FORMS}")
        day = _WEEKDAY_NAMES.get(rest[0])
        if day is None:
            raise ValueError(
                f"unknown weekday {rest[0]!r} in {text!r}: use mon/tue/wed/thu/fri/sat/sun, "
                f"the full English name, or Dutch ma/di/wo/do/vr/za/zo or maandag ... zondag"
            )
        at = _parse_time(rest[1], text)
        return Cadence("weekly", at, timezone, weekday=day, starts_on=starts_on, ends_on=ends_on)

    if kind == "every":
        if len(rest) != 3 or rest[1] not in ("day", "days"):
            raise ValueError(f"cannot read {text!r}; use {ACCEPTED_FORMS}")
        if _NUMBER.fullmatch(rest[0]) is None:
            raise ValueError(f"the number of days in {text!r} must be a whole number, e.g. 14")
        days = int(rest[0])
        if days < 1:
            raise ValueError(f"the number of days in {text!r} must be at least 1")
        at = _parse_time(rest[2], text)
        if starts_on is None:
            raise ValueError(f"{text!r} needs a start date: 'every N days' counts the days from it")
        return Cadence("every", at, timezone, every_days=days, starts_on=starts_on, ends_on=ends_on)

    if kind == "monthly":
        if len(rest) != 2:
            raise ValueError(f"cannot read {text!r}; use {ACCEPTED_FORMS}")
        if _NUMBER.fullmatch(rest[0]) is None or not 1 <= int(rest[0]) <= 31:
            raise ValueError(f"the day of the month in {text!r} must be 1 to 31")
        at = _parse_time(rest[1], text)
        return Cadence(
            "monthly", at, timezone, day_of_month=int(rest[0]), starts_on=starts_on, ends_on=ends_on
        )

    raise ValueError(f"cannot read {text!r}; use {ACCEPTED_FORMS}")


def cadence_text(c: Cadence) -> str:
    """The canonical short form ("weekly mon 18:00", "every 1 day 09:30", "every 14 days 09:30",
    "monthly 31 10:00"). Timezone and start/end dates are not part of it:
    `parse_cadence(cadence_text(c), c.timezone, c.starts_on, c.ends_on) == c`."""
    at = c.at.strftime("%H:%M")
    if c.kind == "weekly":
        assert c.weekday is not None
        return f"weekly {_WEEKDAYS[c.weekday]} {at}"
    if c.kind == "every":
        return f"every {c.every_days} {'day' if c.every_days == 1 else 'days'} {at}"
    return f"monthly {c.day_of_month} {at}"
