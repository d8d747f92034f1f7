"""Exporting answers for follow-up and research: one row per answer, streamed.

Rows come from the database as a stream and are written as they come, so an export of a
million answers needs no more memory than one of ten. JSON is written as one array, row by
row; CSV has one column per field, with scores and flags as JSON text.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, time
from typing import TextIO
from zoneinfo import ZoneInfo

from ..app import Wegwijzer
from ..engine.events import JSONValue

FORMATS = ("json", "csv")
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


async def export_answers(
    app: Wegwijzer, output: TextIO, fmt: str = "json", since: date | None = None
) -> int:
    """Write every answer given on or after `since` (a local date); return the row count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    start = None
    if since is not None:
        start = datetime.combine(since, time.min, ZoneInfo(app.settings.timezone))
    writer = _JsonWriter(output) if fmt == "json" else _CsvWriter(output)
    count = 0
    async for row in app.database.answer_rows(start):
        scores: dict[str, JSONValue] = dict(row.scores)
        flags: list[JSONValue] = [dict(flag) for flag in row.flags]
        writer.write(
            {
                "case_code": row.case_code,
                "child": row.child,
                "flow_id": row.flow_id,
                "flow_version": row.flow_version,
                "run_id": row.run_id,
                "key": row.key,
                "value": row.value,
                "answered_at": row.answered_at.astimezone(ZoneInfo("UTC")).isoformat(),
                "scores": scores,
                "flags": flags,
            }
        )
        count += 1
    writer.close()
    return count


class _JsonWriter:
    def __init__(self, output: TextIO):
        self.output = output
        self.first = True
        output.write("[")

    def write(self, row: dict[str, JSONValue]) -> None:
        self.output.write("\n" if self.first else ",\n")
        self.output.write(json.dumps(row, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.output.write("]\n" if self.first else "\n]\n")


class _CsvWriter:
    def __init__(self, output: TextIO):
        self.writer = csv.writer(output)
        self.writer.writerow(COLUMNS)

    def write(self, row: dict[str, JSONValue]) -> None:
        cells = []
        for column in COLUMNS:
            value = row[column]
            cells.append(
                value
                if isinstance(value, str | int) and not isinstance(value, bool)
                else json.dumps(value, ensure_ascii=False)
            )
        self.writer.writerow(cells)

    def close(self) -> None:
        pass
