"""The sealed columns of every table, found from the models, and re-sealing them in batches.

`wegwijzer keys rotate` moves every sealed value (and every value written before encryption
existed) to the current key, a batch per transaction, while the bot goes on: on PostgreSQL the
batch's rows are locked and rows another process holds are skipped for the next pass; SQLite
takes one writer at a time anyway. A row the bot writes meanwhile is written under the current
key already, so re-sealing never overwrites a newer value with an older one.

A value that does not open with the ring (sealed with a key that is not loaded, or altered)
is left as it is and reported, not an error: it must not stop the rotation of everything
else, at the same row on every rerun. Batches go on after the last row seen, so such a
value is not selected again and again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

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

__all__ = ["Resealed", "SealedColumn", "SealedColumns", "sealed_columns"]


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


@dataclass(frozen=True)
class Resealed:
    """What one batch of `reseal` did."""

    resealed: int
    # The primary keys of the values that do not open with the ring (left as they are).
    unopenable: tuple[object, ...]
    # How many rows the batch looked at, and the primary key of the last (None: none).
    seen: int
    last: object | None


class SealedColumns:
    __slots__ = ("_lock", "_session")

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        self._session = session
        self._lock = lock

    async def reseal(
        self,
        sealed: SealedColumn,
        keyring: crypto.Keyring,
        limit: int,
        after: object | None = None,
    ) -> Resealed:
        """Re-seal up to `limit` values of one column not under the current key, in primary
        key order after `after` (the `last` of the batch before; None: from the start). A
        value that does not open is skipped and reported. Fewer than `limit` rows seen: none
        left after `after`, or all left are held by another process."""
        (key,) = sealed.table.primary_key.columns
        raw_type = JSON() if sealed.is_json else Text()
        raw = type_coerce(sealed.column, raw_type)
        # The stored text starts with the current key's prefix (a JSON string: after a quote).
        stmt = select(key, raw).where(_not_current(sealed, keyring))
        if after is not None:
            stmt = stmt.where(key > after)
        stmt = stmt.order_by(key).limit(limit)
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True, of=sealed.table)
        rows = (await self._session.execute(stmt)).all()
        resealed, unopenable = 0, []
        for row_id, value in rows:
            if isinstance(value, str) and value.startswith(crypto.PREFIX):
                try:
                    plain = keyring.open(value, sealed.name)
                except crypto.KeyError_:
                    unopenable.append(row_id)
                    continue
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
        return Resealed(resealed, tuple(unopenable), len(rows), rows[-1][0] if rows else None)

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
