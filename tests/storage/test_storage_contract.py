"""Contract of the repositories and the unit of work, on SQLite and on PostgreSQL alike.

Services are written against these behaviours, not against a backend, so every test here runs
on both (see conftest). They cover each repository method and the promises the bot's
correctness rests on: an answer is never stored twice, timestamps come back in UTC, a
coordinator sees the most serious flags first, and a failed update leaves no trace.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from bot.storage import CaseErased, CaseSummary, Database, ExportRow, Flag, UnitOfWork
from bot.storage import export as export_storage
from bot.storage.export import BATCH_SIZE

from .conftest import T0, Seed

SeedFn = Callable[..., Awaitable[Seed]]


async def count(db: Database, table: str) -> int:
    async with db.engine.connect() as conn:
        return (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


# --- people ------------------------------------------------------------------------------


async def test_person_is_added_and_found_by_channel_id(database: Database) -> None:
    async with database.transaction() as uow:
        added = await uow.people.add("telegram", "4242", "caseworker", language="nl")
    # expire_on_commit is off: what a transaction returned stays readable after it.
    assert isinstance(added.id, int)
    assert added.status == "active"

    async with database.reading() as uow:
        found = await uow.people.get("telegram", "4242")
        by_int = await uow.people.get("telegram", 4242)
        by_id = await uow.people.get_by_id(added.id)
        assert await uow.people.get("console", "4242") is None
        assert await uow.people.get_by_id(added.id + 1000) is None
    assert found is not None and by_int is not None and by_id is not None
    assert found.id == by_int.id == by_id.id == added.id
    assert (found.channel, found.external_id, found.role) == ("telegram", "4242", "caseworker")
    assert found.language == "nl"
    assert found.timezone is None
    assert found.created_at.tzinfo is UTC


async def test_person_language_is_set(database: Database) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("console", "local", "family")
        assert person.language is None
    async with database.transaction() as uow:
        await uow.people.set_language(person.id, "ar")
    async with database.reading() as uow:
        again = await uow.people.get_by_id(person.id)
    assert again is not None and again.language == "ar"


async def test_person_unknown_role_channel_or_id_is_refused(database: Database) -> None:
    async with database.transaction() as uow:
        with pytest.raises(ValueError, match="role"):
            await uow.people.add("telegram", "1", "admin")
        with pytest.raises(ValueError, match="channel"):
            await uow.people.add("sms", "1", "family")
        with pytest.raises(LookupError):
            await uow.people.set_language(999, "nl")


async def test_person_consent_is_recorded_and_can_change(database: Database) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "1", "family")
        assert (person.consent, person.consent_at) == (None, None)
    async with database.transaction() as uow:
        await uow.people.set_consent(person.id, "given", T0)
    async with database.reading() as uow:
        found = await uow.people.get_by_id(person.id)
    assert found is not None
    assert (found.consent, found.consent_at) == ("given", T0)
    assert found.consent_at is not None and found.consent_at.tzinfo is UTC

    # Changed later through /privacy: the newest answer and its time replace the first.
    async with database.transaction() as uow:
        await uow.people.set_consent(person.id, "refused", T0 + _h(1))
    async with database.reading() as uow:
        found = await uow.people.get_by_id(person.id)
    assert found is not None and (found.consent, found.consent_at) == ("refused", T0 + _h(1))


async def test_person_consent_input_is_checked(database: Database) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "1", "family")
        with pytest.raises(ValueError, match="consent"):
            await uow.people.set_consent(person.id, "yes", T0)
        with pytest.raises(LookupError):
            await uow.people.set_consent(person.id + 1000, "given", T0)
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as uow:
            await uow.people.set_consent(person.id, "given", datetime(2025, 1, 1, 12, 0))
    async with database.reading() as uow:
        found = await uow.people.get_by_id(person.id)
    assert found is not None and found.consent is None


async def test_person_status_and_the_active_people_of_a_role(database: Database) -> None:
    async with database.transaction() as uow:
        first = await uow.people.add("telegram", "1", "coordinator")
        blocked = await uow.people.add("telegram", "2", "coordinator")
        gone = await uow.people.add("telegram", "3", "coordinator")
        await uow.people.add("telegram", "4", "caseworker")
        await uow.people.add("telegram", "5", "family")
    async with database.transaction() as uow:
        await uow.people.set_status(blocked.id, "unreachable")
        await uow.people.set_status(gone.id, "left")
    async with database.reading() as uow:
        coordinators = await uow.people.with_role("coordinator")
        caseworkers = await uow.people.with_role("caseworker")
        found = await uow.people.get_by_id(blocked.id)
    assert [person.id for person in coordinators] == [first.id]
    assert [person.external_id for person in caseworkers] == ["4"]
    assert found is not None and found.status == "unreachable"

    # Someone who unblocks the bot is counted on again.
    async with database.transaction() as uow:
        await uow.people.set_status(blocked.id, "active")
        assert [p.id for p in await uow.people.with_role("coordinator")] == [first.id, blocked.id]


async def test_person_status_and_role_input_is_checked(database: Database) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "1", "family")
        with pytest.raises(ValueError, match="status"):
            await uow.people.set_status(person.id, "blocked")
        with pytest.raises(LookupError):
            await uow.people.set_status(person.id + 1000, "left")
        with pytest.raises(ValueError, match="role"):
            await uow.people.with_role("admin")


async def test_person_channel_id_is_unique(database: Database) -> None:
    async with database.transaction() as uow:
        await uow.people.add("telegram", "7", "family")
    with pytest.raises(IntegrityError):
        async with database.transaction() as uow:
            await uow.people.add("telegram", "7", "coordinator")
    # The same id on another channel is another person.
    async with database.transaction() as uow:
        await uow.people.add("console", "7", "family")
    assert await count(database, "person") == 2


# --- cases -------------------------------------------------------------------------------


async def test_case_is_added_and_found_by_code(database: Database) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
    assert case.status == "open"
    assert case.caseworker_id is None
    async with database.reading() as uow:
        found = await uow.cases.by_code("K-0001")
        assert await uow.cases.by_code("K-9999") is None
    assert found is not None
    assert (found.id, found.programme) == (case.id, "foster_care")
    assert found.created_at.tzinfo is UTC

    with pytest.raises(IntegrityError):
        async with database.transaction() as uow:
            await uow.cases.add("K-0001", "kinship_care")


async def test_case_codes_by_id(database: Database) -> None:
    async with database.transaction() as uow:
        first = await uow.cases.add("K-0001", "foster_care")
        second = await uow.cases.add("K-0002", "simba_family_care")
    async with database.reading() as uow:
        assert await uow.cases.codes([first.id, second.id, second.id + 1000]) == {
            first.id: "K-0001",
            second.id: "K-0002",
        }
        assert await uow.cases.codes(set()) == {}


async def test_membership_is_idempotent_and_lists_a_persons_cases(database: Database) -> None:
    async with database.transaction() as uow:
        parent = await uow.people.add("telegram", "1", "family")
        other = await uow.people.add("telegram", "2", "family")
        first = await uow.cases.add("K-0001", "family_strengthening")
        second = await uow.cases.add("K-0002", "sos_family")
        await uow.cases.add_member(first.id, parent.id)
        await uow.cases.add_member(first.id, parent.id)
        await uow.cases.add_member(second.id, parent.id)
    # A second invite redeemed later is no error either.
    async with database.transaction() as uow:
        await uow.cases.add_member(first.id, parent.id)

    assert await count(database, "membership") == 2
    async with database.reading() as uow:
        cases = await uow.cases.of_person(parent.id)
        assert await uow.cases.of_person(other.id) == []
    assert [case.code for case in cases] == ["K-0001", "K-0002"]


async def test_case_by_id(database: Database) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "kinship_care")
    async with database.reading() as uow:
        found = await uow.cases.by_id(case.id)
        assert await uow.cases.by_id(case.id + 1000) is None
    assert found is not None and (found.code, found.programme) == ("K-0001", "kinship_care")


async def test_an_erased_case_is_found_only_by_reads_of_history(database: Database) -> None:
    async with database.transaction() as uow:
        caseworker = await uow.people.add("telegram", "1", "caseworker")
        parent = await uow.people.add("telegram", "2", "family")
        gone = await uow.cases.add("K-0001", "foster_care")
        kept = await uow.cases.add("K-0002", "foster_care")
        for case in (gone, kept):
            await uow.cases.assign_caseworker(case.id, caseworker.id)
            case.visit_due_at = case.review_due_at = case.reevaluation_due_at = T0
        await uow.cases.add_member(gone.id, parent.id)
        await uow.erasure.erase_case(gone.id, T0)
    async with database.transaction() as uow:
        for lookup in (
            uow.cases.by_code("K-0001"),
            uow.cases.by_code("K-0001", for_update=True),
            uow.cases.by_id(gone.id),
            uow.cases.by_id(gone.id, for_update=True),
            uow.cases.add_member(gone.id, caseworker.id),
            uow.cases.assign_caseworker(gone.id, caseworker.id),
        ):
            with pytest.raises(CaseErased) as refused:
                await lookup
            assert (refused.value.code, refused.value.caseworker_id) == ("K-0001", caseworker.id)
        found = await uow.cases.by_code("K-0001", erased=True)
        assert found is not None and found.erased_at == T0
        assert await uow.cases.by_id(gone.id, for_update=True, erased=True) is found
        # Listed nowhere as work, nor due for anything (the due dates were set on both).
        later = T0 + timedelta(days=1)
        assert [c.code for c in await uow.cases.assigned_to(caseworker.id)] == ["K-0002"]
        assert [c.code for c in await uow.cases.of_caseworker(caseworker.id)] == ["K-0002"]
        assert await uow.cases.of_person(parent.id) == []
        assert [c.code for c in await uow.cases.visits_due(later, 10)] == ["K-0002"]
        assert [c.code for c in await uow.cases.reviews_due(later, T0, 10)] == ["K-0002"]
        assert [c.code for c in await uow.cases.reevaluations_due(later, T0, 10)] == ["K-0002"]
        assert "K-0001" not in await uow.cases.without_reachable_caseworker()
        assert await uow.cases.codes([gone.id]) == {gone.id: "K-0001"}


async def test_an_erased_person_takes_no_new_settings(database: Database) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "1", "family", language="nl")
        await uow.erasure.forget_contact(person.id, T0)
    async with database.transaction() as uow:
        with pytest.raises(LookupError):
            await uow.people.set_language(person.id, "en")
        with pytest.raises(LookupError):
            await uow.people.set_status(person.id, "active")
        assert await uow.people.get("telegram", "1") is None


async def test_caseworker_is_assigned_and_replaced(database: Database) -> None:
    async with database.transaction() as uow:
        first = await uow.people.add("telegram", "1", "caseworker")
        second = await uow.people.add("telegram", "2", "caseworker")
        case = await uow.cases.add("K-0001", "foster_care")
        await uow.cases.assign_caseworker(case.id, first.id)
    async with database.reading() as uow:
        found = await uow.cases.by_id(case.id)
    assert found is not None and found.caseworker_id == first.id

    async with database.transaction() as uow:
        await uow.cases.assign_caseworker(case.id, second.id)
    async with database.reading() as uow:
        found = await uow.cases.by_id(case.id)
    assert found is not None and found.caseworker_id == second.id


async def test_caseworker_assignment_input_is_checked(database: Database) -> None:
    async with database.transaction() as uow:
        parent = await uow.people.add("telegram", "1", "family")
        coordinator = await uow.people.add("telegram", "2", "coordinator")
        caseworker = await uow.people.add("telegram", "3", "caseworker")
        case = await uow.cases.add("K-0001", "foster_care")
        # Whoever is assigned sees the family's answers: only a caseworker may be.
        for person in (parent, coordinator):
            with pytest.raises(ValueError, match="not a caseworker"):
                await uow.cases.assign_caseworker(case.id, person.id)
        with pytest.raises(LookupError, match="case"):
            await uow.cases.assign_caseworker(case.id + 1000, caseworker.id)
        with pytest.raises(LookupError, match="person"):
            await uow.cases.assign_caseworker(case.id, caseworker.id + 1000)
        found = await uow.cases.by_id(case.id)
        assert found is not None and found.caseworker_id is None


async def test_case_members_in_the_order_they_joined(database: Database) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "family_strengthening")
        other = await uow.cases.add("K-0002", "family_strengthening")
        empty = await uow.cases.add("K-0003", "family_strengthening")
        # Ids in the opposite order of joining: the order must come from the membership.
        later = await uow.people.add("telegram", "1", "family")
        earlier = await uow.people.add("telegram", "2", "family")
        stranger = await uow.people.add("telegram", "3", "family")
        await uow.cases.add_member(other.id, stranger.id)
    async with database.transaction() as uow:
        await uow.cases.add_member(case.id, earlier.id)
    async with database.transaction() as uow:
        await uow.cases.add_member(case.id, later.id)
    async with database.reading() as uow:
        members = await uow.cases.members(case.id)
        assert await uow.cases.members(empty.id) == []
        assert await uow.cases.members(case.id + 1000) == []
    assert [person.id for person in members] == [earlier.id, later.id]


async def test_caseworker_overview_in_one_query(database: Database) -> None:
    checkin = "family_checkin"
    async with database.transaction() as uow:
        worker = await uow.people.add("telegram", "1", "caseworker")
        colleague = await uow.people.add("telegram", "2", "caseworker")
        parent = await uow.people.add("telegram", "3", "family")
        # Made out of code order: the overview sorts by code, not by id.
        c3 = await uow.cases.add("K-0003", "sos_family")
        c1 = await uow.cases.add("K-0001", "foster_care")
        c2 = await uow.cases.add("K-0002", "kinship_care")
        theirs = await uow.cases.add("K-0004", "foster_care")
        unassigned = await uow.cases.add("K-0000", "foster_care")
        for case in (c1, c2, c3):
            await uow.cases.assign_caseworker(case.id, worker.id)
        await uow.cases.assign_caseworker(theirs.id, colleague.id)

        async def run(case_id: int, flow: str, started: float, ended: float | None) -> int:
            made = await uow.runs.start(parent.id, case_id, flow, 1, "q1", {}, T0 + _h(started))
            if ended is not None:
                await uow.runs.update(
                    made, step="end", state={}, status="completed", now=T0 + _h(ended)
                )
            return made.id

        # K-0001: two finished check-ins; the later *finish* counts, although the run that
        # finished last started first. A check-in still going, a paused one and a finished
        # home visit come later still and must not count.
        r1 = await run(c1.id, checkin, started=0, ended=9)
        await run(c1.id, checkin, started=1, ended=2)
        await run(c1.id, checkin, started=20, ended=None)
        paused = await uow.runs.start(parent.id, c1.id, checkin, 1, "q", {}, T0 + _h(21))
        await uow.runs.pause(paused, T0 + _h(22))
        await run(c1.id, "home_visit", started=23, ended=24)
        # K-0002: only a check-in that is still going.
        await run(c2.id, checkin, started=5, ended=None)
        # K-0003: no runs at all. The colleague's case has a newer check-in.
        await run(theirs.id, checkin, started=30, ended=31)

        async def flag(case_id: int | None, level: str = "high") -> Flag:
            return await uow.flags.raise_flag(
                case_id=case_id,
                run_id=r1,
                flow_id=checkin,
                flow_version=1,
                rule="r",
                level=level,
                reason="reason",
                evidence={},
                raised_at=T0,
                due_at=T0 + _h(1),
            )

        await flag(c1.id, "urgent")
        await flag(c1.id, "low")
        closed = await flag(c1.id)
        await flag(c3.id)
        await flag(theirs.id)
        await flag(unassigned.id)
        await flag(None)
    async with database.engine.begin() as conn:
        await conn.execute(update(Flag).where(Flag.id == closed.id).values(status="resolved"))

    selects: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", watch)
    try:
        async with database.reading() as uow:
            overview = await uow.cases.of_caseworker(worker.id, checkin_flow="family_checkin")
            assert await uow.cases.of_caseworker(parent.id) == []
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", watch)

    assert overview == [
        CaseSummary(c1.id, "K-0001", "foster_care", "open", T0 + _h(9), 2),
        CaseSummary(c2.id, "K-0002", "kinship_care", "open", None, 0),
        CaseSummary(c3.id, "K-0003", "sos_family", "open", None, 1),
    ]
    assert overview[0].last_checkin_at is not None
    assert overview[0].last_checkin_at.tzinfo is UTC
    assert all(isinstance(line.open_flags, int) for line in overview)
    # One statement per call, however many cases: no query per case.
    assert len(selects) == 2
    async with database.reading() as uow:
        assigned = await uow.cases.assigned_to(worker.id)
        assert [case.code for case in assigned] == ["K-0001", "K-0002", "K-0003"]
        assert await uow.cases.assigned_to(parent.id) == []


# --- invites -----------------------------------------------------------------------------


def sha256(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def add_invite(
    uow: UnitOfWork,
    code: str,
    *,
    role: str = "family",
    case_id: int | None = None,
    created_by: int | None = None,
    expires_at: datetime = T0 + timedelta(days=7),
) -> int:
    invite = await uow.invites.add(
        code_hash=sha256(code),
        role=role,
        case_id=case_id,
        created_by=created_by,
        created_at=T0,
        expires_at=expires_at,
    )
    return invite.id


async def test_invite_is_added_and_found_by_its_hash(database: Database) -> None:
    async with database.transaction() as uow:
        coordinator = await uow.people.add("telegram", "1", "coordinator")
        case = await uow.cases.add("K-0001", "foster_care")
        family_invite = await add_invite(uow, "s3cret", case_id=case.id, created_by=coordinator.id)
        # Made on the command line, for a caseworker without a case to take over yet.
        staff_invite = await add_invite(uow, "other", role="caseworker")
    async with database.reading() as uow:
        found = await uow.invites.find(sha256("s3cret"))
        staff = await uow.invites.find(sha256("other"))
        assert await uow.invites.find(sha256("unknown")) is None
    assert found is not None and staff is not None
    assert (found.id, found.role, found.case_id) == (family_invite, "family", case.id)
    assert (found.created_by, found.created_at) == (coordinator.id, T0)
    assert found.expires_at == T0 + timedelta(days=7) and found.expires_at.tzinfo is UTC
    assert (found.used_at, found.used_by) == (None, None)
    assert (staff.id, staff.role, staff.case_id, staff.created_by) == (
        staff_invite,
        "caseworker",
        None,
        None,
    )
    # Neither the code nor its hash is written to logs through the repr.
    assert "s3cret" not in repr(found) and sha256("s3cret") not in repr(found)

    with pytest.raises(IntegrityError):
        async with database.transaction() as uow:
            await add_invite(uow, "s3cret", role="coordinator")


async def test_the_invite_code_itself_is_never_stored(database: Database) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
        # A forgotten hashlib call: the plain code, or a hash spelled some other way.
        for wrong in ("s3cret", sha256("s3cret").upper(), sha256("s3cret")[:63], ""):
            with pytest.raises(ValueError, match="SHA-256"):
                await uow.invites.add(
                    code_hash=wrong,
                    role="family",
                    case_id=case.id,
                    created_by=None,
                    created_at=T0,
                    expires_at=T0 + _h(1),
                )
            with pytest.raises(ValueError, match="SHA-256"):
                await uow.invites.find(wrong)
    assert await count(database, "invite") == 0


async def test_invite_input_is_checked(database: Database) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
        with pytest.raises(ValueError, match="role"):
            await add_invite(uow, "a", role="admin", case_id=case.id)
        with pytest.raises(ValueError, match="needs a case"):
            await add_invite(uow, "b", role="family", case_id=None)
        with pytest.raises(ValueError, match="expire"):
            await add_invite(uow, "c", case_id=case.id, expires_at=T0)
        with pytest.raises(ValueError, match="naive datetime"):
            await add_invite(uow, "d", case_id=case.id, expires_at=datetime(2030, 1, 1))
    assert await count(database, "invite") == 0


async def test_invite_is_claimed_once(database: Database) -> None:
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
        first = await uow.people.add("telegram", "1", "family")
        second = await uow.people.add("telegram", "2", "family")
        invite_id = await add_invite(uow, "code", case_id=case.id)
    async with database.transaction() as uow:
        invite = await uow.invites.find(sha256("code"))
        assert invite is not None and invite.used_at is None
        assert await uow.invites.claim(invite_id, first.id, T0 + _h(1))
        # The invite this transaction loaded shows the claim without being read again.
        assert (invite.used_at, invite.used_by) == (T0 + _h(1), first.id)
        assert not await uow.invites.claim(invite_id, second.id, T0 + _h(1))
    async with database.transaction() as uow:
        assert not await uow.invites.claim(invite_id, second.id, T0 + _h(2))
        assert not await uow.invites.claim(invite_id, first.id, T0 + _h(2))
        assert not await uow.invites.claim(invite_id + 1000, second.id, T0 + _h(2))
    async with database.reading() as uow:
        found = await uow.invites.find(sha256("code"))
    assert found is not None and (found.used_at, found.used_by) == (T0 + _h(1), first.id)


async def test_expired_invite_cannot_be_claimed(database: Database) -> None:
    expires = T0 + _h(24)
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
        person = await uow.people.add("telegram", "1", "family")
        late = await add_invite(uow, "late", case_id=case.id, expires_at=expires)
        on_time = await add_invite(uow, "on_time", case_id=case.id, expires_at=expires)
    async with database.transaction() as uow:
        # Expiry is exclusive: at the stroke of expires_at the code no longer works.
        assert not await uow.invites.claim(late, person.id, expires)
        assert not await uow.invites.claim(late, person.id, expires + _h(1))
        assert await uow.invites.claim(on_time, person.id, expires - timedelta(seconds=1))
    async with database.reading() as uow:
        found = await uow.invites.find(sha256("late"))
    assert found is not None and (found.used_at, found.used_by) == (None, None)


async def test_claimed_invite_is_released_by_a_rollback(database: Database) -> None:
    # The loser of a race, or a join that fails later on, must not have used up the code.
    async with database.transaction() as uow:
        case = await uow.cases.add("K-0001", "foster_care")
        invite_id = await add_invite(uow, "code", case_id=case.id)
    with pytest.raises(Boom):
        async with database.transaction() as uow:
            person = await uow.people.add("telegram", "1", "family")
            assert await uow.invites.claim(invite_id, person.id, T0)
            raise Boom
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "1", "family")
        assert await uow.invites.claim(invite_id, person.id, T0)


# --- processed updates -------------------------------------------------------------------


async def test_update_is_claimed_once(database: Database) -> None:
    async with database.transaction() as uow:
        assert await uow.updates.claim("telegram:1", T0)
        assert not await uow.updates.claim("telegram:1", T0)
        assert await uow.updates.claim("telegram:2", T0)
    # The same update delivered again later, after the first handling committed.
    async with database.transaction() as uow:
        assert not await uow.updates.claim("telegram:1", T0 + _h(1))
        assert await uow.updates.claim("console:1", T0 + _h(1))
    assert await count(database, "processed_update") == 3


async def test_update_claim_rolls_back_with_its_handling(database: Database) -> None:
    with pytest.raises(Boom):
        async with database.transaction() as uow:
            assert await uow.updates.claim("telegram:1", T0)
            await uow.people.add("telegram", "1", "family")
            raise Boom  # the handling failed after the claim
    assert await count(database, "processed_update") == 0
    # So the redelivered update is handled again, this time for good.
    async with database.transaction() as uow:
        assert await uow.updates.claim("telegram:1", T0)
        await uow.people.add("telegram", "1", "family")
    async with database.transaction() as uow:
        assert not await uow.updates.claim("telegram:1", T0)


async def test_update_key_is_checked(database: Database) -> None:
    async with database.transaction() as uow:
        assert await uow.updates.claim("k" * 64, T0)
        for wrong in ("", "k" * 65):
            with pytest.raises(ValueError, match="key"):
                await uow.updates.claim(wrong, T0)
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as uow:
            await uow.updates.claim("telegram:1", datetime(2025, 1, 1))
    assert await count(database, "processed_update") == 1


async def test_old_updates_are_pruned(database: Database) -> None:
    """The one way update keys go (`retention.forget_old_updates`, at start-up and in every
    retention run): strictly before the cut-off, a batch at a time."""
    async with database.transaction() as uow:
        for hour in range(4):
            await uow.updates.claim(f"telegram:{hour}", T0 + _h(hour))
    async with database.transaction() as uow:
        # Strictly before: the update handled at the cut-off itself is kept.
        assert await uow.retention.prune_updates(T0 + _h(2), 1) == 1
        assert await uow.retention.prune_updates(T0 + _h(2), 10) == 1
        assert await uow.retention.prune_updates(T0 + _h(2), 10) == 0
    async with database.transaction() as uow:
        assert not await uow.updates.claim("telegram:2", T0 + _h(5))
        assert not await uow.updates.claim("telegram:3", T0 + _h(5))
        # A pruned key is forgotten: prune only what can no longer be delivered again.
        assert await uow.updates.claim("telegram:0", T0 + _h(5))
        assert await uow.retention.prune_updates(T0 + _h(10), 10) == 3
    assert await count(database, "processed_update") == 0


# --- runs --------------------------------------------------------------------------------


async def test_run_starts_active_with_integer_id(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.reading() as uow:
        run = await uow.runs.get(s.run_id)
        assert await uow.runs.get(s.run_id + 1000) is None
    assert run is not None
    assert isinstance(run.id, int)
    assert (run.person_id, run.case_id) == (s.person_id, s.case_id)
    assert (run.flow_id, run.flow_version, run.step) == ("family_checkin", 1, "start")
    assert run.status == "active"
    assert run.state == {"n": 0}
    assert run.started_at == run.updated_at == T0
    assert run.ended_at is None


async def test_run_ids_keep_increasing(database: Database, seed: SeedFn) -> None:
    ids = [(await seed()).run_id for _ in range(3)]
    assert ids == sorted(ids) and len(set(ids)) == 3


async def test_run_update_pause_and_complete(database: Database, seed: SeedFn) -> None:
    s = await seed()
    later, end = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    async with database.transaction() as uow:
        run = await uow.runs.get(s.run_id)
        assert run is not None
        await uow.runs.update(
            run,
            step="who5_cheerful",
            state={"n": 1, "nested": [1, "a"]},
            status="active",
            now=later,
        )
    async with database.transaction() as uow:
        run = await uow.runs.get(s.run_id)
        assert run is not None
        assert (run.step, run.state, run.updated_at) == (
            "who5_cheerful",
            {"n": 1, "nested": [1, "a"]},
            later,
        )
        assert run.ended_at is None
        await uow.runs.pause(run, end)
    async with database.transaction() as uow:
        run = await uow.runs.get(s.run_id)
        assert run is not None
        assert (run.status, run.updated_at, run.ended_at) == ("paused", end, None)
        await uow.runs.update(run, step="end", state={"n": 2}, status="completed", now=end)
    async with database.transaction() as uow:
        run = await uow.runs.get(s.run_id)
        assert run is not None
        assert (run.status, run.ended_at) == ("completed", end)
        with pytest.raises(ValueError, match="completed"):
            await uow.runs.pause(run, end)
        with pytest.raises(ValueError, match="status"):
            await uow.runs.update(run, step="x", state={}, status="finished", now=end)


async def test_current_is_the_latest_active_or_paused_run(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        first = await uow.runs.get(s.run_id)
        assert first is not None
        await uow.runs.pause(first, T0)
        newer = await uow.runs.start(s.person_id, s.case_id, "wellbeing", 2, "q1", {}, T0 + _h(1))
        done = await uow.runs.start(s.person_id, s.case_id, "safety", 1, "q1", {}, T0 + _h(2))
        await uow.runs.update(done, step="end", state={}, status="completed", now=T0 + _h(3))
    # Somebody else's newer run is none of this person's business.
    other = await seed(now=T0 + _h(5))

    async with database.transaction() as uow:
        current = await uow.runs.current(s.person_id)
        assert current is not None and current.id == newer.id
        await uow.runs.update(current, step="end", state={}, status="completed", now=T0 + _h(4))

    async with database.reading() as uow:
        # Reading transactions take no locks but find the same run.
        current = await uow.runs.current(s.person_id)
        assert current is not None and current.id == first.id and current.status == "paused"
        other_current = await uow.runs.current(other.person_id)
        assert other_current is not None and other_current.id == other.run_id

    async with database.transaction() as uow:
        run = await uow.runs.get(first.id)
        assert run is not None
        await uow.runs.update(run, step="end", state={}, status="completed", now=T0 + _h(6))
    async with database.transaction() as uow:
        assert await uow.runs.current(s.person_id) is None


async def test_current_for_a_person_without_runs_is_none(database: Database) -> None:
    async with database.transaction() as uow:
        person = await uow.people.add("telegram", "5", "family")
        assert await uow.runs.current(person.id) is None


# --- answers and scores -------------------------------------------------------------------


async def test_answer_upsert_never_duplicates(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        await uow.answers.record(s.run_id, "who5.cheerful", 2, "who5_cheerful", T0)
        await uow.answers.record(s.run_id, "who5.cheerful", 3, "who5_cheerful", T0 + _h(1))
    # The same update delivered again after a restart, and a revisited question later on.
    async with database.transaction() as uow:
        await uow.answers.record(s.run_id, "who5.cheerful", 3, "who5_cheerful", T0 + _h(1))
        await uow.answers.record(s.run_id, "who5.cheerful", 5, "who5_again", T0 + _h(2))

    assert await count(database, "answer") == 1
    async with database.reading() as uow:
        assert await uow.answers.of_run(s.run_id) == {"who5.cheerful": 5}
    rows = [row async for row in database.answer_rows()]
    assert [(row.value, row.answered_at) for row in rows] == [(5, T0 + _h(2))]


async def test_answer_values_keep_their_json_type(database: Database, seed: SeedFn) -> None:
    s = await seed()
    other = await seed()
    values = {"safe.now": True, "kids.count": 3, "sleep.hours": 6.5, "note.lang": "nl", "z": 0}
    async with database.transaction() as uow:
        for minute, (key, value) in enumerate(values.items()):
            await uow.answers.record(s.run_id, key, value, "step", T0 + timedelta(minutes=minute))
        await uow.answers.record(other.run_id, "safe.now", False, "step", T0)
    async with database.reading() as uow:
        got = await uow.answers.of_run(s.run_id)
        assert await uow.answers.of_run(other.run_id) == {"safe.now": False}
        assert await uow.answers.of_run(other.run_id + 1000) == {}
    assert got == values
    assert list(got) == list(values)  # in the order they were answered
    assert [type(value) for value in got.values()] == [bool, int, float, str, int]


async def test_scores_upsert(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        await uow.scores.record(s.run_id, "who5", 12, T0)
        await uow.scores.record(s.run_id, "who5", 14.5, T0 + _h(1))
        await uow.scores.record(s.run_id, "alone_at_home", 0, T0)
    assert await count(database, "score") == 2
    async with database.reading() as uow:
        scores = await uow.scores.of_run(s.run_id)
    assert scores == {"alone_at_home": 0.0, "who5": 14.5}
    assert all(isinstance(value, float) for value in scores.values())


# --- flags -------------------------------------------------------------------------------


async def raise_flag(uow: UnitOfWork, s: Seed, rule: str, level: str, due: datetime) -> Flag:
    return await uow.flags.raise_flag(
        case_id=s.case_id,
        run_id=s.run_id,
        flow_id="family_checkin",
        flow_version=1,
        rule=rule,
        level=level,
        reason="A child was left alone at home",
        evidence={"kids.alone": True, "kids.count": 2},
        raised_at=T0,
        due_at=due,
    )


async def test_flag_is_raised_with_its_evidence(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        flag = await raise_flag(uow, s, "alone", "high", T0 + _h(24))
    assert isinstance(flag.id, int) and flag.status == "open"
    async with database.reading() as uow:
        (found,) = await uow.flags.of_run(s.run_id)
        assert await uow.flags.of_run(s.run_id + 1000) == []
    assert found.id == flag.id
    assert (found.case_id, found.flow_id, found.flow_version) == (s.case_id, "family_checkin", 1)
    assert (found.rule, found.level, found.reason) == (
        "alone",
        "high",
        "A child was left alone at home",
    )
    assert found.evidence == {"kids.alone": True, "kids.count": 2}
    assert (found.raised_at, found.due_at) == (T0, T0 + _h(24))
    assert found.due_at.tzinfo is UTC


async def test_flag_without_case_or_run(database: Database) -> None:
    # The safety interrupt can fire before a person has a case or a run.
    async with database.transaction() as uow:
        flag = await uow.flags.raise_flag(
            case_id=None,
            run_id=None,
            flow_id="safety",
            flow_version=1,
            rule="danger_words",
            level="urgent",
            reason="Immediate danger reported",
            evidence={},
            raised_at=T0,
            due_at=T0 + _h(1),
        )
    async with database.reading() as uow:
        assert [f.id for f in await uow.flags.open_flags()] == [flag.id]


async def test_flag_unknown_level_is_refused(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        with pytest.raises(ValueError, match="level"):
            await raise_flag(uow, s, "x", "critical", T0)


async def test_open_flags_most_serious_first_then_due(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        # Raised in an order that is neither by level, nor alphabetical, nor by due time.
        await raise_flag(uow, s, "low_soon", "low", T0 + _h(1))
        await raise_flag(uow, s, "high_late", "high", T0 + _h(30))
        await raise_flag(uow, s, "urgent_late", "urgent", T0 + _h(3))
        await raise_flag(uow, s, "medium", "medium", T0 + _h(2))
        await raise_flag(uow, s, "high_soon", "high", T0 + _h(20))
        await raise_flag(uow, s, "urgent_soon", "urgent", T0 + _h(1))
        closed = await raise_flag(uow, s, "urgent_closed", "urgent", T0)
    async with database.engine.begin() as conn:
        # Acknowledging and resolving belong to the flags service; here only "not open" matters.
        await conn.execute(update(Flag).where(Flag.id == closed.id).values(status="resolved"))

    async with database.reading() as uow:
        queue = await uow.flags.open_flags()
        of_run = await uow.flags.of_run(s.run_id)
    assert [flag.rule for flag in queue] == [
        "urgent_soon",
        "urgent_late",
        "high_soon",
        "high_late",
        "medium",
        "low_soon",
    ]
    assert len(of_run) == 7  # of_run shows the whole history, closed flags included


async def test_open_flags_of_some_cases(database: Database, seed: SeedFn) -> None:
    a, b, c = await seed(), await seed(), await seed()
    async with database.transaction() as uow:
        a_low = await raise_flag(uow, a, "a_low", "low", T0 + _h(1))
        a_urgent = await raise_flag(uow, a, "a_urgent", "urgent", T0 + _h(5))
        a_closed = await raise_flag(uow, a, "a_closed", "urgent", T0)
        b_high = await raise_flag(uow, b, "b_high", "high", T0 + _h(2))
        c_medium = await raise_flag(uow, c, "c_medium", "medium", T0 + _h(2))
        caseless = await uow.flags.raise_flag(
            case_id=None,
            run_id=None,
            flow_id="safety",
            flow_version=1,
            rule="danger_words",
            level="urgent",
            reason="Immediate danger reported",
            evidence={},
            raised_at=T0,
            due_at=T0 + _h(9),
        )
    async with database.engine.begin() as conn:
        await conn.execute(update(Flag).where(Flag.id == a_closed.id).values(status="resolved"))

    async with database.reading() as uow:
        only_a = await uow.flags.open_flags([a.case_id])
        a_and_b = await uow.flags.open_flags(i for i in (b.case_id, a.case_id, a.case_id))
        everything = await uow.flags.open_flags()
        assert await uow.flags.open_flags([]) == []
        assert await uow.flags.open_flags(set()) == []
        assert await uow.flags.open_flags([c.case_id + 1000]) == []
    assert [f.id for f in only_a] == [a_urgent.id, a_low.id]
    assert [f.id for f in a_and_b] == [a_urgent.id, b_high.id, a_low.id]
    # No filter: every open flag, the ones of no case included, most serious first.
    assert [f.id for f in everything] == [
        a_urgent.id,
        caseless.id,
        b_high.id,
        c_medium.id,
        a_low.id,
    ]


# --- flag review: the columns the flags service changes ------------------------------------


async def add_flag(
    uow: UnitOfWork,
    case_id: int | None,
    rule: str,
    level: str,
    *,
    raised: datetime = T0,
    due: datetime | None = None,
    flow_id: str = "family_checkin",
) -> Flag:
    return await uow.flags.raise_flag(
        case_id=case_id,
        run_id=None,
        flow_id=flow_id,
        flow_version=1,
        rule=rule,
        level=level,
        reason="A child does not feel safe at home.",
        evidence={"children.safe_at_home": "no"},
        raised_at=raised,
        due_at=raised + _h(1) if due is None else due,
    )


async def add_staff(database: Database, external_id: str, role: str = "caseworker") -> int:
    async with database.transaction() as uow:
        return (await uow.people.add("telegram", external_id, role)).id


async def test_a_raised_flag_waits_to_be_told_and_escalates_at_its_due_time(
    database: Database, seed: SeedFn
) -> None:
    s = await seed()
    async with database.transaction() as uow:
        flag = await add_flag(uow, s.case_id, "r", "high", due=T0 + _h(24))
    async with database.reading() as uow:
        found = await uow.flags.get(flag.id)
        assert await uow.flags.get(flag.id + 1000) is None
    assert found is not None
    assert (found.notified_at, found.escalate_at, found.escalations) == (None, T0 + _h(24), 0)
    assert (found.assigned_to, found.acknowledged_at, found.acknowledged_by) == (None, None, None)
    assert (found.resolved_at, found.resolved_by, found.resolution) == (None, None, None)


async def test_flag_review_changes_are_stored(database: Database, seed: SeedFn) -> None:
    s = await seed()
    reviewer = await add_staff(database, "9001", "coordinator")
    worker = await add_staff(database, "9002")
    async with database.transaction() as uow:
        flag = await add_flag(uow, s.case_id, "r", "urgent")
    async with database.transaction() as uow:
        row = await uow.flags.get(flag.id)
        await uow.flags.assign(row, worker)
        await uow.flags.acknowledge(row, reviewer, T0 + _m(5))
    async with database.reading() as uow:
        row = await uow.flags.get(flag.id)
    assert (row.status, row.assigned_to, row.escalate_at) == ("acknowledged", worker, None)
    assert (row.acknowledged_by, row.acknowledged_at) == (reviewer, T0 + _m(5))

    async with database.transaction() as uow:
        row = await uow.flags.get(flag.id)
        await uow.flags.resolve(row, worker, T0 + _m(9), "Visited; all well.")
    async with database.reading() as uow:
        row = await uow.flags.get(flag.id)
    assert (row.status, row.resolved_by, row.resolved_at) == ("resolved", worker, T0 + _m(9))
    assert (row.resolution, row.escalate_at) == ("Visited; all well.", None)

    async with database.transaction() as uow:
        row = await uow.flags.get(flag.id)
        await uow.flags.reopen(row, T0 + _h(5))
    async with database.reading() as uow:
        row = await uow.flags.get(flag.id)
        assert await uow.flags.open_flags() == [row]
    assert (row.status, row.due_at, row.escalate_at) == ("open", T0 + _h(5), T0 + _h(5))
    assert (row.acknowledged_by, row.acknowledged_at, row.resolved_by) == (None, None, None)
    assert (row.resolved_at, row.resolution, row.assigned_to) == (None, None, worker)


async def test_to_escalate_honours_status_and_time(database: Database, seed: SeedFn) -> None:
    s = await seed()
    reviewer = await add_staff(database, "9001", "coordinator")
    now = T0 + _h(2)
    async with database.transaction() as uow:
        late = await add_flag(uow, s.case_id, "late", "low", due=T0 + _h(1))
        on_time = await add_flag(uow, s.case_id, "on_time", "urgent", due=now)
        early = await add_flag(uow, s.case_id, "early", "urgent", due=now + _m(1))
        acknowledged = await add_flag(uow, s.case_id, "ack", "urgent", due=T0)
        resolved = await add_flag(uow, s.case_id, "resolved", "urgent", due=T0)
        caseless = await add_flag(uow, None, "caseless", "medium", due=T0 + _m(30))
        await uow.flags.acknowledge(acknowledged, reviewer, T0)
        await uow.flags.resolve(resolved, reviewer, T0, "done")
        sneaky = await add_flag(uow, s.case_id, "sneaky", "urgent", due=T0)
    async with database.engine.begin() as conn:
        # Only open flags escalate, whatever escalate_at says.
        await conn.execute(update(Flag).where(Flag.id == sneaky.id).values(status="acknowledged"))

    async with database.transaction() as uow:
        due = await uow.flags.to_escalate(now)
        assert [f.id for f in due] == [caseless.id, late.id, on_time.id]  # by escalation time
        assert [f.id for f in await uow.flags.to_escalate(now, limit=2)] == [caseless.id, late.id]
        assert await uow.flags.to_escalate(T0) == []
        for flag in due:
            await uow.flags.escalated(flag, now + _h(1))
    assert early.id not in {f.id for f in due}
    async with database.transaction() as uow:
        assert [f.id for f in await uow.flags.to_escalate(now + _m(59))] == [early.id]
        later = await uow.flags.to_escalate(now + _h(1))
        assert {f.id for f in later} == {early.id, caseless.id, late.id, on_time.id}
        assert {f.escalations for f in later if f.id != early.id} == {1}


async def test_to_notify_honours_levels_status_and_time(database: Database, seed: SeedFn) -> None:
    s = await seed()
    reviewer = await add_staff(database, "9001", "coordinator")
    async with database.transaction() as uow:
        high_later = await add_flag(uow, s.case_id, "high_later", "high", raised=T0 + _m(10))
        urgent = await add_flag(uow, s.case_id, "urgent", "urgent", raised=T0 + _m(20))
        high_first = await add_flag(uow, s.case_id, "high_first", "high", raised=T0)
        medium = await add_flag(uow, s.case_id, "medium", "medium", raised=T0)
        low = await add_flag(uow, None, "low", "low", raised=T0)
        acknowledged = await add_flag(uow, s.case_id, "ack", "urgent", raised=T0 + _m(30))
        resolved = await add_flag(uow, s.case_id, "resolved", "urgent", raised=T0)
        told = await add_flag(uow, s.case_id, "told", "urgent", raised=T0)
        await uow.flags.acknowledge(acknowledged, reviewer, T0 + _m(31))
        await uow.flags.resolve(resolved, reviewer, T0, "done")
        await uow.flags.notified([told], T0 + _m(1))

    async with database.transaction() as uow:
        at_once = await uow.flags.to_notify(("urgent", "high"), T0 + _h(1))
        # Most serious first, then oldest; acknowledged still counts (nobody told them yet).
        assert [f.id for f in at_once] == [urgent.id, acknowledged.id, high_first.id, high_later.id]
        digest = await uow.flags.to_notify(["medium", "low"], T0 + _h(1))
        assert [f.id for f in digest] == [medium.id, low.id]
        # Raised *before* the moment: not at it.
        assert [f.id for f in await uow.flags.to_notify(("high",), T0 + _m(10))] == [high_first.id]
        assert await uow.flags.to_notify(("urgent", "high", "medium", "low"), T0) == []
        assert len(await uow.flags.to_notify(("urgent", "high"), T0 + _h(1), limit=1)) == 1
        await uow.flags.notified(at_once, T0 + _h(1))
    async with database.transaction() as uow:
        assert await uow.flags.to_notify(("urgent", "high"), T0 + _h(2)) == []
        row = await uow.flags.get(told.id)
        assert row.notified_at == T0 + _m(1)
        # A repeat: to be told again, from a moment on (the end of an alarm storm's window).
        await uow.flags.renotify(row, escalate_at=T0 + _h(3), tell_at=T0 + _h(2))
    async with database.transaction() as uow:
        assert await uow.flags.to_notify(("urgent",), T0 + _h(2)) == []
        (again,) = await uow.flags.to_notify(("urgent",), T0 + _h(3))
        assert again.id == told.id
        await uow.flags.notified([again], T0 + _h(3))
        assert (again.notified_at, again.tell_again_at) == (T0 + _h(3), None)
    async with database.reading() as uow:
        assert await uow.flags.to_notify(("urgent",), T0 + _h(4)) == []


async def test_open_flags_assigned_to_someone(database: Database, seed: SeedFn) -> None:
    a, b = await seed(), await seed()
    worker = await add_staff(database, "9001")
    other = await add_staff(database, "9002")
    async with database.transaction() as uow:
        a_low = await add_flag(uow, a.case_id, "a_low", "low", due=T0 + _h(5))
        b_high = await add_flag(uow, b.case_id, "b_high", "high", due=T0 + _h(2))
        b_mine = await add_flag(uow, b.case_id, "b_mine", "urgent", due=T0 + _h(3))
        caseless_mine = await add_flag(uow, None, "caseless", "medium", due=T0 + _h(1))
        b_resolved_mine = await add_flag(uow, b.case_id, "b_resolved", "urgent", due=T0)
        b_theirs = await add_flag(uow, b.case_id, "b_theirs", "urgent", due=T0)
        for flag in (b_mine, caseless_mine, b_resolved_mine):
            await uow.flags.assign(flag, worker)
        await uow.flags.assign(b_theirs, other)
        await uow.flags.resolve(b_resolved_mine, other, T0, "done")

    async with database.reading() as uow:
        own_and_assigned = await uow.flags.open_flags([a.case_id], assigned_to=worker)
        assigned_only = await uow.flags.open_flags([], assigned_to=worker)
        everything = await uow.flags.open_flags(None, assigned_to=worker)
        resolved = await uow.flags.open_flags(statuses=["resolved"])
        with pytest.raises(ValueError, match="status"):
            await uow.flags.open_flags(statuses=["closed"])
    assert [f.id for f in own_and_assigned] == [b_mine.id, caseless_mine.id, a_low.id]
    assert [f.id for f in assigned_only] == [b_mine.id, caseless_mine.id]
    assert {f.id for f in everything} == {a_low.id, b_high.id, b_mine.id, caseless_mine.id} | {
        b_theirs.id
    }
    assert [f.id for f in resolved] == [b_resolved_mine.id]


async def test_unresolved_for_is_per_case_flow_and_rule(database: Database, seed: SeedFn) -> None:
    a, b = await seed(), await seed()
    reviewer = await add_staff(database, "9001", "coordinator")
    async with database.transaction() as uow:
        first = await add_flag(uow, a.case_id, "r", "urgent")
        await add_flag(uow, b.case_id, "r", "urgent")
        await add_flag(uow, a.case_id, "r", "urgent", flow_id="other")
        caseless = await add_flag(uow, None, "r", "urgent")
    async with database.transaction() as uow:

        async def found(case_id: int | None, flow_id: str, rule: str) -> int | None:
            flag = await uow.flags.unresolved_for(case_id, flow_id, rule)
            return None if flag is None else flag.id

        assert await found(a.case_id, "family_checkin", "r") == first.id
        assert await found(None, "family_checkin", "r") == caseless.id
        assert await found(a.case_id, "family_checkin", "other") is None
        row = await uow.flags.get(first.id)
        await uow.flags.acknowledge(row, reviewer, T0)
        assert await found(a.case_id, "family_checkin", "r") == first.id  # unresolved still
        await uow.flags.add_evidence(row, {"children.safe_at_home": "no", "run_id": 7})
        await uow.flags.add_evidence(row, {"children.safe_at_home": "not_always"})
        await uow.flags.resolve(row, reviewer, T0, "done")
        assert await found(a.case_id, "family_checkin", "r") is None
    async with database.reading() as uow:
        row = await uow.flags.get(first.id)
    assert row.evidence == {
        "children.safe_at_home": "no",
        "repeats": [
            {"children.safe_at_home": "no", "run_id": 7},
            {"children.safe_at_home": "not_always"},
        ],
    }


# --- the audit log -----------------------------------------------------------------------


async def test_audit_events_are_recorded_and_read_in_order(database: Database) -> None:
    async with database.transaction() as uow:
        later = await uow.audit.record(
            at=T0 + _m(5),
            actor_id=3,
            actor_role="coordinator",
            action="resolved",
            case_id=1,
            flag_id=10,
            note="All well.",
        )
        first = await uow.audit.record(
            at=T0,
            actor_id=None,
            actor_role="system",
            action="escalated",
            case_id=1,
            flag_id=10,
            detail={"count": 1},
        )
        same_time = await uow.audit.record(
            at=T0 + _m(5), actor_id=3, actor_role="coordinator", action="case_viewed", case_id=1
        )
        other = await uow.audit.record(
            at=T0, actor_id=4, actor_role="caseworker", action="noted", case_id=2, flag_id=11
        )
        with pytest.raises(ValueError, match="actor role"):
            await uow.audit.record(at=T0, actor_id=1, actor_role="admin", action="viewed")
    async with database.reading() as uow:
        of_flag = await uow.audit.of_flags([10])
        of_both = await uow.audit.of_flags(iter([11, 10]))
        assert await uow.audit.of_flags([]) == []
        of_case = await uow.audit.events(case_id=1)
        since = await uow.audit.events(since=T0 + _m(5))
        everything = await uow.audit.events()
    assert [e.id for e in of_flag] == [first.id, later.id]
    assert [e.id for e in of_both] == [first.id, other.id, later.id]
    assert [e.id for e in of_case] == [first.id, later.id, same_time.id]
    assert [e.id for e in since] == [later.id, same_time.id]
    assert len(everything) == 4
    got = of_flag[0]
    assert (got.at, got.actor_id, got.actor_role, got.detail, got.note) == (
        T0,
        None,
        "system",
        {"count": 1},
        None,
    )
    assert got.at.tzinfo is UTC
    assert of_flag[1].detail == {} and of_flag[1].note == "All well."


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET action = 'acknowledged', note = 'rewritten'",
        "UPDATE audit_event SET at = at",
        "DELETE FROM audit_event",
        "DELETE FROM audit_event WHERE action = 'escalated'",
    ],
)
async def test_audit_log_refuses_update_and_delete(database: Database, statement: str) -> None:
    async with database.transaction() as uow:
        await uow.audit.record(
            at=T0, actor_id=None, actor_role="system", action="escalated", flag_id=1
        )
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as conn:
            await conn.execute(text(statement))
    async with database.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT action, note FROM audit_event"))).all()
    assert [tuple(row) for row in rows] == [("escalated", None)]


async def test_audit_log_refuses_changes_through_the_orm(database: Database) -> None:
    """Who did what when stays as written; only the sealed note may change (key rotation
    re-seals it, erasure blanks it)."""
    async with database.transaction() as uow:
        event = await uow.audit.record(
            at=T0, actor_id=1, actor_role="caseworker", action="noted", note="Called."
        )
    later = T0 + timedelta(days=1)
    for change in ("action", "actor_id", "at", "detail"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.transaction() as uow:
                (found,) = await uow.audit.events()
                setattr(
                    found,
                    change,
                    {"action": "erased", "actor_id": 2, "at": later}.get(change, {"changed": True}),
                )
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.transaction() as uow:
            (found,) = await uow.audit.events()
            await uow.audit._session.delete(found)  # no repository method does this: try anyway
    async with database.reading() as uow:
        (found,) = await uow.audit.events()
    assert (found.id, found.note) == (event.id, "Called.")


# --- timestamps --------------------------------------------------------------------------


async def test_timestamps_come_back_as_aware_utc(database: Database, seed: SeedFn) -> None:
    amsterdam_summer = timezone(timedelta(hours=2))
    local = datetime(2025, 7, 1, 14, 30, 15, 123456, tzinfo=amsterdam_summer)
    s = await seed(now=local)
    async with database.transaction() as uow:
        await uow.answers.record(s.run_id, "k", 1, "step", local)
        await uow.scores.record(s.run_id, "total", 1, local)
    async with database.reading() as uow:
        run = await uow.runs.get(s.run_id)
    assert run is not None
    for value in (run.started_at, run.updated_at):
        assert value.tzinfo is UTC
        assert value == local  # the same instant ...
        assert value.hour == 12 and value.microsecond == 123456  # ... expressed in UTC
    (row,) = [row async for row in database.answer_rows()]
    assert row.answered_at.tzinfo is UTC and row.answered_at == local

    # And it is stored as naive UTC, the same on both backends.
    async with database.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT started_at FROM run"))).scalar_one()
    if isinstance(raw, str):  # SQLite has no datetime type
        raw = datetime.fromisoformat(raw)
    assert raw == datetime(2025, 7, 1, 12, 30, 15, 123456)


async def test_naive_timestamps_are_refused(database: Database, seed: SeedFn) -> None:
    s = await seed()
    with pytest.raises(StatementError, match="naive datetime"):
        async with database.transaction() as uow:
            await uow.answers.record(s.run_id, "k", 1, "step", datetime(2025, 1, 1, 12, 0))
    assert await count(database, "answer") == 0


# --- transactions ------------------------------------------------------------------------


class Boom(Exception):
    pass


async def test_transaction_rolls_back_on_error(database: Database, seed: SeedFn) -> None:
    s = await seed()
    with pytest.raises(Boom):
        async with database.transaction() as uow:
            await uow.answers.record(s.run_id, "k", 1, "step", T0)
            await uow.people.add("telegram", "99", "family")
            run = await uow.runs.get(s.run_id)
            assert run is not None
            await uow.runs.update(run, step="next", state={"n": 1}, status="active", now=T0)
            raise Boom
    assert await count(database, "answer") == 0
    assert await count(database, "person") == 1
    async with database.reading() as uow:
        run = await uow.runs.get(s.run_id)
    assert run is not None and run.step == "start"


async def test_reading_never_writes(database: Database) -> None:
    refused = False
    try:
        async with database.reading() as uow:
            assert uow.read_only
            await uow.people.add("telegram", "1", "family")
    except DBAPIError:
        # PostgreSQL runs reading() as a READ ONLY transaction and refuses at once.
        refused = True
    assert refused == (database.dialect == "postgresql")
    assert await count(database, "person") == 0


async def test_transaction_begins_write_and_reading_read_only(database: Database) -> None:
    async with database.transaction() as uow:
        assert not uow.read_only
        await uow.people.add("telegram", "1", "family")
    async with database.reading() as uow:
        assert await uow.people.get("telegram", "1") is not None
    # The pooled connection that served reading() must write again afterwards.
    async with database.transaction() as uow:
        await uow.people.add("telegram", "2", "family")
    assert await count(database, "person") == 2


async def test_foreign_keys_are_enforced(database: Database) -> None:
    # On SQLite this also shows the migration left foreign keys switched back on.
    with pytest.raises(IntegrityError):
        async with database.transaction() as uow:
            await uow.answers.record(12345, "k", 1, "step", T0)
    with pytest.raises(IntegrityError):
        async with database.transaction() as uow:
            await uow.cases.add_member(12345, 67890)


# --- export ------------------------------------------------------------------------------


async def test_answer_rows_carry_case_scores_and_flags(database: Database, seed: SeedFn) -> None:
    a = await seed()
    b = await seed()
    async with database.transaction() as uow:
        caseless = await uow.runs.start(a.person_id, None, "intake", 3, "q", {}, T0)
        # Answers of runs a and b interleave in time, as they do when families answer at once.
        await uow.answers.record(a.run_id, "who5.cheerful", 4, "s1", T0 + _m(1))
        await uow.answers.record(b.run_id, "who5.calm", 1, "s1", T0 + _m(2))
        await uow.answers.record(a.run_id, "who5.calm", 3, "s2", T0 + _m(3))
        await uow.answers.record(b.run_id, "who5.active", 0, "s2", T0 + _m(3))
        await uow.answers.record(b.run_id, "safe.now", False, "s3", T0 + _m(4))
        await uow.answers.record(caseless.id, "intake.lang", "pa", "q", T0 + _m(5))
        await uow.scores.record(a.run_id, "who5", 14, T0 + _m(5))
        await uow.scores.record(b.run_id, "who5", 2, T0 + _m(5))
        await uow.scores.record(b.run_id, "risk", 1.5, T0 + _m(5))
        await raise_flag(uow, b, "low_mood", "medium", T0 + _h(72))
        await raise_flag(uow, b, "unsafe", "urgent", T0 + _h(1))

    rows = [row async for row in database.answer_rows()]
    assert all(isinstance(row, ExportRow) for row in rows)
    assert [(row.run_id, row.key) for row in rows] == [
        (a.run_id, "who5.cheerful"),
        (b.run_id, "who5.calm"),
        (a.run_id, "who5.calm"),  # same time as the next: ordered by run id, then key
        (b.run_id, "who5.active"),
        (b.run_id, "safe.now"),
        (caseless.id, "intake.lang"),
    ]
    by_run = {row.run_id: row for row in rows}
    assert by_run[a.run_id].case_code == "C-0001"
    assert by_run[a.run_id].scores == {"who5": 14.0}
    assert by_run[a.run_id].flags == []
    assert by_run[b.run_id].case_code == "C-0002"
    assert by_run[b.run_id].scores == {"risk": 1.5, "who5": 2.0}
    assert by_run[b.run_id].flags == [
        {"rule": "low_mood", "level": "medium"},
        {"rule": "unsafe", "level": "urgent"},
    ]
    last = rows[-1]
    assert (last.case_code, last.flow_id, last.flow_version) == (None, "intake", 3)
    assert (last.value, last.scores, last.flags) == ("pa", {}, [])
    assert [row.value for row in rows[:5]] == [4, 1, 3, 0, False]
    assert all(row.answered_at.tzinfo is UTC for row in rows)


async def test_answer_rows_since_is_inclusive(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        for minute in range(5):
            await uow.answers.record(s.run_id, f"q{minute}", minute, "s", T0 + _m(minute))
    keys = [row.key async for row in database.answer_rows(since=T0 + _m(2))]
    assert keys == ["q2", "q3", "q4"]
    assert [row async for row in database.answer_rows(since=T0 + _h(1))] == []
    assert len([row async for row in database.answer_rows(since=None)]) == 5


async def test_answer_rows_on_an_empty_database(database: Database) -> None:
    assert [row async for row in database.answer_rows()] == []


async def test_answer_rows_stream_in_batches(database: Database, seed: SeedFn) -> None:
    total = BATCH_SIZE + 234  # more than one batch
    s = await seed()
    async with database.transaction() as uow:
        for i in range(total):
            await uow.answers.record(s.run_id, f"k{i:05d}", i, "s", T0 + timedelta(seconds=i))
        await uow.scores.record(s.run_id, "sum", 1.0, T0)

    streamed: list[bool] = []

    def watch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "FROM answer" in statement:
            streamed.append(bool(context.execution_options.get("stream_results")))

    event.listen(database.engine.sync_engine, "before_cursor_execute", watch)
    try:
        seen = 0
        async for row in database.answer_rows():
            assert row.value == seen and row.scores == {"sum": 1.0}
            seen += 1
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", watch)
    assert seen == total
    # A server-side cursor (PostgreSQL) / incremental fetch (SQLite), not one big fetchall().
    assert streamed == [True]


async def test_batches_read_their_runs_with_one_parameter_whatever_their_number(
    database: Database, seed: SeedFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 3 answers over 4 runs whose answers interleave: each batch needs other runs,
    # some remembered from the batch before, and the run remembered longest is forgotten.
    monkeypatch.setattr(export_storage, "BATCH_SIZE", 3)
    monkeypatch.setattr(export_storage, "RUN_CACHE_SIZE", 2)
    runs = [await seed() for _ in range(4)]
    async with database.transaction() as uow:
        for i in range(13):
            run = runs[(i * 3) % 4]
            await uow.answers.record(run.run_id, f"k{i:02d}", i, "s", T0 + _m(i))
            await uow.scores.record(run.run_id, f"s{i:02d}", float(i), T0 + _m(i))
        await raise_flag(uow, runs[1], "low_mood", "medium", T0 + _h(1))

    sent: list[tuple[str, object]] = []

    def watch(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM answer" not in statement:
            sent.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", watch)
    try:
        batches = [batch async for batch in database.answer_batches()]
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", watch)
    assert [len(batch.answers) for batch in batches] == [3, 3, 3, 3, 1]
    for batch in batches:
        assert {run_id for run_id, *_ in batch.answers} <= batch.runs.keys()
        for run_id, key, value, _ in batch.answers:
            assert batch.runs[run_id].scores[f"s{key[1:]}"] == float(value)  # type: ignore[arg-type]
    flagged = [batch.runs[runs[1].run_id] for batch in batches if runs[1].run_id in batch.runs]
    assert flagged and all(f.flags == [{"rule": "low_mood", "level": "medium"}] for f in flagged)
    # Three statements, each the same text with its ids as a single parameter, however many
    # runs a batch brought.
    selects = [(sql, parameters) for sql, parameters in sent if "SELECT" in sql.upper()]
    assert len({sql for sql, _ in selects}) == 3
    assert all(len(parameters) == 1 for _, parameters in selects)  # type: ignore[arg-type]


async def test_answer_rows_can_stop_early(database: Database, seed: SeedFn) -> None:
    s = await seed()
    async with database.transaction() as uow:
        for i in range(10):
            await uow.answers.record(s.run_id, f"k{i}", i, "s", T0 + _m(i))
    async with contextlib.aclosing(database.answer_rows()) as rows:
        async for row in rows:
            if row.key == "k2":
                break
    # The connection went back to the pool: a write still goes through.
    async with database.transaction() as uow:
        await uow.answers.record(s.run_id, "k10", 10, "s", T0)
    assert await count(database, "answer") == 11


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)
