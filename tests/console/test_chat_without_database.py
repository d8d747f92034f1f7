"""`wegwijzer chat` when the database cannot be opened: every line gets an answer, and an
emergency gets the numbers and is journaled, instead of the session ending in a traceback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from bot.app import Assets
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.console.chat import ConsoleChat
from bot.services import texts
from bot.services.emergency import help_for


async def test_a_database_that_cannot_be_opened_costs_an_apology_not_the_session(
    tmp_path: Path, assets: Assets
) -> None:
    settings = replace(
        Settings(),
        database_url=f"sqlite:///{tmp_path / 'missing-directory' / 'wegwijzer.db'}",
        alarm_journal=tmp_path / "alarms.jsonl",
    )
    app = await bootstrap(settings, assets=assets, migrate=False)
    try:
        output = io.StringIO()
        lines: Iterator[str] = iter(["hello", "/sos"])

        async def read_line() -> str | None:
            return next(lines, None)

        await ConsoleChat(app, "console:family", output).run(read_line)
        nl = app.catalogs.translator("nl", settings.timezone)
        said = output.getvalue().splitlines()
        assert said[:2] == [nl(texts.SOMETHING_WENT_WRONG)] * 2  # opening, and "hello"
        given = [nl(line) for lines in help_for(app, ("immediate_danger",)) for line in lines]
        assert said[2 : 2 + len(given)] == given and "Alarmnummer" in given[1]
        assert said[2 + len(given)] == nl(texts.ALARM_SAVED_NOT_SENT)
        (journaled,) = await app.journal.pending()
        assert (journaled.channel, journaled.external_id) == ("console", "console:family")
    finally:
        await app.close()
