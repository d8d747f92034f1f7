"""The engine is pure: importing any of its modules loads neither `telegram` nor `sqlalchemy`,
and no source file of it names them in an import.
"""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import REPO

ENGINE = REPO / "bot" / "engine"
FORBIDDEN = ("telegram", "sqlalchemy")

# Run in a fresh interpreter: this test process may well have imported both already.
IMPORT_EVERYTHING = """
import pkgutil, sys
import bot.engine

names = [
    module.name
    for module in pkgutil.walk_packages(bot.engine.__path__, "bot.engine.")
]
for name in names:
    __import__(name)
loaded = sorted(
    name for name in sys.modules
    if name.split(".")[0].lower() in ("telegram", "sqlalchemy")
)
print(len(names))
print(",".join(sorted(names)))
print(",".join(loaded))
"""


def test_importing_every_engine_module_loads_neither_telegram_nor_sqlalchemy():
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    count, names, loaded = result.stdout.splitlines()
    # The walk must really have found the engine's modules, or this test proves nothing.
    expected = {
        f"bot.engine.{path.stem}" for path in ENGINE.glob("*.py") if path.stem != "__init__"
    }
    assert int(count) >= len(expected) >= 5
    assert expected <= set(names.split(","))
    assert loaded == ""


IMPORT_LINE = re.compile(
    r"^\s*(?:import\s+(?:[\w.]+\s*,\s*)*|from\s+)(?P<module>telegram|sqlalchemy)\b",
    re.IGNORECASE | re.MULTILINE,
)


def test_the_import_pattern_catches_what_it_must():
    # The static check below is only as good as this pattern.
    assert IMPORT_LINE.search("import telegram")
    assert IMPORT_LINE.search("    from sqlalchemy.orm import Session")
    assert IMPORT_LINE.search("import os, telegram.ext")
    assert IMPORT_LINE.search("from telegram import Update")
    assert not IMPORT_LINE.search("# keeps telegram out")
    assert not IMPORT_LINE.search("from .events import telegram_text")


def test_no_engine_source_file_imports_telegram_or_sqlalchemy():
    sources = sorted(ENGINE.rglob("*.py"))
    assert len(sources) >= 5

    offending = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for path in sources
        for match in IMPORT_LINE.finditer(path.read_text(encoding="utf-8"))
    ]

    assert offending == []
