"""The catalogs in locales/ are complete and in step with the texts in the code and flows.

`test_pot_is_up_to_date` fails when a text was added, changed or removed in bot/ or flows/
without `make messages`; the completeness test fails until every shipped language translates
every message of locales/messages.pot, keeping its placeholders.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from ruamel.yaml import YAML

from bot.i18n import catalog_path, placeholders

from .conftest import LOCALES, REPO

POT = LOCALES / "messages.pot"


def _msgid(message: str | tuple[str, ...]) -> str:
    # A plural message is keyed by its singular form, as in a Catalog.
    return message if isinstance(message, str) else message[0]


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


def _registered_translations() -> list[str]:
    registry = YAML(typ="safe", pure=True).load((LOCALES / "languages.yaml").read_text("utf-8"))
    return [entry["code"] for entry in registry["languages"] if not entry.get("source")]


def _placeholders(translation: str) -> frozenset[str] | str:
    try:
        return placeholders(translation)
    except ValueError as error:
        return f"malformed: {error}"


def test_pot_is_up_to_date() -> None:
    """locales/messages.pot holds exactly the texts that `make messages` extracts now."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as file:
        method_map, options_map = parse_mapping_cfg(file, "babel.cfg")
    # As the Makefile: `pybabel extract --keywords Text --keywords Plural:1,2 ... bot flows`.
    keywords = {**DEFAULT_KEYWORDS, "Text": None, "Plural": (1, 2)}
    extracted = {
        _msgid(message)
        for directory in ("bot", "flows")
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / directory, method_map, options_map, keywords=keywords
        )
    }
    in_pot = {_msgid(message.id) for message in _read(POT) if message.id}
    assert extracted, "nothing extracted: is babel.cfg right?"
    assert sorted(extracted - in_pot) == [], "new texts: run `make messages` and translate them"
    assert sorted(in_pot - extracted) == [], "texts no longer used: run `make messages`"


@pytest.mark.parametrize("language", _registered_translations())
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    catalog = _read(catalog_path(LOCALES, language, ".po"))
    assert not catalog.fuzzy, "the header is marked fuzzy"
    problems = []
    for template in _read(POT):
        if not template.id:
            continue
        message = catalog.get(_msgid(template.id))
        if message is None:
            problems.append(f"missing: {template.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {template.id!r}")
        elif isinstance(template.id, tuple):
            problems += _plural_problems(template.id, message.string, catalog.num_plurals)
        elif not message.string:
            problems.append(f"not translated: {template.id!r}")
        elif _placeholders(message.string) != placeholders(template.id):
            problems.append(f"placeholders differ: {template.id!r} → {message.string!r}")
    assert problems == []


@pytest.mark.parametrize("language", _registered_translations())
def test_plural_forms_follow_the_languages_rules(language: str) -> None:
    """The catalog header carries Babel's gettext plural rule for the language (Arabic six
    forms, Polish and Ukrainian three for whole numbers, Dutch two…), so that every plural
    entry fills exactly the forms that rule can choose."""
    catalog = _read(catalog_path(LOCALES, language, ".po"))
    rule = get_plural(language)
    assert (catalog.num_plurals, catalog.plural_expr) == (rule.num_plurals, rule.plural_expr)


def _plural_problems(msgid: tuple[str, ...], forms: object, count: int) -> list[str]:
    if not isinstance(forms, tuple) or len(forms) != count:
        return [f"plural {msgid[0]!r} needs {count} forms, has {forms!r}"]
    allowed = placeholders(msgid[0]) | placeholders(msgid[1])
    problems = [
        f"plural form {n} of {msgid[0]!r} is empty" for n, form in enumerate(forms) if not form
    ]
    problems += [
        f"plural form {n} of {msgid[0]!r} has unknown placeholders: {form!r}"
        for n, form in enumerate(forms)
        if form
        and not (isinstance(_placeholders(form), frozenset) and _placeholders(form) <= allowed)
    ]
    return problems


def test_every_catalog_belongs_to_a_registered_language() -> None:
    catalogs = {po.parents[1].name for po in LOCALES.glob("*/LC_MESSAGES/messages.po")}
    assert catalogs == set(_registered_translations())
