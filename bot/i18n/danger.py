"""Danger words: per-language phrases that signal immediate danger, kept beside the catalogs.

Each shipped language has `locales/<lang>/danger_words.txt` (one phrase per line, `#` for
comments), reviewed like any translation. Matching is on whole words, case- and
accent-insensitive; `bot.services.emergency` decides what happens on a match.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..rules.alarms import ALARM_KINDS, AlarmKind

DANGER_FILE = "danger_words.txt"


@dataclass(frozen=True)
class DangerMatch:
    """What a text's danger words are: the phrase found (normalised; it goes into the flag's
    evidence, never the whole message) and the kinds of alarm it signals, most urgent first."""

    phrase: str
    kinds: tuple[AlarmKind, ...]

    @property
    def kind(self) -> AlarmKind:
        return self.kinds[0]


class DangerListMissing(Exception):
    """A shipped language has no danger word list."""


@dataclass(frozen=True)
class DangerWords:
    """Phrases as tuples of normalised words, for every shipped language together: a family
    may well write in Dutch when they chose Arabic, and a missed alarm costs more than a
    needless one."""

    phrases: frozenset[tuple[str, ...]]

    @classmethod
    def load(cls, locales_dir: Path, languages: Iterable[str]) -> DangerWords:
        phrases: set[tuple[str, ...]] = set()
        for language in languages:
            path = Path(locales_dir) / language / DANGER_FILE
            if not path.exists():
                raise DangerListMissing(f"{path} is missing: every shipped language needs one")
            for line in path.read_text(encoding="utf-8").splitlines():
                words = tuple(words_of(line)) if not line.lstrip().startswith("#") else ()
                if words:
                    phrases.add(words)
        return cls(frozenset(phrases))

    @functools.cached_property
    def _longest(self) -> int:
        return max((len(phrase) for phrase in self.phrases), default=0)

    def find(self, text: str) -> DangerMatch | None:
        """The danger a text signals, or None."""
        phrase = self.find_in(words_of(text))
        return DangerMatch(phrase, (ALARM_KINDS[0],)) if phrase is not None else None

    def find_in(self, words: list[str]) -> str | None:
        """The first danger phrase among a text's words (from `words_of`), or None."""
        longest = self._longest
        for start in range(len(words)):
            for length in range(1, min(longest, len(words) - start) + 1):
                candidate = tuple(words[start : start + length])
                if candidate in self.phrases:
                    return " ".join(candidate)
        return None


def words_of(text: str) -> list[str]:
    """Lower case, without accents or Arabic diacritics, split on anything not a letter or
    digit: 'Hij SLAAT mij!' and 'hij slaat mij' are the same words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    cleaned = "".join(char if char.isalnum() else " " for char in bare)
    return cleaned.split()
