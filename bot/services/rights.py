"""The rights of the people in a case: access to everything stored about them, and erasure.

Access (`wegwijzer person export`): every row stored about a case, or about one person of it,
written as JSON (every column of every row, sealed values opened, so nothing is left out when
a column is added) and as a readable document in the person's language, where answers read as
the bot asked them (the question and the chosen option's label). Erasure on request
(`wegwijzer person erase`): the case's content and its family's data removed in one
transaction, leaving tombstones (`storage/erasure.py`), refused while a legal hold or an urgent
flag nobody resolved stands. Both are operator commands, and both are in the audit log.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ..app import Wegwijzer
from ..engine import Text, describe_answer
from ..engine.events import JSONValue
from ..engine.model import placeholders
from ..i18n import Translator
from ..storage import Base, Case, UnitOfWork, crypto
from ..storage.models import (
    UNRESOLVED_FLAG_STATUSES,
    Answer,
    AuditEvent,
    CaseChild,
    Flag,
    OutboxNotice,
    Person,
    Run,
    Schedule,
    Score,
)
from ..storage.rights import StoredData
from . import audit, texts
from .cases import UnknownCase
from .children import Child
from .flags import FlagView, views_of
from .review_texts import flag_detail_lines, schedule_line
from .schedules import schedule_view
from .staffing import hand_over_waiting

__all__ = [
    "Erased",
    "ErasureRefused",
    "Export",
    "UnknownPerson",
    "erase",
    "export_person_data",
]


class UnknownPerson(LookupError):
    """No such person in the case (neither a member, nor its caseworker, nor staff who worked
    on it)."""


class ErasureRefused(Exception):
    """Not to be erased now: a legal hold stands, urgent flags are unresolved, or a staff
    member is still the caseworker of an open case (it must be reassigned first)."""

    def __init__(
        self,
        code: str,
        held: bool,
        urgent_flags: Sequence[int],
        *,
        held_cases: Sequence[str] = (),
        caseworker_of: Sequence[str] = (),
        assigned_flags: Sequence[int] = (),
    ) -> None:
        reasons = []
        if held:
            reasons.append(f"case {code} has a legal hold")
        if held_cases:
            reasons.append("a legal hold on their case(s) " + ", ".join(held_cases))
        if urgent_flags:
            reasons.append(
                f"case {code} has unresolved urgent flag(s) " + ", ".join(map(str, urgent_flags))
            )
        if caseworker_of:
            reasons.append(
                "they are the caseworker of open case(s) "
                + ", ".join(caseworker_of)
                + ": reassign first"
            )
        if assigned_flags:
            reasons.append(
                "unresolved flag(s) "
                + ", ".join(map(str, assigned_flags))
                + " are assigned to them: reassign first"
            )
        super().__init__("; ".join(reasons))
        self.held = held or bool(held_cases)
        self.urgent_flags = tuple(urgent_flags)
        self.held_cases = tuple(held_cases)
        self.caseworker_of = tuple(caseworker_of)
        self.assigned_flags = tuple(assigned_flags)


# --- access -------------------------------------------------------------------------------

EXPORT_FORMAT = "wegwijzer-person-export"
# A secret, not personal data: the hash of an invite's code is never handed out.
_NOT_EXPORTED = frozenset({("invite", "code_hash")})

DOCUMENT_TITLE = Text("Your data at {controller}")
DOCUMENT_INTRO = Text(
    "This is everything the chat service Wegwijzer stores about case {case}, exported on "
    "{date}. Questions about your data, or a request to correct or erase it: {contact}."
)
DOCUMENT_INTRO_PERSON = Text(
    "This is everything the chat service Wegwijzer stores about you (person {person}, case "
    "{case}), exported on {date}. Questions about your data, or a request to correct or "
    "erase it: {contact}."
)
CASE_SECTION = Text("The case")
CASE_PROGRAMME = Text("Programme: {programme}")
CASE_STATUS = Text("Status: {status}")
CASE_STAGE = Text("Stage: {stage}, since {date}")
CASE_OPENED = Text("Opened on {date}")
CASE_VISITS = Text("Last home visit: {last}; next one planned: {next}")
CASE_ERASED = Text("The case's content was erased on {date}.")
CASE_HELD = Text("A legal hold stands since {date}: nothing of the case is deleted until it ends.")
CHILDREN_SECTION = Text("Children")
PEOPLE_SECTION = Text("People")
PERSON_LINE = Text("Person {person} ({role}), Telegram id {telegram}, since {date}")
PERSON_SETTINGS = Text("Language: {language}; time zone: {timezone}; status: {status}")
PERSON_CONSENT = Text("Consent: {consent} on {date}")
PERSON_ERASED = Text("Person {person}: personal data erased on {date}.")
RUNS_SECTION = Text("Conversations and answers")
RUN_HEADER = Text("{flow}, started {date} by person {person} ({status})")
RUN_SCORE = Text("Score {name}: {value}")
ANSWER_LINE = Text("{question}: {answer}")
NO_ANSWERS = Text("No answers stored.")
FLAGS_SECTION = Text("Signals for the team")
SCHEDULES_SECTION = Text("Check-in reminders")
NOTICES_SECTION = Text("Messages from the bot")
AUDIT_SECTION = Text("Who did what")
AUDIT_LINE = Text("{date}: {action} by {actor}")
AUDIT_NOTE = Text("    note: {note}")
NOTHING = Text("Nothing stored.")
ROLES = {
    "family": Text("family"),
    "caseworker": Text("caseworker"),
    "coordinator": Text("coordinator"),
}
RUN_STATUSES = {
    "active": Text("in progress"),
    "paused": Text("paused"),
    "completed": Text("completed"),
}
CONSENTS = {
    "given": Text("given"),
    "refused": Text("refused"),
    "withdrawn": Text("withdrawn"),
}
CASE_STATUSES = {"open": Text("open"), "closed": Text("closed")}
PERSON_STATUSES = {
    "active": Text("active"),
    "unreachable": Text("unreachable (the bot was blocked)"),
    "left": Text("left"),
}
NOTICE_STATES = {
    "queued": Text("waiting to be sent"),
    "sent": Text("sent"),
    "unreachable": Text("not delivered: the bot was blocked"),
    "failed": Text("could not be sent"),
    "withdrawn": Text("not sent: consent was withdrawn"),
}
NOTICE_LINE = Text("{date}: {state}")


@dataclass(frozen=True)
class Export:
    """Where the export went, in which language, and how many rows of each table it holds."""

    json_path: Path
    document_path: Path
    language: str
    counts: Mapping[str, int]


async def export_person_data(
    app: Wegwijzer,
    code: str,
    output: Path,
    *,
    person_id: int | None = None,
    language: str | None = None,
) -> Export:
    """Write everything stored about the case (or only about `person_id` in it) to `output`
    as `<CODE>[-person-<ID>].json` and `.md`, both 0600. The look is in the audit log before
    anything is written.

    UnknownCase, UnknownPerson (not a member of the case nor its caseworker); ValueError for
    a language that is not loaded."""
    if language is not None and language not in app.catalogs.languages:
        raise ValueError(
            f"language {language!r} is not loaded: {', '.join(app.catalogs.languages)}"
        )
    now = app.clock()
    async with app.database.transaction() as uow:
        # An erased case's export is its tombstone: what is left, shown as such.
        case = await uow.cases.by_code(code.strip().upper(), erased=True)
        if case is None:
            raise UnknownCase(code)
        if person_id is None:
            data = await uow.rights.of_case(case)
        else:
            person = await _person_of(uow, case, person_id)
            data = await uow.rights.of_person(person)
        reader = _reader(app, data, person_id, language)
        counts = data.counts()
        await audit.record(
            uow,
            audit.OPERATOR,
            "data_exported",
            at=now,
            case_id=case.id,
            detail={"person": person_id, "language": reader, "rows": dict(counts)},
        )
        flags = [row for row in data.of("flag") if isinstance(row, Flag)]
        views = await views_of(uow, flags, history=True)
        document = _document(app, case, data, person_id, reader, now)
        document += _flag_lines(app, views, reader, now)
        document += _audit_lines(app, data, reader)
        withheld = _NOT_EXPORTED | data.withheld
        tables = {
            table: [_plain(row, withheld) for row in rows] for table, rows in data.rows.items()
        }
        tables |= data.listed
    stem = case.code if person_id is None else f"{case.code}-person-{person_id}"
    output.mkdir(parents=True, exist_ok=True)
    exported: dict[str, JSONValue] = {
        "format": EXPORT_FORMAT,
        "version": 1,
        "exported_at": now.isoformat(),
        "case": case.code,
        "person": person_id,
        "language": reader,
        "controller": app.privacy.controller,
        "contact": app.privacy.contact,
        "tables": tables,  # type: ignore[dict-item]
    }
    json_path, document_path = output / f"{stem}.json", output / f"{stem}.md"
    with crypto.open_private_text(json_path) as file:
        json.dump(exported, file, ensure_ascii=False, indent=2, sort_keys=False)
        file.write("\n")
    with crypto.open_private_text(document_path) as file:
        file.write("\n".join(document) + "\n")
    return Export(json_path, document_path, reader, counts)


async def _person_of(uow: UnitOfWork, case: Case, person_id: int) -> Person:
    """The person, when the case names them: a member, its caseworker, or staff who worked on
    it (a run or an act of theirs in it: a caseworker it was taken from stays nameable)."""
    person = await uow.people.get_by_id(person_id)
    if person is None:
        raise UnknownPerson(person_id)
    members = {member.id for member in await uow.cases.members(case.id)}
    if person.id in members or case.caseworker_id == person.id:
        return person
    if person.role != "family" and await uow.rights.worked_on(person, case.id):
        return person
    raise UnknownPerson(person_id)


def _reader(app: Wegwijzer, data: StoredData, person_id: int | None, language: str | None) -> str:
    """The language of the document: the one asked for, else the person's (for a case: its
    first family member's with a language), else the deployment's default."""
    if language is not None:
        return language
    people = [row for row in data.of("person") if isinstance(row, Person)]
    chosen = [
        row.language
        for row in people
        if row.language and (row.id == person_id or (person_id is None and row.role == "family"))
    ]
    default = app.settings.default_language
    preferred = chosen[0] if chosen else default
    return app.catalogs.translator_for(preferred, default, app.settings.timezone).language


def _plain(row: Base, withheld: frozenset[tuple[str, str]]) -> dict[str, JSONValue]:
    """Every column of a row as JSON values, sealed ones opened; moments in ISO 8601."""
    table = row.__table__
    plain: dict[str, JSONValue] = {}
    for column in table.columns:
        if (row.__tablename__, column.key) in withheld:
            continue
        plain[column.key] = _json(getattr(row, column.key))
    return plain


def _json(value: object) -> JSONValue:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def _document(
    app: Wegwijzer,
    case: Case,
    data: StoredData,
    person_id: int | None,
    language: str,
    now: datetime,
) -> list[str]:
    tr = app.catalogs.translator(language, app.settings.timezone)
    intro = (
        DOCUMENT_INTRO.using(case=case.code, date=now.date(), contact=app.privacy.contact)
        if person_id is None
        else DOCUMENT_INTRO_PERSON.using(
            person=person_id, case=case.code, date=now.date(), contact=app.privacy.contact
        )
    )
    lines = [f"# {tr(DOCUMENT_TITLE.using(controller=app.privacy.controller))}", "", tr(intro)]
    if person_id is None:
        lines += _section(tr, CASE_SECTION, _case_lines(case))
        children = [row for row in data.of("case_child") if isinstance(row, CaseChild)]
        lines += _section(tr, CHILDREN_SECTION, _child_lines(children))
    people = [row for row in data.of("person") if isinstance(row, Person)]
    lines += _section(tr, PEOPLE_SECTION, [line for row in people for line in _person_lines(row)])
    lines += _section(tr, RUNS_SECTION, [], items=False)
    lines += _run_lines(app, tr, data)
    if person_id is None:
        schedules = [row for row in data.of("schedule") if isinstance(row, Schedule)]
        shown = [schedule_line(schedule_view(row, case.code)) for row in schedules]
        lines += _section(tr, SCHEDULES_SECTION, shown)
    notices = [row for row in data.of("outbox") if isinstance(row, OutboxNotice)]
    if notices:
        lines += _section(tr, NOTICES_SECTION, [_notice_line(row) for row in notices])
    return lines


def _section(tr: Translator, title: Text, shown: Iterable[Text], items: bool = True) -> list[str]:
    lines = ["", f"## {tr(title)}", ""]
    rendered = [f"- {tr(line)}" for line in shown]
    if items:
        lines += rendered or [tr(NOTHING)]
    return lines


def _case_lines(case: Case) -> list[Text]:
    lines = [
        CASE_PROGRAMME.using(programme=texts.PROGRAMMES.get(case.programme, Text(case.programme))),
        CASE_STATUS.using(status=CASE_STATUSES.get(case.status, Text(case.status))),
        CASE_OPENED.using(date=case.created_at.date()),
    ]
    if case.stage:
        stage = texts.STAGES.get(case.stage, Text(case.stage))
        since = case.stage_since.date() if case.stage_since else "—"
        lines.append(CASE_STAGE.using(stage=stage, date=since))
    if case.last_visit_at or case.visit_due_at:
        lines.append(
            CASE_VISITS.using(last=case.last_visit_at or "—", next=case.visit_due_at or "—")
        )
    if case.legal_hold_at is not None:
        lines.append(CASE_HELD.using(date=case.legal_hold_at.date()))
    if case.erased_at is not None:
        lines.append(CASE_ERASED.using(date=case.erased_at.date()))
    return lines


def _child_lines(children: Sequence[CaseChild]) -> list[Text]:
    # As the home visit names them: "child 1 (born 2014, at home)".
    return [Child.of(row).described() for row in children]


def _person_lines(person: Person) -> list[Text]:
    if person.erased_at is not None:
        return [PERSON_ERASED.using(person=person.id, date=person.erased_at.date())]
    lines = [
        PERSON_LINE.using(
            person=person.id,
            role=ROLES.get(person.role, Text(person.role)),
            telegram=person.external_id,
            date=person.created_at.date(),
        ),
        PERSON_SETTINGS.using(
            language=person.language or "—",
            timezone=person.timezone or "—",
            status=PERSON_STATUSES.get(person.status, Text(person.status)),
        ),
    ]
    if person.consent is not None:
        consent = CONSENTS.get(person.consent, Text(person.consent))
        lines.append(
            PERSON_CONSENT.using(
                consent=consent, date=person.consent_at.date() if person.consent_at else "—"
            )
        )
    return lines


def _run_lines(app: Wegwijzer, tr: Translator, data: StoredData) -> list[str]:
    """Each run with its answers as the bot asked them, and its scores."""
    answers: dict[int, list[Answer]] = {}
    for row in data.of("answer"):
        if isinstance(row, Answer):
            answers.setdefault(row.run_id, []).append(row)
    scores: dict[int, list[Score]] = {}
    for row in data.of("score"):
        if isinstance(row, Score):
            scores.setdefault(row.run_id, []).append(row)
    runs = [row for row in data.of("run") if isinstance(row, Run)]
    if not runs:
        return [tr(NOTHING)]
    lines: list[str] = []
    for run in runs:
        try:
            flow = app.flows.get(run.flow_id, run.flow_version)
            title: Text | str = Text(flow.title)
        except KeyError:
            flow, title = None, run.flow_id
        header = RUN_HEADER.using(
            flow=title,
            date=run.started_at,
            person=run.person_id,
            status=RUN_STATUSES.get(run.status, Text(run.status)),
        )
        lines += ["", f"### {tr(header)}", ""]
        given = answers.get(run.id, [])
        for answer in given:
            described = describe_answer(flow, answer.key, answer.value) if flow else None
            if described is None:
                question, shown = Text(answer.key), Text("{value}", {"value": _shown(answer.value)})
            else:
                question, shown = described
                question = question.using(**{name: "…" for name in placeholders(question.msgid)})
            lines.append(f"- {tr(ANSWER_LINE.using(question=question, answer=shown))}")
        if not given:
            lines.append(tr(NO_ANSWERS))
        for score in scores.get(run.id, []):
            lines.append(f"- {tr(RUN_SCORE.using(name=score.name, value=score.value))}")
    return lines


def _shown(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _notice_line(notice: OutboxNotice) -> Text:
    state = NOTICE_STATES.get(notice.state, Text(notice.state))
    return NOTICE_LINE.using(date=notice.queued_at, state=state)


def _flag_lines(
    app: Wegwijzer, views: Sequence[FlagView], language: str, now: datetime
) -> list[str]:
    tr = app.catalogs.translator(language, app.settings.timezone)
    lines = ["", f"## {tr(FLAGS_SECTION)}", ""]
    if not views:
        return [*lines, tr(NOTHING)]
    for view in views:
        lines += [tr(line) for line in flag_detail_lines(app, view, now)]
        lines.append("")
    return lines


def _audit_lines(app: Wegwijzer, data: StoredData, language: str) -> list[str]:
    tr = app.catalogs.translator(language, app.settings.timezone)
    events = [row for row in data.of("audit_event") if isinstance(row, AuditEvent)]
    lines = ["", f"## {tr(AUDIT_SECTION)}", ""]
    for event in events:
        action = texts.HISTORY_ACTIONS.get(event.action, Text(event.action))
        if placeholders(action.msgid):
            action = Text(event.action)
        actor = texts.actor(event.actor_role, event.actor_id)
        lines.append(f"- {tr(AUDIT_LINE.using(date=event.at, action=action, actor=actor))}")
        if event.note and ("audit_event", "note") not in data.withheld:
            lines.append(tr(AUDIT_NOTE.using(note=event.note)))
    return lines if events else [*lines, tr(NOTHING)]


# --- erasure ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erased:
    case_code: str
    person_id: int | None
    counts: Mapping[str, int]


async def erase(app: Wegwijzer, code: str, reason: str, person_id: int | None = None) -> Erased:
    """Erase a case's content and its family's data (or one person's data of the case), in
    one transaction, and record it with the reason (sealed) and the counts. The record is
    written after the case's audit notes were blanked, so it keeps its reason.

    A family member's erasure stays within the case named: their other cases keep what is
    theirs there, and how to reach them. A staff member's is their contact data only: the
    guidance runs, notes and decisions they made are the case file, the organisation's record
    of its work, not their personal data; waiting notices go to the others who can act.

    UnknownCase, UnknownPerson; CaseErased for a case erased already (nothing is left to
    erase); ValueError without a reason; ErasureRefused while the case
    has a legal hold, and for a family or the case while it has an urgent flag that is open or
    acknowledged; for staff (whose erasure touches no case data), while a case in their care is
    open (reassign first) or held, or an unresolved flag is assigned to them."""
    reason = reason.strip()
    if not reason:
        raise ValueError("an erasure needs a reason")
    now = app.clock()
    async with app.database.transaction() as uow:
        case = await uow.cases.by_code(code.strip().upper(), for_update=True)
        if case is None:
            raise UnknownCase(code)
        person = None if person_id is None else await _person_of(uow, case, person_id)
        held = case.legal_hold_at is not None
        if person is not None and person.role != "family":
            # Their contact data only: what keeps it is work still theirs, or a hold on it.
            care = await uow.erasure.cases_in_the_care_of(person.id)
            refused = ErasureRefused(
                case.code,
                held,
                (),
                held_cases=[
                    c.code for c in care if c.legal_hold_at is not None and c.id != case.id
                ],
                caseworker_of=[c.code for c in care if c.status == "open"],
                assigned_flags=await uow.erasure.flags_assigned_to(person.id),
            )
        else:
            urgent = await _urgent_unresolved(uow, case.id)
            refused = ErasureRefused(case.code, held, urgent)
        if refused.held or refused.urgent_flags or refused.caseworker_of or refused.assigned_flags:
            raise refused
        if person is None:
            counts = await uow.erasure.erase_case(case.id, now)
        elif person.role == "family":
            counts = await uow.erasure.erase_person(person.id, case.id, now)
        else:
            await hand_over_waiting(uow, person.id, now)
            counts = {"people": int(await uow.erasure.forget_contact(person.id, now))}
        await audit.record(
            uow,
            audit.OPERATOR,
            "data_erased",
            at=now,
            case_id=case.id,
            note=reason,
            detail={"person": person_id, "removed": dict(counts)},
        )
        return Erased(case.code, person_id, counts)


async def _urgent_unresolved(uow: UnitOfWork, case_id: int) -> list[int]:
    flags = await uow.flags.open_flags([case_id])
    return sorted(
        flag.id
        for flag in flags
        if flag.level == "urgent" and flag.status in UNRESOLVED_FLAG_STATUSES
    )
