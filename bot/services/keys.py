"""Key rotation: every sealed value moved to the current key, in batches, while the bot runs.

After a new key is made current (`wegwijzer keys add`), values sealed with the old one still
open (the old key stays in the ring) until `rotate` has re-sealed them; then the old key can be
retired. Values stored before encryption existed are sealed by the same pass. Each batch is
its own transaction, so the bot's handlers wait at most one batch; the pass is recorded in the
audit log with how many values of each column it re-sealed.

A value that does not open with the ring (sealed with a key that is no longer, or not yet,
loaded; or altered) is skipped and counted as unopenable: the rotation goes on with the rest,
and the operator is told to load the missing key and rotate again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from ..app import Wegwijzer
from ..storage import crypto
from ..storage.sealed import sealed_columns
from . import audit

# Rows per transaction: small enough that a handler waiting for the write lock hardly notices.
BATCH = 200
# On PostgreSQL rows another process holds are skipped; they are tried again this many times.
RETRIES = 20


@dataclass(frozen=True)
class Rotation:
    """Per column ("table.column"): values re-sealed; values that do not open with the ring
    (skipped: load the key they were sealed with and rotate again); and values still held by
    another process when the retries ran out (rotate again). Only non-zero counts in the
    last two."""

    resealed: dict[str, int]
    unopenable: dict[str, int] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)


async def rotate(
    app: Wegwijzer, batch: int = BATCH, progress: Callable[[str, int], None] | None = None
) -> Rotation:
    """Re-seal every value not under the current key that opens with the ring."""
    keyring = crypto.active()
    rotation = Rotation({})
    for sealed in sealed_columns():
        done = 0
        unopenable: set[object] = set()  # by primary key: a retry sees them again
        for _ in range(RETRIES):
            after: object | None = None
            while True:
                async with app.database.transaction() as uow:
                    step = await uow.sealed.reseal(sealed, keyring, batch, after)
                done += step.resealed
                unopenable.update(step.unopenable)
                if progress is not None and step.resealed:
                    progress(sealed.name, done)
                if step.seen < batch:
                    break
                after = step.last
            async with app.database.reading() as uow:
                remaining = await uow.sealed.left(sealed, keyring) - len(unopenable)
            if remaining <= 0:
                break
            await asyncio.sleep(0.05)  # a row held by a handler: its transaction ends soon
        else:
            rotation.left[sealed.name] = remaining
        rotation.resealed[sealed.name] = done
        if unopenable:
            rotation.unopenable[sealed.name] = len(unopenable)
    async with app.database.transaction() as uow:
        await audit.record(
            uow,
            audit.OPERATOR,
            "keys_rotated",
            at=app.clock(),
            detail={
                "key": keyring.current,
                "resealed": dict(rotation.resealed),
                "unopenable": dict(rotation.unopenable),
                "left": dict(rotation.left),
            },
        )
    return rotation


async def left(app: Wegwijzer) -> dict[str, int]:
    """Per column, how many values are not under the current key (0 everywhere: the old keys
    can be retired)."""
    keyring = crypto.active()
    async with app.database.reading() as uow:
        return {sealed.name: await uow.sealed.left(sealed, keyring) for sealed in sealed_columns()}
