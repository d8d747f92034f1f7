"""Golden conversations of the risk screening, one per way to each risk level.

Each scenario is a list of lines a caseworker types in `wegwijzer chat --as caseworker`,
starting the flow with `/guide risk_screening` for the terminal's case. The test plays them
through the console channel with a fixed clock and compares the whole conversation plus what
was stored (answers, the concern and protective-factor counts, flags, and the case's risk level
with its next review and the audit record of who set it and why) with a golden file in
`tests/transcripts/risk_screening/<lang>/<scenario>.txt`.

The rules (flows/risk_screening.yaml): high for any immediate threat (with an urgent flag), for
past harm together with violence in the home, or for four or more concerns; medium for two or
more concerns, or one concern with no protective factor; low otherwise. The caseworker may set
another level, with a reason.

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

GOLDEN = Path(__file__).parent / "risk_screening"
ROLE = "caseworker"
START = "/guide risk_screening"
YES, NO = "1", "2"
# The twelve yes/no questions in the order asked, before "Do you agree with this level?".
QUESTIONS = (
    "threat_harm",
    "threat_needs",
    "threat_no_protector",
    "past_harm",
    "very_young",
    "disability_health",
    "addiction",
    "mental_health",
    "violence_home",
    "trusted_adult",
    "school",
    "network",
)
PROTECTED = ("trusted_adult", "school", "network")


def _screen(*yes: str, agree: bool = True) -> list[str]:
    """The screening answered by number: "yes" to the questions named, "no" to the others;
    then agreeing with the level (or not)."""
    unknown = set(yes) - set(QUESTIONS)
    assert not unknown, unknown
    return [
        START,
        *(YES if question in yes else NO for question in QUESTIONS),
        YES if agree else NO,
    ]


def _nl_en(lines: list[str]) -> dict[str, list[str]]:
    """The same lines in Dutch and English: options typed by number."""
    return {"nl": lines, "en": lines}


SCENARIOS: Scenarios = {
    # An immediate threat: high whatever else is answered, and an urgent flag, which the
    # caseworker's review queue then shows.
    "high_immediate_threat": _nl_en([*_screen("threat_harm", *PROTECTED), "/flags"]),
    # Harm in the past together with violence between adults: high with only two concerns.
    "high_past_harm_and_violence": _nl_en(_screen("past_harm", "violence_home", *PROTECTED)),
    # Four concerns (no past harm, no violence): high, even with every protective factor.
    "high_four_concerns": _nl_en(
        _screen("very_young", "disability_health", "addiction", "mental_health", *PROTECTED)
    ),
    # Two concerns: medium, even with every protective factor.
    "medium_two_concerns": _nl_en(_screen("addiction", "violence_home", *PROTECTED)),
    # One concern and nothing that protects the child: medium.
    "medium_one_concern_unprotected": _nl_en(_screen("mental_health")),
    # The same one concern with one protective factor: low.
    "low": _nl_en(_screen("mental_health", "school")),
    # The screening says low; the caseworker judges medium and gives the reason, which is
    # recorded with the level; /case shows the level and the next review.
    "override_with_reason": {
        "nl": [
            *_screen(*PROTECTED, agree=False),
            "2",
            "Vader komt volgende week vrij uit detentie; de situatie thuis is onzeker.",
            "/case DEMO-0001",
        ],
        "en": [
            *_screen(*PROTECTED, agree=False),
            "2",
            "Father is released from detention next week; the situation at home is uncertain.",
            "/case DEMO-0001",
        ],
    },
}

# Every shipped language plays the override by option numbers: the whole screening must read
# right in each, and store, count and record the same.
BY_NUMBER = {
    "all_languages_override": [*_screen("very_young", "school", agree=False), "1", "Reason."],
}
in_every_language(SCENARIOS, BY_NUMBER)


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    transcript = await play(tmp_path, ROLE, lang, SCENARIOS[scenario][lang], show_case=True)
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
