"""The terminal channel (`wegwijzer chat`): the same conversation, engine and storage as the bot."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from ..app import Assets
from ..config import Settings
from .chat import ConsoleChat, open_chat

__all__ = ["ConsoleChat", "open_chat", "run_chat"]


async def run_chat(
    settings: Settings,
    *,
    role: str,
    case_code: str | None,
    language: str | None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    assets: Assets | None = None,
) -> int:
    from ..bootstrap import bootstrap
    from ..services.cases import UnknownCase
    from ..services.people import console_person

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    app = await bootstrap(settings, assets=assets)
    try:
        try:
            me = await console_person(app, role, case_code)
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
        await open_chat(app, me.external_id, language)
        interactive = stdin.isatty()
        chat = ConsoleChat(
            app, me.external_id, stdout, case_code=me.case_code, echo=not interactive
        )

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
