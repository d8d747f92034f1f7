"""How far each language is: `wegwijzer i18n status`.

Reads the catalogs as translators leave them (`.po`, not the compiled `.mo`) against the
template, per language and per flow: what is translated, missing or fuzzy, and the review
status from the registry — so nobody has to open eight files to see where a language stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from ._catalogs import catalog_path
from ._registry import read_registry
from .extract import read_flow_messages


@dataclass(frozen=True)
class Coverage:
    language: str
    scope: str  # "all" or a flow file's id
    total: int
    translated: int
    missing: int
    fuzzy: int
    status: str
    who5_wording: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def catalog_status(locales_dir: Path, flows_dir: Path) -> list[Coverage]:
    template = _read(locales_dir / "messages.pot")
    all_ids = [_key(message.id) for message in template if message.id]
    flows = {
        path.stem: sorted({message.msgid for message in read_flow_messages(path)})
        for path in sorted(Path(flows_dir).rglob("*.yaml"))
    }
    rows = []
    for language in read_registry(locales_dir):
        catalog = (
            None if language.source else _read(catalog_path(locales_dir, language.code, ".po"))
        )
        for scope, ids in [("all", all_ids), *flows.items()]:
            translated = missing = fuzzy = 0
            for msgid in ids:
                state = _state(catalog, msgid)
                translated += state == "translated"
                missing += state == "missing"
                fuzzy += state == "fuzzy"
            rows.append(
                Coverage(
                    language.code,
                    scope,
                    len(ids),
                    translated,
                    missing,
                    fuzzy,
                    language.status,
                    language.who5_wording,
                )
            )
    return rows


def report(rows: list[Coverage]) -> str:
    lines = [f"{'language':<9}{'scope':<18}{'translated':>12}{'missing':>9}{'fuzzy':>7}  review"]
    for row in rows:
        own = row.scope == "all" and row.who5_wording == "own"
        who5 = ", WHO-5 own wording (not validated)" if own else ""
        lines.append(
            f"{row.language:<9}{row.scope:<18}{row.translated:>6}/{row.total:<5}"
            f"{row.missing:>9}{row.fuzzy:>7}  {row.status}{who5}"
        )
    return "\n".join(lines)


def _state(catalog: Catalog | None, msgid: str) -> str:
    if catalog is None:
        return "translated"  # the source language: the msgid is the text
    message = catalog.get(msgid)
    if message is None:
        return "missing"
    if message.fuzzy:
        return "fuzzy"
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return "translated" if all(forms) else "missing"


def _key(msgid: str | Sequence[str]) -> str:
    # A plural message's id is its (singular, plural) pair.
    return msgid if isinstance(msgid, str) else msgid[0]


def _read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)
