"""The CSV and JSON exports are made as text, per run and per answer (bot.services.export):
byte for byte what `csv.writer` and `json.dumps` wrote of the same rows before.

The reference below is the export as it was written row by row (a dictionary per answer,
`csv.writer(...).writerow` of its cells, `json.dumps` of the whole row), kept here word for
word so that the fast path is held to it. Both are given the same invented batches: texts
with quotes, commas, line breaks, control characters, formula starts, Arabic with its
direction marks, emoji; numbers, booleans, nulls, lists and objects as values; cases
without code, runs without child, scores and flags or none; times to the second and to the
microsecond.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from bot.app import Wegwijzer
from bot.engine.events import JSONValue, Value
from bot.services import export as export_module
from bot.services.export import COLUMNS, DROPPED, FREE_TEXT, export_answers, safe_text
from bot.storage import crypto
from bot.storage.export import AnswerBatch, RunFacts
from tests.conftest import shipped_assets

TEXTS = [
    "ja",
    "a,b",
    'zei "hoi"',
    '"',
    '""',
    ",",
    "regel\neen",
    "cr\r\nlf",
    "alleen\r",
    "\n",
    "tab\tin het midden",
    "\tvooraan",
    "=1+1",
    '=HYPERLINK("http://example.invalid")',
    "+31 6 00000000",
    "-5",
    "@thuis",
    "ünïcødé ✓ café",
    "\u200fمرحبا بالعالم\u200e",
    "emoji 😀👍🏽",
    "",
    " ",
    "stuur\x01\x7f\x85teken",
    "\x00",
    "back\\slash",
    "lijn\u2028scheider",
    "'al een quote",
    "null",
    "true",
    "123",
]
KEYS = ["who5.cheerful", "checkin.consent", "checkin.note", "csi.care", *TEXTS[:12]]
FLOWS = [("family_checkin", 2), ("home_visit", 2), ('onbekend, "flow"', 1), ("x" * 40, 3)]


def _value(rng: random.Random, depth: int = 0) -> JSONValue:
    kind = rng.randrange(10 if depth < 2 else 7)
    if kind == 0:
        return rng.choice([0, 1, 5, -3, 10**20, -(10**20)])
    if kind == 1:
        return rng.choice([0.5, -0.0, 2.0, 1e300, 1e-7, math.inf, -math.inf, 3.14159])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind in (3, 4, 5, 6):
        return rng.choice(TEXTS)
    if kind in (7, 8):
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(TEXTS): _value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _run(rng: random.Random) -> RunFacts:
    flow_id, version = rng.choice(FLOWS)
    return RunFacts(
        flow_id=flow_id,
        flow_version=version,
        case_code=rng.choice([None, "K7Q-4MX", *TEXTS[:8]]),
        child=rng.choice([None, 1, 2, 12]),
        scores={rng.choice(TEXTS): rng.choice([1.0, 2.5, -0.0, 1e20]) for _ in range(3)},
        flags=[
            {"rule": rng.choice(TEXTS), "level": rng.choice(["high", "low", 'ä,"x"'])}
            for _ in range(rng.randrange(3))
        ],
    )


def _moment(rng: random.Random) -> datetime:
    """A time as the batches carry it: UTC, naive; to the second or the microsecond."""
    at = datetime(2025, 1, 1) + timedelta(seconds=rng.randrange(10**8))
    if rng.random() < 0.7:
        at = at.replace(microsecond=rng.randrange(1_000_000))
    return at


def _batches(seed: int, count: int = 6, size: int = 150) -> list[AnswerBatch]:
    rng = random.Random(seed)
    runs = {run_id: _run(rng) for run_id in range(1, 60)}
    batches = []
    for number in range(count):
        answers: list[tuple[int, str, Value, datetime]] = []
        for _ in range(0 if number == 2 else size):  # an empty batch (runs deleted) too
            run_id = rng.choice(list(runs))
            answers.append((run_id, rng.choice(KEYS), cast(Value, _value(rng)), _moment(rng)))
        batches.append(AnswerBatch(answers, {run_id: runs[run_id] for run_id, *_ in answers}))
    return batches


# --- the export as it was: a dictionary per row, csv.writer and json.dumps -----------------


def _old_json_safe(value: JSONValue) -> JSONValue:
    if isinstance(value, str):
        return safe_text(value, spreadsheet=False)
    if isinstance(value, dict):
        return {key: _old_json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_old_json_safe(item) for item in value]
    return value


def _old_cell(value: JSONValue) -> str | int | float | None:
    if isinstance(value, str):
        return safe_text(value, spreadsheet=True)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return safe_text(json.dumps(value, ensure_ascii=False), spreadsheet=True)


def _old_rows(batches: list[AnswerBatch], pseudonymise: bool) -> Iterator[dict[str, JSONValue]]:
    free_text = export_module._FreeText(shipped_assets().flows)
    keyring = crypto.active()
    for batch in batches:
        for run_id, key, value, at in batch.answers:
            run = batch.runs[run_id]
            utc = at.replace(tzinfo=UTC)
            record: dict[str, JSONValue] = {
                "case_code": run.case_code,
                "child": run.child,
                "flow_id": run.flow_id,
                "flow_version": run.flow_version,
                "run_id": run_id,
                "key": key,
                "value": value,
                "answered_at": utc.date().isoformat() if pseudonymise else utc.isoformat(),
                "scores": dict(run.scores),
                "flags": [dict(flag) for flag in run.flags],
            }
            if pseudonymise:
                if run.case_code is not None:
                    record["case_code"] = keyring.pseudonym("case", run.case_code)
                record["run_id"] = keyring.pseudonym("run", run_id)
                dropped = free_text(run.flow_id, run.flow_version, key, value)
                if dropped:
                    record["value"] = None
                record[DROPPED] = FREE_TEXT if dropped else None
            yield record


def _old_csv(batches: list[AnswerBatch], pseudonymise: bool) -> str:
    columns = (*COLUMNS, DROPPED) if pseudonymise else COLUMNS
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in _old_rows(batches, pseudonymise):
        writer.writerow([_old_cell(record[column]) for column in columns])
    return out.getvalue()


def _old_json(batches: list[AnswerBatch], pseudonymise: bool) -> str:
    out = io.StringIO(newline="")
    out.write("[")
    first = True
    for record in _old_rows(batches, pseudonymise):
        out.write("\n" if first else ",\n")
        out.write(json.dumps(_old_json_safe(record), ensure_ascii=False))
        first = False
    out.write("]\n" if first else "\n]\n")
    return out.getvalue()


# --- the export now --------------------------------------------------------------------------


@dataclass
class _Database:
    batches: list[AnswerBatch]

    async def answer_batches(self, since: datetime | None = None) -> AsyncIterator[AnswerBatch]:
        assert since is None
        for batch in self.batches:
            yield batch


@dataclass
class _App:
    """What `export_answers` uses of the app for JSON and CSV: the answers and the flows."""

    database: _Database
    flows: object


async def _export(batches: list[AnswerBatch], fmt: str, pseudonymise: bool) -> tuple[str, int]:
    app = cast(Wegwijzer, _App(_Database(batches), shipped_assets().flows))
    out = io.StringIO(newline="")
    rows = await export_answers(app, out, fmt, pseudonymise=pseudonymise)
    return out.getvalue(), rows


@pytest.mark.parametrize("pseudonymise", [False, True], ids=["plain", "pseudonymised"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_csv_is_byte_for_byte_what_csv_writer_wrote(seed: int, pseudonymise: bool) -> None:
    batches = _batches(seed)
    text, rows = await _export(batches, "csv", pseudonymise)
    assert rows == sum(len(batch.answers) for batch in batches) > 0
    assert text == _old_csv(batches, pseudonymise)
    # The invented data did reach the quoting and the neutralising, and the research rules.
    assert '""' in text and '\n"' in text and "'=" in text
    if pseudonymise:
        assert f",{FREE_TEXT}\r\n" in text and ",null\r\n" in text


@pytest.mark.parametrize("pseudonymise", [False, True], ids=["plain", "pseudonymised"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_json_is_byte_for_byte_what_json_dumps_wrote(seed: int, pseudonymise: bool) -> None:
    batches = _batches(seed)
    text, rows = await _export(batches, "json", pseudonymise)
    assert rows == sum(len(batch.answers) for batch in batches) > 0
    assert text == _old_json(batches, pseudonymise)
    assert len(json.loads(text)) == rows


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_an_export_without_answers_is_what_it_was(fmt: str) -> None:
    empty = [AnswerBatch([], {})]
    for batches in ([], empty):
        text, rows = await _export(batches, fmt, pseudonymise=False)
        assert rows == 0
        expected = _old_csv([], False) if fmt == "csv" else _old_json([], False)
        assert text == expected


async def test_runs_beyond_the_remembered_ones_are_made_again_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A tiny memory of runs: the parts are dropped and made again many times over.
    monkeypatch.setattr(export_module, "_RUNS_REMEMBERED", 3)
    monkeypatch.setattr(export_module, "_KEYS_REMEMBERED", 2)
    batches = _batches(7)
    for fmt, old in (("csv", _old_csv), ("json", _old_json)):
        text, _ = await _export(batches, fmt, pseudonymise=False)
        assert text == old(batches, False)
