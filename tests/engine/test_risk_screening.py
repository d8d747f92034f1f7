"""The real risk screening (`flows/risk_screening.yaml`) on violence between adults at home:
a child who lives with it is a victim of child abuse under the Meldcode (domain.md,
"Corrections to the notes above"), so that answer alone gives at least high, a high flag, and
in the Netherlands the prompt to go through the Meldcode walkthrough."""

from __future__ import annotations

from bot.engine import Ask, Choose, Engine, FlagRaised, Say, Sprint

from .conftest import events_of

FLOW = "risk_screening"
CONTEXT = {"emergency_number": "112"}
# threat_harm, threat_needs, threat_no_protector, past_harm, very_young, disability_health,
# addiction, mental_health, violence_home, trusted_adult, school, network: every protective
# factor there, and no other concern than violence at home.
ONLY_VIOLENCE = [False] * 8 + [True] + [True] * 3


def screen(engine: Engine, answers: list[bool], country: str) -> list[Sprint]:
    case = {"programme": "family_strengthening", "country": country, "stage": None}
    sprints = [engine.start(FLOW, CONTEXT, case=case)]
    for answer in answers:
        sprints.append(engine.resume(sprints[-1].state, Choose(answer), CONTEXT))
    return sprints


def outcome(sprints: list[Sprint]) -> Ask:
    (asked,) = sprints[-1].of(Ask)
    assert asked.step_id == "outcome"
    return asked


def at_least_high(sprints: list[Sprint]) -> Say:
    """The outcome when the level may not be set lower: said, nothing asked."""
    assert not sprints[-1].of(Ask)
    (said,) = [say for say in sprints[-1].of(Say) if "cannot be set lower" in say.text.msgid]
    return said


def test_violence_between_adults_alone_is_high_with_a_meldcode_flag_and_prompt(family_engine):
    sprints = screen(family_engine, ONLY_VIOLENCE, "NL")

    assert at_least_high(sprints).text.params["risk_level"].msgid == "high"
    flags = events_of(sprints, FlagRaised)
    assert [(flag.rule_id, flag.level, flag.evidence) for flag in flags] == [
        ("risk_violence_home_meldcode", "high", {"risk.violence_home": True})
    ]
    assert "Meldcode walkthrough (/guide)" in flags[0].reason.msgid
    said = [event.text.msgid for event in sprints[9].of(Say)]
    assert len(said) == 1 and "Meldcode walkthrough" in said[0] and "/guide" in said[0]


def test_outside_the_netherlands_the_flag_points_to_the_own_procedure(family_engine):
    sprints = screen(family_engine, ONLY_VIOLENCE, "KE")

    assert at_least_high(sprints).text.params["risk_level"].msgid == "high"
    (flag,) = events_of(sprints, FlagRaised)
    assert (flag.rule_id, flag.level) == ("risk_violence_home", "high")
    assert "Meldcode" not in flag.reason.msgid
    assert not any("Meldcode" in event.text.msgid for event in events_of(sprints, Say))


def test_without_violence_the_same_answers_stay_low(family_engine):
    answers = [*ONLY_VIOLENCE]
    answers[8] = False
    sprints = screen(family_engine, answers, "NL")

    assert outcome(sprints).text.params["risk_level"].msgid == "low"
    assert events_of(sprints, FlagRaised) == []
