"""The helplines of a deployment's country, by kind of alarm: `locales/helplines.yaml`.

Which numbers a family in danger gets depends on the danger (`rules.alarms`: immediate danger,
violence at home, self-harm, a child speaking) and on the country. The file a deployment edits
says, per country, each helpline's numbers, opening hours, whether it is free or anonymous, its
chat address and age range, with its name and purpose in every shipped language; which
helplines each kind of alarm gets, in order; the gentle signpost for a parent with very low
well-being; and which helplines the flows' `{emergency_number}` and `{advice_line}` name.

It is read and checked once at start-up, like the catalogs (`Assets.load`): an unknown kind,
a kind without help, a helpline that does not exist, a text missing a shipped language, or a
country that is not in the file stops the bot with the file and the place named
(`HelplinesError`), so that no family is ever given a wrong or empty answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..rules.alarms import ALARM_KINDS, AlarmKind
from ._translator import Localized
from ._yaml import read_checked

__all__ = ["HELPLINES_FILE", "Country", "Helpline", "Helplines", "HelplinesError"]

HELPLINES_FILE = "helplines.yaml"

# Words in each language, as the file gives them: {en: ..., nl: ..., ar: ...}.
Words = dict[str, str]


class HelplinesError(Exception):
    """The helplines file is missing or wrong; the message names the file and the place."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Helpline(_Strict):
    """One helpline. `name`, `purpose` and `hours` are words in every shipped language."""

    name: Words
    # What it is for, as a family reads it after the name: "if someone is in danger now".
    purpose: Words
    # As dialled; several are alternatives ("113", "0800-0113"). None for "your own GP".
    numbers: tuple[str, ...] = Field(default=(), max_length=4)
    # When it answers ("day and night"); required when there is a number or a chat.
    hours: Words | None = None
    free: bool = False
    anonymous: bool = False
    # A chat on the web, shown as written ("113.nl").
    chat: str | None = Field(default=None, min_length=3, max_length=100)
    # The ages it is for, inclusive ([8, 18]); None for everyone.
    ages: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Helpline:
        for number in self.numbers:
            digits = sum(char.isdigit() for char in number)
            if digits < 2 or not all(char.isdigit() or char in " +-" for char in number):
                raise ValueError(f"numbers: {number!r} is not a phone number (digits, + - space)")
        if (self.numbers or self.chat) and self.hours is None:
            raise ValueError("hours: a helpline with a number or a chat says when it answers")
        if self.ages is not None and not 0 <= self.ages[0] <= self.ages[1] <= 120:
            raise ValueError(f"ages: {list(self.ages)} is not a range of ages, youngest first")
        return self


class Country(_Strict):
    helplines: dict[str, Helpline] = Field(min_length=1)
    # For each kind of alarm, the helplines it gets, in the order given.
    alarms: dict[str, tuple[str, ...]]
    # For a worry that is not urgent (very low well-being): the GP, a crisis line.
    signpost: tuple[str, ...] = Field(min_length=1)
    # The helpline whose first number the flows say as {emergency_number}, and the one they
    # name as {advice_line} (its name and first number).
    emergency_number: str
    advice_line: str

    @model_validator(mode="after")
    def _references(self) -> Country:
        unknown = sorted(set(self.alarms) - set(ALARM_KINDS))
        if unknown:
            raise ValueError(f"alarms: unknown kind {', '.join(unknown)} (kinds: {ALARM_KINDS})")
        without = [kind for kind in ALARM_KINDS if not self.alarms.get(kind)]
        if without:
            raise ValueError(f"alarms: no helpline for {', '.join(without)}: every kind needs help")
        named = [
            *((f"alarms.{kind}", line) for kind, lines in self.alarms.items() for line in lines),
            *(("signpost", line) for line in self.signpost),
            ("emergency_number", self.emergency_number),
            ("advice_line", self.advice_line),
        ]
        for where, line in named:
            if line not in self.helplines:
                raise ValueError(
                    f"{where}: no helpline {line!r} (helplines: {list(self.helplines)})"
                )
        for kind, lines in self.alarms.items():
            # An alarm is answered with someone to call, not only with "your GP"; once each.
            if not any(self.helplines[line].numbers for line in lines):
                raise ValueError(f"alarms.{kind}: none of its helplines has a number to call")
            if len(set(lines)) != len(lines):
                raise ValueError(f"alarms.{kind}: a helpline is listed twice")
        for where in ("emergency_number", "advice_line"):
            if not self.helplines[getattr(self, where)].numbers:
                raise ValueError(f"{where}: helpline {getattr(self, where)!r} has no number")
        return self


class _File(_Strict):
    countries: dict[str, Country] = Field(min_length=1)


@dataclass(frozen=True)
class Helplines:
    """The deployment's country's helplines, checked."""

    country: str
    lines: Country

    @classmethod
    def load(cls, path: Path, country: str, languages: Iterable[str]) -> Helplines:
        """Read and check the file for a country; every text must be in every language."""
        countries = read_checked(path, _File, HelplinesError, "the helplines file").countries
        if country not in countries:
            raise HelplinesError(
                f"{path}: no helplines for the country {country!r} (COUNTRY); the file has "
                f"{', '.join(sorted(countries))}"
            )
        wanted = set(languages) | {"en"}
        for key, line in countries[country].helplines.items():
            for field in ("name", "purpose", "hours"):
                words: Words | None = getattr(line, field)
                if words is None:
                    continue
                missing = sorted(wanted - {code for code, text in words.items() if text.strip()})
                if missing:
                    raise HelplinesError(
                        f"{path}: countries.{country}.helplines.{key}.{field}: no text in "
                        f"{', '.join(missing)} (every shipped language needs one)"
                    )
        return cls(country, countries[country])

    def get(self, key: str) -> Helpline:
        return self.lines.helplines[key]

    def for_kinds(self, kinds: Iterable[AlarmKind]) -> list[tuple[AlarmKind, list[Helpline]]]:
        """The help for each kind, most urgent first; a helpline already given for a more
        urgent kind is not given again (a kind with nothing new is left out). No known kind
        at all is immediate danger: an alarm never goes without help."""
        wanted = [kind for kind in ALARM_KINDS if kind in set(kinds)] or [ALARM_KINDS[0]]
        given: set[str] = set()
        found = []
        for kind in wanted:
            new = [key for key in self.lines.alarms[kind] if key not in given]
            given.update(new)
            if new:
                found.append((kind, [self.get(key) for key in new]))
        return found

    @property
    def signpost(self) -> list[Helpline]:
        return [self.get(key) for key in self.lines.signpost]

    @property
    def emergency_number(self) -> str:
        return self.get(self.lines.emergency_number).numbers[0]

    @property
    def advice_line(self) -> Localized:
        """The advice line's name and number, as the flows say it: "Veilig Thuis 0800-2000"."""
        line = self.get(self.lines.advice_line)
        return Localized({code: f"{name} {line.numbers[0]}" for code, name in line.name.items()})
