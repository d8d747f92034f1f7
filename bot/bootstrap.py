"""Wiring: settings → database, flows, engine, catalogs. The one place that builds them.

Entry points (CLI commands, the console chat, later the Telegram bot, and tests) call
`bootstrap` once and pass the resulting `Wegwijzer` down; nothing is created at import time.
It refuses to start with a broken flow or an uncompiled catalog, so neither can reach a family.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from .config import Settings
from .engine import Engine, FlowRegistry, load_flows
from .i18n import Catalogs
from .i18n.danger import DangerWords
from .storage import Database

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Wegwijzer:
    settings: Settings
    database: Database
    flows: FlowRegistry
    engine: Engine
    catalogs: Catalogs
    danger: DangerWords
    clock: Clock = utc_now

    async def close(self) -> None:
        await self.database.dispose()


async def bootstrap(
    settings: Settings, *, clock: Clock = utc_now, migrate: bool = True
) -> Wegwijzer:
    """Load and check flows and catalogs, connect to the database and bring it up to date."""
    flows = load_flows(settings.flows_dir)
    from .services.runs import check_context  # services build on this module

    check_context(flows)
    catalogs = Catalogs.load(settings.locales_dir)
    danger = DangerWords.load(settings.locales_dir, catalogs.languages)
    database = Database.connect(settings.database_url)
    try:
        if migrate:
            await database.upgrade()
            await _check_open_runs(database, flows)
    except BaseException:
        await database.dispose()
        raise
    return Wegwijzer(settings, database, flows, Engine(flows), catalogs, danger, clock)


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
