"""Golden conversations of the home visit (Child Status Index), in every shipped language.

Each scenario is a list of lines a caseworker types in `wegwijzer chat --as caseworker`,
starting the flow with `/guide home_visit` for the terminal's case. The test plays them
through the console channel with a fixed clock and compares the whole conversation plus what
was stored (answers, scores, flags with their evidence) with a golden file in
`tests/transcripts/home_visit/<lang>/<scenario>.txt`.

After an intended change: `pytest tests/transcripts --update-goldens`, then review
`git diff tests/transcripts` line by line before committing.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.console import ConsoleChat
from bot.services.people import console_participant

from .test_family_checkin import FIXED_NOW

GOLDEN = Path(__file__).parent / "home_visit"
LONG_NOTE = "x" * 2001
START = "/guide home_visit"
# Options by number: 1 good (4), 2 fair (3), 3 bad (2), 4 very bad (1).
ALL_GOOD = ["1"] * 12

SCENARIOS: dict[str, dict[str, list[str]]] = {
    # The list of guidance, then every factor good: no flags, every domain 8, total 48.
    "all_good": {
        "nl": ["/guide", START, *ALL_GOOD, "nee"],
        "en": ["/guide", START, *ALL_GOOD, "no"],
    },
    # Food security bad (medium), shelter fair, abuse and exploitation very bad (urgent),
    # emotional health very bad typed as its label (high), social behaviour bad (medium);
    # then the review queue shows the flags, the most serious first.
    "mixed": {
        "nl": [
            START,
            "3",
            "1",
            "redelijk",
            "1",
            "4",
            "1",
            "1",
            "1",
            "Zeer slecht",
            "slecht",
            "2",
            "1",
            "nee",
            "/flags",
            "/flag 2",
        ],
        "en": [
            START,
            "3",
            "1",
            "fair",
            "1",
            "4",
            "1",
            "1",
            "1",
            "Very bad",
            "bad",
            "2",
            "1",
            "no",
            "/flags",
            "/flag 2",
        ],
    },
    # A number out of range, zero, text that is no option, a yes/no answer that is neither,
    # leaving with /cancel and picking up with /guide home_visit, a note over the limit.
    "invalid_inputs": {
        "nl": [
            START,
            "5",
            "0",
            "prima",
            "goed",
            "/cancel",
            START,
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "misschien",
            "ja",
            LONG_NOTE,
            "Moeder was niet thuis; oma paste op.",
        ],
        "en": [
            START,
            "5",
            "0",
            "great",
            "good",
            "/cancel",
            START,
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "1",
            "maybe",
            "yes",
            LONG_NOTE,
            "Mother was out; grandmother looked after the children.",
        ],
    },
    # Every factor fair (no flags), and a note.
    "with_note": {
        "nl": [
            START,
            *["2"] * 12,
            "ja",
            "Het gezin is verhuisd; school is nu verder weg. Volgende keer vervoer bespreken.",
        ],
        "en": [
            START,
            *["2"] * 12,
            "yes",
            "The family has moved; school is further away now. Discuss transport next time.",
        ],
    },
}

# Every shipped language plays one visit by option numbers, as most people do on a phone: the
# whole flow must read right in each, and store, score and flag the same.
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")
BY_NUMBER = {
    "all_languages_mixed": [
        START,
        *["1", "2", "3", "4", "1", "2", "3", "4", "1", "2", "3", "4"],
        "1",
        "Note.",
    ],
}
for scenario, lines in BY_NUMBER.items():
    SCENARIOS[scenario] = {lang: lines for lang in SHIPPED}

CASES = [(scenario, lang) for scenario, by_lang in SCENARIOS.items() for lang in by_lang]


async def play(tmp_path: Path, lang: str, lines: list[str]) -> str:
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'transcript.db'}")
    app = await bootstrap(settings, clock=lambda: FIXED_NOW)
    try:
        who = await console_participant(app, "caseworker")
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
