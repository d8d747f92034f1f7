"""The SQLite database file and the files SQLite keeps beside it are readable by their owner only.

They hold every answer (sealed) and who belongs to which case; design.md, principle 9: the
files the bot writes are 0600. Tested under the common umask 022, with which SQLite alone
would make them 0644.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage import Database


@pytest.fixture
def common_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("common_umask")
async def test_a_new_database_and_its_wal_files_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    database = Database.connect(f"sqlite:///{path}")
    try:
        await database.upgrade()
        async with database.engine.connect() as conn:
            # An open connection in WAL mode keeps -wal and -shm beside the database.
            await conn.execute(text("SELECT count(*) FROM person"))
            files = [path, path.with_name("new.db-wal"), path.with_name("new.db-shm")]
            assert all(file.exists() for file in files)
            assert {file.name: mode(file) for file in files} == {file.name: 0o600 for file in files}
    finally:
        await database.dispose()


@pytest.mark.usefixtures("common_umask")
async def test_an_older_world_readable_database_is_narrowed(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    path = tmp_path / "old.db"
    path.write_bytes(migrated_sqlite.read_bytes())
    path.chmod(0o644)
    database = Database.connect(f"sqlite:///{path}")
    try:
        async with database.reading() as uow:
            assert await uow.cases.by_code("NOPE-0000") is None
    finally:
        await database.dispose()
    assert mode(path) == 0o600
