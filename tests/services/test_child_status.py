"""The Child Status Index per child (issue #14): a case's children, the home visit rating
each child in a run of its own, flags naming the child, and `/case` per child over time."""

from __future__ import annotations

import pytest

from bot.app import Wegwijzer
from bot.engine import Reply, Say
from bot.rules.access import NotAllowed
from bot.rules.people import Participant
from bot.services import children, runs, texts
from bot.services.case_view import VISITS_SHOWN, case_view
from bot.services.flags import evidence_lines, flag_detail
from bot.services.review_texts import case_summary_lines, child_status_lines
from tests.world import CASE_A, CASE_B, Clock, World, render

VERY_BAD, BAD, FAIR, GOOD = "1", "2", "3", "4"  # a rating's position: its CSI score
FACTORS = (
    "csi.food_security",
    "csi.nutrition_growth",
    "csi.shelter",
    "csi.care",
    "csi.abuse_exploitation",
    "csi.legal_protection",
    "csi.wellness",
    "csi.health_care_services",
    "csi.emotional_health",
    "csi.social_behaviour",
    "csi.performance",
    "csi.education_work",
)


async def rate(app: Wegwijzer, who: Participant, child: int | None, **ratings: str) -> runs.Turn:
    """One child's home visit: every factor good unless named (`food_security=BAD`)."""
    await runs.start_flow(app, who, "home_visit", case_code=CASE_A, child=child)
    for key in FACTORS:
        answered = await runs.answer(app, who, Reply(ratings.get(key[4:], GOOD)))
        assert answered is not None
    ended = await runs.answer(app, who, Reply("2"))  # no note
    assert ended is not None and ended.state.status == "completed"
    return ended


async def two_children(app: Wegwijzer) -> None:
    await children.add_child(app, CASE_A, birth_year=2014, placement="at_home")
    await children.add_child(
        app,
        CASE_A,
        label="youngest",
        birth_year=2019,
        placement="simba_family_home",
        sibling_group="A",
        with_siblings=True,
    )


async def test_a_case_with_children_asks_which_child_first(world: World) -> None:
    app = world.app
    await two_children(app)
    with pytest.raises(runs.ChooseChild) as asked:
        await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A)
    choice = asked.value.choice
    assert [child.number for child in choice.children] == [1, 2]
    assert choice.rated == frozenset() and choice.case_code == CASE_A
    with pytest.raises(runs.NoSuchChild):
        await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A, child=3)


async def test_each_child_is_rated_in_its_own_run_and_the_rest_are_offered(
    world: World,
) -> None:
    app = world.app
    await two_children(app)
    first = await rate(app, world.caseworker, 1, food_security=BAD)
    said = [render(app, event.text) for event in first.events if isinstance(event, Say)]
    assert any("child 1 (born 2014, at home)" in text for text in said)
    assert first.children is not None
    assert [child.number for child in first.children.left] == [2]
    # Asked again, the choice marks the child rated in this visit.
    with pytest.raises(runs.ChooseChild) as asked:
        await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A)
    assert [c.number for c in asked.value.choice.left] == [2]
    last = await rate(app, world.caseworker, 2)
    assert last.children is None  # every child is rated


async def test_an_unfinished_visit_is_picked_up_with_its_child(world: World) -> None:
    app = world.app
    await two_children(app)
    started = await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A, child=2)
    await runs.answer(app, world.caseworker, Reply(GOOD))
    again = await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A)
    assert again.run_id == started.run_id
    other = await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A, child=1)
    assert other.run_id != started.run_id


async def test_a_case_with_one_child_rates_it_without_asking(world: World) -> None:
    app = world.app
    await children.add_child(app, CASE_A, birth_year=2016)
    turn = await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A)
    said = [render(app, event.text) for event in turn.events if isinstance(event, Say)]
    assert said[0].startswith("Home visit: child 1 (born 2016).")
    ended = await rate(app, world.caseworker, None)
    assert ended.children is None
    view = await case_view(app, world.caseworker, CASE_A)
    assert len(view.children[0].visits) == 1 and view.home_visits == ()


