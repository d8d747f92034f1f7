"""Correcting a wrong answer: by the case's caseworker or a coordinator only, checked as the
question checks it, the answer and the run's state changed together, the scores recomputed,
the old value kept (sealed) in the audit log; and the operator's commands for the rights."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.engine import AnswerRejected
from bot.rules.access import NotAllowed
from bot.services.corrections import NoSuchAnswer, correct_answer
from tests.console.cli import Ran, wegwijzer
from tests.world import CASE_A, World, audit, checkin


async def stored(world: World, run_id: int) -> tuple[dict[str, object], dict[str, object], dict]:
    async with world.app.database.reading() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        answers = await uow.answers.of_run(run_id)
        scores = await uow.scores.of_run(run_id)
        return dict(answers), dict(run.state["answers"]), scores  # type: ignore[arg-type]


async def test_the_caseworker_corrects_an_answer_and_the_old_value_stays_in_the_log(
    world: World,
) -> None:
    run_id = await checkin(world.app, world.family)  # every WHO-5 item 3: raw 15
    done = await correct_answer(world.app, world.caseworker, run_id, "who5.calm", "5")
    assert (done.old, done.new, done.scores, done.flags) == (3, 5, {"who5_raw": 17.0}, ())
    answers, state, scores = await stored(world, run_id)
    assert answers["who5.calm"] == state["who5.calm"] == 5
    assert scores == {"who5_raw": 17.0}
    (event,) = [e for e in await audit(world.app, case_id=world.case_a) if e.action != "raised"][
        -1:
    ]
    assert (event.action, event.actor_id, event.note) == (
        "answer_corrected",
        world.caseworker.person_id,
        "3",
    )
    assert event.detail == {"run": run_id, "key": "who5.calm", "scores": ["who5_raw"], "flags": []}
    # A coordinator may too; the note keeps each value it replaced.
    await correct_answer(world.app, world.coordinator, run_id, "children.food", "sometimes_not")
    last = (await audit(world.app, case_id=world.case_a))[-1]
    assert (last.note, last.actor_role) == ('"enough"', "coordinator")


async def test_a_correction_that_reveals_danger_raises_its_flag(world: World) -> None:
    run_id = await checkin(world.app, world.family)
    done = await correct_answer(world.app, world.caseworker, run_id, "children.safe_at_home", "no")
    assert done.flags == ("child_unsafe_at_home",)
    async with world.app.database.reading() as uow:
        (flag,) = await uow.flags.open_flags([world.case_a])
    assert (flag.level, flag.run_id, flag.evidence) == (
        "urgent",
        run_id,
        {"children.safe_at_home": "no"},
    )


async def test_only_those_who_handle_the_case_may_correct(world: World) -> None:
    run_id = await checkin(world.app, world.family)
    for who in (world.other_caseworker, world.family, world.family_b):
        with pytest.raises(NotAllowed):
            await correct_answer(world.app, who, run_id, "who5.calm", "5")
    with pytest.raises(NotAllowed):  # a run that does not exist: the same answer
        await correct_answer(world.app, world.caseworker, run_id + 100, "who5.calm", "5")
    answers, _, _ = await stored(world, run_id)
    assert answers["who5.calm"] == 3
    assert "answer_corrected" not in [e.action for e in await audit(world.app, case_id=None)]


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("who5.calm", "6", AnswerRejected),  # not one of the six answers
        ("who5.calm", "most", AnswerRejected),
        ("children.food", "plenty", AnswerRejected),
        ("safety.everyone_safe_now", "maybe", AnswerRejected),
        ("caseworker.message", "hello", NoSuchAnswer),  # never answered in this run
        ("no.such.key", "1", NoSuchAnswer),
    ],
)
async def test_a_value_the_question_would_not_take_is_refused(
    world: World, key: str, value: str, error: type[Exception]
) -> None:
    run_id = await checkin(world.app, world.family)
    with pytest.raises(error):
        await correct_answer(world.app, world.caseworker, run_id, key, value)
    answers, state, _ = await stored(world, run_id)
    assert answers == state


# --- the operator's commands ----------------------------------------------------------------


async def cli(world: World, *args: str, stdin: str = "") -> Ran:
    """`wegwijzer …` on the world's database, in a thread of its own (it runs its own loop)."""
    database = make_url(world.app.settings.database_url).database
    assert database is not None
    return await asyncio.to_thread(wegwijzer, Path(database), *args, stdin=stdin)


async def test_the_commands_export_correct_and_erase(world: World, tmp_path: Path) -> None:
    run_id = await checkin(world.app, world.family)
    caseworker = str(world.caseworker.person_id)
    corrected = await cli(
        world, "answer", "correct", str(run_id), "who5.calm", "5", "--as", caseworker
    )
    assert corrected.returncode == 0, corrected.stderr
    assert json.loads(corrected.stdout)["scores"] == {"who5_raw": 17.0}
    refused = await cli(
        world, "answer", "correct", str(run_id), "who5.calm", "9", "--as", caseworker
    )
    assert refused.returncode == 1 and "not a valid answer" in refused.stderr
    other = str(world.other_caseworker.person_id)
    refused = await cli(world, "answer", "correct", str(run_id), "who5.calm", "4", "--as", other)
    assert refused.returncode == 1 and "may not correct" in refused.stderr

    out = tmp_path / "export"
    exported = await cli(world, "person", "export", CASE_A, "--output", str(out), "--lang", "nl")
    assert exported.returncode == 0, exported.stderr
    files = sorted(out.iterdir())
    assert [path.name for path in files] == [f"{CASE_A}.json", f"{CASE_A}.md"]
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)
    unknown = await cli(world, "person", "export", "ZZZ-9999", "--output", str(out))
    assert unknown.returncode == 1 and "no case" in unknown.stderr

    # Not without confirming; then at once.
    kept = await cli(world, "person", "erase", CASE_A, "--reason", "asked", stdin="no\n")
    assert kept.returncode == 1 and "nothing erased" in kept.stderr
    erased = await cli(world, "person", "erase", CASE_A, "--reason", "asked", stdin="erase\n")
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["removed"]["people"] == 1
    log = await cli(world, "audit", "--case", CASE_A)
    assert "data_exported" in log.stdout and "data_erased" in log.stdout


async def test_the_erase_command_says_why_it_refuses(world: World) -> None:
    async with world.app.database.transaction() as uow:
        case = await uow.cases.by_code(CASE_A)
        assert case is not None
        case.legal_hold_at = world.app.clock()
    refused = await cli(world, "person", "erase", CASE_A, "--reason", "asked", "--yes")
    assert refused.returncode == 1
    assert refused.stderr == f"wegwijzer: erasure refused: case {CASE_A} has a legal hold\n"
