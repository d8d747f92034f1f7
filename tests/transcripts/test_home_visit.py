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

GOLDEN = Path(__file__).parent / "home_visit"
ROLE = "caseworker"
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
BY_NUMBER = {
    "all_languages_mixed": [
        START,
        *["1", "2", "3", "4", "1", "2", "3", "4", "1", "2", "3", "4"],
        "1",
        "Note.",
    ],
}
in_every_language(SCENARIOS, BY_NUMBER)


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    transcript = await play(tmp_path, ROLE, lang, SCENARIOS[scenario][lang])
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
