"""Shared fixtures for the translation tests: the repository's catalogs compiled into a
temporary directory, and small hand-made locale directories for the failure cases."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import Catalogs, catalog_path

REPO = Path(__file__).resolve().parents[2]
LOCALES = REPO / "locales"

REGISTRY = """\
languages:
  - {code: nl, name: Nederlands, direction: ltr, status: draft, who5_wording: own}
  - {code: en, name: English, direction: ltr, status: reviewed, who5_wording: original,
     source: true}
"""


def compile_catalog(po: Path) -> Path:
    """Compile a .po file next to itself, as `pybabel compile` does (fuzzy entries left out)."""
    with po.open("rb") as file:
        catalog = read_po(file)
    mo = po.with_suffix(".mo")
    with mo.open("wb") as file:
        write_mo(file, catalog)
    return mo


def make_locales(
    root: Path,
    translations: Mapping[str, Mapping[str, str]],
    *,
    registry: str = REGISTRY,
    compiled: bool = True,
) -> Path:
    """A locales directory with the given registry and, per language, msgid → translation."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "languages.yaml").write_text(registry, encoding="utf-8")
    for language, messages in translations.items():
        catalog = Catalog(locale=language)
        for msgid, string in messages.items():
            catalog.add(msgid, string)
        po = catalog_path(root, language, ".po")
        po.parent.mkdir(parents=True)
        with po.open("wb") as file:
            write_po(file, catalog)
        if compiled:
            compile_catalog(po)
    return root


@pytest.fixture
def compiled_locales(tmp_path: Path) -> Path:
    """A copy of the repository's locales/ with every catalog compiled, as `make install` does."""
    root = tmp_path / "locales"
    shutil.copytree(LOCALES, root, ignore=shutil.ignore_patterns("*.mo"))
    for po in root.glob("*/LC_MESSAGES/messages.po"):
        compile_catalog(po)
    return root


@pytest.fixture
def catalogs(compiled_locales: Path) -> Catalogs:
    return Catalogs.load(compiled_locales)
