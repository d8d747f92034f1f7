"""Repositories: the only queries the rest of the bot may run, one class per kind of record.

Services and channels ask for people, cases, invites, runs, answers, scores, flags and
processed updates through these methods instead of writing SQL, so the rules that keep the
data right live in one place: an answer is upserted on its key so a retried update never
records it twice, `runs.current()` and `runs.get()` take the row locks that let several bot
processes share PostgreSQL, an invite is claimed by one conditional UPDATE so two people cannot
both use it, and flags sort by how serious they are rather than by their spelling. All of them
work inside the transaction of the `UnitOfWork` that created them and never commit on their
own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from ..engine.events import JSONValue, Value
from . import crypto
from .models import (
    CHANNELS,
    CONSENTS,
    FLAG_LEVELS,
    FLAG_STATUSES,
    OPEN_RUN_STATUSES,
    PERSON_STATUSES,
    ROLES,
    RUN_STATUSES,
    UNRESOLVED_FLAG_STATUSES,
    Answer,
    AuditEvent,
    Base,
    Case,
    Flag,
    Invite,
    Membership,
    Person,
    ProcessedUpdate,
    Run,
    Score,
    closed_case,
    finished_flow,
    level_rank,
    open_case,
    unresolved,
)

__all__ = [
    "AnswerRepository",
    "CaseErased",
    "CaseFilter",
    "CaseListed",
    "CaseRepository",
    "CaseSummary",
    "FlagRepository",
    "InviteRepository",
    "PersonRepository",
    "PersonWriting",
    "RunRepository",
    "ScoreRepository",
    "UpdateRepository",
]

# What hashlib.sha256(...).hexdigest() produces; anything else is a code that was not hashed.
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _insert(session: AsyncSession, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    # Upserts need the dialect's own INSERT (ON CONFLICT); both backends spell it the same way.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


# Statements every answer sends, built once per dialect (see `_prepared`).
_PREPARED: dict[tuple[str, str], Executable] = {}


def _prepared(session: AsyncSession, name: str, build: Callable[[str], Executable]) -> Executable:
    """A statement of the answer path, built once per dialect and then executed with its
    values as parameters. Building one anew for each answer (the ORM's `insert().values()`,
    an upsert's `excluded`) cost more CPU than sending it; on a table rather than a model
    the session hands it to the connection without the ORM's bulk machinery."""
    dialect = session.get_bind().dialect.name
    statement = _PREPARED.get((name, dialect))
    if statement is None:
        statement = _PREPARED[(name, dialect)] = build(dialect)
    return statement


def _table_insert(dialect: str, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    table = Base.metadata.tables[model.__tablename__]
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def _check(name: str, value: str, allowed: tuple[str, ...]) -> None:
    # The columns are plain strings so new values need no migration; typos are caught here.
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _check_code_hash(code_hash: str) -> None:
    # A plain invite code passed here by mistake would be stored as a working secret (add) or
    # never match (find); neither may pass silently. The value is not echoed: it may be a code.
    if not isinstance(code_hash, str) or not _SHA256_HEX.fullmatch(code_hash):
        raise ValueError("code_hash must be the 64-character lowercase SHA-256 hex of the code")


class _Repository:
    __slots__ = ("_session",)

    def __init__(self, session: AsyncSession) -> None:
        self._session = session


def _is(channel: str, external_id: str | int) -> ColumnElement[bool]:
    """The person with this id on this channel, found by the keyed hash (the id is sealed)."""
    key = crypto.active().lookup_key(channel, str(external_id))
    return and_(Person.channel == channel, Person.external_key == key)


@dataclass(frozen=True, slots=True)
class PersonWriting:
    """A person as `PersonRepository.writing` reads them."""

    id: int
    role: str
    language: str | None
    consent: str | None
    status: str
    awaiting: dict[str, JSONValue] | None
    case_id: int | None
    case_code: str | None


def _person_writing(_dialect: str) -> Executable:
    return (
        select(
            Person.id,
            Person.role,
            Person.language,
            Person.consent,
            Person.status,
            Person.awaiting,
            Case.id,
            Case.code,
        )
        .outerjoin(Membership, Membership.person_id == Person.id)
        .outerjoin(Case, Case.id == Membership.case_id)
        .where(Person.channel == bindparam("channel"), Person.external_key == bindparam("key"))
        .order_by(Membership.created_at, Membership.case_id)
        .limit(1)
    )


def _person_writing_locked(dialect: str) -> Executable:
    stmt = _person_writing(dialect)
    # Only the person's row: the case and membership joined are read, not changed. (SQLite
    # has no row locks; its write transaction holds the whole database.)
    return stmt.with_for_update(of=Person) if isinstance(stmt, Select) else stmt


class PersonRepository(_Repository):
    __slots__ = ()

    async def get(self, channel: str, external_id: str | int) -> Person | None:
        # Telegram ids arrive as ints; PostgreSQL will not compare an int with a varchar.
        stmt = select(Person).where(_is(channel, external_id))
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get_with_case(
        self, channel: str, external_id: str | int
    ) -> tuple[Person, Case | None] | None:
        """A person and the first case they belong to, in one query: every update of a
        known person starts with this lookup, so it is kept to a single round trip."""
        stmt = (
            select(Person, Case)
            .outerjoin(Membership, Membership.person_id == Person.id)
            .outerjoin(Case, Case.id == Membership.case_id)
            .where(_is(channel, external_id))
            .order_by(Membership.created_at, Membership.case_id)
            .limit(1)
        )
        row = (await self._session.execute(stmt)).first()
        return None if row is None else (row[0], row[1])

    async def writing(
        self, channel: str, external_id: str | int, *, for_update: bool = False
    ) -> PersonWriting | None:
        """What the channels need of the person writing, and the first case they belong to
        (as `get_with_case`): read on every update, so read as plain columns, with nothing
        unsealed or kept in the session. `for_update`: the person's row locked as
        `RunRepository.current()` locks it (on PostgreSQL), in the same statement."""
        if for_update:
            stmt = _prepared(self._session, "person writing, locked", _person_writing_locked)
        else:
            stmt = _prepared(self._session, "person writing", _person_writing)
        key = crypto.active().lookup_key(channel, str(external_id))
        row = (await self._session.execute(stmt, {"channel": channel, "key": key})).first()
        return None if row is None else PersonWriting(*row)

    async def get_by_id(self, person_id: int) -> Person | None:
        return await self._session.get(Person, person_id)

    async def by_ids(self, person_ids: Iterable[int]) -> dict[int, Person]:
        """These people, by id, in one query; unknown ids are left out."""
        wanted = set(person_ids)
        if not wanted:
            return {}
        stmt = select(Person).where(Person.id.in_(wanted))
        return {person.id: person for person in (await self._session.execute(stmt)).scalars()}

    async def add(
        self, channel: str, external_id: str | int, role: str, language: str | None = None
    ) -> Person:
        _check("channel", channel, CHANNELS)
        _check("role", role, ROLES)
        person = Person(
            channel=channel,
            external_id=str(external_id),
            external_key=crypto.active().lookup_key(channel, external_id),
            role=role,
            language=language,
        )
        self._session.add(person)
        await self._session.flush()
        return person

    async def set_language(self, person_id: int, language: str) -> None:
        person = await self._existing(person_id)
        person.language = language
        await self._session.flush()

    async def set_consent(self, person_id: int, consent: str, at: datetime) -> None:
        """Record the person's answer to the consent question; a later answer replaces it."""
        _check("consent", consent, CONSENTS)
        person = await self._existing(person_id)
        person.consent = consent
        person.consent_at = at
        await self._session.flush()

    async def set_status(self, person_id: int, status: str) -> None:
        _check("status", status, PERSON_STATUSES)
        person = await self._existing(person_id)
        person.status = status
        await self._session.flush()

    async def set_awaiting(self, person_id: int, awaiting: Mapping[str, JSONValue] | None) -> None:
        """What the person's next typed message is for (None: an answer, as usual)."""
        person = await self._existing(person_id)
        person.awaiting = None if awaiting is None else dict(awaiting)
        await self._session.flush()

    async def with_role(self, role: str, status: str = "active") -> list[Person]:
        """The people with this role and status (active: can be counted on), oldest first.

        Whoever is told about something (a coordinator about a new flag) has to be able to act
        on it; people who blocked the bot or left are not counted on.
        """
        _check("role", role, ROLES)
        stmt = (
            select(Person)
            .where(Person.role == role, Person.status == status)
            .order_by(Person.created_at, Person.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def _existing(self, person_id: int) -> Person:
        # An erased person is a tombstone: nothing of theirs is set again (a language, a
        # consent, a status, what the bot waits for).
        person = await self._session.get(Person, person_id)
        if person is None or person.erased_at is not None:
            raise LookupError(f"no person with id {person_id}")
        return person


class CaseErased(Exception):
    """The case was erased: a tombstone of its code and programme, and nothing may be done
    with it any more (no member, run, child, schedule, invite, caseworker, stage, visit or
    flag). Raised by the case lookups unless their caller only reads history.

    It carries the code and the caseworker the tombstone kept, not the row (rolled back with
    the transaction), so that a channel can tell whoever handled the case that it was erased
    and tell anyone else what it tells them of any case not theirs."""

    def __init__(self, code: str, caseworker_id: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.caseworker_id = caseworker_id


def _live(case: Case | None, erased: bool) -> Case | None:
    if case is not None and case.erased_at is not None and not erased:
        raise CaseErased(case.code, case.caseworker_id)
    return case


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One line of a caseworker's overview of their cases."""

    case_id: int
    code: str
    programme: str
    status: str
    # When the family last finished a check-in; None if they never have.
    last_checkin_at: datetime | None
    open_flags: int


@dataclass(frozen=True, slots=True)
class CaseListed:
    """One row of the web view's list of cases."""

    code: str
    programme: str
    status: str
    caseworker_id: int | None
    stage: str | None
    risk_level: str | None
    review_due_at: datetime | None
    visit_due_at: datetime | None
    # When the family last finished a check-in; None if they never have.
    last_checkin_at: datetime | None


@dataclass(frozen=True)
class CaseFilter:
    """Which live cases the web view's list shows; what is left empty does not narrow."""

    # Whose cases may be seen at all (the access rule: a caseworker their own; None: all).
    handled_by: int | None = None
    code_prefix: str = ""
    caseworker_id: int | None = None
    programme: str | None = None
    stage: str | None = None
    # A risk level, or "none" for a case not screened yet.
    risk_level: str | None = None
    # No completed run of `checkin_flow` since then (never counts as silent too).
    silent_since: datetime | None = None
    checkin_flow: str = ""
    # "open" or "closed" (None: both), and closed in [closed_from, closed_to).
    status: str | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None


def _listed(wanted: CaseFilter, dialect: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Case.erased_at.is_(None)]
    if wanted.handled_by is not None:
        where.append(Case.caseworker_id == wanted.handled_by)
    if wanted.caseworker_id is not None:
        where.append(Case.caseworker_id == wanted.caseworker_id)
    if wanted.code_prefix:
        where += _code_starts(wanted.code_prefix, dialect)
    if wanted.programme:
        where.append(Case.programme == wanted.programme)
    if wanted.stage:
        where.append(Case.stage == wanted.stage)
    if wanted.risk_level == "none":
        where.append(Case.risk_level.is_(None))
    elif wanted.risk_level:
        where.append(Case.risk_level == wanted.risk_level)
    # Spelled as the overview's indexes have them (`open_case`, `closed_case`), so the lists
    # its figures link to are read the way the figures were counted.
    if wanted.status == "open":
        where.append(open_case())
    elif wanted.status == "closed" or wanted.closed_from or wanted.closed_to:
        where.append(closed_case())
    if wanted.closed_from is not None:
        where.append(Case.closed_at >= wanted.closed_from)
    if wanted.closed_to is not None:
        where.append(Case.closed_at < wanted.closed_to)
    if wanted.silent_since is not None:
        # The cases that checked in since then, from a range of `ix_run_finished_flow_
        # ended_at` (on `finished_flow()`), left out of all: not each case's runs probed.
        checked_in = select(Run.case_id).where(
            finished_flow() == wanted.checkin_flow,
            Run.ended_at >= wanted.silent_since,
            Run.case_id.is_not(None),
        )
        where.append(Case.id.not_in(checked_in))
    return where


def _code_starts(prefix: str, dialect: str) -> list[ColumnElement[bool]]:
    """Codes that start with `prefix`, as a condition an index serves. PostgreSQL reads a
    `LIKE 'AB%'` from `ix_case_file_code_pattern` (`text_pattern_ops`: in any collation);
    SQLite's LIKE ignores case and so never uses an index, but a range of codes
    (`code >= 'AB' AND code < 'AC'`) is read from its unique index, and the LIKE keeps it
    exact."""
    like = Case.code.startswith(prefix, autoescape=True)
    if dialect == "postgresql":
        return [like]
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return [Case.code >= prefix, Case.code < after, like]


class CaseRepository(_Repository):
    __slots__ = ("_lock",)

    def __init__(self, session: AsyncSession, *, lock: bool = False) -> None:
        super().__init__(session)
        self._lock = lock

    async def add(self, code: str, programme: str) -> Case:
        case = Case(code=code, programme=programme)
        self._session.add(case)
        await self._session.flush()
        return case

    # An erased case is found by the two lookups below only when the caller passes
    # `erased=True`: a read that shows history (the audit log, the case view, an export, the
    # flags that outlived it). For everything else it raises CaseErased, so that no path
    # can write to a tombstone, however it got the code or the id.

    async def by_code(
        self, code: str, *, for_update: bool = False, erased: bool = False
    ) -> Case | None:
        """A case by its code; `for_update` locks its row first (PostgreSQL) and reads it
        afresh, for a decision that must not race another (two coordinators at once).
        CaseErased for an erased case, unless `erased`."""
        return _live(await self._one(select(Case).where(Case.code == code), for_update), erased)

    async def by_id(
        self, case_id: int, *, for_update: bool = False, erased: bool = False
    ) -> Case | None:
        """A case by its id, like `by_code`."""
        if not for_update:
            return _live(await self._session.get(Case, case_id), erased)
        return _live(await self._one(select(Case).where(Case.id == case_id), for_update), erased)

    async def by_ids(self, case_ids: Iterable[int], *, erased: bool = False) -> dict[int, Case]:
        """These cases, by id, in one query (unknown ids are left out); CaseErased for an
        erased one, unless `erased`, like `by_id`."""
        wanted = set(case_ids)
        if not wanted:
            return {}
        found = (await self._session.execute(select(Case).where(Case.id.in_(wanted)))).scalars()
        return {case.id: case for case in found if _live(case, erased) is not None}

    async def _one(self, stmt: Select[Case], for_update: bool) -> Case | None:
        if for_update and self._lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def assign_caseworker(self, case_id: int, person_id: int) -> None:
        """Make this caseworker the case's one caseworker, replacing any before them."""
        case = await self.by_id(case_id)
        if case is None:
            raise LookupError(f"no case with id {case_id}")
        person = await self._session.get(Person, person_id)
        if person is None or person.erased_at is not None:
            raise LookupError(f"no person with id {person_id}")
        # The assigned caseworker sees the case's answers and flags; a family member or a
        # coordinator put there by mistake would be given, or hide, another family's data.
        if person.role != "caseworker":
            raise ValueError(f"person {person_id} is a {person.role}, not a caseworker")
        case.caseworker_id = person_id
        await self._session.flush()

    async def lock(self, case_id: int) -> None:
        """Take the case's row lock (PostgreSQL; SQLite's writer lock covers it already)."""
        if self._lock:
            await self._session.execute(select(Case.id).where(Case.id == case_id).with_for_update())

    async def visits_due(self, now: datetime, limit: int) -> list[Case]:
        """Cases whose home visit is due, earliest first, claimed (SKIP LOCKED) for this
        process."""
        stmt = (
            select(Case)
            .where(Case.visit_due_at <= now, Case.status != "closed", Case.erased_at.is_(None))
            .order_by(Case.visit_due_at, Case.id)
            .limit(limit)
        )
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())

    async def reviews_due(self, now: datetime, reminded_before: datetime, limit: int) -> list[Case]:
        """Open cases whose risk screening is due for review and whose caseworker was not
        reminded since `reminded_before`, claimed (SKIP LOCKED)."""
        stmt = (
            select(Case)
            .where(
                Case.review_due_at <= now,
                Case.status != "closed",
                Case.erased_at.is_(None),
                # A case waiting for a coordinator's decision on closing is not nagged about.
                Case.closure_proposed_at.is_(None),
                or_(Case.review_reminded_at.is_(None), Case.review_reminded_at <= reminded_before),
            )
            .order_by(Case.review_due_at, Case.id)
            .limit(limit)
        )
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())

    async def reevaluations_due(
        self, now: datetime, reminded_before: datetime, limit: int
    ) -> list[Case]:
        """Open cases whose Meldcode re-evaluation has come due and whose caseworker was not
        reminded of it since `reminded_before`, claimed (SKIP LOCKED)."""
        stmt = (
            select(Case)
            .where(
                Case.reevaluation_due_at <= now,
                Case.status != "closed",
                Case.erased_at.is_(None),
                or_(
                    Case.reevaluation_reminded_at.is_(None),
                    Case.reevaluation_reminded_at <= reminded_before,
                ),
            )
            .order_by(Case.reevaluation_due_at, Case.id)
            .limit(limit)
        )
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())

    async def add_member(self, case_id: int, person_id: int) -> None:
        """CaseErased for an erased case: nobody joins a tombstone."""
        await self.by_id(case_id)
        # ON CONFLICT DO NOTHING rather than look-then-insert: two invites redeemed at the same
        # moment must not fail on the primary key.
        stmt = (
            _insert(self._session, Membership)
            .values(case_id=case_id, person_id=person_id)
            .on_conflict_do_nothing(index_elements=["person_id", "case_id"])
        )
        await self._session.execute(stmt)

    async def without_reachable_caseworker(self) -> list[str]:
        """Codes of the open cases whose alarms no caseworker of theirs would hear: none is
        assigned, or theirs left, blocked the bot or did not agree to its terms."""
        stmt = (
            select(Case.code)
            .outerjoin(Person, Person.id == Case.caseworker_id)
            .where(
                Case.status != "closed",
                Case.erased_at.is_(None),
                or_(
                    Person.id.is_(None),
                    Person.status != "active",
                    Person.consent.is_(None),
                    Person.consent != "given",
                ),
            )
            .order_by(Case.code)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def codes(self, case_ids: Iterable[int]) -> dict[int, str]:
        """The pseudonymous codes of these cases, by id; unknown ids are left out."""
        wanted = set(case_ids)
        if not wanted:
            return {}
        stmt = select(Case.id, Case.code).where(Case.id.in_(wanted))
        return {case_id: code for case_id, code in await self._session.execute(stmt)}

    async def of_person(self, person_id: int) -> list[Case]:
        stmt = (
            select(Case)
            .join(Membership, Membership.case_id == Case.id)
            .where(Membership.person_id == person_id, Case.erased_at.is_(None))
            .order_by(Case.created_at, Case.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def assigned_to(self, person_id: int) -> list[Case]:
        """The cases a caseworker is assigned, ordered by code (erased ones are no work)."""
        stmt = (
            select(Case)
            .where(Case.caseworker_id == person_id, Case.erased_at.is_(None))
            .order_by(Case.code)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def ids_assigned_to(self, person_id: int) -> list[int]:
        """The ids of the live cases a caseworker is assigned (whose flags they see)."""
        stmt = select(Case.id).where(Case.caseworker_id == person_id, Case.erased_at.is_(None))
        return list((await self._session.execute(stmt)).scalars())

    async def members(self, case_id: int) -> list[Person]:
        """The people who belong to the case (its family), in the order they joined."""
        stmt = (
            select(Person)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.case_id == case_id)
            .order_by(Membership.created_at, Person.id)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def codes_by_caseworker(
        self, person_ids: Iterable[int], *, each: int = 3
    ) -> dict[int, list[str]]:
        """The first `each` codes of each caseworker's live cases (as `of_caseworker` counts
        them), in order, in one query: what tells caseworkers apart when choosing one. One
        query, and `each` rows a caseworker, not all 40 of theirs: 2,500 caseworkers of
        100,000 cases took a second."""
        ids = list(person_ids)
        found: dict[int, list[str]] = {person_id: [] for person_id in ids}
        if not ids:
            return found
        place = (
            func.row_number()
            .over(partition_by=Case.caseworker_id, order_by=Case.code)
            .label("place")
        )
        ranked = (
            select(Case.caseworker_id, Case.code, place)
            .where(Case.caseworker_id.in_(ids), Case.erased_at.is_(None))
            .subquery()
        )
        stmt = (
            select(ranked.c.caseworker_id, ranked.c.code)
            .where(ranked.c.place <= each)
            .order_by(ranked.c.caseworker_id, ranked.c.code)
        )
        for person_id, code in await self._session.execute(stmt):
            if person_id is not None:
                found[person_id].append(code)
        return found

    async def of_caseworker(
        self, person_id: int, *, checkin_flow: str | None = None
    ) -> list[CaseSummary]:
        """A summary of each live case assigned to this caseworker (an erased case is no
        work), ordered by code; the last
        check-in is the last completed run of `checkin_flow` (none without it).

        One query with correlated subqueries, not one per case: a caseworker's overview must
        stay fast however many cases they hold. Both subqueries use the case_id indexes.
        """
        last_checkin = (
            select(func.max(Run.ended_at))
            .where(
                Run.case_id == Case.id,
                Run.flow_id == (checkin_flow or ""),
                Run.status == "completed",
            )
            .scalar_subquery()
        )
        open_flags = (
            select(func.count(Flag.id))
            .where(Flag.case_id == Case.id, Flag.status.in_(UNRESOLVED_FLAG_STATUSES))
            .scalar_subquery()
        )
        stmt = (
            select(Case.id, Case.code, Case.programme, Case.status, last_checkin, open_flags)
            .where(Case.caseworker_id == person_id, Case.erased_at.is_(None))
            .order_by(Case.code)
        )
        # The columns are selected in the order of CaseSummary's fields.
        return [CaseSummary(*row) for row in await self._session.execute(stmt)]

    async def count_listed(self, wanted: CaseFilter) -> int:
        """How many live cases `listing` pages through."""
        where = _listed(wanted, self._dialect())
        return await self._session.scalar(select(func.count(Case.id)).where(*where)) or 0

    async def listing(self, wanted: CaseFilter, *, limit: int, offset: int) -> list[CaseListed]:
        """The live cases `wanted`, rows `offset` to `offset + limit` by code, each with its
        last check-in (the last completed run of `wanted.checkin_flow`). Filtered and paged
        in SQL: an organisation holds thousands of cases."""
        where = _listed(wanted, self._dialect())
        last_checkin = (
            select(func.max(Run.ended_at))
            .where(
                Run.case_id == Case.id,
                Run.flow_id == wanted.checkin_flow,
                Run.status == "completed",
            )
            .scalar_subquery()
        )
        stmt = (
            select(
                Case.code,
                Case.programme,
                Case.status,
                Case.caseworker_id,
                Case.stage,
                Case.risk_level,
                Case.review_due_at,
                Case.visit_due_at,
                last_checkin,
            )
            .where(*where)
            .order_by(Case.code)
            .limit(limit)
            .offset(offset)
        )
        # The columns are selected in the order of CaseListed's fields.
        return [CaseListed(*row) for row in await self._session.execute(stmt)]

    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name


class InviteRepository(_Repository):
    __slots__ = ()

    async def add(
        self,
        *,
        code_hash: str,
        role: str,
        case_id: int | None,
        created_by: int | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> Invite:
        _check_code_hash(code_hash)
        _check("role", role, ROLES)
        # A family member without a case would be in the bot with nothing to see or do.
        if role == "family" and case_id is None:
            raise ValueError("a family invite needs a case")
        for value in (created_at, expires_at):
            if value.tzinfo is None or value.utcoffset() is None:
                # Checked here, not left to UTCDateTime: the comparison below would fail first.
                raise ValueError(
                    f"naive datetime {value.isoformat()} given: pass an aware datetime"
                )
        if expires_at <= created_at:
            raise ValueError("an invite must expire after it is made")
        invite = Invite(
            code_hash=code_hash,
            role=role,
            case_id=case_id,
            created_by=created_by,
            created_at=created_at,
            expires_at=expires_at,
        )
        self._session.add(invite)
        await self._session.flush()
        return invite

    async def find(self, code_hash: str) -> Invite | None:
        """The invite with this code hash, used and expired ones included.

        Finding it says nothing about whether it still works; `claim()` decides that.
        """
        _check_code_hash(code_hash)
        stmt = select(Invite).where(Invite.code_hash == code_hash)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def claim(self, invite_id: int, person_id: int, now: datetime) -> bool:
        """Spend the invite on this person if it is unused and unexpired; True if this call did.

        One conditional UPDATE, not read-then-write: when two people use the same code at the
        same moment, PostgreSQL makes the second UPDATE wait for the first and then re-checks
        `used_at`, and SQLite runs the two write transactions one after the other, so exactly
        one of them changes the row.
        """
        stmt = (
            update(Invite)
            .where(Invite.id == invite_id, Invite.used_at.is_(None), Invite.expires_at > now)
            .values(used_at=now, used_by=person_id)
            # "fetch": an Invite this session loaded with find() shows the claim afterwards.
            .execution_options(synchronize_session="fetch")
        )
        return await _changed(self._session, stmt) == 1


class RunRepository(_Repository):
    __slots__ = ("_lock",)

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        super().__init__(session)
        self._lock = lock

    async def start(
        self,
        person_id: int,
        case_id: int | None,
        flow_id: str,
        flow_version: int,
        step: str,
        state: Mapping[str, JSONValue],
        now: datetime,
    ) -> Run:
        run = Run(
            person_id=person_id,
            case_id=case_id,
            flow_id=flow_id,
            flow_version=flow_version,
            step=step,
            status="active",
            state=dict(state),
            started_at=now,
            updated_at=now,
        )
        self._session.add(run)
        # The id is needed at once: it goes into the buttons of the first question.
        await self._session.flush()
        return run

    async def current(self, person_id: int) -> Run | None:
        if self._lock:
            # Lock the person, not only the run: when no run exists yet there is no row to lock,
            # and two processes must not both start one for the same person.
            await self._session.execute(
                select(Person.id).where(Person.id == person_id).with_for_update()
            )
        stmt = (
            select(Run)
            .where(Run.person_id == person_id, Run.status.in_(OPEN_RUN_STATUSES))
            .order_by(Run.started_at.desc(), Run.id.desc())
            .limit(1)
        )
        if self._lock:
            stmt = stmt.with_for_update()
        # populate_existing: after waiting for the lock, the row must be the committed one,
        # not a copy this session read before.
        stmt = stmt.execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def open_of(self, person_id: int) -> Run | None:
        """The person's open run, read without locks (for looking, not for changing)."""
        stmt = (
            select(Run)
            .where(Run.person_id == person_id, Run.status.in_(OPEN_RUN_STATUSES))
            .order_by(Run.started_at.desc(), Run.id.desc())
            .limit(1)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get(self, run_id: int, *, person_locked: bool = False) -> Run | None:
        """The run with this id, locked like `current()` locks it.

        A button press names its run by id, and two presses of the same button can arrive at
        once; each must see what the other wrote. `person_locked`: the caller locked the
        person pressing first (`PersonRepository.writing`), in the same order; a run of
        someone else is locked without its person, and must then be left alone.
        """
        if not self._lock:
            return await self._session.get(Run, run_id)
        if person_locked:
            return await self._session.get(
                Run, run_id, with_for_update=True, populate_existing=True
            )
        # The person's row first, as `current()` does: a button press and a typed answer of
        # the same person must queue behind each other too, and taking the two locks in the
        # same order everywhere is what keeps them from deadlocking. A run never changes
        # person, so finding the person through the unlocked run row is safe.
        await self._session.execute(
            select(Person.id)
            .join(Run, Run.person_id == Person.id)
            .where(Run.id == run_id)
            .with_for_update(of=Person)
        )
        return await self._session.get(Run, run_id, with_for_update=True, populate_existing=True)

    async def of_case(self, case_id: int, limit: int) -> list[Run]:
        """The case's most recent runs, newest first, read without locks (for choosing one
        whose answer to correct)."""
        stmt = (
            select(Run)
            .where(Run.case_id == case_id)
            .order_by(Run.started_at.desc(), Run.id.desc())
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def update(
        self,
        run: Run,
        *,
        step: str,
        state: Mapping[str, JSONValue],
        status: str,
        now: datetime,
    ) -> None:
        _check("status", status, RUN_STATUSES)
        ended_at = run.ended_at if status == "completed" and run.status == "completed" else None
        if status == "completed" and run.status != "completed":
            ended_at = now
        # A fresh dict: the state must not change with the caller's.
        values = {
            "step": step,
            "state": dict(state),
            "status": status,
            "updated_at": now,
            "ended_at": ended_at,
        }
        # One UPDATE, sent now as a flush would send it, without the ORM's unit of work (it
        # cost more than the statement on every answer); the object is kept as stored.
        stmt = _prepared(self._session, "run update", _run_update)
        await self._session.execute(stmt, {"run_id": run.id, **values})
        for attribute, value in values.items():
            set_committed_value(run, attribute, value)

    async def pause(self, run: Run, now: datetime) -> None:
        if run.status == "completed":
            # Pausing would make a finished run resumable again through `current()`.
            raise ValueError(f"run {run.id} is completed and cannot be paused")
        run.status = "paused"
        run.updated_at = now
        await self._session.flush()

    async def open_versions(self) -> set[tuple[str, int]]:
        """The (flow id, version) pairs that active or paused runs are pinned to."""
        stmt = (
            select(Run.flow_id, Run.flow_version)
            .where(Run.status.in_(("active", "paused")))
            .distinct()
        )
        return {(row[0], row[1]) for row in await self._session.execute(stmt)}


def _run_update(_dialect: str) -> Executable:
    table = Base.metadata.tables[Run.__tablename__]
    # The columns named in the parameters are the ones set.
    return update(table).where(table.c.id == bindparam("run_id"))


class AnswerRepository(_Repository):
    __slots__ = ()

    async def record(self, run_id: int, key: str, value: Value, step: str, at: datetime) -> None:
        # Upsert on (run_id, key): going back to a question, or Telegram delivering the same
        # update twice, overwrites the answer instead of adding a second one.
        stmt = _prepared(self._session, "answer upsert", _answer_upsert)
        values = {"run_id": run_id, "key": key, "value": value, "step": step, "answered_at": at}
        await self._session.execute(stmt, values)

    async def of_run(self, run_id: int) -> dict[str, Value]:
        stmt = (
            select(Answer.key, Answer.value)
            .where(Answer.run_id == run_id)
            .order_by(Answer.answered_at, Answer.key)
        )
        return {key: value for key, value in (await self._session.execute(stmt))}

    async def latest_for_case(
        self, case_id: int, keys: Sequence[str], flow_id: str | None = None
    ) -> dict[str, Value]:
        """The last answer under each key in any run of the case (of one flow, if given):
        what belongs to the case rather than to one run (a checklist item's status)."""
        if not keys:
            return {}
        stmt = (
            select(Answer.key, Answer.value)
            .join(Run, Run.id == Answer.run_id)
            .where(Run.case_id == case_id, Answer.key.in_(list(keys)))
            .order_by(Answer.answered_at, Answer.id)
        )
        if flow_id is not None:
            stmt = stmt.where(Run.flow_id == flow_id)
        return {key: value for key, value in (await self._session.execute(stmt))}


def _answer_upsert(dialect: str) -> Executable:
    stmt = _table_insert(dialect, Answer)
    return stmt.on_conflict_do_update(
        index_elements=["run_id", "key"],
        set_={
            "value": stmt.excluded.value,
            "step": stmt.excluded.step,
            "answered_at": stmt.excluded.answered_at,
        },
    )


class ScoreRepository(_Repository):
    __slots__ = ()

    async def record(self, run_id: int, name: str, value: float, at: datetime) -> None:
        stmt = _insert(self._session, Score).values(
            run_id=run_id, name=name, value=float(value), computed_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_id", "name"],
            set_={"value": stmt.excluded.value, "computed_at": stmt.excluded.computed_at},
        )
        await self._session.execute(stmt)

    async def of_run(self, run_id: int) -> dict[str, float]:
        stmt = select(Score.name, Score.value).where(Score.run_id == run_id).order_by(Score.name)
        return {name: value for name, value in (await self._session.execute(stmt))}

    async def history(
        self, case_id: int, flow_id: str, name: str, limit: int
    ) -> list[tuple[datetime, float]]:
        """The last `limit` values of a score in a case's completed runs of a flow, oldest
        first, each with the time its run ended."""
        stmt = (
            select(Run.ended_at, Score.value)
            .join(Run, Run.id == Score.run_id)
            .where(
                Run.case_id == case_id,
                Run.flow_id == flow_id,
                Run.status == "completed",
                Score.name == name,
            )
            .order_by(Run.ended_at.desc(), Run.id.desc())
            .limit(limit)
        )
        # Completed runs have an end (ended_at is set with the status).
        rows = [(ended, value) for ended, value in await self._session.execute(stmt) if ended]
        return rows[::-1]


class FlagRepository(_Repository):
    """Flags and their review: the state changes here are the only ones the bot makes.

    Each change is a plain attribute write on a row the caller read in the same transaction;
    the audit record of the change is the service's job (`AuditRepository.record`), so that
    the repository stays a store and the service says who did it and why.
    """

    __slots__ = ("_lock",)

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        super().__init__(session)
        self._lock = lock

    async def raise_flag(
        self,
        *,
        case_id: int | None,
        run_id: int | None,
        flow_id: str,
        flow_version: int,
        rule: str,
        level: str,
        reason: str,
        evidence: Mapping[str, JSONValue],
        raised_at: datetime,
        due_at: datetime,
    ) -> Flag:
        _check("level", level, FLAG_LEVELS)
        flag = Flag(
            case_id=case_id,
            run_id=run_id,
            flow_id=flow_id,
            flow_version=flow_version,
            rule=rule,
            level=level,
            reason=reason,
            evidence=dict(evidence),
            status="open",
            raised_at=raised_at,
            due_at=due_at,
            escalate_at=due_at,
            escalations=0,
        )
        self._session.add(flag)
        await self._session.flush()
        return flag

    async def get(self, flag_id: int) -> Flag | None:
        """The flag with this id; locked in a write transaction on PostgreSQL, so two
        reviewers acting on one flag at once queue instead of overwriting each other."""
        if not self._lock:
            return await self._session.get(Flag, flag_id)
        return await self._session.get(Flag, flag_id, with_for_update=True, populate_existing=True)

    async def open_flags(
        self,
        case_ids: Iterable[int] | None = None,
        *,
        statuses: Iterable[str] = UNRESOLVED_FLAG_STATUSES,
        assigned_to: int | None = None,
        limit: int | None = None,
        offset: int = 0,
        narrow: FlagNarrowing | None = None,
    ) -> list[Flag]:
        """Flags in `statuses` (unresolved by default), most serious first, then by due time;
        `limit` of them after the first `offset` (a page of the review queue), or all.

        `case_ids` None means every case (and the flags of no case); an empty collection means
        none. With `assigned_to`, flags assigned to that person count too, whatever their case.
        `narrow` keeps only some of those (the web view's filters).
        """
        wanted = _flags_of(case_ids, statuses, assigned_to, narrow)
        if wanted is None:
            return []
        # The order of the review queue's index (`ix_flag_review_queue`): a page of it is read
        # from the index rather than sorted from every unresolved flag.
        stmt = (
            select(Flag)
            .where(wanted)
            .order_by(level_rank(), Flag.due_at, Flag.raised_at, Flag.id)
            .offset(offset)
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def resolved_of(self, case_id: int, limit: int) -> list[Flag]:
        """A case's resolved flags, the last resolved first, at most `limit`."""
        stmt = (
            select(Flag)
            .where(Flag.case_id == case_id, Flag.status == "resolved")
            .order_by(Flag.resolved_at.desc(), Flag.id.desc())
            .limit(limit)
        )
        return list((await self._session.execute(stmt)).scalars())

    async def unresolved_by_level(self, now: datetime) -> dict[str, tuple[int, int]]:
        """By level, how many flags are unresolved and how many of those are past their due
        time (levels without any are left out); counted in the database, from the review
        queue's index of unresolved flags (`ix_flag_review_queue`)."""
        overdue = func.sum(sql_case((Flag.due_at <= now, 1), else_=0))
        stmt = (
            select(Flag.level, func.count(), overdue)
            .where(Flag.status.in_(UNRESOLVED_FLAG_STATUSES))
            .group_by(Flag.level)
        )
        return {
            level: (int(count), int(late or 0))
            for level, count, late in await self._session.execute(stmt)
        }

    async def count(
        self,
        case_ids: Iterable[int] | None = None,
        *,
        statuses: Iterable[str] = UNRESOLVED_FLAG_STATUSES,
        assigned_to: int | None = None,
        narrow: FlagNarrowing | None = None,
    ) -> int:
        """How many flags `open_flags` with the same arguments finds (without a limit)."""
        wanted = _flags_of(case_ids, statuses, assigned_to, narrow)
        if wanted is None:
            return 0
        stmt = select(func.count()).select_from(Flag).where(wanted)
        return int((await self._session.execute(stmt)).scalar_one())

    async def of_run(self, run_id: int) -> list[Flag]:
        stmt = select(Flag).where(Flag.run_id == run_id).order_by(Flag.raised_at, Flag.id)
        return list((await self._session.execute(stmt)).scalars())

    async def unresolved_for(self, case_id: int | None, flow_id: str, rule: str) -> Flag | None:
        """The unresolved flag of a flow's rule on a case (None: flags without a case), if any:
        a repeated trigger adds to it rather than raising a second one."""
        case = Flag.case_id.is_(None) if case_id is None else Flag.case_id == case_id
        stmt = (
            select(Flag)
            .where(
                case,
                Flag.flow_id == flow_id,
                Flag.rule == rule,
                Flag.status.in_(UNRESOLVED_FLAG_STATUSES),
            )
            .order_by(Flag.raised_at.desc(), Flag.id.desc())
            .limit(1)
        )
        if self._lock:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalars().first()

    async def add_evidence(self, flag: Flag, item: Mapping[str, JSONValue]) -> None:
        """Add a repeated trigger to a flag's evidence (under "repeats"), keeping the rest."""
        evidence = dict(flag.evidence)
        repeats = evidence.get("repeats")
        evidence["repeats"] = [*(repeats if isinstance(repeats, list) else []), dict(item)]
        flag.evidence = evidence  # a new object: JSON columns do not track in-place changes
        await self._session.flush()

    async def set_reason(self, flag: Flag, reason: str) -> None:
        """A repeat showed something more serious (self-harm words after an SOS): the flag
        says so from now on; what it said before is in its evidence and history."""
        flag.reason = reason
        await self._session.flush()

    async def acknowledge(self, flag: Flag, by: int, at: datetime) -> None:
        flag.status = "acknowledged"
        flag.acknowledged_at, flag.acknowledged_by = at, by
        flag.escalate_at = None
        await self._session.flush()

    async def assign(self, flag: Flag, to: int) -> None:
        flag.assigned_to = to
        await self._session.flush()

    async def resolve(self, flag: Flag, by: int, at: datetime, resolution: str) -> None:
        flag.status = "resolved"
        flag.resolved_at, flag.resolved_by, flag.resolution = at, by, resolution
        flag.escalate_at = None
        await self._session.flush()

    async def reopen(self, flag: Flag, due_at: datetime) -> None:
        """Back to open, with a new due time from which escalation starts again; who
        acknowledged and resolved it before stays in the audit log."""
        flag.status = "open"
        flag.acknowledged_at = flag.acknowledged_by = None
        flag.resolved_at = flag.resolved_by = flag.resolution = None
        flag.due_at = flag.escalate_at = due_at
        await self._session.flush()

    async def escalated(self, flag: Flag, next_at: datetime) -> None:
        flag.escalations += 1
        flag.escalate_at = next_at
        await self._session.flush()

    async def to_escalate(self, now: datetime, limit: int = 100) -> list[Flag]:
        """Open flags whose escalation time has come, oldest first, at most `limit`.

        SKIP LOCKED on PostgreSQL: several bot processes each take different flags, and a
        flag another process is escalating right now is left to it.
        """
        stmt = (
            select(Flag)
            .where(Flag.status == "open", Flag.escalate_at <= now)
            .order_by(Flag.escalate_at, Flag.id)
            .limit(limit)
        )
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())

    async def to_notify(
        self, levels: Iterable[str], raised_before: datetime, limit: int = 500
    ) -> list[Flag]:
        """Unresolved flags of these levels whose people have not been told yet, or are to be
        told again by now, locked and skipped like `to_escalate()`."""
        stmt = (
            select(Flag)
            .where(
                or_(Flag.notified_at.is_(None), Flag.tell_again_at < raised_before),
                Flag.level.in_(tuple(levels)),
                Flag.status.in_(UNRESOLVED_FLAG_STATUSES),
                Flag.raised_at < raised_before,
            )
            .order_by(level_rank(), Flag.raised_at, Flag.id)
            .limit(limit)
        )
        if self._lock:
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self._session.execute(stmt)).scalars())

    async def notified(self, flags: Iterable[Flag], at: datetime) -> None:
        for flag in flags:
            flag.notified_at = at
            flag.tell_again_at = None
        await self._session.flush()

    async def raise_level(self, flag: Flag, level: str, due_at: datetime, now: datetime) -> None:
        """A more serious level for an unresolved flag: due (and escalated) by that level's
        time from now — or its own due time, if that is still to come and sooner — and to be
        told again."""
        _check("level", level, FLAG_LEVELS)
        flag.level = level
        flag.due_at = min(flag.due_at, due_at) if flag.due_at > now else due_at
        flag.notified_at = None
        if flag.status == "acknowledged":
            flag.status = "open"
            flag.acknowledged_at = flag.acknowledged_by = None
        flag.escalate_at = flag.due_at
        await self._session.flush()

    async def renotify(self, flag: Flag, escalate_at: datetime, tell_at: datetime) -> None:
        """Have the flag told again (at `tell_at`, unless it is still to be told anyway) and
        acknowledged again (a repeated emergency, say)."""
        if flag.notified_at is not None and (
            flag.tell_again_at is None or flag.tell_again_at > tell_at
        ):
            flag.tell_again_at = tell_at
        if flag.status == "acknowledged":
            flag.status = "open"
            flag.acknowledged_at = flag.acknowledged_by = None
        if flag.escalate_at is None or flag.escalate_at > escalate_at:
            flag.escalate_at = escalate_at
        await self._session.flush()


class UpdateRepository(_Repository):
    """Keys of the incoming updates that were handled, for handling each update only once."""

    __slots__ = ()

    async def claim(self, key: str, now: datetime) -> bool:
        """Record the update as handled; True if this call did, False if it was already.

        The row is written in the caller's transaction, so it commits together with whatever
        the update changed, or rolls back with it and lets a redelivery be handled again.
        ON CONFLICT DO NOTHING instead of look-then-insert: the same update delivered twice
        at once must give one True and one False, not an error.
        """
        if not key or len(key) > 64:
            # PostgreSQL would refuse a longer key and SQLite keep it: refuse it on both.
            raise ValueError(f"update key must be 1 to 64 characters, not {len(key)}")
        stmt = _prepared(self._session, "update claim", _update_claim)
        claimed = await self._session.execute(stmt, {"key": key, "processed_at": now})
        return claimed.scalar_one_or_none() is not None


def _update_claim(dialect: str) -> Executable:
    stmt = _table_insert(dialect, ProcessedUpdate)
    return stmt.on_conflict_do_nothing(index_elements=["key"]).returning(stmt.table.c.key)


async def _changed(session: AsyncSession, stmt: Executable) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    result = await session.execute(stmt)
    if not isinstance(result, CursorResult):
        raise TypeError("not a statement that changes rows")
    return result.rowcount


@dataclass(frozen=True)
class FlagNarrowing:
    """Filters on top of whose flags someone reviews (the web view's queue): levels, only
    those past due at `overdue_at`, assigned to one person, of one programme, of one case."""

    levels: tuple[str, ...] = ()
    overdue_at: datetime | None = None
    assignee: int | None = None
    programme: str | None = None
    case_id: int | None = None
    # Raised at or after `raised_since` and before `raised_before` (the overview's periods
    # and ages of flags); of the cases of one caseworker; escalated in a period.
    raised_since: datetime | None = None
    raised_before: datetime | None = None
    caseworker: int | None = None
    escalated_since: datetime | None = None
    escalated_before: datetime | None = None

    def condition(self) -> ColumnElement[bool] | None:
        parts: list[ColumnElement[bool]] = []
        if self.raised_since is not None:
            parts.append(Flag.raised_at >= self.raised_since)
        if self.raised_before is not None:
            parts.append(Flag.raised_at < self.raised_before)
        if self.caseworker is not None:
            theirs = select(Case.id).where(Case.caseworker_id == self.caseworker)
            parts.append(Flag.case_id.in_(theirs))
        if self.escalated_since is not None or self.escalated_before is not None:
            escalated = select(AuditEvent.flag_id).where(AuditEvent.action == "escalated")
            if self.escalated_since is not None:
                escalated = escalated.where(AuditEvent.at >= self.escalated_since)
            if self.escalated_before is not None:
                escalated = escalated.where(AuditEvent.at < self.escalated_before)
            parts.append(Flag.id.in_(escalated))
        if self.levels:
            for level in self.levels:
                _check("level", level, FLAG_LEVELS)
            parts.append(Flag.level.in_(self.levels))
        if self.overdue_at is not None:
            parts.append(Flag.due_at <= self.overdue_at)
        if self.assignee is not None:
            parts.append(Flag.assigned_to == self.assignee)
        if self.programme is not None:
            of_programme = select(Case.id).where(Case.programme == self.programme)
            parts.append(Flag.case_id.in_(of_programme))
        if self.case_id is not None:
            parts.append(Flag.case_id == self.case_id)
        return and_(*parts) if parts else None


def _flags_of(
    case_ids: Iterable[int] | None,
    statuses: Iterable[str],
    assigned_to: int | None,
    narrow: FlagNarrowing | None = None,
) -> ColumnElement[bool] | None:
    """Which flags `FlagRepository.open_flags` means (None: none at all)."""
    wanted = _flags_of_people(case_ids, statuses, assigned_to)
    extra = narrow.condition() if narrow is not None else None
    if wanted is None or extra is None:
        return wanted
    return and_(wanted, extra)


def _flags_of_people(
    case_ids: Iterable[int] | None, statuses: Iterable[str], assigned_to: int | None
) -> ColumnElement[bool] | None:
    wanted_statuses = tuple(statuses)
    for status in wanted_statuses:
        _check("flag status", status, FLAG_STATUSES)
    # The unresolved ones spelled as the review queue's partial index has it, so that the
    # database may use it.
    condition = (
        unresolved()
        if sorted(wanted_statuses) == sorted(UNRESOLVED_FLAG_STATUSES)
        else Flag.status.in_(wanted_statuses)
    )
    if case_ids is None:
        return condition
    cases = set(case_ids)
    mine: ColumnElement[bool] | None = Flag.case_id.in_(cases) if cases else None
    if assigned_to is not None:
        theirs = Flag.assigned_to == assigned_to
        mine = theirs if mine is None else or_(mine, theirs)
    return None if mine is None else and_(condition, mine)
