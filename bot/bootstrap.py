"""Wiring: settings → assets (flows, catalogs, danger lists) → database → `Wegwijzer`.

Entry points (CLI commands, the console chat, the Telegram bot, and tests) call `bootstrap`
once and pass the resulting `Wegwijzer` down; nothing is created at import time. It refuses to
start with a broken flow, an uncompiled catalog or unfinished runs pinned to a flow version
that is gone, so none of them can reach a family. Assets already loaded (the test suite loads
them once per session) can be handed in.
"""

from __future__ import annotations

from .app import Assets, Clock, Wegwijzer, utc_now
from .config import Settings
from .engine import FlowRegistry
from .storage import Database, crypto

__all__ = ["FlowVersionMissing", "bootstrap", "bring_up_to_date", "install_keyring", "keyring"]


async def bootstrap(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    migrate: bool = True,
    assets: Assets | None = None,
) -> Wegwijzer:
    """Load and check the assets (unless given), connect to the database and bring it up to
    date."""
    assets = assets or Assets.load(settings)
    install_keyring(settings)
    database = Database.connect(settings.database_url, pool_size=settings.database_pool_size)
    app = Wegwijzer(settings, database, assets, clock)
    try:
        if migrate:
            await bring_up_to_date(app)
    except BaseException:
        await database.dispose()
        raise
    return app


def install_keyring(settings: Settings) -> None:
    """Install the settings' key ring for this process; one from a key file is read again
    when the file changes (a key added while the bot runs)."""
    watched = None if settings.encryption_keys else settings.key_file
    crypto.install(keyring(settings), watched)


def keyring(settings: Settings) -> crypto.Keyring:
    """The key ring the settings name (ENCRYPTION_KEYS or KEY_FILE); settings made in code
    without either (the tests') use the one already installed in this process. Raises
    `crypto.KeyError_` saying what to do when there is none."""
    if settings.encryption_keys or settings.key_file is not None:
        return crypto.Keyring.load(settings.encryption_keys, settings.key_file)
    return crypto.active()


async def bring_up_to_date(app: Wegwijzer) -> None:
    """Migrate the database and check that every unfinished run's flow version is loaded.
    Raises `Unavailable` when the database cannot be reached (the bot can start without it:
    see `telegram.serve`)."""
    await app.database.upgrade()
    await _check_open_runs(app.database, app.flows)


class FlowVersionMissing(Exception):
    """Unfinished runs are pinned to a flow version that is no longer in flows/."""


async def _check_open_runs(database: Database, flows: FlowRegistry) -> None:
    # A run continues on the version it started on; if that version's file was removed,
    # every family in the middle of it would be stuck. Keep old versions (e.g. in
    # flows/archive/) until their runs are finished.
    async with database.reading() as uow:
        pinned = await uow.runs.open_versions()
    loaded = {(flow.id, flow.version) for flow in flows}
    missing = sorted(pinned - loaded)
    if missing:
        names = ", ".join(f"{flow_id}@{version}" for flow_id, version in missing)
        raise FlowVersionMissing(
            f"unfinished runs use flow versions that are not in the flows directory: {names}. "
            "Keep those flow files (e.g. in flows/archive/) until their runs are finished."
        )
