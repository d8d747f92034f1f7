"""The terminal channel (`wegwijzer chat`): the same flows, engine and storage as the bot."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from ..config import Settings
from .chat import ConsoleChat

__all__ = ["ConsoleChat", "run_chat"]


async def run_chat(
    settings: Settings,
    *,
    role: str,
    case_code: str | None,
    language: str | None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    from ..bootstrap import bootstrap
    from ..i18n import negotiate
    from ..services.cases import UnknownCase
    from ..services.people import console_participant, set_language

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    app = await bootstrap(settings)
    try:
        try:
            who = await console_participant(app, role, case_code)
        except UnknownCase:
            print(f"wegwijzer: no case with code {case_code!r}", file=sys.stderr)
            return 1
        if language is not None and language not in app.catalogs.languages:
            print(
                f"wegwijzer: unknown language {language!r}; available: "
                f"{', '.join(app.catalogs.languages)}",
                file=sys.stderr,
            )
            return 2
        chosen = language or who.language or settings.default_language
        chosen = negotiate(chosen, app.catalogs.languages, settings.default_language)
        if chosen != who.language:
            await set_language(app, who.person_id, chosen)
        interactive = stdin.isatty()
        chat = ConsoleChat(app, who, chosen, stdout, echo=not interactive)

        async def read_line() -> str | None:
            if interactive:
                stdout.write("> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            return line.rstrip("\n") if line else None

        await chat.run(read_line)
        return 0
    finally:
        await app.close()
