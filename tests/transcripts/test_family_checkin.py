"""Golden conversations of the family check-in, in every shipped language.

Each scenario is a list of lines a family types. The test plays them through the console
channel (the same engine, storage and catalogs as the bot) with a fixed clock, and compares
the whole conversation plus what was stored (answers, scores, flags) with a golden file in
`tests/transcripts/family_checkin/<lang>/<scenario>.txt`.

After an intended change: `pytest tests/transcripts --update-goldens`, then review
`git diff tests/transcripts` line by line before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import (
    assert_same_stored,
    case_ids,
    cases,
    check_golden,
    in_every_language,
    play,
)

GOLDEN = Path(__file__).parent / "family_checkin"
ROLE = "family"
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
BY_NUMBER = {
    "all_languages_happy_path": ["1", "1", "1", "2", "1", "1", "1", "1", "1", "1", "2", "1"],
    "all_languages_child_unsafe": ["1", "3", "3", "3", "3", "3", "1", "1", "1", "3", "2", "2"],
}
in_every_language(SCENARIOS, BY_NUMBER)


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    transcript = await play(tmp_path, ROLE, lang, SCENARIOS[scenario][lang])
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
