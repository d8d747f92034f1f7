"""The compiled gettext catalogs of the shipped languages, loaded once at start-up.

`Catalogs.load` reads the registry (`locales/languages.yaml`) and each language's compiled
catalog (`locales/<code>/LC_MESSAGES/messages.mo`, domain `messages`). Everything that can be
wrong with them — an unknown language, a catalog that was never compiled, a file that cannot
be read — is a `CatalogError` raised there, before the bot answers anyone: a reader must never
be the first to find out. English, the source language, needs no catalog: its texts are the
msgids.
"""

from __future__ import annotations

import gettext
import logging
import struct
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError

from bot.i18n._errors import CatalogError
from bot.i18n._negotiate import negotiate
from bot.i18n._registry import REGISTRY_FILE, Language, read_registry
from bot.i18n._translator import Translator

logger = logging.getLogger(__name__)

DOMAIN = "messages"
COMPILE_HINT = "run `make install` (or `pybabel compile -d locales -D messages`)"


def catalog_path(locales_dir: Path, language: str, suffix: str = ".mo") -> Path:
    """Where a language's catalog lives: `<locales_dir>/<code>/LC_MESSAGES/messages<suffix>`."""
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


class Catalogs:
    """The loaded languages; hands out a `Translator` per reader (language and timezone)."""

    def __init__(
        self,
        languages: Iterable[Language],
        translations: dict[str, gettext.NullTranslations],
        locales: dict[str, Locale],
        source: Language,
    ) -> None:
        self._languages = {language.code: language for language in languages}
        self._translations = translations
        self._locales = locales
        self._source = source
        self._translators: dict[tuple[str, str], Translator] = {}
        # (language, msgid) pairs whose broken translation was already logged.
        self._reported: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, locales_dir: Path, languages: Iterable[str] | None = None) -> Catalogs:
        """Load the registered languages (all of them, or the given subset) and their catalogs."""
        locales_dir = Path(locales_dir)
        registry = read_registry(locales_dir)
        by_code = {language.code: language for language in registry}
        if languages is None:
            chosen = list(registry)
        else:
            wanted = list(dict.fromkeys(languages))
            unknown = [code for code in wanted if code not in by_code]
            if unknown:
                raise CatalogError(
                    f"unknown language {', '.join(map(repr, unknown))}: "
                    f"{locales_dir / REGISTRY_FILE} lists {', '.join(by_code)}"
                )
            chosen = [by_code[code] for code in wanted]
        source = next(language for language in registry if language.source)

        translations: dict[str, gettext.NullTranslations] = {}
        locales: dict[str, Locale] = {}
        for language in [*chosen, *([] if source in chosen else [source])]:
            locales[language.code] = _babel_locale(language, locales_dir)
            translations[language.code] = (
                gettext.NullTranslations()
                if language.source
                else _read_catalog(locales_dir, language.code)
            )
        return cls(chosen, translations, locales, source)

    @property
    def languages(self) -> tuple[str, ...]:
        """The loaded language codes, in the registry's order (or the order asked for)."""
        return tuple(self._languages)

    @property
    def source_language(self) -> str:
        return self._source.code

    def language(self, code: str) -> Language:
        """The registry entry of a loaded language: name, direction, review status."""
        try:
            return self._languages[code]
        except KeyError:
            raise CatalogError(
                f"language {code!r} is not loaded; loaded: {', '.join(self._languages)}"
            ) from None

    def native_name(self, code: str) -> str:
        """The language's name in that language, for the language menu ("Nederlands")."""
        return self.language(code).name

    def translator_for(self, preferred: str | None, default: str, timezone: str) -> Translator:
        """A translator in the loaded language nearest to `preferred` (a person's choice, or
        their app's language), else in `default`."""
        return self.translator(negotiate(preferred, self.languages, default), timezone)

    def translator(self, language: str, timezone: str = "Europe/Amsterdam") -> Translator:
        """A translator for a reader of `language` who lives in `timezone` (an IANA name)."""
        key = (language, timezone)
        cached = self._translators.get(key)
        if cached is not None:
            return cached
        self.language(language)  # a clear error for a language that is not loaded
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {timezone!r}") from None
        source = None
        if language != self._source.code:
            source = self._make_translator(self._source.code, zone, None)
        translator = self._make_translator(language, zone, source)
        self._translators[key] = translator
        return translator

    def missing(self, language: str, msgids: Iterable[str]) -> list[str]:
        """The msgids the language's catalog does not translate, in the order given.

        For the start-up check that every flow message exists in every shipped language.
        """
        translator = self.translator(language)
        return [msgid for msgid in msgids if not translator.has_translation(msgid)]

    def _make_translator(
        self, language: str, zone: ZoneInfo, source: Translator | None
    ) -> Translator:
        return Translator(
            language,
            self._translations[language],
            self._locales[language],
            zone,
            source=source,
            reported=self._reported,
            # The source language is loaded (as a fallback) even when not asked for.
            direction=(
                self._source if language == self._source.code else self.language(language)
            ).direction,
        )


def _babel_locale(language: Language, locales_dir: Path) -> Locale:
    try:
        return Locale.parse(language.code)
    except (UnknownLocaleError, ValueError):
        raise CatalogError(
            f"{locales_dir / REGISTRY_FILE}: Babel has no locale data for {language.code!r}"
        ) from None


def _read_catalog(locales_dir: Path, language: str) -> gettext.GNUTranslations:
    po = catalog_path(locales_dir, language, ".po")
    mo = catalog_path(locales_dir, language, ".mo")
    if not mo.exists():
        if po.exists():
            raise CatalogError(
                f"{mo}: the {language!r} catalog was never compiled ({po.name} exists, "
                f"{mo.name} does not): {COMPILE_HINT}"
            )
        raise CatalogError(
            f"{po}: there is no catalog for {language!r}, which "
            f"{locales_dir / REGISTRY_FILE} lists. Create it with `pybabel init -i "
            f"locales/messages.pot -d locales -D messages -l {language}` and translate it"
        )
    if po.exists() and po.stat().st_mtime > mo.stat().st_mtime:
        # Not an error: a checkout can touch the .po after a build. But it may be stale.
        logger.warning("%s is older than %s; to rebuild it, %s", mo, po.name, COMPILE_HINT)
    try:
        with mo.open("rb") as file:
            return gettext.GNUTranslations(file)
    except (OSError, ValueError, struct.error, IndexError, KeyError) as error:
        raise CatalogError(
            f"{mo}: cannot read the compiled catalog ({error}): {COMPILE_HINT}"
        ) from error
