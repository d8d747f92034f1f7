"""Golden conversations as data: each file is a scenario's inputs and its expected outputs.

`tests/transcripts/<flow>/<lang>/<scenario>.txt` is a whole conversation in the terminal, as
`wegwijzer chat` prints it (what the bot says, and each line the person typed after "> "),
then `--- stored ---` and what was stored (answers, open flags, scores, and the case). A
front matter says who types and how the demo case is set up first:

    ---
    role: caseworker                          # who types (or headings, see below)
    case: {stage: closure, risk_level: low}   # the demo case before anyone types
    show_case: true                           # the stored part shows the case (implied by case)
    same_in_every_language: true              # stored the same in every shipped language
    ---

With several people in turn on one database (a caseworker proposes, a coordinator decides)
the conversation has a heading per person: `=== coordinator (nl) ===`. The runner reads the
typed lines back from the file, plays them on a fresh database with a fixed clock, and
compares the whole file. A flow author adds a scenario by writing a file with the front
matter and the typed lines (`> …`) and running `pytest tests/transcripts --update-goldens`,
which fills in what the bot says; then reviews the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from bot.app import Assets, Wegwijzer
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.console import ConsoleChat, open_chat
from bot.services.cases import DEMO_CASE_CODE
from bot.services.people import console_person
from bot.services.visits import next_visit, set_stage

FIXED_NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
STORED = "\n--- stored ---\n"
FRONT = "---\n"
TYPED = "> "
HEADING = re.compile(r"^=== (\w+) \((\w+)\) ===$")
# What changes a case, shown with the case in the stored part (the reason is the audit note).
CASE_ACTIONS = (
    "stage_set",
    "risk_level_set",
    "closure_proposed",
    "closure_returned",
    "case_closed",
    "case_reopened",
    "reevaluation_planned",
    "reevaluation_cancelled",
)
SETTINGS = ("role", "case", "show_case", "same_in_every_language")


class ScenarioError(ValueError):
    """A golden file that cannot be read as a scenario."""


@dataclass(frozen=True)
class Session:
    """One person's turn: their role, their language, and the lines they type."""

    role: str
    language: str
    typed: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    path: Path
    front: str  # the front matter as written, kept when the file is rewritten
    sessions: tuple[Session, ...]
    case: dict[str, str]
    show_case: bool
    headings: bool
    same_in_every_language: bool

    @property
    def language(self) -> str:
        return self.path.parent.name

    @classmethod
    def read(cls, path: Path) -> Scenario:
        text = path.read_text(encoding="utf-8")
        if not text.startswith(FRONT) or text.find("\n" + FRONT, 1) < 0:
            raise ScenarioError(f"{path}: no front matter (--- … ---) at the top")
        end = text.index("\n" + FRONT, 1) + 1 + len(FRONT)
        front, body = text[:end], text[end:]
        settings = YAML(typ="safe").load(front.strip("-\n")) or {}
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise ScenarioError(f"{path}: unknown settings {sorted(unknown)}")
        conversation = body.split(STORED)[0]
        sessions = _sessions(conversation, settings.get("role"), path.parent.name)
        case = {str(k): str(v) for k, v in (settings.get("case") or {}).items()}
        return cls(
            path=path,
            front=front,
            sessions=sessions,
            case=case,
            show_case=bool(settings.get("show_case")) or bool(case),
            headings=conversation.startswith("=== "),
            same_in_every_language=bool(settings.get("same_in_every_language")),
        )

    def in_language(self, language: str) -> Scenario:
        """The same scenario for another language (typed by option numbers: the same lines)."""
        sessions = tuple(replace(session, language=language) for session in self.sessions)
        path = self.path.parent.parent / language / self.path.name
        return replace(self, path=path, sessions=sessions)


def _sessions(conversation: str, role: Any, language: str) -> tuple[Session, ...]:
    found: list[tuple[str, str, list[str]]] = []
    if not conversation.startswith("=== "):
        if not isinstance(role, str):
            raise ScenarioError("the front matter names no role, and there are no headings")
        found.append((role, language, []))
    for line in conversation.splitlines():
        heading = HEADING.match(line)
        if heading:
            found.append((heading[1], heading[2], []))
        elif line.startswith(TYPED.rstrip()) and found:
            found[-1][2].append(line[len(TYPED) :])
    return tuple(Session(role, lang, tuple(typed)) for role, lang, typed in found)


async def play(scenario: Scenario, tmp_path: Path, assets: Assets) -> str:
    """The whole file the scenario makes: its front matter, the conversation, what is stored."""
    settings = replace(Settings(), database_url=f"sqlite:///{tmp_path / 'transcript.db'}")
    app = await bootstrap(settings, clock=lambda: FIXED_NOW, assets=assets)
    try:
        output = io.StringIO()
        output.write(scenario.front)
        for number, session in enumerate(scenario.sessions):
            me = await console_person(app, session.role)
            if number == 0:
                await _set_up_case(app, scenario.case)
            if scenario.headings:
                heading = f"=== {session.role} ({session.language}) ===\n"
                output.write(("\n" if number else "") + heading)
            await open_chat(app, me.external_id, session.language)
            chat = ConsoleChat(app, me.external_id, output, case_code=me.case_code, echo=True)
            await chat.run(_reader(session.typed))
        output.write(STORED)
        await _write_stored(app, output, scenario.show_case)
        return output.getvalue()
    finally:
        await app.close()


def _reader(lines: Iterable[str]) -> Callable[[], Awaitable[str | None]]:
    pending = iter(lines)

    async def read_line() -> str | None:
        return next(pending, None)

    return read_line


async def _set_up_case(app: Wegwijzer, case: dict[str, str]) -> None:
    """The demo case as a scenario needs it, before anyone types (the case exists by now)."""
    programme, stage, risk_level = case.get("programme"), case.get("stage"), case.get("risk_level")
    if programme is not None or risk_level is not None:
        async with app.database.transaction() as uow:
            found = await uow.cases.by_code(DEMO_CASE_CODE)
            assert found is not None
            if programme is not None:
                found.programme = programme
            if risk_level is not None:
                # As a screening would have set it: the level, its next review, the visits.
                found.risk_level, found.risk_set_at = risk_level, FIXED_NOW
                days = app.settings.review_days[risk_level]
                found.review_due_at = FIXED_NOW + timedelta(days=days)
                found.visit_due_at = next_visit(app.settings, found, FIXED_NOW)
    if stage is not None:
        await set_stage(app, DEMO_CASE_CODE, stage)


async def _write_stored(app: Wegwijzer, output: io.StringIO, show_case: bool) -> None:
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
    if case.reevaluation_due_at is not None:  # only where a Meldcode planned one
        output.write(f"     reevaluation_due_at={_moment(case.reevaluation_due_at)}\n")
    for event in await uow.audit.events(case_id=case.id):
        if event.action in CASE_ACTIONS:
            output.write(
                f"case event {event.action} by {event.actor_role} "
                f"note={event.note!r} detail={dict(event.detail)}\n"
            )


def stored_part(path: Path) -> str:
    return path.read_text(encoding="utf-8").split(STORED)[1]
