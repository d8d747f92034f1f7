"""Playing a golden conversation: the console channel, a fixed clock, a fresh database.

Each flow's transcript test lists what a person types per scenario and language; `play` runs
it through the console (the same engine, storage and catalogs as the bot) and writes the whole
conversation plus what was stored (answers, flags, scores); `check_golden` compares that with
`tests/transcripts/<flow>/<lang>/<scenario>.txt`, or writes it with `--update-goldens`.

The demo case can be set up before playing (`programme`, `stage`, `risk_level`), and
`play_many` plays several people in turn on one database (a caseworker proposes, a coordinator
decides). Only then does the stored part also show the case itself: its stage, risk level,
status, closure fields and the audit log of what changed it — so older goldens stay as they are.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.console import ConsoleChat, open_chat
from bot.services.cases import DEMO_CASE_CODE
from bot.services.people import console_person
from bot.services.visits import next_visit, set_stage

FIXED_NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
SHIPPED = ("nl", "en", "ar", "tr", "pl", "uk", "fr", "sw")
STORED = "\n--- stored ---\n"
BLANK_LINE = "\n"

Scenarios = dict[str, dict[str, list[str]]]
# One person's turn in `play_many`: their role, their language and what they type.
Session = tuple[str, str, Iterable[str]]
# What changes a case, shown with the case in the stored part (the reason is the audit note).
CASE_ACTIONS = (
    "stage_set",
    "risk_level_set",
    "closure_proposed",
    "closure_returned",
    "case_closed",
    "case_reopened",
)


def in_every_language(scenarios: Scenarios, by_number: dict[str, list[str]]) -> None:
    """Add scenarios typed by option numbers, the same lines in every shipped language."""
    for scenario, lines in by_number.items():
        scenarios[scenario] = {lang: lines for lang in SHIPPED}


def cases(scenarios: Scenarios) -> list[tuple[str, str]]:
    return [(scenario, lang) for scenario, by_lang in scenarios.items() for lang in by_lang]


def case_ids(scenarios: Scenarios) -> list[str]:
    return [f"{scenario}-{lang}" for scenario, lang in cases(scenarios)]


async def play(
    tmp_path: Path,
    role: str,
    lang: str,
    lines: Iterable[str],
    *,
    programme: str | None = None,
    stage: str | None = None,
    risk_level: str | None = None,
    show_case: bool | None = None,
) -> str:
    """One person's conversation; with any case option the stored part shows the case too
    (or with `show_case=True`)."""
    if show_case is None:
        show_case = any(option is not None for option in (programme, stage, risk_level))
    return await _play(
        tmp_path,
        [(role, lang, lines)],
        programme=programme,
        stage=stage,
        risk_level=risk_level,
        show_case=show_case,
        headings=False,
    )


async def play_many(
    tmp_path: Path,
    sessions: Iterable[Session],
    *,
    programme: str | None = None,
    stage: str | None = None,
    risk_level: str | None = None,
) -> str:
    """Several people in turn on one database, each conversation under a heading with the
    role and language; the stored part shows the case."""
    return await _play(
        tmp_path,
        list(sessions),
        programme=programme,
        stage=stage,
        risk_level=risk_level,
        show_case=True,
        headings=True,
    )


async def _play(
    tmp_path: Path,
    sessions: list[Session],
    *,
    programme: str | None,
    stage: str | None,
    risk_level: str | None,
    show_case: bool,
    headings: bool,
) -> str:
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'transcript.db'}")
    app = await bootstrap(settings, clock=lambda: FIXED_NOW)
    try:
        output = io.StringIO()
        for number, (role, lang, lines) in enumerate(sessions):
            me = await console_person(app, role)
            if number == 0:
                await _set_up_case(app, programme, stage, risk_level)
            if headings:
                output.write(f"{BLANK_LINE if number else ''}=== {role} ({lang}) ===\n")
            await open_chat(app, me.external_id, lang)
            chat = ConsoleChat(app, me.external_id, output, case_code=me.case_code, echo=True)
            await chat.run(_reader(lines))
        output.write(STORED)
        async for row in app.database.answer_rows():
            output.write(f"answer run {row.run_id} {row.key} = {row.value!r}\n")
        async with app.database.reading() as uow:
            for flag in await uow.flags.open_flags():
                output.write(f"flag {flag.level} {flag.rule} evidence={dict(flag.evidence)}\n")
                output.write(f"     due {flag.due_at.isoformat()}\n")
            for run_id in sorted({row.run_id async for row in app.database.answer_rows()}):
                for name, value in sorted((await uow.scores.of_run(run_id)).items()):
                    output.write(f"score run {run_id} {name} = {value:g}\n")
            if show_case:
                await _write_case(uow, output)
        return output.getvalue()
    finally:
        await app.close()


def _reader(lines: Iterable[str]) -> Callable[[], Awaitable[str | None]]:
    pending = iter(lines)

    async def read_line() -> str | None:
        return next(pending, None)

    return read_line


async def _set_up_case(
    app: Wegwijzer, programme: str | None, stage: str | None, risk_level: str | None
) -> None:
    """The demo case as a scenario needs it, before anyone types (the case exists by now)."""
    if programme is not None or risk_level is not None:
        async with app.database.transaction() as uow:
            case = await uow.cases.by_code(DEMO_CASE_CODE)
            if programme is not None:
                case.programme = programme
            if risk_level is not None:
                # As a screening would have set it: the level, its next review, the visits.
                case.risk_level, case.risk_set_at = risk_level, FIXED_NOW
                days = app.settings.review_days[risk_level]
                case.review_due_at = FIXED_NOW + timedelta(days=days)
                case.visit_due_at = next_visit(app.settings, case, FIXED_NOW)
    if stage is not None:
        await set_stage(app, DEMO_CASE_CODE, stage)


def _moment(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat()


async def _write_case(uow: Any, output: io.StringIO) -> None:
    case = await uow.cases.by_code(DEMO_CASE_CODE)
    output.write(
        f"case {case.code} programme={case.programme} status={case.status} "
        f"stage={case.stage or '-'} risk_level={case.risk_level or '-'}\n"
    )
    output.write(
        f"     closure_proposed_at={_moment(case.closure_proposed_at)} "
        f"closure_proposed_by={case.closure_proposed_by or '-'} "
        f"closed_at={_moment(case.closed_at)}\n"
    )
    output.write(
        f"     review_due_at={_moment(case.review_due_at)} "
        f"visit_due_at={_moment(case.visit_due_at)}\n"
    )
    for event in await uow.audit.events(case_id=case.id):
        if event.action in CASE_ACTIONS:
            output.write(
                f"case event {event.action} by {event.actor_role} "
                f"note={event.note!r} detail={dict(event.detail)}\n"
            )


def check_golden(transcript: str, golden: Path, update: bool) -> None:
    if update:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(transcript, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}: run pytest with --update-goldens"
    assert transcript == golden.read_text(encoding="utf-8")


def assert_same_stored(golden_dir: Path, scenario: str) -> None:
    """Only the words differ between languages: what is stored, scored and flagged is one."""
    stored = {
        lang: (golden_dir / lang / f"{scenario}.txt").read_text("utf-8").split(STORED)[1]
        for lang in SHIPPED
    }
    assert len(set(stored.values())) == 1, sorted(stored)
