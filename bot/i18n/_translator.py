"""Rendering a `Text` in one reader's language: translate the msgid, then fill its placeholders.

Placeholders are named, str.format style (`{emergency_number}`), without format specs: the
value is formatted here, for the reader's locale, before it is put in — dates in words
("4 december 2026"), moments in the reader's timezone, numbers with the locale's decimal
sign, booleans as the translated "Yes" or "No", and a nested `Text` rendered in turn.

A translation is written by people and can be wrong; the English source is the contract.
So a translation whose placeholders differ from its source's (one missing, misspelt or
malformed) is never shown: the reader gets the English rendering instead, and the log gets a
warning naming the msgid only — parameter values can be names or answers, which logs never
carry.
"""

from __future__ import annotations

import gettext
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from string import Formatter

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_decimal

from bot.engine.events import Text
from bot.i18n._errors import RenderError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Localized:
    """Words a data file gives in each language itself (a helpline's name, its opening hours:
    `locales/helplines.yaml`), not through the catalogs: the reader's language, else English."""

    texts: Mapping[str, str]

    def in_language(self, language: str) -> str:
        return self.texts.get(language) or self.texts["en"]


@dataclass(frozen=True)
class Parts:
    """Values shown one after the other with a separator: sentences of one line (" "), or
    lines of one value ("\n")."""

    parts: tuple[object, ...]
    separator: str = " "


def placeholders(message: str) -> frozenset[str]:
    """The names of the `{placeholders}` in a message; raises ValueError if it is malformed.

    A positional (`{}`, `{0}`) placeholder is returned by its empty or numeric name, so that a
    translation that uses one never equals its named source.
    """
    return frozenset(name for _, name, _, _ in Formatter().parse(message) if name is not None)


class Translator:
    """Texts in one language for one reader. Made by `Catalogs.translator`; cheap to create."""

    def __init__(
        self,
        language: str,
        translations: gettext.NullTranslations,
        locale: Locale,
        timezone: tzinfo,
        *,
        source: Translator | None = None,
        reported: set[tuple[str, str]] | None = None,
        direction: str = "ltr",
    ) -> None:
        self.language = language
        self.direction = direction
        self.locale = locale
        self.timezone = timezone
        self._translations = translations
        # The English translator to fall back to; None when this one is the source language.
        self._source = source
        # Shared by the translators of one `Catalogs`, so a broken translation is logged once.
        self._reported = reported if reported is not None else set()

    def __repr__(self) -> str:
        return f"<Translator {self.language} {self.timezone}>"

    def gettext(self, msgid: str) -> str:
        """The translation of an English source string, or the string itself if there is none."""
        # The empty msgid is the catalog's header; it is never a text to show.
        if not msgid:
            return msgid
        return self._translations.gettext(msgid)

    def has_translation(self, msgid: str) -> bool:
        """Whether the catalog translates msgid (always true for the source language)."""
        if self._source is None:
            return True
        return bool(msgid) and bool(_messages(self._translations).get(msgid))

    def render(self, text: Text) -> str:
        """The text as the reader must see it, placeholders filled."""
        values = {
            name: self._isolated(self._format_value(name, value))
            for name, value in text.params.items()
        }
        if text.plural is not None:
            count = text.params.get("count")
            if not isinstance(count, int) or isinstance(count, bool):
                raise RenderError(f"plural text {text.msgid!r} needs an int 'count'")
            english = text.msgid if count == 1 else text.plural
            translated = self._translations.ngettext(text.msgid, text.plural, count)
        else:
            english = text.msgid
            translated = self.gettext(text.msgid)
        if self._source is None or translated == english:
            return _fill(english, values, text.msgid)
        try:
            expected = placeholders(text.msgid)
            used = placeholders(translated)
            # A plural form may leave the number out ("one flag"), never add a name.
            fits = used <= expected if text.plural is not None else used == expected
            if not fits:
                raise ValueError("placeholders differ from the source")
            return translated.format_map(values)
        except (ValueError, KeyError, IndexError, AttributeError, TypeError):
            # Raises RenderError if the Text does not fit its source either: then the code is
            # wrong, not the translation.
            english = self._source.render(text)
            key = (self.language, text.msgid)
            if key not in self._reported:
                self._reported.add(key)
                logger.warning(
                    "%s translation has broken placeholders, showing English instead: %r",
                    self.language,
                    text.msgid,
                )
            return english

    __call__ = render

    def _isolated(self, value: str) -> str:
        # In a right-to-left text, a number, case code or phone number ("0800-2000") must keep
        # its own order and not drag the words around it: Unicode's first-strong isolate
        # (U+2068 … U+2069) sets it apart. Left-to-right languages need nothing.
        return f"\u2068{value}\u2069" if self.direction == "rtl" else value

    def _format_value(self, name: str, value: object) -> str:
        # bool before int (bool is an int), datetime before date (datetime is a date).
        if isinstance(value, str):
            return value
        if isinstance(value, Text):
            return self.render(value)
        if isinstance(value, Localized):
            return value.in_language(self.language)
        if isinstance(value, Parts):
            return value.separator.join(self._format_value(name, part) for part in value.parts)
        if isinstance(value, bool):
            return self.render(Text("Yes") if value else Text("No"))
        if isinstance(value, int | float | Decimal):
            return format_decimal(value, locale=self.locale)
        if isinstance(value, timedelta):
            return format_timedelta(value, locale=self.locale)
        if isinstance(value, datetime):
            # Storage keeps moments in UTC; SQLite hands them back without a timezone.
            moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
            return format_datetime(
                moment, format="medium", tzinfo=self.timezone, locale=self.locale
            )
        if isinstance(value, date):
            return format_date(value, format="long", locale=self.locale)
        raise RenderError(
            f"parameter {name!r} is a {type(value).__name__}; "
            "a Text takes str, int, float, Decimal, bool, date, datetime, timedelta, Text, "
            "Localized or Parts"
        )


def _fill(message: str, values: Mapping[str, str], msgid: str) -> str:
    """Fill the English source; if that fails, the caller built the Text wrongly."""
    try:
        return message.format_map(values)
    except (ValueError, KeyError, IndexError, AttributeError, TypeError) as error:
        raise RenderError(
            f"cannot fill {msgid!r} with parameters {sorted(values)}: "
            f"{type(error).__name__}: {error}"
        ) from None


def _messages(translations: gettext.NullTranslations) -> Mapping[str, str]:
    # GNUTranslations keeps its messages in `_catalog`; NullTranslations has none.
    return getattr(translations, "_catalog", {})
