"""The real family check-in (`flows/family_checkin.yaml`) played through the engine: the
WHO-5 score and its two wellbeing rules, the safety questions, and a declined consent.
"""

from __future__ import annotations

import pytest

from bot.engine import (
    AnswerRecorded,
    Ask,
    Choose,
    FlagRaised,
    NonText,
    Reply,
    RunEnded,
    Say,
    ScoreComputed,
    Sprint,
    Text,
)

from .conftest import events_of

FLOW = "family_checkin"
CONTEXT = {
    "next_checkin": "Monday 3 March",
    "emergency_number": "112",
    "advice_line": "0800-0123",
    "signpost": "your GP",
}
WHO5 = ("who5.cheerful", "who5.calm", "who5.active", "who5.rested", "who5.interested")
ALL_WELL = [Choose("enough"), Choose("every_day"), Choose("good"), Choose("yes")]


# No message for the caseworker; everyone at home is safe.
NO_MESSAGE_ALL_SAFE = (Choose(False), Choose(True))


def checkin(who5, children=ALL_WELL, after=NO_MESSAGE_ALL_SAFE):
    """Consent, the five WHO-5 items, the children's questions, then what follows."""
    return [Choose(True), *(Choose(value) for value in who5), *children, *after]


def raised(sprints) -> list[tuple[str, str]]:
    return [(flag.rule_id, flag.level) for flag in events_of(sprints, FlagRaised)]


def test_happy_path_scores_25_raises_nothing_and_thanks(family_engine, play):
    sprints = play(family_engine, FLOW, checkin([5, 5, 5, 5, 5]), CONTEXT)
    last = sprints[-1]

    assert events_of(sprints, ScoreComputed) == [ScoreComputed("who5_raw", 25)]
    assert raised(sprints) == []
    assert last.events[-2:] == (
        Say(
            Text(
                "Thank you for your check-in. Your next check-in is on {next_checkin}.",
                {"next_checkin": "Monday 3 March"},
            )
        ),
        RunEnded("thanks"),
    )
    assert last.state.status == "completed"
    assert dict(last.state.answers) == {
        "checkin.consent": True,
        **dict.fromkeys(WHO5, 5),
        "children.food": "enough",
        "children.school": "every_day",
        "children.health": "good",
        "children.safe_at_home": "yes",
        "caseworker.wants_to_write": False,
        "safety.everyone_safe_now": True,
    }


def test_every_question_is_asked_in_order(family_engine, play):
    sprints = play(family_engine, FLOW, checkin([5, 5, 5, 5, 5]), CONTEXT)

    assert [ask.step_id for ask in events_of(sprints, Ask)] == [
        "consent",
        "who5_cheerful",
        "who5_calm",
        "who5_active",
        "who5_rested",
        "who5_interested",
        "children_food",
        "children_school",
        "children_health",
        "children_safe_at_home",
        "wants_to_write",
        "everyone_safe_now",
    ]


def test_lowest_scores_raise_very_low_wellbeing_only(family_engine, play):
    sprints = play(family_engine, FLOW, checkin([0, 0, 0, 0, 0]), CONTEXT)

    assert events_of(sprints, ScoreComputed) == [ScoreComputed("who5_raw", 0)]
    assert raised(sprints) == [("very_low_wellbeing", "high")]
    (flag,) = sprints[6].of(FlagRaised)  # raised with the fifth item, when the score is whole
    assert flag.evidence == {"score.who5_raw": 0}
    assert flag.reason == Text(
        "Very low wellbeing (WHO-5 raw score 7 or less); prompt follow-up advised."
    )


@pytest.mark.parametrize(
    "who5",
    [[3, 3, 2, 2, 2], [2, 2, 2, 3, 3], [4, 3, 2, 2, 1], [5, 5, 5, 4, 1], [1, 5, 5, 5, 4]],
    ids=[
        "raw-12",
        "raw-12-other-order",
        "raw-12-one-item-at-1",
        "raw-20-last-at-1",
        "raw-20-first-at-1",
    ],
)
def test_low_wellbeing_is_medium_and_waits_for_the_whole_score(family_engine, play, who5):
    sprints = play(family_engine, FLOW, checkin(who5), CONTEXT)
    total = sum(who5)

    assert raised(sprints) == [("low_wellbeing", "medium")]
    # An item at 1 early on does not raise it: `not (score <= 7)` is unknown until then.
    assert [sprint.of(FlagRaised) != [] for sprint in sprints[:6]] == [False] * 6
    (flag,) = sprints[6].of(FlagRaised)
    assert flag.evidence == {"score.who5_raw": total, **dict(zip(WHO5, who5, strict=True))}


