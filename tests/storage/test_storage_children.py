"""A case's children and the runs about them, on SQLite and PostgreSQL (issue #14)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from bot.storage import Database

from .conftest import T0, Seed

SeedFn = Callable[..., Awaitable[Seed]]


async def test_children_get_the_next_number_and_are_listed_in_order(
    database: Database, seed: SeedFn
) -> None:
    first, other = await seed(), await seed()
    async with database.transaction() as uow:
        one = await uow.children.add(first.case_id, now=T0, birth_year=2014, placement="at_home")
        two = await uow.children.add(
            first.case_id,
            now=T0,
            label="eldest",
            birth_year=2010,
            placement="simba_family_home",
            sibling_group="A",
            with_siblings=True,
        )
        elsewhere = await uow.children.add(other.case_id, now=T0)
    assert (one.number, two.number, elsewhere.number) == (1, 2, 1)
    async with database.reading() as uow:
        listed = await uow.children.of_case(first.case_id)
        assert [(c.number, c.label, c.birth_year) for c in listed] == [
            (1, None, 2014),
            (2, "eldest", 2010),
        ]
        found = await uow.children.by_number(first.case_id, 2)
        assert found is not None
        assert (found.placement, found.sibling_group, found.with_siblings) == (
            "simba_family_home",
            "A",
            True,
        )
        assert await uow.children.by_number(first.case_id, 3) is None
        # The repr names no label: it is the caseworker's words about a child.
        assert "eldest" not in repr(found)


async def test_a_number_is_never_given_twice_in_a_case(database: Database, seed: SeedFn) -> None:
    made = await seed()
    async with database.transaction() as uow:
        await uow.children.add(made.case_id, now=T0)
        second = await uow.children.add(made.case_id, now=T0)
        await uow.children.remove(second)
        third = await uow.children.add(made.case_id, now=T0)
    assert third.number == 2  # the highest number left is 1: the next is 2


async def test_a_child_is_changed_only_in_known_fields(database: Database, seed: SeedFn) -> None:
    made = await seed()
    async with database.transaction() as uow:
        child = await uow.children.add(made.case_id, now=T0, placement="foster_care")
        await uow.children.update(child, placement="at_home", sibling_group="B")
        with pytest.raises(ValueError, match="not a field"):
            await uow.children.update(child, case_id=99)
    async with database.reading() as uow:
        again = await uow.children.by_number(made.case_id, 1)
        assert again is not None and (again.placement, again.sibling_group) == ("at_home", "B")


async def test_runs_about_a_child_and_their_visits_per_child(
    database: Database, seed: SeedFn
) -> None:
    made = await seed(flow_id="home_visit")
    async with database.transaction() as uow:
        one = await uow.children.add(made.case_id, now=T0)
        two = await uow.children.add(made.case_id, now=T0)
        first_run = await uow.runs.get(made.run_id)
        assert first_run is not None
        await uow.children.link_run(made.run_id, one.id)
        runs = {made.run_id: (one.id, T0)}
        for child_id, days in ((one.id, 7), (two.id, 7), (one.id, 14), (None, 15)):
            started = await uow.runs.start(
                made.person_id, made.case_id, "home_visit", 1, "done", {}, T0
            )
            if child_id is not None:
                await uow.children.link_run(started.id, child_id)
            runs[started.id] = (child_id, T0 + timedelta(days=days))
        for run_id, (_, ended) in runs.items():
            run = await uow.runs.get(run_id)
            assert run is not None
            await uow.runs.update(run, step="done", state={}, status="completed", now=ended)
            await uow.answers.record(run_id, "csi.care", run_id, "care", ended)
            await uow.answers.record(run_id, "visit.note", "invented", "note", ended)
            await uow.scores.record(run_id, "csi_shelter_care", float(run_id), ended)
        unfinished = await uow.runs.start(
            made.person_id, made.case_id, "home_visit", 1, "a", {}, T0
        )
        await uow.children.link_run(unfinished.id, two.id)
    async with database.reading() as uow:
        about = await uow.children.of_run(made.run_id)
        assert about is not None and about.id == one.id
        assert await uow.children.of_run(unfinished.id) is not None
        visits = await uow.children.visits(made.case_id, "home_visit", 2, ["csi.care"])
        rated = await uow.children.rated_since(made.case_id, "home_visit", T0 + timedelta(days=7))
        before = await uow.children.rated_since(made.case_id, "home_visit", T0)
        other_flow = await uow.children.visits(made.case_id, "family_checkin", 2)
    # Each child's last two completed runs, oldest first; unfinished runs do not count.
    by_child = {
        child_id: [(v.ended_at, v.scores, v.answers) for v in visits if v.child_id == child_id]
        for child_id in (one.id, two.id, None)
    }
    ids = sorted(runs)
    assert [entry[0] for entry in by_child[one.id]] == [
        T0 + timedelta(days=7),
        T0 + timedelta(days=14),
    ]
    assert by_child[one.id][0][2] == {"csi.care": ids[1]}  # only the keys asked for
    assert by_child[one.id][0][1] == {"csi_shelter_care": float(ids[1])}
    assert len(by_child[two.id]) == 1 and len(by_child[None]) == 1
    assert rated == {one.id, two.id} and before == {one.id, two.id}
    assert other_flow == []
    # The export says which child each answer is about (none for a run about no child).
    exported = {(row.run_id, row.child) async for row in database.answer_rows()}
    assert exported == {
        (run_id, None if child_id is None else (1 if child_id == one.id else 2))
        for run_id, (child_id, _) in runs.items()
    }


async def test_removing_a_child_keeps_its_runs_as_about_no_child(
    database: Database, seed: SeedFn
) -> None:
    made = await seed(flow_id="home_visit")
    async with database.transaction() as uow:
        child = await uow.children.add(made.case_id, now=T0)
        await uow.children.link_run(made.run_id, child.id)
        await uow.children.remove(child)
    async with database.reading() as uow:
        assert await uow.children.of_run(made.run_id) is None
        assert await uow.runs.get(made.run_id) is not None
