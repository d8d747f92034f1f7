"""Exporting answers for follow-up and research: one row per answer, streamed.

Rows come from the database as a stream and are written as they come, so an export of a
million answers needs no more memory than one of ten. JSON is written as one array, row by
row; CSV has one column per field, with scores and flags as JSON text; xlsx has one sheet per
flow with column titles in a chosen language (openpyxl in write-only mode, which keeps each
sheet in a temporary file of its own, 0600, until the workbook is saved).

What families typed ends up in spreadsheets, where a cell starting with `=` is a formula that
can fetch a URL or run a command (CSV injection). Every text goes through `safe_text`:
control characters out in every format, and in CSV and xlsx a leading formula character
neutralised by a quote, as OWASP advises. JSON keeps such a value as it is (a program reads
it as a string, and a changed value would be a wrong answer): whoever turns JSON into a sheet
must escape it there.

`pseudonymise` is for research and M&E: case codes and run ids become stable keyed
pseudonyms (`Keyring.pseudonym`: the same in every export of this deployment, and nothing
without its hash key), and what people typed (answers to text questions) is left out, with
a column saying so. The time of an answer is given as its UTC day only: to the microsecond,
next to pseudonyms that are the same in every export, it would match the bot's messages and
Telegram's records and say who answered. The child's number stays: it is a position within
the case (1, 2, …), which says nothing on its own and lets research follow each child over
the visits.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import BinaryIO, Protocol, TextIO, cast
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..engine.events import JSONValue, Text
from ..engine.model import TextStep
from ..storage import crypto

__all__ = ["COLUMNS", "FORMATS", "export_answers", "safe_text"]

FORMATS = ("json", "csv", "xlsx")
# The field names: JSON keys and the CSV header (stable, for the programs that read them).
COLUMNS = (
    "case_code",
    "child",
    "flow_id",
    "flow_version",
    "run_id",
    "key",
    "value",
    "answered_at",
    "scores",
    "flags",
)
# Only in pseudonymised exports: why `value` is empty.
DROPPED = "dropped"
FREE_TEXT = "free text"

# The xlsx column titles, in the reader's language.
TITLES = {
    "case_code": Text("Case"),
    "child": Text("Child"),
    "flow_id": Text("Flow"),
    "flow_version": Text("Flow version"),
    "run_id": Text("Run"),
    "key": Text("Answer key"),
    "value": Text("Answer"),
    "answered_at": Text("Answered at (UTC)"),
    "scores": Text("Scores"),
    "flags": Text("Flags"),
    DROPPED: Text("Left out"),
}

# C0 and C1 controls and DEL, except tab and newline: they mean nothing in an answer, break
# spreadsheets (openpyxl refuses them) and can hide text from a reader. A carriage return
# becomes a newline first, so a message's line breaks survive. Format characters such as the
# right-to-left mark stay: Arabic and mixed-direction answers need them.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit on a sheet's name.
_SHEET_NAME_LENGTH = 31


def safe_text(text: str, *, spreadsheet: bool) -> str:
    """A text as an export may carry it: without control characters (tab and newline stay)
    and, for a spreadsheet (`spreadsheet`), with a leading `=`, `+`, `-`, `@` or tab behind
    a single quote so that it is shown, never evaluated."""
    if not text.isprintable():  # the quick test first: nearly every text is printable
        text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if spreadsheet and text.startswith(_FORMULA_START):
        return "'" + text
    return text


async def export_answers(
    app: Wegwijzer,
    output: TextIO | BinaryIO,
    fmt: str = "json",
    since: date | None = None,
    *,
    pseudonymise: bool = False,
    language: str | None = None,
) -> int:
    """Write every answer given on or after `since` (a local date); return the row count.

    JSON and CSV go to a text `output`, xlsx to a binary one, its titles in `language`
    (default: the deployment's default language).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    start = None
    if since is not None:
        start = datetime.combine(since, time.min, ZoneInfo(app.settings.timezone))
    columns = (*COLUMNS, DROPPED) if pseudonymise else COLUMNS
    writer: _JsonWriter | _CsvWriter | _XlsxWriter
    if fmt == "xlsx":
        if isinstance(output, io.TextIOBase):
            raise TypeError("an xlsx export is written to a binary file")
        tr = app.catalogs.translator(language or app.settings.default_language)
        titles = [tr.render(TITLES[column]) for column in columns]
        writer = _XlsxWriter(cast(BinaryIO, output), columns, titles, days=pseudonymise)
    elif isinstance(output, io.TextIOBase):
        text = cast(TextIO, output)
        writer = _JsonWriter(text) if fmt == "json" else _CsvWriter(text, columns)
    else:
        raise TypeError(f"a {fmt} export is written to a text stream")

    free_text = _FreeText(app) if pseudonymise else None
    pseudonym = _Pseudonyms(crypto.active()) if pseudonymise else None
    count = 0
    async for row in app.database.answer_rows(start):
        scores: dict[str, JSONValue] = dict(row.scores)
        flags: list[JSONValue] = [dict(flag) for flag in row.flags]
        record: dict[str, JSONValue] = {
            "case_code": row.case_code,
            "child": row.child,
            "flow_id": row.flow_id,
            "flow_version": row.flow_version,
            "run_id": row.run_id,
            "key": row.key,
            "value": row.value,
            "answered_at": _answered(row.answered_at, day_only=pseudonymise),
            "scores": scores,
            "flags": flags,
        }
        if pseudonym is not None and free_text is not None:
            if row.case_code is not None:
                record["case_code"] = pseudonym("case", row.case_code)
            record["run_id"] = pseudonym("run", row.run_id)
            dropped = free_text(row.flow_id, row.flow_version, row.key, row.value)
            if dropped:
                record["value"] = None
            record[DROPPED] = FREE_TEXT if dropped else None
        writer.write(record)
        count += 1
    writer.close()
    return count


def _answered(at: datetime, *, day_only: bool) -> str:
    utc = at.astimezone(UTC)
    return utc.date().isoformat() if day_only else utc.isoformat()


class _Pseudonyms:
    """`Keyring.pseudonym`, remembered for the runs and cases of the last few batches."""

    LIMIT = 4096

    def __init__(self, keyring: crypto.Keyring) -> None:
        self.keyring = keyring
        self.known: dict[tuple[str, str | int], str] = {}

    def __call__(self, kind: str, value: str | int) -> str:
        found = self.known.get((kind, value))
        if found is None:
            if len(self.known) >= self.LIMIT:
                self.known.clear()
            found = self.known[kind, value] = self.keyring.pseudonym(kind, value)
        return found


class _FreeText:
    """Whether an answer is something a person typed, by the question that took it. An answer
    whose question is not known (a flow version no longer loaded) counts as typed when it is
    text: better a choice left out of research than a family's words in it."""

    def __init__(self, app: Wegwijzer) -> None:
        self.flows = app.flows
        self.known: dict[tuple[str, int, str], bool | None] = {}

    def __call__(self, flow_id: str, version: int, key: str, value: object) -> bool:
        where = (flow_id, version, key)
        typed = self.known.get(where, False)
        if where not in self.known:
            flow = self.flows.find(flow_id, version)
            question = None if flow is None else flow.question_for(key)
            typed = None if question is None else isinstance(question, TextStep)
            self.known[where] = typed
        return isinstance(value, str) if typed is None else typed


def _json_safe(value: JSONValue) -> JSONValue:
    if isinstance(value, str):
        return safe_text(value, spreadsheet=False)
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def _cell(value: JSONValue) -> str | int | float | None:
    """A CSV or xlsx cell: numbers stay numbers, texts are made safe, the rest is JSON text."""
    if isinstance(value, str):
        return safe_text(value, spreadsheet=True)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return safe_text(json.dumps(value, ensure_ascii=False), spreadsheet=True)


class _Cells:
    """A row as CSV or xlsx cells. Scores and flags are the same for every answer of a run,
    and a run's answers mostly come together: their JSON text is made once for the run."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.last: dict[str, tuple[JSONValue, str | int | float | None]] = {}

    def __call__(self, row: dict[str, JSONValue]) -> list[str | int | float | None]:
        cells: list[str | int | float | None] = []
        for column in self.columns:
            value = row[column]
            if isinstance(value, dict | list):
                last = self.last.get(column)
                if last is None or last[0] != value:
                    last = self.last[column] = (value, _cell(value))
                cells.append(last[1])
            else:
                cells.append(_cell(value))
        return cells


class _JsonWriter:
    def __init__(self, output: TextIO):
        self.output = output
        self.first = True
        output.write("[")

    def write(self, row: dict[str, JSONValue]) -> None:
        self.output.write("\n" if self.first else ",\n")
        self.output.write(json.dumps(_json_safe(row), ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.output.write("]\n" if self.first else "\n]\n")


class _CsvWriter:
    def __init__(self, output: TextIO, columns: tuple[str, ...]):
        self.cells = _Cells(columns)
        self.writer = csv.writer(output)
        self.writer.writerow(columns)

    def write(self, row: dict[str, JSONValue]) -> None:
        self.writer.writerow(self.cells(row))

    def close(self) -> None:
        pass


class _Sheet(Protocol):
    """What this module uses of an openpyxl write-only sheet (openpyxl has no type hints)."""

    title: str
    freeze_panes: str | None

    def append(self, row: Iterable[object]) -> None: ...


class _XlsxWriter:
    """One sheet per flow, made when the flow's first answer comes, titles in the first row."""

    def __init__(
        self, output: BinaryIO, columns: tuple[str, ...], titles: list[str], *, days: bool
    ):
        from openpyxl import Workbook

        self.output = output
        self.cells = _Cells(columns)
        self.titles = titles
        self.workbook = Workbook(write_only=True)
        self.sheets: dict[str, _Sheet] = {}
        self.at = columns.index("answered_at")
        self.days = days  # pseudonymised: the UTC day of an answer, no time

    def write(self, row: dict[str, JSONValue]) -> None:
        flow_id = str(row["flow_id"])
        sheet = self.sheets.get(flow_id)
        if sheet is None:
            sheet = self.sheets[flow_id] = self._sheet(flow_id)
        cells: list[str | int | float | date | datetime | None] = [*self.cells(row)]
        # A real date and time, in UTC (the title says so): spreadsheets have no time zones.
        at = str(row["answered_at"])
        if self.days:
            cells[self.at] = date.fromisoformat(at)
        else:
            cells[self.at] = datetime.fromisoformat(at).replace(tzinfo=None)
        sheet.append(cells)

    def _sheet(self, flow_id: str) -> _Sheet:
        name = flow_id[:_SHEET_NAME_LENGTH]
        taken = {sheet.title for sheet in self.sheets.values()}
        number = 1
        while name in taken:  # two long flow ids alike in their first 31 characters
            number += 1
            suffix = f"~{number}"
            name = flow_id[: _SHEET_NAME_LENGTH - len(suffix)] + suffix
        sheet: _Sheet = self.workbook.create_sheet(title=name)
        sheet.freeze_panes = "A2"
        sheet.append(self.titles)
        return sheet

    def close(self) -> None:
        if not self.sheets:  # a workbook needs a sheet: the titles say what would be there
            self._sheet("answers")
        self.workbook.save(self.output)
