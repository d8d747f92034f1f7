"""The retention run on both backends, with a clock: what is due goes, what is held or still
in its term stays, the audit log keeps every event and gains one for the run."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Wegwijzer
from bot.services import audit as audit_service
from bot.services.cases import UnknownCase, create_case
from bot.services.duties import UPKEEP_DUTIES
from bot.services.legal_hold import AlreadyHeld, CaseErased, NotHeld, hold_case, release_case
from bot.services.retention import RETENTION_RUN, daily_retention, plan, run
from bot.storage.models import (
    Answer,
    AuditEvent,
    Case,
    CaseChild,
    Flag,
    Invite,
    Membership,
    OutboxNotice,
    Person,
    ProcessedUpdate,
    Run,
    Schedule,
    Score,
)
from bot.storage.retention import RetentionRepository
from tests.world import Clock

pytestmark = pytest.mark.both_backends

YEAR = timedelta(days=365)
DAY = timedelta(days=1)
_codes = iter(range(1, 10_000))


@dataclass(frozen=True)
class Filed:
    """A family's case with something of everything in it (all of it invented)."""

    code: str
    case_id: int
    person_id: int
    run_id: int
    flag_id: int


async def filed(
    app: Wegwijzer,
    *,
    closed: timedelta | None = None,
    held: bool = False,
    member: int | None = None,
) -> Filed:
    """A case with a family member (or `member`, joining it too), a run with answers and a
    score, a child, a flag with evidence and a resolution, a schedule, an invite and an audit
    note; closed `closed` before now when given."""
    now = app.clock()
    n = next(_codes)
    async with app.database.transaction() as uow:
        case = await create_case(uow, "family_strengthening", f"RET-{n:04d}")
        if member is None:
            person = await uow.people.add("telegram", f"7700{n}", "family", language="nl")
            member = person.id
        await uow.cases.add_member(case.id, member)
        started = await uow.runs.start(member, case.id, "family_checkin", 1, "done", {}, now)
        await uow.answers.record(started.id, "who5.cheerful", 3, "who5_1", now)
        await uow.answers.record(started.id, "family.message", "invented words", "msg", now)
        await uow.scores.record(started.id, "who5", 60.0, now)
        await uow.children.add(case.id, now=now, label="eldest", birth_year=2015)
        flag = await uow.flags.raise_flag(
            case_id=case.id,
            run_id=started.id,
            flow_id="family_checkin",
            flow_version=1,
            rule="low_wellbeing",
            level="medium",
            reason="Low wellbeing.",
            evidence={"who5.cheerful": 0},
            raised_at=now,
            due_at=now + DAY,
        )
        await uow.flags.resolve(flag, member, now, "invented resolution")
        await uow.schedules.set(case.id, "family_checkin", {"kind": "weekly"}, now + DAY, now)
        await uow.invites.add(
            code_hash=hashlib.sha256(f"code{n}".encode()).hexdigest(),
            role="family",
            case_id=case.id,
            created_by=None,
            created_at=now - 2 * DAY,
            expires_at=now + 5 * DAY,
        )
        await audit_service.record(
            uow, audit_service.OPERATOR, "noted", at=now, case_id=case.id, note="invented note"
        )
        await audit_service.record(
            uow, audit_service.SYSTEM, "resolved", at=now, flag_id=flag.id, note="invented too"
        )
        if closed is not None:
            case.status, case.closed_at = "closed", now - closed
        if held:
            case.legal_hold_at, case.legal_hold_reason = now, "invented court reference"
        return Filed(case.code, case.id, member, started.id, flag.id)


async def rows(app: Wegwijzer, model: Any, *where: Any) -> Sequence[Any]:
    async with AsyncSession(app.database.engine) as session:
        return (await session.execute(select(model).where(*where))).scalars().all()


async def count(app: Wegwijzer, model: Any, *where: Any) -> int:
    async with AsyncSession(app.database.engine) as session:
        stmt = select(func.count()).select_from(model).where(*where)
        return int((await session.execute(stmt)).scalar_one())


async def change(app: Wegwijzer, stmt: Any) -> None:
    async with AsyncSession(app.database.engine) as session, session.begin():
        await session.execute(stmt)


async def case_row(app: Wegwijzer, case_id: int) -> Case:
    (case,) = await rows(app, Case, Case.id == case_id)
    return case  # type: ignore[no-any-return]


async def person_row(app: Wegwijzer, person_id: int) -> Person:
    (person,) = await rows(app, Person, Person.id == person_id)
    return person  # type: ignore[no-any-return]


