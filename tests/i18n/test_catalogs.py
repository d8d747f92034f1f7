"""Catalogs load at start-up, or fail there with a message that says what to do."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.i18n import CatalogError, Catalogs, catalog_path

from .conftest import REGISTRY, make_locales


def test_loads_every_registered_language(catalogs: Catalogs) -> None:
    assert catalogs.languages == ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")
    assert catalogs.source_language == "en"
    assert catalogs.native_name("nl") == "Nederlands"
    assert catalogs.native_name("en") == "English"
    assert catalogs.language("nl").status == "draft"
    assert catalogs.language("nl").who5_wording == "own"
    assert catalogs.translator("nl").gettext("Yes") == "Ja"


def test_english_is_the_source_and_needs_no_catalog(tmp_path: Path) -> None:
    locales = make_locales(tmp_path / "locales", {})
    catalogs = Catalogs.load(locales, ["en"])
    assert catalogs.languages == ("en",)
    english = catalogs.translator("en")
    assert english.gettext("Please answer yes or no.") == "Please answer yes or no."
    assert catalogs.missing("en", ["Anything at all"]) == []


def test_a_catalog_that_was_never_compiled_fails_clearly(tmp_path: Path) -> None:
    locales = make_locales(tmp_path / "locales", {"nl": {"Yes": "Ja"}}, compiled=False)
    with pytest.raises(CatalogError) as raised:
        Catalogs.load(locales)
    message = str(raised.value)
    assert str(catalog_path(locales, "nl", ".mo")) in message
    assert "never compiled" in message
    assert "make install" in message
    assert "pybabel compile -d locales -D messages" in message


def test_a_registered_language_without_any_catalog_fails_clearly(tmp_path: Path) -> None:
    locales = make_locales(tmp_path / "locales", {})
    with pytest.raises(CatalogError, match=r"no catalog for 'nl'.*pybabel init"):
        Catalogs.load(locales)


def test_an_unreadable_catalog_fails_clearly(tmp_path: Path) -> None:
    locales = make_locales(tmp_path / "locales", {"nl": {"Yes": "Ja"}})
    catalog_path(locales, "nl").write_bytes(b"not a catalog")
    with pytest.raises(CatalogError, match=r"messages\.mo: cannot read the compiled catalog"):
        Catalogs.load(locales)


def test_a_catalog_older_than_its_source_is_loaded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    locales = make_locales(tmp_path / "locales", {"nl": {"Yes": "Ja"}})
    mo = catalog_path(locales, "nl")
    os.utime(mo, (1_000_000, 1_000_000))
    with caplog.at_level(logging.WARNING, logger="bot.i18n"):
        catalogs = Catalogs.load(locales)
    assert catalogs.translator("nl").gettext("Yes") == "Ja"
    assert "is older than messages.po" in caplog.text


def test_an_unknown_language_is_an_error(catalogs: Catalogs, compiled_locales: Path) -> None:
    with pytest.raises(CatalogError, match=r"unknown language 'xx'.*lists nl, en"):
        Catalogs.load(compiled_locales, ["nl", "xx"])
    with pytest.raises(CatalogError, match=r"'xx' is not loaded"):
        catalogs.translator("xx")
    with pytest.raises(CatalogError, match=r"'xx' is not loaded"):
        catalogs.native_name("xx")


def test_a_subset_loads_only_the_languages_asked_for(compiled_locales: Path) -> None:
    catalogs = Catalogs.load(compiled_locales, ["nl"])
    assert catalogs.languages == ("nl",)
    with pytest.raises(CatalogError):
        catalogs.translator("en")


@pytest.mark.parametrize(
    ("registry", "problem"),
    [
        (
            REGISTRY.replace("direction: ltr, status: draft", "direction: up, status: draft"),
            r"languages\.0\.direction",
        ),
        (REGISTRY.replace("source: true", "source: false"), r"exactly one .* source"),
        (
            REGISTRY + "  - {code: nl, name: Nederlands, direction: ltr, status: draft,"
            " who5_wording: own}\n",
            r"listed more than once: nl",
        ),
        (REGISTRY.replace("code: nl", "code: Dutch"), r"languages\.0\.code"),
        # Only English is the WHO-5's original; another language's wording is published or own.
        (
            REGISTRY.replace("who5_wording: own", "who5_wording: original"),
            r"only the source language can use the WHO-5's original wording",
        ),
        (REGISTRY.replace("who5_wording: own", "who5_wording: yes"), r"who5_wording"),
        ("languages: [\n", r"not valid YAML"),
    ],
)
def test_a_broken_registry_is_an_error_naming_the_file(
    tmp_path: Path, registry: str, problem: str
) -> None:
    locales = make_locales(tmp_path / "locales", {"nl": {"Yes": "Ja"}}, registry=registry)
    with pytest.raises(CatalogError, match=rf"languages\.yaml: .*{problem}"):
        Catalogs.load(locales)


def test_a_missing_registry_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"languages\.yaml: the language registry is missing"):
        Catalogs.load(tmp_path)


def test_missing_lists_the_messages_a_language_does_not_translate(tmp_path: Path) -> None:
    locales = make_locales(tmp_path / "locales", {"nl": {"Yes": "Ja", "No": ""}})
    catalogs = Catalogs.load(locales)
    assert catalogs.missing("nl", ["Yes", "No", "Maybe"]) == ["No", "Maybe"]


def test_an_unknown_timezone_is_an_error(catalogs: Catalogs) -> None:
    with pytest.raises(ValueError, match=r"unknown timezone 'Mars/Olympus'"):
        catalogs.translator("nl", "Mars/Olympus")
