"""`wegwijzer bench --scale` end to end at a tiny size on SQLite, so that it cannot rot.

The seeding must make a database the bot reads like its own: rows in the proportions asked
for, foreign keys that hold, sealed values that open, people found by their Telegram id. The
timings are figures for the bench to print, not asserted here; that each was taken is.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.bench.scale import Repeats, measure
from tests.bench.seed import Shape


async def test_scale_bench_seeds_in_proportion_and_measures_every_operation(
    tmp_path: Path,
) -> None:
    shape = Shape(200)
    url = f"sqlite:///{tmp_path / 'scale.db'}"
    repeats = Repeats(asked=3, claim_rounds=2, digests=2, export_days=(30,))
    figures = await measure(url, "SQLite", shape, tmp_path, repeats)

    assert (figures.rows["case_file"], figures.rows["person"]) == (200, 400)
    assert (figures.rows["answer"], figures.rows["flag"]) == (4_000, 100)
    assert figures.rows["membership"] == 400 - shape.coordinators - shape.caseworkers
    # Everything due was claimed, in every round; the digest told of the day's flags.
    assert figures.due_notices >= shape.due_reminders
    assert figures.digest_flags >= shape.digest_flags
    # The export read every answer (so every sealed answer opened), and the slice fewer.
    assert figures.export_rows == 4_000
    ((sliced, peak),) = figures.export_peaks
    assert 0 < sliced < 4_000 and peak > 0
    assert figures.xlsx_rows == sliced and figures.export_cpu_seconds > 0
    counts = {timing.name: len(timing.samples) for timing in figures.timings}
    assert counts == {
        "coordinator /flags, first page": 3,
        "caseworker /flags": 3,
        "/case with its timeline": 3,
        # One claim more than the batches due, in each round: the one that finds none left.
        "claim due notices, 16 at a time": 2 * (-(-figures.due_notices // 16) + 1),
        "claim every due notice": 2,
        "daily digest": 2,
        "web: flag queue, first page": 3,
        "web: flag queue, high and overdue": 3,
        "web: a flag's page": 3,
        "web: case list, first page": 3,
        "web: case list, searched by code": 3,
        "web: case list, silent 4 weeks": 3,
        "web: case list, high risk, by stage": 3,
        "web: a case's page, with its timeline": 3,
        "web: the overview, last 30 days": 3,
        "web: the overview, last 90 days": 3,
    }
    assert figures.total_bytes > 0 and figures.table_bytes["answer"] > 0
    json.dumps(figures.as_dict())
    assert "coordinator /flags, first page" in figures.report()

    with sqlite3.connect(tmp_path / "scale.db") as db:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        statuses = dict(db.execute("SELECT status, count(*) FROM flag GROUP BY status").fetchall())
        assert statuses["open"] == shape.open_flags
        assert statuses["acknowledged"] == shape.acknowledged_flags
        assert sum(statuses.values()) == shape.flags