async def runs_of(app: Wegwijzer) -> list[AuditEvent]:
    return list(await rows(app, AuditEvent, AuditEvent.action == RETENTION_RUN))


async def test_a_case_file_goes_after_its_term_unless_held_and_the_audit_keeps_the_events(
    app: Wegwijzer,
) -> None:
    old = await filed(app, closed=21 * YEAR)
    younger = await filed(app, closed=19 * YEAR)
    held = await filed(app, closed=30 * YEAR, held=True)
    open_ = await filed(app)
    events_before = await count(app, AuditEvent)

    due = await plan(app)
    assert due.count("case_file") == 1 and due.held == 1
    # The families of the two unheld closed cases: their last case closed long ago.
    assert due.count("contact") == 2

    removed = await run(app)
    assert removed.count("case_file") == 1 and removed.count("contact") == 2
    assert removed.erased["runs"] == 1 and removed.erased["children"] == 1

    case = await case_row(app, old.case_id)
    assert case.erased_at == app.clock() and case.code == old.code and case.stage is None
    assert await count(app, Run, Run.case_id == old.case_id) == 0
    assert await count(app, Answer, Answer.run_id == old.run_id) == 0
    assert await count(app, Score, Score.run_id == old.run_id) == 0
    assert await count(app, CaseChild, CaseChild.case_id == old.case_id) == 0
    assert await count(app, Schedule, Schedule.case_id == old.case_id) == 0
    assert await count(app, Invite, Invite.case_id == old.case_id) == 0
    assert await count(app, Membership, Membership.case_id == old.case_id) == 0
    (flag,) = await rows(app, Flag, Flag.id == old.flag_id)
    assert flag.rule == "low_wellbeing" and flag.level == "medium" and flag.case_id == old.case_id
    assert flag.evidence == {"erased": True} and flag.resolution is None
    # Every event is still there; those of the erased case have lost their notes only.
    record = await rows(app, AuditEvent, AuditEvent.action != RETENTION_RUN)
    assert len(record) == events_before
    notes = {(e.case_id, e.flag_id): e.note for e in record}
    assert notes[(old.case_id, None)] is None and notes[(None, old.flag_id)] is None
    assert notes[(held.case_id, None)] == "invented note"
    person = await person_row(app, old.person_id)
    assert person.erased_at is not None and person.external_id == "" and person.language is None

    for kept in (younger, held, open_):
        assert (await case_row(app, kept.case_id)).erased_at is None
        assert await count(app, Answer, Answer.run_id == kept.run_id) == 2
        (flag,) = await rows(app, Flag, Flag.id == kept.flag_id)
        assert flag.evidence == {"who5.cheerful": 0}
    # The younger case's family was forgotten (contact term), its answers stay with the case.
    assert (await person_row(app, younger.person_id)).erased_at is not None
    for kept in (held, open_):
        assert (await person_row(app, kept.person_id)).erased_at is None

    (event,) = await runs_of(app)
    assert event.actor_role == "operator" and event.note is None and event.case_id is None
    assert {kind: v["count"] for kind, v in event.detail["kinds"].items()} == {
        "contact": 2,
        "case_file": 1,
        "processed_updates": 0,
        "notices": 0,
        "invites": 0,
    }
    assert event.detail["held"] == 1
    assert event.detail["kinds"]["case_file"]["term"] == "20 years"

    # A second run finds nothing more.
    again = await run(app)
    assert sum(due.count for due in again.kinds) == 0


async def test_contact_data_goes_after_the_contact_term(app: Wegwijzer, clock: Clock) -> None:
    now = clock.now
    closed_lately = await filed(app, closed=5 * DAY)
    long_gone = closed_lately.person_id
    recently_gone = (await filed(app, closed=5 * DAY)).person_id
    last_case_closed = (await filed(app, closed=100 * DAY)).person_id
    in_an_open_case = (await filed(app)).person_id
    in_a_held_case = (await filed(app, closed=200 * DAY, held=True)).person_id
    async with app.database.transaction() as uow:
        staff_gone = (await uow.people.add("telegram", "880001", "caseworker")).id
        staff_lately = (await uow.people.add("telegram", "880002", "coordinator")).id
        for person_id, left in (
            (long_gone, 100),
            (recently_gone, 10),
            (in_an_open_case, 100),
            (in_a_held_case, 100),
            (staff_gone, 100),
            (staff_lately, 10),
        ):
            person = await uow.people.get_by_id(person_id)
            assert person is not None
            person.status, person.left_at = "left", now - left * DAY

    assert (await plan(app)).count("contact") == 3
    removed = await run(app)
    assert removed.count("contact") == 3 and removed.count("case_file") == 0

    for forgotten in (long_gone, last_case_closed, staff_gone):
        person = await person_row(app, forgotten)
        assert person.erased_at == now and person.external_id == "" and person.timezone is None
        assert person.external_key == f"erased:{forgotten}"
    for kept in (recently_gone, in_an_open_case, in_a_held_case, staff_lately):
        person = await person_row(app, kept)
        assert person.erased_at is None and person.external_id.startswith(("77", "88"))
    # Their answers stay with the case file until its own term.
    assert await count(app, Answer, Answer.run_id == closed_lately.run_id) == 2


