"""Golden conversations of the Meldcode walkthrough, covering every branch of the afwegingskader.

Each scenario is a list of lines a caseworker types in `wegwijzer chat --as caseworker`,
starting the flow with `/guide meldcode` for the terminal's case. The test plays them through
the console channel with a fixed clock and compares the whole conversation plus what was stored
(answers, flags with their evidence) with a golden file in
`tests/transcripts/meldcode/<lang>/<scenario>.txt`.

The walkthrough advises and the caseworker decides: every branch ends with the question "Will
you report to Veilig Thuis?" and the written reasoning, also where the advice was to report.

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

GOLDEN = Path(__file__).parent / "meldcode"
ROLE = "caseworker"
START = "/guide meldcode"
LONG_REASONING = "x" * 2001

# Steps 1 to 3 done: signals written down, consulted, Veilig Thuis asked for advice, talked.
STEPS_DONE = {"nl": ["ja"] * 4, "en": ["yes"] * 4}
YES = {"nl": "ja", "en": "yes"}
NO = {"nl": "nee", "en": "no"}


def _walk(lang: str, weigh: list[bool], report: bool, reasoning: str) -> list[str]:
    """Steps 1 to 3 done, the afwegingskader answered as `weigh`, then the decision."""
    answers = [YES[lang] if answer else NO[lang] for answer in weigh]
    return [START, *STEPS_DONE[lang], *answers, YES[lang] if report else NO[lang], reasoning]


SCENARIOS: dict[str, dict[str, list[str]]] = {
    # Question 1, no suspicion: close it and record it; no flag. Starts from the list of
    # guidance.
    "no_suspicion": {
        "nl": [
            "/guide",
            *_walk(
                "nl", [False], False, "Blauwe plek verklaard door de huisarts: valpartij op school."
            ),
        ],
        "en": [
            "/guide",
            *_walk("en", [False], False, "Bruise explained by the GP: a fall at school."),
        ],
    },
    # Question 2a, acute unsafety: advice to report, 112 for direct danger, an urgent flag;
    # the remaining questions are not asked. The open flags are shown at the end.
    "acute": {
        "nl": [
            *_walk("nl", [True, True], True, "Kind vertelde zelf over slaan; melding vandaag."),
            "/flags",
        ],
        "en": [
            *_walk("en", [True, True], True, "The child told me about being hit; reporting today."),
            "/flags",
        ],
    },
    # Question 2b, structural unsafety: advice to report, a high flag.
    "structural": {
        "nl": _walk("nl", [True, False, True], True, "Herhaald geweld tussen de ouders."),
        "en": _walk("en", [True, False, True], True, "Repeated violence between the parents."),
    },
    # Question 3, effective help not possible: advice to report, a high flag.
    "help_not_possible": {
        "nl": _walk("nl", [True, False, False, False], True, "Wachtlijst; geen hulp mogelijk."),
        "en": _walk("en", [True, False, False, False], True, "Waiting list; no help possible."),
    },
    # Question 4, help not accepted: advice to report, a high flag.
    "help_not_accepted": {
        "nl": _walk("nl", [True, False, False, True, False], True, "Vader weigert de hulp."),
        "en": _walk("en", [True, False, False, True, False], True, "Father refuses the help."),
    },
    # Question 5, no lasting safety: advice to report, a high flag; the caseworker decides not
    # to report (yet), and the decision is recorded as theirs.
    "no_lasting_safety": {
        "nl": _walk(
            "nl",
            [True, False, False, True, True, False],
            False,
            "Eerst overleg met Veilig Thuis morgen; dan besluit over melding.",
        ),
        "en": _walk(
            "en",
            [True, False, False, True, True, False],
            False,
            "Consulting Veilig Thuis tomorrow first; then deciding on a report.",
        ),
    },
    # Question 5, lasting safety: continue the help with agreements on monitoring; no flag.
    "lasting_safety": {
        "nl": _walk(
            "nl",
            [True, False, False, True, True, True],
            False,
            "Hulp loopt; elke twee weken huisbezoek.",
        ),
        "en": _walk(
            "en",
            [True, False, False, True, True, True],
            False,
            "Help is working; home visit every two weeks.",
        ),
    },
    # A "no" in each of steps 1 to 3 gets what to do and the walkthrough goes on; an answer
    # that is neither yes nor no, and reasoning over the limit, are asked again.
    "steps_not_done": {
        "nl": [
            START,
            "nee",
            "misschien",
            "nee",
            "nee",
            "nee",
            "ja",
            "nee",
            "ja",
            "ja",
            LONG_REASONING,
            "Signalen nog vastleggen; melding na overleg met de aandachtsfunctionaris.",
        ],
        "en": [
            START,
            "no",
            "maybe",
            "no",
            "no",
            "no",
            "yes",
            "no",
            "yes",
            "yes",
            LONG_REASONING,
            "Signals still to be written down; report after consulting the aandachtsfunctionaris.",
        ],
    },
}

# Every shipped language plays the structural branch by option numbers (1 yes, 2 no), as most
# people do on a phone: the whole walkthrough must read right in each, and store and flag the
# same.
BY_NUMBER = {
    "all_languages_structural": [START, "1", "2", "1", "2", "1", "2", "1", "1", "Reasoning."],
}
in_every_language(SCENARIOS, BY_NUMBER)


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    transcript = await play(tmp_path, ROLE, lang, SCENARIOS[scenario][lang])
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
