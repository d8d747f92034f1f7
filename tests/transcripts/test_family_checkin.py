"""Golden conversations of the family check-in, in every shipped language.

Each scenario is a list of lines a family types. The test plays them through the console
channel (the same engine, storage and catalogs as the bot) with a fixed clock, and compares
the whole conversation plus what was stored (answers, scores, flags) with a golden file in
`tests/transcripts/family_checkin/<lang>/<scenario>.txt`.

After an intended change: `pytest tests/transcripts --update-goldens`, then review
`git diff tests/transcripts` line by line before committing.
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.console import ConsoleChat
from bot.services.people import console_participant

GOLDEN = Path(__file__).parent / "family_checkin"
FIXED_NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
LONG_MESSAGE = "x" * 1001

# Inputs per scenario and language: by number, by label in the language, and by mistake.
SCENARIOS: dict[str, dict[str, list[str]]] = {
    "happy_path": {
        "nl": ["ja", "1", "1", "2", "1", "1", "1", "1", "1", "1", "nee", "ja"],
        "en": ["yes", "1", "1", "2", "1", "1", "1", "1", "1", "1", "no", "yes"],
    },
    "lowest_scores": {
        "nl": [
            "Ja",
            "nooit",
            "Nooit",
            "6",
            "6",
            "6",
            "3",
            "3",
            "3",
            "1",
            "ja",
            "Kunt u mij deze week bellen?",
            "ja",
        ],
        "en": [
            "Yes",
            "at no time",
            "At no time",
            "6",
            "6",
            "6",
            "3",
            "3",
            "3",
            "1",
            "yes",
            "Could you call me this week?",
            "yes",
        ],
    },
    "child_unsafe": {
        "nl": ["ja", "3", "3", "3", "3", "3", "1", "1", "1", "nee", "nee", "nee"],
        "en": ["yes", "3", "3", "3", "3", "3", "1", "1", "1", "no", "no", "no"],
    },
    "invalid_inputs": {
        # Wrong answers, a command mid-flow, leaving and coming back, a language switch
        # mid-flow (the next question comes in the new language), a message over the limit.
        "nl": [
            "misschien",
            "ja",
            "7",
            "0",
            "heel vaak",
            "1",
            "/help",
            "2",
            "/cancel",
            "2",
            "/checkin",
            "2",
            "/language en",
            "2",
            "1",
            "1",
            "1",
            "1",
            "1",
            "yes",
            LONG_MESSAGE,
            "All fine here.",
            "yes",
        ],
        "en": [
            "maybe",
            "yes",
            "7",
            "0",
            "very often",
            "1",
            "/help",
            "2",
            "/cancel",
            "2",
            "/checkin",
            "2",
            "/language nl",
            "2",
            "1",
            "1",
            "1",
            "1",
            "1",
            "ja",
            LONG_MESSAGE,
            "Alles goed hier.",
            "ja",
        ],
    },
    # Danger mid-flow: the numbers first, the question kept, the check-in goes on.
    "emergency_mid_flow": {
        "nl": ["ja", "1", "Help, mijn man slaat mij", "2", "/sos", "1"],
        "en": ["yes", "1", "I am in danger", "2", "/sos", "1"],
    },
    "declined": {
        "nl": ["nee", "1", "/checkin", "ja"],
        "en": ["no", "1", "/checkin", "yes"],
    },
}

# Every shipped language plays the check-in through by option numbers, as most people on a
# phone do: the whole flow must read right in each, and store the same answers.
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")
BY_NUMBER = {
    "all_languages_happy_path": ["1", "1", "1", "2", "1", "1", "1", "1", "1", "1", "2", "1"],
    "all_languages_child_unsafe": ["1", "3", "3", "3", "3", "3", "1", "1", "1", "3", "2", "2"],
}
for scenario, lines in BY_NUMBER.items():
    SCENARIOS[scenario] = {lang: lines for lang in SHIPPED}

CASES = [(scenario, lang) for scenario, by_lang in SCENARIOS.items() for lang in by_lang]


async def play(tmp_path: Path, lang: str, lines: list[str]) -> str:
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'transcript.db'}")
    app = await bootstrap(settings, clock=lambda: FIXED_NOW)
    try:
        who = await console_participant(app, "family")
        output = io.StringIO()
        chat = ConsoleChat(app, who, lang, output, echo=True)
        pending = iter(lines)

        async def read_line() -> str | None:
            return next(pending, None)

        await chat.run(read_line)
        output.write("\n--- stored ---\n")
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


@pytest.mark.parametrize(("scenario", "lang"), CASES, ids=[f"{s}-{lang}" for s, lang in CASES])
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    transcript = await play(tmp_path, lang, SCENARIOS[scenario][lang])
    golden = GOLDEN / lang / f"{scenario}.txt"
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(transcript, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run pytest with --update-goldens"
    assert transcript == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    """Only the words differ between languages: what is stored, scored and flagged is one."""
    stored = {
        lang: (GOLDEN / lang / f"{scenario}.txt").read_text("utf-8").split("--- stored ---")[1]
        for lang in SHIPPED
    }
    assert len(set(stored.values())) == 1, sorted(stored)
