"""Key rotation: every sealed value moved to the current key, in batches, while the bot runs.

After a new key is made current (`wegwijzer keys add`), values sealed with the old one still
open (the old key stays in the ring) until `rotate` has re-sealed them; then the old key can be
retired. Values stored before encryption existed are sealed by the same pass. Each batch is
its own transaction, so the bot's handlers wait at most one batch; the pass is recorded in the
audit log with how many values of each column it re-sealed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..app import Wegwijzer
from ..storage import crypto
from ..storage.sealed import sealed_columns
from . import audit

# Rows per transaction: small enough that a handler waiting for the write lock hardly notices.
BATCH = 200
# On PostgreSQL rows another process holds are skipped; they are tried again this many times.
RETRIES = 20


async def rotate(
    app: Wegwijzer, batch: int = BATCH, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Re-seal every value not under the current key; the count per column ("table.column").
    Raises `crypto.KeyError_` when a value was sealed with a key that is not in the ring."""
    keyring = crypto.active()
    counts: dict[str, int] = {}
    for sealed in sealed_columns():
        done = 0
        for _ in range(RETRIES):
            while True:
                async with app.database.transaction() as uow:
                    resealed = await uow.sealed.reseal(sealed, keyring, batch)
                done += resealed
                if progress is not None and resealed:
                    progress(sealed.name, done)
                if resealed < batch:
                    break
            async with app.database.reading() as uow:
                if not await uow.sealed.left(sealed, keyring):
                    break
            await asyncio.sleep(0.05)  # a row held by a handler: its transaction ends soon
        counts[sealed.name] = done
    async with app.database.transaction() as uow:
        await audit.record(
            uow,
            audit.OPERATOR,
            "keys_rotated",
            at=app.clock(),
            detail={"key": keyring.current, "resealed": dict(counts)},
        )
    return counts


async def left(app: Wegwijzer) -> dict[str, int]:
    """Per column, how many values are not under the current key (0 everywhere: the old keys
    can be retired)."""
    keyring = crypto.active()
    async with app.database.reading() as uow:
        return {sealed.name: await uow.sealed.left(sealed, keyring) for sealed in sealed_columns()}
