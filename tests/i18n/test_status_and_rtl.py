"""`wegwijzer i18n status` counts what translators left undone; Arabic keeps mixed content
(numbers, case codes, phone numbers) in order with Unicode isolates."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from bot.engine import Text
from bot.engine.events import Plural
from bot.i18n import Catalogs
from bot.i18n.status import catalog_status, report

from .conftest import make_locales

FLOW = """\
spec: 1
id: tiny
version: 1
title: Tiny
roles: [family]
purpose: survey
start: done
steps:
  - id: done
    kind: end
    text: Bye.
"""


def test_status_counts_translated_missing_and_fuzzy_per_language_and_flow(tmp_path: Path):
    locales = make_locales(tmp_path / "locales", {"nl": {"Title": "Titel"}}, compiled=False)
    template = Catalog()
    for msgid in ("Title", "Bye.", "Hello", "Tiny"):
        template.add(msgid)
    with (locales / "messages.pot").open("wb") as file:
        write_po(file, template)
    partial = Catalog(locale="nl")
    partial.add("Title", "Titel")
    partial.add("Bye.", "Dag.", flags=["fuzzy"])
    partial.add("Hello", "")
    with (locales / "nl" / "LC_MESSAGES" / "messages.po").open("wb") as file:
        write_po(file, partial)
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "tiny.yaml").write_text(FLOW, encoding="utf-8")

    rows = {(row.language, row.scope): row for row in catalog_status(locales, flows)}
    everything = rows[("nl", "all")]
    assert (everything.total, everything.translated, everything.missing, everything.fuzzy) == (
        4,
        1,
        2,
        1,
    )
    flow = rows[("nl", "tiny")]  # the flow's own texts: its title and the end text
    assert (flow.total, flow.translated, flow.missing, flow.fuzzy) == (2, 0, 1, 1)
    assert rows[("en", "all")].missing == 0  # the source language needs no catalog
    shown = report(list(rows.values())).splitlines()
    (dutch,) = [line for line in shown if line.startswith("nl       all")]
    assert dutch.endswith("draft, WHO-5 own wording (not validated)")
    (english,) = [line for line in shown if line.startswith("en       all")]
    assert "WHO-5" not in english  # the original wording


def test_arabic_isolates_numbers_codes_and_phone_numbers(catalogs: Catalogs) -> None:
    arabic = catalogs.translator("ar")
    emergency = Text(
        "Is someone in danger right now? Call {emergency_number}. For advice about the safety "
        "of a child or an adult at home: {advice_line}.",
        {"emergency_number": "112", "advice_line": "Veilig Thuis 0800-2000"},
    )
    rendered = arabic(emergency)
    assert "\u2068112\u2069" in rendered
    assert "\u2068Veilig Thuis 0800-2000\u2069" in rendered
    assert rendered.count("\u2068") == rendered.count("\u2069") == 2
    case_line = arabic(Text("Case {case} is not one of your cases.", {"case": "K7Q-4MX"}))
    assert "\u2068K7Q-4MX\u2069" in case_line
    assert any("\u0600" <= char <= "\u06ff" for char in case_line), "the words are Arabic"
    # Left-to-right languages get no marks at all.
    assert "\u2068" not in catalogs.translator("nl")(emergency)


def test_arabic_plurals_use_all_six_forms(catalogs: Catalogs) -> None:
    arabic = catalogs.translator("ar")
    forms = {
        arabic(Plural("{count} open flag", "{count} open flags", count=n))
        for n in (0, 1, 2, 3, 11, 100)
    }
    assert len(forms) == 6, forms
