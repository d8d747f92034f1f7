"""The sealed columns of every table, found from the models, and re-sealing them in batches.

`wegwijzer keys rotate` moves every sealed value (and every value written before encryption
existed) to the current key, a batch per transaction, while the bot goes on: on PostgreSQL the
batch's rows are locked and rows another process holds are skipped for the next pass; SQLite
takes one writer at a time anyway. A row the bot writes meanwhile is written under the current
key already, so re-sealing never overwrites a newer value with an older one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Table,
    Text,
    and_,
    cast,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from . import crypto
from .models import Base

__all__ = ["SealedColumn", "SealedColumns", "sealed_columns"]


class SealedColumn:
    __slots__ = ("column",)

    def __init__(self, column: Column[object]) -> None:
        self.column = column

    @property
    def table(self) -> Table:  # type: ignore[explicit-any]  # SQLAlchemy's Table is so typed
        return self.column.table

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"

    @property
    def is_json(self) -> bool:
        return isinstance(self.column.type, crypto.EncryptedJSON)


def sealed_columns() -> Iterator[SealedColumn]:
    """Every column of the models stored sealed, in table order."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, crypto.EncryptedText | crypto.EncryptedJSON):
                yield SealedColumn(column)


class SealedColumns:
    __slots__ = ("_lock", "_session")

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        self._session = session
        self._lock = lock

    async def reseal(self, sealed: SealedColumn, keyring: crypto.Keyring, limit: int) -> int:
        """Re-seal up to `limit` values of one column not under the current key; return how
        many were re-sealed (0: none left, or all left are held by another process)."""
        (key,) = sealed.table.primary_key.columns
        raw_type = JSON() if sealed.is_json else Text()
        raw = type_coerce(sealed.column, raw_type)
        # The stored text starts with the current key's prefix (a JSON string: after a quote).
        stmt = select(key, raw).where(_not_current(sealed, keyring)).order_by(key).limit(limit)
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True, of=sealed.table)
        resealed = 0
        for row_id, value in (await self._session.execute(stmt)).all():
            if isinstance(value, str) and value.startswith(crypto.PREFIX):
                plain = keyring.open(value, sealed.name)
            elif sealed.is_json:
                plain = _json_bytes(value)
            elif isinstance(value, str):
                plain = value.encode()
            else:
                continue
            await self._session.execute(
                update(sealed.table)
                .where(key == row_id)
                .values(
                    {sealed.column.name: type_coerce(keyring.seal(plain, sealed.name), raw_type)}
                )
            )
            resealed += 1
        return resealed

    async def left(self, sealed: SealedColumn, keyring: crypto.Keyring) -> int:
        """How many values of the column are not under the current key."""
        stmt = select(func.count()).select_from(sealed.table).where(_not_current(sealed, keyring))
        return int((await self._session.execute(stmt)).scalar_one())


def _not_current(sealed: SealedColumn, keyring: crypto.Keyring) -> ColumnElement[bool]:
    # The stored text starts with the current key's prefix (in a JSON column: after a quote).
    quote = '"' if sealed.is_json else ""
    current = f"{quote}{crypto.PREFIX}{keyring.current}:%"
    return and_(sealed.column.is_not(None), cast(sealed.column, Text).not_like(current))


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