async def test_a_member_of_another_case_keeps_what_is_theirs_there(app: Wegwijzer) -> None:
    current = await filed(app)
    old = await filed(app, closed=21 * YEAR, member=current.person_id)
    removed = await run(app)
    assert removed.count("case_file") == 1 and removed.count("contact") == 0
    assert (await person_row(app, current.person_id)).erased_at is None
    assert await count(app, Run, Run.id == old.run_id) == 0
    assert await count(app, Answer, Answer.run_id == current.run_id) == 2
    assert [m.case_id for m in await rows(app, Membership)] == [current.case_id]


async def test_updates_notices_and_invites_are_pruned_after_their_terms(
    app: Wegwijzer, clock: Clock
) -> None:
    now = clock.now
    held = await filed(app, closed=DAY, held=True)
    async with app.database.transaction() as uow:
        person = await uow.people.add("telegram", "990001", "coordinator")
        for key, age in (("telegram:1", 3 * DAY), ("telegram:2", timedelta(hours=1))):
            assert await uow.updates.claim(key, now - age)
        notices: dict[str, int] = {}
        for name, state, age, flag_id in (
            ("sent long ago", "sent", 31, None),
            ("failed long ago", "failed", 40, None),
            ("sent lately", "sent", 5, None),
            ("still queued", "queued", 60, None),
            ("about a held case", "sent", 60, held.flag_id),
        ):
            notice = await uow.outbox.add(
                person.id,
                {"text": "invented"},
                channel="telegram",
                at=now - age * DAY,
                urgent=False,
                flag_id=flag_id,
            )
            if state != "queued":
                await uow.outbox.settle(notice, state, now - age * DAY)
            notices[name] = notice.id
        invites: dict[str, int] = {}
        for name, made, expires, used in (
            ("used long ago", 40, 33, 31),
            ("expired long ago", 50, 40, None),
            ("live", 2, -5, None),
            ("used lately", 10, 3, 5),
        ):
            invite = await uow.invites.add(
                code_hash=hashlib.sha256(name.encode()).hexdigest(),
                role="coordinator",
                case_id=None,
                created_by=None,
                created_at=now - made * DAY,
                expires_at=now - expires * DAY,
            )
            if used is not None:
                invite.used_at, invite.used_by = now - used * DAY, person.id
            invites[name] = invite.id
    # The held case's own invite, expired long ago: kept with the case.
    await change(
        app,
        update(Invite)
        .where(Invite.case_id == held.case_id)
        .values(created_at=now - 60 * DAY, expires_at=now - 50 * DAY),
    )
    removed = await run(app)
    assert removed.count("processed_updates") == 1
    assert removed.count("notices") == 2
    assert removed.count("invites") == 2
    assert [u.key for u in await rows(app, ProcessedUpdate)] == ["telegram:2"]
    left = {n.id for n in await rows(app, OutboxNotice)}
    assert left == {notices["sent lately"], notices["still queued"], notices["about a held case"]}
    kept = {i.id for i in await rows(app, Invite, Invite.case_id.is_(None))}
    assert kept == {invites["live"], invites["used lately"]}
    assert await count(app, Invite, Invite.case_id == held.case_id) == 1


async def a_bit_of_everything(app: Wegwijzer, clock: Clock) -> None:
    await filed(app, closed=21 * YEAR)
    await filed(app, closed=22 * YEAR)
    await filed(app, closed=19 * YEAR)
    await filed(app, closed=25 * YEAR, held=True)
    async with app.database.transaction() as uow:
        for n in range(3):
            assert await uow.updates.claim(f"telegram:{n}", clock.now - 3 * DAY)
        person = await uow.people.add("telegram", "990002", "coordinator")
        notice = await uow.outbox.add(
            person.id, {"text": "invented"}, channel="telegram", at=clock.now, urgent=False,
            flag_id=None,
        )  # fmt: skip
        await uow.outbox.settle(notice, "sent", clock.now - 31 * DAY)


