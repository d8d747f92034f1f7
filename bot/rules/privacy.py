"""The deployment's privacy policy: who is responsible, where to ask, on which legal basis,
and how long each kind of data is kept (`privacy.yaml`, `PRIVACY_FILE`).

Read and checked at start-up with the other assets: a missing kind, an unknown legal basis
or a term that is not "N days|weeks|months|years" stops the bot with the place named
(`PrivacyError`). The retention run (`wegwijzer retention run`), the consent text and the
processing map (`wegwijzer privacy map`) all read it from here, so what people are told is
what is done.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..i18n._yaml import read_checked

__all__ = [
    "LEGAL_BASES",
    "PRIVACY_FILE",
    "RETENTION_KINDS",
    "PrivacyError",
    "PrivacyPolicy",
    "Term",
]

PRIVACY_FILE = "privacy.yaml"

# The kinds of data, each with its own term (privacy.yaml explains what each holds).
RetentionKind = Literal["case_file", "contact", "processed_updates", "notices", "invites"]
RETENTION_KINDS: tuple[RetentionKind, ...] = (
    "case_file",
    "contact",
    "processed_updates",
    "notices",
    "invites",
)
LegalBasis = Literal[
    "public_task", "legal_obligation", "legitimate_interests", "consent", "vital_interests"
]
LEGAL_BASES: tuple[LegalBasis, ...] = (
    "public_task",
    "legal_obligation",
    "legitimate_interests",
    "consent",
    "vital_interests",
)

# How long the keys of handled updates may be kept (`processed_updates`). Shorter than 2 days
# and an update could be handled twice: the bot's inbox replays what a crash left unhandled
# for up to 24 hours (`bot.telegram._inbox.MAX_AGE`), as long as Telegram itself redelivers,
# and its key must still be on record then, with a day to spare. Longer than 7 days and a new
# update could be ignored: after about a week without updates Telegram may start update ids
# afresh, and a key kept from before would take a new update for one handled already.
UPDATE_TERM_DAYS = (2, 7)

_TERM = re.compile(r"^\s*(\d+)\s+(day|week|month|year)s?\s*$")
_UNIT_DAYS = {"day": 1, "week": 7}


class PrivacyError(Exception):
    """The privacy file is missing or wrong; the message names the file and the place."""


class Term(BaseModel):
    """How long something is kept: a number of days, weeks, months or years."""

    model_config = ConfigDict(frozen=True)

    count: int = Field(ge=1)
    unit: Literal["day", "week", "month", "year"]

    @property
    def days(self) -> int | None:
        """The term in days, when it is given in days or weeks (months and years vary)."""
        return self.count * _UNIT_DAYS[self.unit] if self.unit in _UNIT_DAYS else None

    @classmethod
    def parse(cls, text: str) -> Term:
        match = _TERM.match(text)
        if match is None:
            raise ValueError(f'{text!r} is not a term like "30 days" or "20 years"')
        return cls(count=int(match[1]), unit=match[2])

    def __str__(self) -> str:
        return f"{self.count} {self.unit}{'s' if self.count != 1 else ''}"

    def before(self, moment: datetime) -> datetime:
        """The moment this term before `moment`: what ended earlier is due (calendar months
        and years, so "20 years" is 20 birthdays, not 7,300 days)."""
        if self.unit in _UNIT_DAYS:
            return moment - timedelta(days=self.count * _UNIT_DAYS[self.unit])
        months = self.count * (12 if self.unit == "year" else 1)
        year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
        day = min(moment.day, _days_in(year, month + 1))
        return moment.replace(year=year, month=month + 1, day=day)


def _days_in(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


class Retention(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    case_file: Term
    contact: Term
    processed_updates: Term
    notices: Term
    invites: Term

    @field_validator("*", mode="before")
    @classmethod
    def _term(cls, value: object) -> object:
        return Term.parse(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _updates_neither_twice_nor_ignored(self) -> Retention:
        shortest, longest = UPDATE_TERM_DAYS
        days = self.processed_updates.days
        if days is None or not shortest <= days <= longest:
            raise ValueError(
                f"processed_updates is {self.processed_updates}, but must be {shortest} to "
                f"{longest} days: shorter, and an update replayed or redelivered within a day "
                "could be handled twice; longer, and after a week without updates Telegram "
                "may reuse an update id, and the new update would be ignored"
            )
        return self

    def term(self, kind: RetentionKind) -> Term:
        term: Term = getattr(self, kind)
        return term


class PrivacyPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    controller: str = Field(min_length=2, max_length=200)
    contact: str = Field(min_length=3, max_length=200)
    legal_basis: LegalBasis
    retention: Retention

    @classmethod
    def load(cls, path: Path) -> PrivacyPolicy:
        return read_checked(path, cls, PrivacyError, "the privacy policy (privacy.yaml)")
