"""The registry of shipped languages, `locales/languages.yaml`.

The registry is the one list of languages the bot offers: their native names for the language
menu, their text direction, and how far each translation can be trusted (reviewed by a native
speaker or still a draft; whose WHO-5 wording it uses: the original, a published translation,
or the project's own). Exactly one
language is the source language, English, whose texts are the gettext msgids themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.i18n._errors import CatalogError
from bot.i18n._yaml import read_checked

REGISTRY_FILE = "languages.yaml"


class Language(BaseModel):
    """One shipped language, as listed in the registry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A bare language code, optionally with a region (`pt_BR`): the catalog folder's name.
    code: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    name: str = Field(min_length=1)
    direction: Literal["ltr", "rtl"]
    status: Literal["reviewed", "draft"]
    # The WHO-5's wording in this language: the instrument's `original` (English, the source
    # language), a `published` translation (from the instrument's site or a validation study),
    # or the project's `own` translation, which is not validated (domain.md: an altered or
    # own wording must be marked as such).
    who5_wording: Literal["original", "published", "own"]
    source: bool = False
    # The language's danger list (danger_words.txt): reviewed once a native speaker and a
    # child-protection professional checked it; `wegwijzer doctor` lists the drafts.
    danger_words: Literal["reviewed", "draft"] = "draft"


class DangerList(BaseModel):
    """A danger list of a language the bot does not speak (no catalog) but families write in
    (Russian, by many Ukrainian families): loaded with the others, listed by the doctor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")
    name: str = Field(min_length=1)
    danger_words: Literal["reviewed", "draft"] = "draft"


class _Registry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    languages: tuple[Language, ...] = Field(min_length=1)
    danger_lists: tuple[DangerList, ...] = ()

    @field_validator("languages")
    @classmethod
    def _one_entry_per_code_and_one_source(
        cls, languages: tuple[Language, ...]
    ) -> tuple[Language, ...]:
        codes = [language.code for language in languages]
        duplicates = sorted({code for code in codes if codes.count(code) > 1})
        if duplicates:
            raise ValueError(f"listed more than once: {', '.join(duplicates)}")
        sources = [language.code for language in languages if language.source]
        if len(sources) != 1:
            raise ValueError(
                f"exactly one language must be the source language (source: true), "
                f"found {len(sources)}"
            )
        if any(lang.who5_wording == "original" and not lang.source for lang in languages):
            raise ValueError(
                "only the source language can use the WHO-5's original wording "
                "(others: published or own)"
            )
        return languages


def read_registry(locales_dir: Path) -> tuple[Language, ...]:
    """The languages listed in `<locales_dir>/languages.yaml`, in the registry's order."""
    return _read(locales_dir).languages


def read_danger_lists(locales_dir: Path) -> tuple[DangerList, ...]:
    """The danger lists of languages without a catalog (`danger_lists:` in the registry)."""
    return _read(locales_dir).danger_lists


def _read(locales_dir: Path) -> _Registry:
    path = Path(locales_dir) / REGISTRY_FILE
    return read_checked(path, _Registry, CatalogError, "the language registry")