async def test_a_dry_run_changes_nothing_and_says_what_a_run_then_removes(
    app: Wegwijzer, clock: Clock
) -> None:
    await a_bit_of_everything(app, clock)
    events = await count(app, AuditEvent)
    dry = await run(app, dry_run=True)
    assert dry.dry_run and dry.erased == {}
    expected = {due.kind: due.count for due in dry.kinds}
    assert expected == {
        "contact": 3,
        "case_file": 2,
        "processed_updates": 3,
        "notices": 1,
        "invites": 0,
    }
    # Nothing changed, nothing recorded: the same plan again.
    assert await count(app, AuditEvent) == events
    assert {due.kind: due.count for due in (await plan(app)).kinds} == expected
    assert await count(app, Case, Case.erased_at.is_not(None)) == 0

    removed = await run(app)
    assert {due.kind: due.count for due in removed.kinds} == expected
    assert [due.cutoff for due in removed.kinds] == [due.cutoff for due in dry.kinds]


async def test_a_run_goes_batch_by_batch(
    app: Wegwijzer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = [await filed(app, closed=(21 + n) * YEAR) for n in range(5)]
    batches: list[int] = []
    original = RetentionRepository.cases_due

    async def counted(self: RetentionRepository, closed_before: datetime, limit: int) -> list[int]:
        taken = await original(self, closed_before, limit)
        batches.append(len(taken))
        return taken

    monkeypatch.setattr(RetentionRepository, "cases_due", counted)
    removed = await run(app, batch=2)
    assert batches == [2, 2, 1]
    assert removed.count("case_file") == 5 and removed.count("contact") == 5
    for case in cases:
        assert (await case_row(app, case.case_id)).erased_at is not None
    assert len(await runs_of(app)) == 1
    with pytest.raises(ValueError):
        await run(app, batch=0)


async def test_a_legal_hold_keeps_a_case_until_it_is_released(app: Wegwijzer) -> None:
    old = await filed(app, closed=21 * YEAR)
    held = await hold_case(app, old.code.lower(), "  invented court reference 2026/1  ")
    assert held.code == old.code
    with pytest.raises(AlreadyHeld):
        await hold_case(app, old.code, "again")
    assert (await run(app)).count("case_file") == 0
    case = await case_row(app, old.case_id)
    assert case.legal_hold_at is not None
    assert case.legal_hold_reason == "invented court reference 2026/1"

    await release_case(app, old.code, "invented: proceedings ended")
    with pytest.raises(NotHeld):
        await release_case(app, old.code, "again")
    case = await case_row(app, old.case_id)
    assert case.legal_hold_at is None and case.legal_hold_reason is None
    events = [
        (e.action, e.note)
        for e in await rows(app, AuditEvent, AuditEvent.case_id == old.case_id)
        if e.action.startswith("legal_hold")
    ]
    assert events == [
        ("legal_hold_set", "invented court reference 2026/1"),
        ("legal_hold_released", "invented: proceedings ended"),
    ]

    assert (await run(app)).count("case_file") == 1
    # The erased case's audit notes are blank now, the hold's reasons among them.
    notes = {e.note for e in await rows(app, AuditEvent, AuditEvent.case_id == old.case_id)}
    assert notes == {None}
    with pytest.raises(CaseErased):
        await hold_case(app, old.code, "too late")
    with pytest.raises(UnknownCase):
        await hold_case(app, "NOP-0000", "no such case")
    with pytest.raises(ValueError):
        await hold_case(app, old.code, "   ")


async def test_the_bot_runs_retention_once_a_day(app: Wegwijzer, clock: Clock) -> None:
    assert daily_retention in UPKEEP_DUTIES
    old = await filed(app, closed=21 * YEAR)
    assert await daily_retention(app) == []
    (first,) = await runs_of(app)
    assert first.actor_role == "system"
    assert (await case_row(app, old.case_id)).erased_at is not None

    clock.advance(hours=23)
    await daily_retention(app)
    assert len(await runs_of(app)) == 1
    clock.advance(hours=1)
    await daily_retention(app)
    assert len(await runs_of(app)) == 2
