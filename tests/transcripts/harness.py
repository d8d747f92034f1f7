"""Playing a golden conversation: the console channel, a fixed clock, a fresh database.

Each flow's transcript test lists what a person types per scenario and language; `play` runs
it through the console (the same engine, storage and catalogs as the bot) and writes the whole
conversation plus what was stored (answers, flags, scores); `check_golden` compares that with
`tests/transcripts/<flow>/<lang>/<scenario>.txt`, or writes it with `--update-goldens`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.console import ConsoleChat
from bot.services.people import console_participant

FIXED_NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")
STORED = "\n--- stored ---\n"

Scenarios = dict[str, dict[str, list[str]]]


def in_every_language(scenarios: Scenarios, by_number: dict[str, list[str]]) -> None:
    """Add scenarios typed by option numbers, the same lines in every shipped language."""
    for scenario, lines in by_number.items():
        scenarios[scenario] = {lang: lines for lang in SHIPPED}


def cases(scenarios: Scenarios) -> list[tuple[str, str]]:
    return [(scenario, lang) for scenario, by_lang in scenarios.items() for lang in by_lang]


def case_ids(scenarios: Scenarios) -> list[str]:
    return [f"{scenario}-{lang}" for scenario, lang in cases(scenarios)]


async def play(tmp_path: Path, role: str, lang: str, lines: Iterable[str]) -> str:
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'transcript.db'}")
    app = await bootstrap(settings, clock=lambda: FIXED_NOW)
    try:
        who = await console_participant(app, role)
        output = io.StringIO()
        chat = ConsoleChat(app, who, lang, output, echo=True)
        pending = iter(lines)

        async def read_line() -> str | None:
            return next(pending, None)

        await chat.run(read_line)
        output.write(STORED)
        async for row in app.database.answer_rows():
            output.write(f"answer run {row.run_id} {row.key} = {row.value!r}\n")
        async with app.database.reading() as uow:
            for flag in await uow.flags.open_flags():
                output.write(f"flag {flag.level} {flag.rule} evidence={dict(flag.evidence)}\n")
                output.write(f"     due {flag.due_at.isoformat()}\n")
            for run_id in sorted({row.run_id async for row in app.database.answer_rows()}):
                for name, value in sorted((await uow.scores.of_run(run_id)).items()):
                    output.write(f"score run {run_id} {name} = {value:g}\n")
        return output.getvalue()
    finally:
        await app.close()


def check_golden(transcript: str, golden: Path, update: bool) -> None:
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(transcript, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run pytest with --update-goldens"
    assert transcript == golden.read_text(encoding="utf-8")


def assert_same_stored(golden_dir: Path, scenario: str) -> None:
    """Only the words differ between languages: what is stored, scored and flagged is one."""
    stored = {
        lang: (golden_dir / lang / f"{scenario}.txt").read_text("utf-8").split(STORED)[1]
        for lang in SHIPPED
    }
    assert len(set(stored.values())) == 1, sorted(stored)
