"""Running `wegwijzer …` in the tests: in this process (fast), or as the installed script.

`wegwijzer()` calls `bot.cli.main` as the console script does — same arguments, environment,
stdin, stdout, stderr and exit code — with the session's loaded flows and catalogs, so a
command costs a bootstrap, not an interpreter start. `installed()` runs the real console
script in a subprocess, for the tests that show the entry point itself works.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from bot import cli
from tests.conftest import shipped_assets

WEGWIJZER = shutil.which("wegwijzer", path=str(Path(sys.executable).parent))


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def environment(database: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", **(extra or {})}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return env


def wegwijzer(
    database: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, environment(database, env), clear=True),
        # The CLI sets up logging on the root logger; in-process that would outlive the call.
        mock.patch("bot.logs.configure"),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        try:
            code = cli.main(list(args), assets=shipped_assets())
        except SystemExit as exit_:  # argparse refusing the arguments
            code = exit_.code if isinstance(exit_.code, int) else 1
    return Ran(code, out.getvalue(), err.getvalue())


def installed(database: Path, *args: str, stdin: str = "") -> Ran:
    """The installed console script, in a subprocess."""
    assert WEGWIJZER, "the wegwijzer console script is not installed in this environment"
    done = subprocess.run(
        [WEGWIJZER, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment(database),
        timeout=120,
        check=False,
    )
    return Ran(done.returncode, done.stdout, done.stderr)
