"""Golden conversations of the reintegration navigator: the stage's checklist and its gate.

Each scenario is a list of lines a caseworker types in `wegwijzer chat --as caseworker`,
starting the navigator with `/guide reintegration` for the terminal's case, which some
scenarios first put in a stage (or in the Simba family care programme). The test plays them
through the console channel with a fixed clock and compares the whole conversation plus what
was stored (each item's status and note, the gate's answers, and the case's stage with the
audit record of every move and its reason) with a golden file in
`tests/transcripts/reintegration/<lang>/<scenario>.txt`.

In the checklist an item is chosen by its number, then its status (1 done, 2 not yet, 3 not
applicable), then a note: typed, or 1 to skip — except for an item that does not apply, which
needs a note saying why. The last number finishes the list. Moving on needs every essential
item done or not applicable; without them the caseworker stays, or moves on with a reason.

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

GOLDEN = Path(__file__).parent / "reintegration"
ROLE = "caseworker"
START = "/guide reintegration"
SHOW_CASE = "/case DEMO-0001"
DONE, NOT_YET, NOT_APPLICABLE = "1", "2", "3"
SKIP_NOTE = "1"
YES, NO = "1", "2"
STAY, OVERRIDE = "1", "2"
# "Finished with this list": after the six items of stages 1 and 2, the four of stage 3.
FINISH_6, FINISH_4 = "7", "5"
LONG_NOTE = "x" * 1001
SIMBA = "simba_family_care"


def _done(*items: int) -> list[str]:
    """Mark these items (by number) done, without a note."""
    return [line for item in items for line in (str(item), DONE, SKIP_NOTE)]


def _nl_en(lines: list[str]) -> dict[str, list[str]]:
    """The same lines in Dutch and English: options typed by number."""
    return {"nl": lines, "en": lines}


# Per scenario: what the caseworker types, and how the demo case is set up before.
SCENARIOS: Scenarios = {
    # A case without a stage starts in stage 1 (the move is confirmed). An item done with a
    # typed note, one not yet; finishing shows the essential items still missing, and the
    # caseworker stays. Opening the navigator again shows the marks and the note kept.
    "starts_in_assessment_and_stays": {
        "nl": [
            START,
            "1",
            DONE,
            "Gesprek met het kind en de moeder gehad op 20 november.",
            "2",
            NOT_YET,
            SKIP_NOTE,
            FINISH_6,
            STAY,
            SHOW_CASE,
            START,
            "/cancel",
        ],
        "en": [
            START,
            "1",
            DONE,
            "Talked with the child and the mother on 20 November.",
            "2",
            NOT_YET,
            SKIP_NOTE,
            FINISH_6,
            STAY,
            SHOW_CASE,
            START,
            "/cancel",
        ],
    },
    # In stage 1 already: four essential items done, the fifth not applicable — which asks
    # why, with no skip; a note over the limit is asked again. The non-essential item is left
    # open. Every essential item counts as done: move to stage 2.
    "all_essentials_done_moves": {
        "nl": [
            START,
            *_done(1, 2, 3, 5),
            "4",
            NOT_APPLICABLE,
            LONG_NOTE,
            "De familie woont in het buitenland; de partnerorganisatie daar beoordeelt haar.",
            FINISH_6,
            YES,
            SHOW_CASE,
        ],
        "en": [
            START,
            *_done(1, 2, 3, 5),
            "4",
            NOT_APPLICABLE,
            LONG_NOTE,
            "The family lives abroad; the partner organisation there assesses them.",
            FINISH_6,
            YES,
            SHOW_CASE,
        ],
    },
    # Every essential item done, but the caseworker does not move on yet: the case stays.
    "all_essentials_done_not_now": _nl_en([START, *_done(1, 2, 3, 4, 5), FINISH_6, NO]),
    # Essential items missing, and the caseworker moves on anyway with a reason, recorded
    # with the move.
    "essentials_missing_override": {
        "nl": [
            START,
            *_done(1),
            FINISH_6,
            OVERRIDE,
            "De rechter heeft de terugkeer al bepaald; het plan volgt in de voorbereiding.",
            SHOW_CASE,
        ],
        "en": [
            START,
            *_done(1),
            FINISH_6,
            OVERRIDE,
            "The court has already decided the return; the plan follows during preparation.",
            SHOW_CASE,
        ],
    },
    # A later stage: in stage 2, its essential items done, on to stage 3 (contact and
    # reunification), where the weekly visits of the first weeks begin.
    "preparation_to_reunification": _nl_en(
        [START, *_done(1, 2, 6), FINISH_6, YES, SHOW_CASE],
    ),
    # Simba family care, a new case: the siblings are not placed together, which asks why;
    # then the checklist of stage 1.
    "simba_siblings_apart": {
        "nl": [
            START,
            NO,
            "De jongste heeft zorg dichtbij het ziekenhuis nodig; ze zien elkaar elke week.",
            FINISH_6,
            STAY,
        ],
        "en": [
            START,
            NO,
            "The youngest needs care near the hospital; they see each other every week.",
            FINISH_6,
            STAY,
        ],
    },
    # Simba family care in stage 3: the siblings are together, on to that stage's checklist.
    "simba_siblings_together": _nl_en([START, YES, FINISH_4, STAY]),
}

# How the demo case is set up before a scenario (none: a new case, family strengthening).
SET_UP: dict[str, dict[str, str]] = {
    "all_essentials_done_moves": {"stage": "assessment"},
    "all_essentials_done_not_now": {"stage": "assessment"},
    "essentials_missing_override": {"stage": "assessment"},
    "preparation_to_reunification": {"stage": "preparation"},
    "simba_siblings_apart": {"programme": SIMBA},
    "simba_siblings_together": {"programme": SIMBA, "stage": "reunification"},
}

# Every shipped language plays a new case moved on without its essential items, by option
# numbers: the navigator must read right in each, and store and record the same.
BY_NUMBER = {
    "all_languages_override": [
        START,
        *_done(1),
        "3",
        NOT_APPLICABLE,
        "Note.",
        FINISH_6,
        OVERRIDE,
        "Reason.",
    ],
}
in_every_language(SCENARIOS, BY_NUMBER)


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    lines = SCENARIOS[scenario][lang]
    transcript = await play(tmp_path, ROLE, lang, lines, show_case=True, **SET_UP.get(scenario, {}))
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