@pytest.mark.parametrize("who5", [[3, 3, 3, 2, 2], [5, 5, 5, 5, 2], [4, 3, 2, 2, 2]])
def test_raw_13_or_more_with_no_item_at_1_raises_no_wellbeing_flag(family_engine, play, who5):
    assert raised(play(family_engine, FLOW, checkin(who5), CONTEXT)) == []


def test_raw_7_is_very_low_and_raw_8_is_low(family_engine, play):
    seven = play(family_engine, FLOW, checkin([2, 2, 1, 1, 1]), CONTEXT)
    eight = play(family_engine, FLOW, checkin([2, 2, 2, 1, 1]), CONTEXT)

    assert raised(seven) == [("very_low_wellbeing", "high")]
    assert raised(eight) == [("low_wellbeing", "medium")]


def test_very_low_wellbeing_gets_a_gentle_signpost_and_low_does_not(family_engine, play):
    def signposts(sprints: list[Sprint]) -> list[Say]:
        return [
            say for sprint in sprints for say in sprint.of(Say) if "signpost" in say.text.params
        ]

    seven = play(family_engine, FLOW, checkin([2, 2, 1, 1, 1]), CONTEXT)
    eight = play(family_engine, FLOW, checkin([2, 2, 2, 1, 1]), CONTEXT)

    (signpost,) = signposts(seven)
    assert signpost.text.params == {"signpost": "your GP"}
    assert (
        "the team that supports your family will be in touch" in signpost.text.msgid
    )  # true: the flag tells them
    assert signposts(eight) == []


def test_a_child_unsafe_at_home_is_urgent_and_gets_the_help_message(family_engine, play):
    children = [Choose("enough"), Choose("every_day"), Choose("good"), Choose("no")]
    sprints = play(family_engine, FLOW, checkin([5] * 5, children, after=()), CONTEXT)
    last = sprints[-1]

    assert last.of(FlagRaised) == [
        FlagRaised(
            "child_unsafe_at_home",
            "urgent",
            Text("A child does not feel safe at home."),
            {"children.safe_at_home": "no"},
        )
    ]
    (help_message,) = last.of(Say)
    assert help_message.text.params == {"emergency_number": "112", "advice_line": "0800-0123"}
    assert "{emergency_number}" in help_message.text.msgid
    assert last.of(Ask)[0].step_id == "wants_to_write"


def test_a_child_not_always_safe_is_high(family_engine, play):
    children = [Choose("enough"), Choose("every_day"), Choose("good"), Reply("2")]
    last = play(family_engine, FLOW, checkin([5] * 5, children, after=()), CONTEXT)[-1]

    assert [(flag.rule_id, flag.level) for flag in last.of(FlagRaised)] == [
        ("child_not_always_safe", "high")
    ]
    assert len(last.of(Say)) == 1


def test_nobody_safe_now_is_urgent_and_ends_with_the_emergency_number(family_engine, play):
    sprints = play(
        family_engine, FLOW, checkin([5] * 5, after=[Choose(False), Choose(False)]), CONTEXT
    )
    last = sprints[-1]

    assert raised(sprints) == [("household_unsafe_now", "urgent")]
    assert last.of(RunEnded) == [RunEnded("unsafe_now")]
    assert last.of(Say)[0].text.params == {"emergency_number": "112", "advice_line": "0800-0123"}