async def test_a_case_without_children_rates_the_child_visited(world: World) -> None:
    app = world.app
    turn = await runs.start_flow(app, world.caseworker, "home_visit", case_code=CASE_A)
    said = [render(app, event.text) for event in turn.events if isinstance(event, Say)]
    assert said[0].startswith("Home visit: the child you visited.")
    for _ in FACTORS:
        await runs.answer(app, world.caseworker, Reply(GOOD))
    ended = await runs.answer(app, world.caseworker, Reply("2"))
    assert ended is not None and ended.children is None
    view = await case_view(app, world.caseworker, CASE_A)
    assert view.children == () and len(view.home_visits) == 1


async def test_urgent_ratings_name_the_child_and_a_second_child_adds_to_the_flag(
    world: World,
) -> None:
    app = world.app
    await two_children(app)
    await rate(app, world.caseworker, 1, emotional_health=VERY_BAD, abuse_exploitation=FAIR)
    await rate(app, world.caseworker, 2, emotional_health=VERY_BAD)
    async with app.database.reading() as uow:
        flags = {flag.rule: flag for flag in await uow.flags.open_flags([world.case_a])}
    urgent = flags["csi_emotional_health_very_bad"]
    assert urgent.level == "urgent" and "suicide prevention line" in urgent.reason
    assert flags["csi_abuse_exploitation_fair_nl"].level == "medium"
    assert "Meldcode walkthrough" in flags["csi_abuse_exploitation_fair_nl"].reason
    detail = await flag_detail(app, world.coordinator, urgent.id)
    lines = [render(app, line) for line in evidence_lines(app, detail)]
    assert "About child 1." in lines
    assert "Rated so again for youngest." in lines


async def test_the_case_view_shows_each_child_over_time(world: World, clock: Clock) -> None:
    app = world.app
    await two_children(app)
    before = await case_view(app, world.caseworker, CASE_A)
    assert len(before.children) == 2 and child_status_lines(before.children) == []
    await rate(app, world.caseworker, 1, food_security=FAIR)
    clock.advance(days=14)
    await rate(app, world.caseworker, 1, food_security=VERY_BAD, care=BAD)
    view = await case_view(app, world.caseworker, CASE_A)
    first, second = view.children
    assert first.child.number == 1 and len(first.visits) == 2
    assert [scores["csi_food"] for _, scores, _ in first.visits] == [7, 5]
    assert first.visits[-1][2]["csi.food_security"] == 1
    assert second.child.label == "youngest" and second.visits == ()
    shown = [render(app, line) for line in case_summary_lines(view)]
    at = shown.index("Child Status Index per child (domains 2–8, oldest visit first):")
    assert shown[at + 1 :][:4] == [
        "child 1 (born 2014, at home):",
        f"  last rated on {render(app, texts.Text('{d}', {'d': clock.now.date()}))}",
        "  food and nutrition: 7 → 5",
        "  shelter and care: 8 → 6",
    ]
    assert "  needs action: food security (very bad)" in shown
    assert "  needs action: care (bad)" in shown
    assert "youngest (born 2019, Simba family home), sibling group A, placed together:" in shown
    assert (
        shown[
            shown.index(
                "youngest (born 2019, Simba family home), sibling group A, placed together:"
            )
            + 1
        ]
        == "  not rated yet"
    )
    assert VISITS_SHOWN >= 2


async def test_children_are_managed_only_for_ones_own_cases(world: World) -> None:
    app = world.app
    with pytest.raises(NotAllowed):
        await children.add_child(app, CASE_B, by=world.caseworker)
    with pytest.raises(ValueError, match="placement"):
        await children.add_child(app, CASE_A, placement="orphanage")
    with pytest.raises(ValueError, match="label"):
        await children.add_child(app, CASE_A, label="x" * 40)
    made = await children.add_child(app, CASE_A, placement="foster_care")
    changed = await children.change_child(app, CASE_A, made.number, {"placement": "at_home"})
    assert changed.placement == "at_home"
    with pytest.raises(LookupError):
        await children.change_child(app, CASE_A, 9, {"placement": "at_home"})
    await children.remove_child(app, CASE_A, made.number)
    assert await children.children_of(app, CASE_A) == []


async def test_a_rated_child_stays_on_record(world: World) -> None:
    """Flags and ratings name a child by number: a rated child cannot be removed, so the
    number is never given to another child."""
    app = world.app
    await two_children(app)
    await rate(app, world.caseworker, 2)
    with pytest.raises(ValueError, match="has ratings"):
        await children.remove_child(app, CASE_A, 2)
    await children.remove_child(app, CASE_A, 1)  # registered by mistake, never rated
    assert [child.number for child in await children.children_of(app, CASE_A)] == [2]
