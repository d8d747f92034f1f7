"""The real home visit (`flows/home_visit.yaml`) played through the engine: every factor shows
its rating descriptions, the urgent ratings, the Meldcode prompt on a suspicion of abuse in
the Netherlands, the helplines by country, and a source on every rule (issue #14)."""

from __future__ import annotations

import pytest

from bot.engine import Ask, Choose, Engine, FlagRaised, Say
from bot.engine.loader import FlowRegistry

from .conftest import events_of

FLOW = "home_visit"
CONTEXT = {
    "child": "child 1 (born 2014, at home)",
    "emergency_number": "112",
    "self_harm_help": "• 113 Zelfmoordpreventie: 0800-0113 or 113",
}
FACTORS = (
    "food_security",
    "nutrition_growth",
    "shelter",
    "care",
    "abuse_exploitation",
    "legal_protection",
    "wellness",
    "health_care_services",
    "emotional_health",
    "social_behaviour",
    "performance",
    "education_work",
)
GOOD, FAIR, BAD, VERY_BAD = 4, 3, 2, 1


def visit(engine: Engine, country: str = "NL", **ratings: int) -> list:
    facts = {"programme": "family_strengthening", "country": country}
    sprints = [engine.start(FLOW, CONTEXT, case=facts)]
    for factor in FACTORS:
        sprints.append(engine.resume(sprints[-1].state, Choose(ratings.get(factor, GOOD)), CONTEXT))
    sprints.append(engine.resume(sprints[-1].state, Choose(False), CONTEXT))
    assert sprints[-1].ended
    return sprints


def raised(sprints: list) -> dict[str, str]:
    return {flag.rule_id: flag.level for flag in events_of(sprints, FlagRaised)}


def said(sprints: list) -> list[str]:
    return [event.text.msgid for event in events_of(sprints, Say)]


def test_every_factor_shows_what_each_rating_means(family_engine: Engine) -> None:
    asked = events_of(visit(family_engine), Ask)[: len(FACTORS)]
    for question in asked:
        lines = question.text.msgid.split("\n")
        assert [line.split(":")[0] for line in lines[1:]] == ["Good", "Fair", "Bad", "Very bad"]
        assert [option.value for option in question.options] == [
            1,
            2,
            3,
            4,
        ]  # worst first: the number is the score
    assert "goes to bed hungry most nights" in asked[0].text.msgid


def test_all_good_raises_nothing_and_names_the_child(family_engine: Engine) -> None:
    sprints = visit(family_engine)
    assert raised(sprints) == {}
    assert said(sprints)[0].startswith("Home visit: {child}.")
    first = events_of(sprints, Say)[0].text
    assert first.params["child"] == CONTEXT["child"]


@pytest.mark.parametrize(
    ("factor", "rule"),
    [
        ("emotional_health", "csi_emotional_health_very_bad"),
        ("care", "csi_care_very_bad"),
        ("food_security", "csi_food_security_very_bad"),
        ("abuse_exploitation", "csi_abuse_exploitation_very_bad"),
    ],
)
def test_a_child_in_danger_now_is_urgent(family_engine: Engine, factor: str, rule: str) -> None:
    assert raised(visit(family_engine, **{factor: VERY_BAD})) == {rule: "urgent"}


def test_a_child_wishing_to_die_gets_the_deployments_suicide_prevention_line(
    family_engine: Engine,
) -> None:
    """The line comes from the helplines file through the context, in every country: the
    flow writes no number of its own."""
    for country in ("NL", "BE"):
        sprints = visit(family_engine, country=country, emotional_health=VERY_BAD)
        assert raised(sprints) == {"csi_emotional_health_very_bad": "urgent"}
        told = said(sprints)
        assert any("may wish to die" in text and "{emergency_number}" in text for text in told)
        assert any("{self_harm_help}" in text for text in told)
        everything = [*told, *(f.reason.msgid for f in events_of(sprints, FlagRaised))]
        assert not any("113" in text for text in everything)


def test_elsewhere_a_suspicion_of_abuse_does_not_name_the_meldcode(
    family_engine: Engine,
) -> None:
    sprints = visit(family_engine, country="BE", abuse_exploitation=FAIR)
    assert raised(sprints) == {"csi_abuse_exploitation_fair": "medium"}
    everything = [*said(sprints), *(f.reason.msgid for f in events_of(sprints, FlagRaised))]
    assert not any("Meldcode" in text for text in everything)


def test_a_suspicion_of_abuse_points_to_the_meldcode(family_engine: Engine) -> None:
    sprints = visit(family_engine, abuse_exploitation=FAIR)
    assert raised(sprints) == {"csi_abuse_exploitation_fair_nl": "medium"}
    assert "Meldcode walkthrough" in events_of(sprints, FlagRaised)[0].reason.msgid
    assert any("Meldcode walkthrough" in text for text in said(sprints))


def test_bad_and_very_bad_on_the_other_factors(family_engine: Engine) -> None:
    assert raised(visit(family_engine, shelter=BAD, wellness=VERY_BAD)) == {
        "csi_shelter_bad": "medium",
        "csi_wellness_very_bad": "high",
    }
    assert raised(visit(family_engine, abuse_exploitation=BAD, care=BAD)) == {
        "csi_abuse_exploitation_bad": "high",
        "csi_care_bad": "medium",
    }


def test_every_rule_names_its_source(real_flows: FlowRegistry) -> None:
    flow = real_flows.get(FLOW)
    assert flow.flags and all(rule.source for rule in flow.flags)
    assert all(result.source for result in flow.results.values())
    assert {rule.when.comparisons()[0].answer for rule in flow.flags} == {
        f"csi.{factor}" for factor in FACTORS
    }