def test_basic_needs_and_a_message_for_the_caseworker(family_engine, play):
    children = [Choose("often_not"), Choose("missed_some"), Choose("ill"), Choose("yes")]
    after = [Choose(True), Reply("  Please call me on Tuesday.  "), Choose(True)]
    sprints = play(family_engine, FLOW, checkin([5] * 5, children, after), CONTEXT)

    assert raised(sprints) == [
        ("children_basic_needs", "medium"),
        ("message_for_caseworker", "low"),
    ]
    (needs,) = sprints[7].of(FlagRaised)  # with the food answer, before health is asked
    assert needs.evidence == {"children.food": "often_not"}
    (message,) = sprints[-2].of(FlagRaised)
    assert message.evidence == {"caseworker.message": "Please call me on Tuesday."}
    assert sprints[-1].of(RunEnded) == [RunEnded("thanks")]


def test_declined_consent_ends_at_declined_with_only_the_consent_recorded(family_engine, play):
    sprints = play(family_engine, FLOW, [Choose(False)], CONTEXT)
    last = sprints[-1]

    assert last.events[0] == AnswerRecorded("consent", "checkin.consent", False)
    assert [type(event) for event in last.events] == [AnswerRecorded, Say, RunEnded]
    assert last.of(RunEnded) == [RunEnded("declined")]
    assert dict(last.state.answers) == {"checkin.consent": False}
    assert last.state.raised == ()
    assert last.state.status == "completed"


def test_consent_accepts_a_typed_option_number(family_engine, play):
    sprints = play(family_engine, FLOW, [Reply("2")], CONTEXT)

    assert sprints[-1].of(RunEnded) == [RunEnded("declined")]


@pytest.mark.parametrize("given", [NonText("photo"), Reply("maybe")])
def test_a_photo_or_a_maybe_at_consent_gets_the_flows_own_message(family_engine, given):
    started = family_engine.start(FLOW, CONTEXT)

    sprint = family_engine.resume(started.state, given, CONTEXT)

    assert sprint.events[0].text == Text("Please answer yes or no.")
    assert sprint.events[1] == started.events[-1]
    assert sprint.state == started.state


def test_not_knowing_whether_the_children_feel_safe_is_medium_with_its_own_message(
    family_engine, play
):
    children = [Choose("enough"), Choose("every_day"), Choose("good"), Choose("dont_know")]
    last = play(family_engine, FLOW, checkin([5] * 5, children, after=()), CONTEXT)[-1]

    assert last.of(FlagRaised) == [
        FlagRaised(
            "child_safety_unknown",
            "medium",
            Text(
                "The parent does not know whether the children feel safe at home: ask them, "
                "and the children where possible."
            ),
            {"children.safe_at_home": "dont_know"},
        )
    ]
    (told,) = last.of(Say)
    assert told.text.params == {"advice_line": "0800-0123"}
    assert last.of(Ask)[0].step_id == "wants_to_write"


def test_most_school_days_missed_is_medium_and_some_days_raises_nothing(family_engine, play):
    most = [Choose("enough"), Choose("missed_most"), Choose("good"), Choose("yes")]
    some = [Choose("enough"), Choose("missed_some"), Choose("good"), Choose("yes")]

    most_flags = events_of(play(family_engine, FLOW, checkin([5] * 5, most), CONTEXT), FlagRaised)
    assert [(flag.rule_id, flag.level, flag.evidence) for flag in most_flags] == [
        ("school_missed_most_days", "medium", {"children.school": "missed_most"})
    ]
    assert raised(play(family_engine, FLOW, checkin([5] * 5, some), CONTEXT)) == []


def test_the_who5_items_keep_the_original_statements_under_the_period(real_flows):
    """English is the instrument's original (locales/languages.yaml: who5_wording original):
    the period once, then each statement unchanged."""
    flow = real_flows.get(FLOW)
    original = {
        "who5.cheerful": "I have felt cheerful and in good spirits",
        "who5.calm": "I have felt calm and relaxed",
        "who5.active": "I have felt active and vigorous",
        "who5.rested": "I woke up feeling fresh and rested",
        "who5.interested": "My daily life has been filled with things that interest me",
    }
    for key, statement in original.items():
        question = flow.question_for(key)
        assert question is not None and question.text == f"Over the last two weeks:\n{statement}"
        assert [option.label for option in question.options] == [  # type: ignore[union-attr]
            "All of the time",
            "Most of the time",
            "More than half of the time",
            "Less than half of the time",
            "Some of the time",
            "At no time",
        ]
