"""The application context: what every use case and channel works with, and nothing more.

`Wegwijzer` holds the settings, the database and the alarm journal, the checked flows with
their engine, the translation catalogs, the danger lists, the helplines and the clock.
`Assets` are the parts read from files (flows, catalogs, danger lists, helplines): loaded and
checked once, they can be shared by any number of `Wegwijzer`s — the bot has one, the test
suite one per session.
This module imports nothing from the services, so the services can import it; `bootstrap`
wires it all together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .config import Settings
from .engine import Engine, FlowRegistry, load_flows
from .i18n import Catalogs
from .i18n.danger import DangerWords
from .i18n.helplines import Helplines
from .rules.privacy import PrivacyPolicy
from .storage import Database
from .storage.journal import AlarmJournal

__all__ = ["HOST_CONTEXT", "Assets", "Clock", "UnsupportedContext", "Wegwijzer", "utc_now"]

Clock = Callable[[], datetime]

# Values the host gives flows for their {placeholders}; a flow may declare only these.
# `signpost`: the help for a worry that is not urgent (the GP, a crisis line), one per line;
# `self_harm_help`: the helplines for the self-harm alarm, one per line (locales/helplines.yaml).
HOST_CONTEXT = ("next_checkin", "emergency_number", "advice_line", "signpost", "self_harm_help")
# Given only to the home visit, whose runs each rate one child: the child (issue #14).
CHILD_CONTEXT = ("child",)


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnsupportedContext(Exception):
    """A flow declares a context value the host does not provide."""


# A short repr of their own: asyncio spells out a task's arguments (the app among them) when it
# shows a task, and the generated repr of every flow and catalog took a tenth of a second.
@dataclass(frozen=True, repr=False)
class Assets:
    """Flows (with their engine), catalogs, danger lists, the country's helplines and the
    privacy policy, read from files and checked."""

    flows: FlowRegistry
    engine: Engine
    catalogs: Catalogs
    danger: DangerWords
    helplines: Helplines
    privacy: PrivacyPolicy

    def __repr__(self) -> str:
        return f"Assets({len(list(self.flows))} flows)"

    @classmethod
    def load(cls, settings: Settings) -> Assets:
        """Refuses a broken flow, a flow needing a value the host cannot give, an uncompiled
        catalog, a missing danger list and a wrong helplines file, so that none of them can
        reach a family."""
        flows = load_flows(settings.flows_dir)
        for flow in flows:
            provided = HOST_CONTEXT + (CHILD_CONTEXT if flow.purpose == "home_visit" else ())
            missing = sorted(set(flow.context) - set(provided))
            if missing:
                raise UnsupportedContext(
                    f"flow {flow.ref} declares context {missing}; the host provides {provided}"
                )
        catalogs = Catalogs.load(settings.locales_dir)
        danger = DangerWords.load(settings.locales_dir, catalogs.languages)
        helplines = Helplines.load(settings.helplines_path, settings.country, catalogs.languages)
        privacy = PrivacyPolicy.load(settings.privacy_path)
        return cls(flows, Engine(flows), catalogs, danger, helplines, privacy)


@dataclass(repr=False)
class Wegwijzer:
    settings: Settings
    database: Database
    assets: Assets
    clock: Clock = utc_now
    # Where alarms are written before the database (bot/storage/journal.py).
    journal: AlarmJournal = field(init=False)

    def __post_init__(self) -> None:
        self.journal = AlarmJournal(self.settings.alarm_journal_path)

    def __repr__(self) -> str:
        return f"Wegwijzer({self.database!r})"

    @property
    def flows(self) -> FlowRegistry:
        return self.assets.flows

    @property
    def engine(self) -> Engine:
        return self.assets.engine

    @property
    def catalogs(self) -> Catalogs:
        return self.assets.catalogs

    @property
    def danger(self) -> DangerWords:
        return self.assets.danger

    @property
    def helplines(self) -> Helplines:
        return self.assets.helplines

    @property
    def privacy(self) -> PrivacyPolicy:
        return self.assets.privacy

    async def close(self) -> None:
        await self.database.dispose()
