"""Golden conversations of the case closure readiness check, and of a coordinator's decision.

Each scenario is a list of lines a caseworker types in `wegwijzer chat --as caseworker`,
starting the check with `/guide case_closure` for the terminal's case, which is first put in
stage 5 (case closure) with a risk level. The coordinator's scenarios then play the console
coordinator on the same database: `/case DEMO-0001`, then `/closure DEMO-0001 return NOTE`, or
`approve` and later `reopen`. The test compares the whole conversation plus what was stored
(answers, and the case: its status, stage, closure fields and the audit record of each
proposal and decision with its note) with a golden file in
`tests/transcripts/case_closure/<lang>/<scenario>.txt`.

When all five criteria are met the caseworker writes a summary and may propose closing; when
one or more are not, the check lists them and nothing is proposed. A case whose risk level is
high gets a warning first.

After an intended change: `pytest tests/transcripts --update-goldens`, then review
`git diff tests/transcripts` line by line before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import (
    Scenarios,
    Session,
    assert_same_stored,
    case_ids,
    cases,
    check_golden,
    in_every_language,
    play,
    play_many,
)

GOLDEN = Path(__file__).parent / "case_closure"
ROLE = "caseworker"
START = "/guide case_closure"
SHOW_CASE = "/case DEMO-0001"
YES, NO = "1", "2"
ALL_MET = [YES] * 5
# The risk screening by number (flows/risk_screening.yaml): past harm and violence between
# adults, every protective factor: high; the caseworker agrees.
SCREENED_HIGH = ["/guide risk_screening", *[NO] * 3, YES, *[NO] * 4, YES, *[YES] * 3, YES]

SUMMARY = {
    "nl": "Doelen gehaald; het kind woont 14 maanden thuis; de hulp is stap voor stap afgebouwd.",
    "en": "Goals met; the child has lived at home for 14 months; support was reduced step by step.",
}


def _nl_en(lines: list[str]) -> dict[str, list[str]]:
    """The same lines in Dutch and English: options typed by number."""
    return {"nl": lines, "en": lines}


def _proposed(lang: str) -> list[str]:
    return [START, *ALL_MET, SUMMARY[lang], YES]


SCENARIOS: Scenarios = {
    # Every criterion met: the summary, the proposal, the confirmation; /case shows the
    # proposal waiting for a coordinator.
    "all_met_proposed": {lang: [*_proposed(lang), SHOW_CASE] for lang in ("nl", "en")},
    # Every criterion met, but not proposed now: nothing changes on the case.
    "all_met_not_proposed": {lang: [START, *ALL_MET, SUMMARY[lang], NO] for lang in ("nl", "en")},
    # One criterion not met (support not yet reduced): the not-ready list names it.
    "not_ready_one": _nl_en([START, YES, YES, YES, NO, YES]),
    # Three criteria not met: the not-ready list names those three, in order.
    "not_ready_several": _nl_en([START, NO, YES, NO, YES, NO]),
    # The case's risk level is high: the warning comes first; the fresh screening does not
    # show the risk reduced, so the case is not ready.
    "high_risk_warning": _nl_en([START, YES, YES, NO, YES, YES]),
    # The screening played first in the same conversation sets the level to high; the check
    # started right after shows the warning. (The warning does not stop a proposal.)
    "high_risk_after_screening": {
        lang: [*SCREENED_HIGH, *_proposed(lang), SHOW_CASE] for lang in ("nl", "en")
    },
}

# Every shipped language proposes closure by option numbers: the check must read right in
# each, and store and record the same.
BY_NUMBER = {"all_languages_proposed": [START, *ALL_MET, "Summary.", YES]}
in_every_language(SCENARIOS, BY_NUMBER)

# How the demo case is set up before a scenario: in stage 5, the risk screened low — high for
# the warning, and not screened yet where the screening is played first.
IN_CLOSURE = {"stage": "closure", "risk_level": "low"}
SET_UP: dict[str, dict[str, str]] = {
    **{scenario: IN_CLOSURE for scenario in SCENARIOS},
    "high_risk_warning": {"stage": "closure", "risk_level": "high"},
    "high_risk_after_screening": {"stage": "closure"},
}

RETURN_NOTE = {
    "nl": "Bespreek eerst met school hoe zij het kind blijven volgen.",
    "en": "First agree with the school how they keep an eye on the child.",
}
# The coordinator's decision after the caseworker proposed closure: per scenario and language,
# who types what, in turn. /case shows the coordinator the commands for the decision.
DECISIONS: dict[str, dict[str, list[Session]]] = {
    # Returned with a note: the proposal is cleared; the caseworker's /case offers the check
    # again.
    "coordinator_returns": {
        lang: [
            (ROLE, lang, _proposed(lang)),
            (
                "coordinator",
                lang,
                [SHOW_CASE, f"/closure DEMO-0001 return {RETURN_NOTE[lang]}", SHOW_CASE],
            ),
            (ROLE, lang, [SHOW_CASE]),
        ]
        for lang in ("nl", "en")
    },
    # Approved: the case is closed (a second approval finds nothing waiting); then reopened,
    # back in follow-up support with a fresh screening due.
    "coordinator_approves_then_reopens": {
        lang: [
            (ROLE, lang, _proposed(lang)),
            (
                "coordinator",
                lang,
                [
                    SHOW_CASE,
                    "/closure DEMO-0001 approve",
                    SHOW_CASE,
                    "/closure DEMO-0001 approve",
                    "/closure DEMO-0001 reopen",
                    SHOW_CASE,
                ],
            ),
        ]
        for lang in ("nl", "en")
    },
}


@pytest.mark.parametrize(("scenario", "lang"), cases(SCENARIOS), ids=case_ids(SCENARIOS))
async def test_transcript(tmp_path: Path, scenario: str, lang: str, update_goldens: bool) -> None:
    lines = SCENARIOS[scenario][lang]
    transcript = await play(tmp_path, ROLE, lang, lines, show_case=True, **SET_UP[scenario])
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize(("scenario", "lang"), cases(DECISIONS), ids=case_ids(DECISIONS))
async def test_coordinator_decides(
    tmp_path: Path, scenario: str, lang: str, update_goldens: bool
) -> None:
    sessions = DECISIONS[scenario][lang]
    transcript = await play_many(tmp_path, sessions, **IN_CLOSURE)
    check_golden(transcript, GOLDEN / lang / f"{scenario}.txt", update_goldens)


@pytest.mark.parametrize("scenario", list(BY_NUMBER))
def test_every_language_stores_the_same_answers(scenario: str) -> None:
    assert_same_stored(GOLDEN, scenario)
