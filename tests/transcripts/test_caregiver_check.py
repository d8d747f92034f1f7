"""Golden conversations of the caregivers' safety check, for a family in foster care.

Each scenario is a list of lines a caregiver types in `wegwijzer chat --as family`: the
terminal greets a family with their check-in, and `/guide caregiver_check` starts the safety
check instead (the check-in is kept for later). The demo case is first put in the foster care
programme, for which the check is meant. The test plays the lines through the console channel
with a fixed clock and compares the whole conversation plus what was stored (answers, flags
with their evidence) with a golden file in
`tests/transcripts/caregiver_check/<lang>/<scenario>.txt`.

"Not safe right now" raises an urgent flag (and says whom to call); a worry about contact,
health or behaviour a medium one. The caregiver does not set the case's risk level.

After an intended change: `pytest tests/transcripts --update-goldens`, then review
`git diff tests/transcripts` line by line before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import (
    Scenarios,
    assert_same_stored,
    case_ids,
    cases,
    check_golden,
    in_every_language,
    play,
)

GOLDEN = Path(__file__).parent / "caregiver_check"
ROLE = "family"
START = "/guide caregiver_check"
YES, NO = "1", "2"
FOSTER_CARE = "foster_care"


def _nl_en(lines: list[str]) -> dict[str, list[str]]:
    """The same lines in Dutch and English: options typed by number."""
    return {"nl": lines, "en": lines}


SCENARIOS: Scenarios = {
    # Safe, no worries, nothing to add: no flag.
    "safe_no_worries": _nl_en([START, YES, NO, NO, NO, NO]),
    # Safe, but worried about contact with the family and about behaviour; a note for the
    # caseworker: one medium flag.
    "safe_with_worries": {
        "nl": [
            START,
            YES,
            YES,
            NO,
            YES,
            YES,
            "Na het bezoek aan haar moeder slaapt ze slecht en is ze stil op school.",
        ],
        "en": [
            START,
            YES,
            YES,
            NO,
            YES,
            YES,
            "After the visit to her mother she sleeps badly and is quiet at school.",
        ],
    },
    # Not safe right now: whom to call, an urgent flag; the other questions follow.
    "not_safe": _nl_en([START, NO, NO, NO, NO, NO]),
}

# The check is offered only to families in foster, SOS, kinship and temporary care: a family
# in family strengthening is refused.
NOT_FOR_PROGRAMME = {"not_for_this_programme": _nl_en(["/guide", START])}

# Every shipped language plays "not safe" with worries, by option numbers: the check must read
# right in each, and store and flag the same.
BY_NUMBER = {"all_languages_not_safe": [START, NO, YES, YES, YES, NO]}
in_every_language(SCENARIOS, BY_NUMBER)


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    lines = SCENARIOS[scenario][lang]
    transcript = await play(tmp_path, ROLE, lang, lines, programme=FOSTER_CARE)
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize(
    ("scenario", "lang"), cases(NOT_FOR_PROGRAMME), ids=case_ids(NOT_FOR_PROGRAMME)
)
async def test_not_for_other_programmes(
    tmp_path: Path, scenario: str, lang: str, update_goldens: bool
) -> None:
    lines = NOT_FOR_PROGRAMME[scenario][lang]
    transcript = await play(tmp_path, ROLE, lang, lines, show_case=True)
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
