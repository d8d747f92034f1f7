"""Exporting answers for follow-up and research: one row per answer, streamed.

Rows come from the database as a stream, in batches of a few thousand, and are written as
they come, so an export of a million answers needs no more memory than one of ten. JSON and
CSV lines are made as text (what a run's answers share, once per run), byte for byte what
`json.dumps` and `csv.writer` would write of each row. JSON is written as one array, row by
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

import asyncio
import io
import json
import logging
import re
import tempfile
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from datetime import UTC, date, datetime, time
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol, TextIO, cast
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..engine import FlowRegistry
from ..engine.events import JSONValue, Text, Value
from ..engine.model import TextStep
from ..rules.access import NotAllowed, may_export
from ..rules.people import Participant
from ..storage import crypto
from ..storage.export import AnswerBatch, RunFacts
from . import audit

if TYPE_CHECKING:
    import pyzipper
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

__all__ = [
    "COLUMNS",
    "ENCRYPTED_ENTRY",
    "FORMATS",
    "MIN_PASSWORD",
    "Download",
    "StreamedExport",
    "download",
    "encrypted_zip",
    "export_answers",
    "safe_text",
]

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
    if fmt == "xlsx" and isinstance(output, io.TextIOBase):
        raise TypeError("an xlsx export is written to a binary file")
    if fmt != "xlsx" and not isinstance(output, io.TextIOBase):
        raise TypeError(f"a {fmt} export is written to a text stream")
    writer = _writer(app, output, fmt, pseudonymise, language)
    count = 0
    async with aclosing(app.database.answer_batches(_start(app, since))) as batches:
        async for batch in batches:
            writer.write(batch)
            count += len(batch.answers)
    writer.close()
    return count


class StreamedExport:
    """The same export, made as it is sent (the web view's download): `chunks()` yields it
    in pieces of bytes, one per batch of answers for JSON and CSV (UTF-8), so that however
    many answers there are, only a batch is ever in memory. An xlsx workbook is a zip
    written whole at its end: its sheets wait in openpyxl's temporary files and the workbook
    in one more (anonymous, 0600, gone when closed), which is then read out in pieces.
    With a `password`, the same bytes go into an AES-256 zip as they come (`--encrypt`: the
    entry `answers.csv`, `.json` or `.xlsx`), whose pieces are sent as the archive makes
    them. `rows` counts the answers made so far. Close the iterator when stopping early
    (`contextlib.aclosing`): its database connection goes back to the pool at once."""

    CHUNK = 64 * 1024

    def __init__(
        self,
        app: Wegwijzer,
        fmt: str,
        since: date | None = None,
        *,
        pseudonymise: bool = False,
        language: str | None = None,
        password: str | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        if password is not None and len(password) < MIN_PASSWORD:
            raise ValueError(f"an export password has at least {MIN_PASSWORD} characters")
        self.app, self.fmt, self.since = app, fmt, since
        self.pseudonymise, self.language = pseudonymise, language
        self.password = password
        self.rows = 0

    @property
    def encrypted(self) -> bool:
        return self.password is not None

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        if self.password is None:
            async with aclosing(self._plain()) as pieces:
                async for piece in pieces:
                    yield piece
            return
        sink = _Sink()
        async with aclosing(self._plain()) as pieces:
            # force_zip64: the archive is written front to back, with no going back to
            # widen an entry's sizes once it outgrows 4 GB.
            with (
                encrypted_zip(sink, self.password) as archive,
                archive.open(ENCRYPTED_ENTRY[self.fmt], "w", force_zip64=True) as entry,
            ):
                async for piece in pieces:
                    entry.write(piece)
                    if made := sink.take():
                        yield made
        yield sink.take()  # the rest, and the archive's directory

    async def _plain(self) -> AsyncGenerator[bytes, None]:
        if self.fmt == "xlsx":
            async for chunk in self._workbook():
                yield chunk
            return
        text = io.StringIO()
        writer = _writer(self.app, text, self.fmt, self.pseudonymise, self.language)
        async with aclosing(self.app.database.answer_batches(_start(self.app, self.since))) as (
            batches
        ):
            async for batch in batches:
                writer.write(batch)
                self.rows += len(batch.answers)
                yield _taken(text)
        writer.close()
        yield _taken(text)

    async def _workbook(self) -> AsyncGenerator[bytes, None]:
        with tempfile.TemporaryFile() as file:
            writer = _writer(self.app, file, "xlsx", self.pseudonymise, self.language)
            start = _start(self.app, self.since)
            # openpyxl takes about a third of a second of CPU for a batch of answers, and
            # seconds to save the book: in a thread, so that the event loop — the bot's too,
            # under `wegwijzer run --with-web` — goes on meanwhile (one thread at a time
            # uses the book).
            async with aclosing(self.app.database.answer_batches(start)) as batches:
                async for batch in batches:
                    await asyncio.to_thread(writer.write, batch)
                    self.rows += len(batch.answers)
            await asyncio.to_thread(writer.close)
            file.seek(0)
            while chunk := file.read(self.CHUNK):
                yield chunk


# The file inside an encrypted export, by format; the shortest password taken (the zip holds
# families' answers and may travel by mail).
ENCRYPTED_ENTRY = {"json": "answers.json", "csv": "answers.csv", "xlsx": "answers.xlsx"}
MIN_PASSWORD = 12


def encrypted_zip(file: object, password: str) -> pyzipper.AESZipFile:
    """An AES-256 zip writing into `file`, locked with `password`: the encrypted export's
    archive, for the command line's file and the web view's download alike."""
    import pyzipper

    archive = pyzipper.AESZipFile(
        file, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    )
    archive.setpassword(password.encode())
    archive.setencryption(pyzipper.WZ_AES, nbits=256)
    return archive


class _Sink(io.RawIOBase):
    """Where an archive written front to back puts its bytes, until they are taken."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        piece = bytes(data)
        self.pieces.append(piece)
        return len(piece)

    def take(self) -> bytes:
        made = b"".join(self.pieces)
        self.pieces.clear()
        return made


def _taken(text: io.StringIO) -> bytes:
    """What was written to `text` since last time, as UTF-8; `text` emptied."""
    written = text.getvalue()
    text.seek(0)
    text.truncate()
    return written.encode()


def _start(app: Wegwijzer, since: date | None) -> datetime | None:
    if since is None:
        return None
    return datetime.combine(since, time.min, ZoneInfo(app.settings.timezone))


def _writer(
    app: Wegwijzer,
    output: TextIO | BinaryIO | IO[bytes],
    fmt: str,
    pseudonymise: bool,
    language: str | None,
) -> _TextWriter | _XlsxWriter:
    columns = (*COLUMNS, DROPPED) if pseudonymise else COLUMNS
    research = _Research(crypto.active(), app.flows) if pseudonymise else None
    if fmt == "xlsx":
        tr = app.catalogs.translator(language or app.settings.default_language)
        titles = [tr.render(TITLES[column]) for column in columns]
        return _XlsxWriter(cast(BinaryIO, output), columns, titles, research)
    lines = _JsonLines(research) if fmt == "json" else _CsvLines(columns, research)
    return _TextWriter(cast(TextIO, output), lines)


class _Research:
    """What a pseudonymised export changes: pseudonyms for cases and runs, and typed answers
    left out."""

    def __init__(self, keyring: crypto.Keyring, flows: FlowRegistry) -> None:
        self.pseudonym = _Pseudonyms(keyring)
        self.free_text = _FreeText(flows)

    def case(self, code: str | None) -> str | None:
        return None if code is None else self.pseudonym("case", code)

    def run(self, run_id: int) -> str:
        return self.pseudonym("run", run_id)


def _record(
    run_id: int, key: str, value: Value, at: datetime, run: RunFacts, research: _Research | None
) -> dict[str, JSONValue]:
    """One answer as a row of named fields (the xlsx export's, and what the text formats
    write, field by field)."""
    record: dict[str, JSONValue] = {
        "case_code": run.case_code,
        "child": run.child,
        "flow_id": run.flow_id,
        "flow_version": run.flow_version,
        "run_id": run_id,
        "key": key,
        "value": value,
        "answered_at": _answered(at.replace(tzinfo=UTC), day_only=research is not None),
        "scores": dict(run.scores),
        "flags": [dict(flag) for flag in run.flags],
    }
    if research is not None:
        record["case_code"] = research.case(run.case_code)
        record["run_id"] = research.run(run_id)
        dropped = research.free_text(run.flow_id, run.flow_version, key, value)
        if dropped:
            record["value"] = None
        record[DROPPED] = FREE_TEXT if dropped else None
    return record


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

    def __init__(self, flows: FlowRegistry) -> None:
        self.flows = flows
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
    """A row as xlsx cells (and, for the parts a run shares, CSV cells). Scores and flags are
    the same for every answer of a run, and a run's answers mostly come together: their JSON
    text is made once for the run."""

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


class _TextWriter:
    """JSON or CSV: a batch's lines written at once, as one text."""

    def __init__(self, output: TextIO, lines: _JsonLines | _CsvLines) -> None:
        self.output = output
        self.lines = lines
        output.write(lines.start())

    def write(self, batch: AnswerBatch) -> None:
        self.output.write(self.lines.batch(batch))

    def close(self) -> None:
        self.output.write(self.lines.end())


# Why not `csv.writer` and `json.dumps` for every row: at a million rows they, and the
# dictionaries and lists they are given, cost more than reading and opening the answers. The
# parts a run's answers share (case, child, flow, run, scores, flags) are made into text once
# per run, each answer adds its key, value and time; the text is byte for byte what
# `csv.writer` (excel dialect) and `json.dumps(row, ensure_ascii=False)` made of the same row
# (tests/services/test_export_text.py compares them).

# Remembered parts: runs whose answers interleave with others' stay within this many runs.
_RUNS_REMEMBERED = 1_024
# Remembered key cells: a flow has some dozens of keys.
_KEYS_REMEMBERED = 4_096
# A CSV field is quoted when it holds the delimiter, the quote or a line break (QUOTE_MINIMAL).
_CSV_QUOTE = re.compile('[,"\r\n]')
_encode_text: Callable[[str], str] = json.encoder.encode_basestring


def _csv_field(cell: str | int | float | None) -> str:
    """A cell as `csv.writer` writes it: floats by repr, text quoted when it must be."""
    if isinstance(cell, str):
        if _CSV_QUOTE.search(cell) is None:
            return cell
        return '"' + cell.replace('"', '""') + '"'
    if cell is None:
        return ""
    return repr(cell) if isinstance(cell, float) else str(cell)


def _csv_value(value: JSONValue) -> str:
    """`_csv_field(_cell(value))`, the common types first."""
    kind = type(value)
    if kind is str:
        return _csv_field(safe_text(cast(str, value), spreadsheet=True))
    if kind is int:
        return int.__repr__(cast(int, value))
    return _csv_field(_cell(value))


def _json_value(value: JSONValue) -> str:
    """`json.dumps(_json_safe(value), ensure_ascii=False)`, the common types first."""
    kind = type(value)
    if kind is str:
        return _encode_text(safe_text(cast(str, value), spreadsheet=False))
    if kind is int:
        return int.__repr__(cast(int, value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return json.dumps(_json_safe(value), ensure_ascii=False)


class _Lines:
    """What the JSON and CSV lines share: the parts of recent runs and the cells of keys,
    made once; the research changes (pseudonyms, typed answers left out)."""

    def __init__(self, research: _Research | None) -> None:
        self.research = research
        self.runs: dict[int, tuple[str, str]] = {}
        self.keys: dict[str, str] = {}

    def parts(self, run_id: int, run: RunFacts) -> tuple[str, str]:
        found = self.runs.get(run_id)
        if found is None:
            if len(self.runs) >= _RUNS_REMEMBERED:
                self.runs.clear()
            found = self.runs[run_id] = self.make_parts(run_id, run)
        return found

    def key(self, key: str) -> str:
        found = self.keys.get(key)
        if found is None:
            if len(self.keys) >= _KEYS_REMEMBERED:
                self.keys.clear()
            found = self.keys[key] = self.make_key(key)
        return found

    def shared(self, run_id: int, run: RunFacts) -> dict[str, JSONValue]:
        """The fields a run's answers share, as the row has them."""
        research = self.research
        return {
            "case_code": run.case_code if research is None else research.case(run.case_code),
            "child": run.child,
            "flow_id": run.flow_id,
            "flow_version": run.flow_version,
            "run_id": run_id if research is None else research.run(run_id),
            "scores": dict(run.scores),
            "flags": [dict(flag) for flag in run.flags],
        }

    def make_parts(self, run_id: int, run: RunFacts) -> tuple[str, str]:
        raise NotImplementedError

    def make_key(self, key: str) -> str:
        raise NotImplementedError


class _CsvLines(_Lines):
    """Rows as `csv.writer` writes them: `head` (the cells before the key), the key, the
    value, the time, `tail` (the cells after it), for pseudonymised rows the dropped cell."""

    def __init__(self, columns: tuple[str, ...], research: _Research | None) -> None:
        super().__init__(research)
        self.columns = columns

    def start(self) -> str:
        return ",".join(_csv_field(column) for column in self.columns) + "\r\n"

    def end(self) -> str:
        return ""

    def make_parts(self, run_id: int, run: RunFacts) -> tuple[str, str]:
        row = self.shared(run_id, run)
        cells = {name: _csv_field(_cell(value)) for name, value in row.items()}
        head = ",".join(cells[name] for name in COLUMNS[:5])
        return head + ",", "," + cells["scores"] + "," + cells["flags"]

    def make_key(self, key: str) -> str:
        return _csv_field(_cell(key))

    def batch(self, batch: AnswerBatch) -> str:
        lines: list[str] = []
        add = lines.append
        runs, parts, keys = batch.runs, self.runs, self.keys
        research = self.research
        for run_id, key, value, at in batch.answers:
            # The remembered parts looked up here, not through a call: this is once a row.
            head, tail = parts.get(run_id) or self.parts(run_id, runs[run_id])
            key_cell = keys.get(key) or self.key(key)
            # The time needs neither `safe_text` nor quotes: ISO, printable, a digit first.
            if research is None:
                when = at.isoformat() + "+00:00"  # naive UTC: what the aware one writes
                add(f"{head}{key_cell},{_csv_value(value)},{when}{tail}\r\n")
                continue
            when = at.date().isoformat()
            run = runs[run_id]
            if research.free_text(run.flow_id, run.flow_version, key, value):
                cells = f"{key_cell},null,{when}{tail},{FREE_TEXT}"
            else:
                cells = f"{key_cell},{_csv_value(value)},{when}{tail},null"
            add(f"{head}{cells}\r\n")
        return "".join(lines)


class _JsonLines(_Lines):
    """Rows as `json.dumps(row, ensure_ascii=False)` writes them, one a line, in an array."""

    def __init__(self, research: _Research | None) -> None:
        super().__init__(research)
        self.first = True

    def start(self) -> str:
        return "["

    def end(self) -> str:
        return "]\n" if self.first else "\n]\n"

    def make_parts(self, run_id: int, run: RunFacts) -> tuple[str, str]:
        row = self.shared(run_id, run)
        text = {
            name: json.dumps(_json_safe(value), ensure_ascii=False) for name, value in row.items()
        }
        head = "{" + "".join(f'"{name}": {text[name]}, ' for name in COLUMNS[:5]) + '"key": '
        return head, f', "scores": {text["scores"]}, "flags": {text["flags"]}'

    def make_key(self, key: str) -> str:
        return _json_value(key)

    def batch(self, batch: AnswerBatch) -> str:
        if not batch.answers:
            return ""
        lines: list[str] = []
        add = lines.append
        runs, parts, keys = batch.runs, self.runs, self.keys
        research = self.research
        for run_id, key, value, at in batch.answers:
            head, tail = parts.get(run_id) or self.parts(run_id, runs[run_id])
            key_text = keys.get(key) or self.key(key)
            if research is None:
                when = at.isoformat() + "+00:00"  # naive UTC: what the aware one writes
                rest = f'{_json_value(value)}, "answered_at": "{when}"{tail}}}'
                add(f'{head}{key_text}, "value": {rest}')
                continue
            when = at.date().isoformat()
            run = runs[run_id]
            if research.free_text(run.flow_id, run.flow_version, key, value):
                rest = f'null, "answered_at": "{when}"{tail}, "dropped": "{FREE_TEXT}"}}'
            else:
                rest = f'{_json_value(value)}, "answered_at": "{when}"{tail}, "dropped": null}}'
            add(f'{head}{key_text}, "value": {rest}')
        text = ("\n" if self.first else ",\n") + ",\n".join(lines)
        self.first = False
        return text


class _Sheet(Protocol):
    """What this module uses of an openpyxl write-only sheet (openpyxl has no type hints)."""

    title: str
    freeze_panes: str | None

    def append(self, row: Iterable[object]) -> None: ...


class _XlsxWriter:
    """One sheet per flow, made when the flow's first answer comes, titles in the first row."""

    def __init__(
        self,
        output: BinaryIO,
        columns: tuple[str, ...],
        titles: list[str],
        research: _Research | None,
    ):
        from openpyxl import Workbook

        self.output = output
        self.cells = _Cells(columns)
        self.titles = titles
        self.workbook = Workbook(write_only=True)
        self.sheets: dict[str, _Sheet] = {}
        self.at = columns.index("answered_at")
        self.research = research
        self.days = research is not None  # pseudonymised: the UTC day of an answer, no time

    def write(self, batch: AnswerBatch) -> None:
        for run_id, key, value, at in batch.answers:
            run = batch.runs[run_id]
            self.row(_record(run_id, key, value, at, run, self.research))

    def row(self, row: dict[str, JSONValue]) -> None:
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


# --- the web view's download --------------------------------------------------------------


class Download:
    """An export a person downloads (the web view), audited as the command line's is:
    `exported` before the first row (by `download`), then `export_finished` with the rows
    when the last one is made — or `export_interrupted` with the rows made so far, when the
    browser went away or something failed halfway."""

    def __init__(self, app: Wegwijzer, who: Participant, export: StreamedExport) -> None:
        self.app, self.who, self.export = app, who, export
        self.detail = _detail(export)

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        finished = False
        why = "stopped"
        try:
            async with aclosing(self.export.chunks()) as chunks:
                async for chunk in chunks:
                    yield chunk
            finished = True
        except Exception as failed:
            why = type(failed).__name__
            raise
        finally:
            rows = self.export.rows
            if finished:
                await audit.record_look(
                    self.app, self.who, "export_finished", **self.detail, rows=rows
                )
            else:
                detail = {**self.detail, "rows": rows, "why": why}
                await audit.record_look(self.app, self.who, "export_interrupted", **detail)
                log.warning(
                    "export interrupted", extra={"person_id": self.who.person_id, "event": why}
                )


async def download(
    app: Wegwijzer,
    who: Participant,
    fmt: str,
    since: date | None = None,
    *,
    pseudonymise: bool,
    language: str | None = None,
    password: str | None = None,
) -> Download:
    """An export for `who` to download (NotAllowed, recorded as a refusal, unless the access
    rules let them: `may_export`), in an AES-256 zip with a `password`; on record as
    `exported` before anything is made. ValueError for a password too short."""
    async with audit.refusal_recorded(app, who, "export", action="download"):
        if not may_export(who, pseudonymised=pseudonymise):
            raise NotAllowed("exports are for coordinators, pseudonymised")
    export = StreamedExport(
        app,
        fmt,
        since,
        pseudonymise=pseudonymise,
        language=(language or app.settings.default_language) if fmt == "xlsx" else None,
        password=password,
    )
    await audit.record_look(app, who, "exported", **_detail(export))
    return Download(app, who, export)


def _detail(export: StreamedExport) -> dict[str, JSONValue]:
    """What the audit log says of an export (the command line's fields; `via` the web)."""
    return {
        "format": export.fmt,
        "since": None if export.since is None else export.since.isoformat(),
        "pseudonymised": export.pseudonymise,
        "encrypted": export.encrypted,
        "lang": export.language,
        "via": "web",
    }
