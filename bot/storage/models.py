"""The tables of Wegwijzer as typed SQLAlchemy models, the single source the migrations follow.

Every conversation's state lives in these rows rather than in memory (design principle 4), so
the schema is what lets any number of bot processes share the work and survive restarts. The
models carry no relationships on purpose: lazy loading cannot work under asyncio, and the
repositories ask for exactly the rows they need. Migrations in `migrations/versions` must create
exactly this metadata; a contract test compares the two on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    false,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import Grouping

from bot.config import FLAG_LEVELS
from bot.engine.events import JSONValue, Value

from .crypto import EncryptedJSON, EncryptedText
from .types import UTCDateTime, utcnow

CHANNELS = ("console", "telegram")
ROLES = ("family", "caseworker", "coordinator")
# "unreachable": the person blocked the bot (Telegram answers 403); "left": they stopped.
PERSON_STATUSES = ("active", "unreachable", "left")
# "withdrawn": given once, refused later (/privacy); kept apart from a first "refused" because
# what was stored before stays, and the person is told so.
CONSENTS = ("given", "refused", "withdrawn")
RUN_STATUSES = ("active", "paused", "completed")
# A flag is "open" until someone acknowledges it (escalation stops then), and "resolved" once
# a resolution note says how it was handled; a resolved flag can be reopened.
FLAG_STATUSES = ("open", "acknowledged", "resolved")
UNRESOLVED_FLAG_STATUSES = ("open", "acknowledged")
SCHEDULE_STATUSES = ("active", "paused")
# A notice waits in the outbox ("queued") until Telegram took it ("sent"), its recipient
# refused it (blocked the bot: "unreachable"), it could never be taken ("failed"), or its
# recipient withdrew their consent before it went (a reminder: "withdrawn").
NOTICE_STATES = ("queued", "sent", "unreachable", "failed", "withdrawn")
# Statuses in which a run can still be resumed; `runs.current()` looks only at these.
OPEN_RUN_STATUSES = ("active", "paused")
__all__ = [
    "CHANNELS",
    "CONSENTS",
    "FLAG_LEVELS",
    "FLAG_STATUSES",
    "NOTICE_STATES",
    "OPEN_RUN_STATUSES",
    "PERSON_STATUSES",
    "ROLES",
    "RUN_STATUSES",
    "SCHEDULE_STATUSES",
    "UNRESOLVED_FLAG_STATUSES",
    "Answer",
    "AuditEvent",
    "Base",
    "Case",
    "CaseChild",
    "Flag",
    "Invite",
    "Membership",
    "OutboxNotice",
    "Person",
    "ProcessedUpdate",
    "ReceivedUpdate",
    "Run",
    "RunChild",
    "Schedule",
    "Score",
    "WebLink",
    "WebSession",
]

# Named constraints let later migrations alter or drop them (SQLite batch mode needs the names)
# and make the names identical on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[type, UTCDateTime]] = {datetime: UTCDateTime()}


class Person(Base):
    """Someone who talks to the bot, known only by their channel's id (no names).

    The id is stored sealed (it is how to reach a family); `external_key`, a keyed hash of
    channel and id (`crypto.Keyring.lookup_key`), is what finds the person again."""

    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("channel", "external_key"),
        # Who is told of a flag: the coordinators, found again for every flag a digest or an
        # escalation tells of (`people.with_role`) — without it, a scan of every person.
        Index(None, "role", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(EncryptedText("person.external_id"))
    external_key: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Null until the person has answered the consent question; "refused" (or "withdrawn", after
    # having given it) is kept, not deleted, so the bot knows not to ask again and can show the
    # choice when it is changed later. Anything but "given" stops processing for the person.
    consent: Mapped[str | None] = mapped_column(String(16))
    consent_at: Mapped[datetime | None]
    # What the person's next typed message is for, when it is not an answer to a flow: a
    # note on a flag, say, as {"action": "note", "flag_id": 7}. Kept here, not in memory, so
    # any bot process takes the reply.
    awaiting: Mapped[dict[str, JSONValue] | None] = mapped_column(JSON)
    # When they left (`wegwijzer person leave`): the contact term of privacy.yaml runs from it.
    left_at: Mapped[datetime | None]
    # When their personal data was removed (erasure on request, or the contact term ended):
    # the row stays as a tombstone, so what refers to it still refers to something.
    erased_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        # No external id: reprs end up in logs, and logs carry no identifying data.
        return f"Person(id={self.id}, role={self.role!r}, channel={self.channel!r})"


class Case(Base):
    """A family's case under a pseudonymous code; `case` is an SQL keyword, hence `case_file`."""

    __tablename__ = "case_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    programme: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    caseworker_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    # The reintegration stage (domain.md), set by the caseworker's guidance; null before that.
    stage: Mapped[str | None] = mapped_column(String(32))
    stage_since: Mapped[datetime | None]
    # When contact and reunification began: the weekly visits of the first weeks count from it.
    returned_at: Mapped[datetime | None]
    # The caseworker's next home visit, by the stage's visit plan; null when none is planned.
    visit_due_at: Mapped[datetime | None] = mapped_column(index=True)
    last_visit_at: Mapped[datetime | None]
    # The risk level the caseworker's screening set (high, medium, low) and when the screening
    # is due again; the level also makes home visits more frequent.
    risk_level: Mapped[str | None] = mapped_column(String(16))
    risk_set_at: Mapped[datetime | None]
    review_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # When the caseworker was last reminded of a due review: the due date itself stays as it
    # is, so the case view keeps showing the screening as due until it is done.
    review_reminded_at: Mapped[datetime | None]
    # The Meldcode re-evaluation (afwegingskader, question 5: does the help lead to lasting
    # safety?), which can only be weighed once help has been given: the date the caseworker
    # planned for it, and when they were last reminded. Cleared by the next Meldcode run.
    reevaluation_due_at: Mapped[datetime | None] = mapped_column(index=True)
    reevaluation_reminded_at: Mapped[datetime | None]
    # Closure: the caseworker proposes it, a coordinator approves (status "closed") or returns
    # it (the proposal is cleared, the note is in the audit log); a closed case can be reopened.
    closure_proposed_at: Mapped[datetime | None]
    closure_proposed_by: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None]
    # A legal hold (a court case, a complaint, an inquiry) stops retention and erasure from
    # removing anything of the case until it is released; the operator gives the reason.
    legal_hold_at: Mapped[datetime | None]
    legal_hold_reason: Mapped[str | None] = mapped_column(
        EncryptedText("case_file.legal_hold_reason")
    )
    # When the case file's content was removed (erasure, or the end of its retention term):
    # the code stays as a tombstone, and the flags keep their shape without their evidence.
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Case(id={self.id}, code={self.code!r}, programme={self.programme!r})"


class Membership(Base):
    """Who belongs to which case; what a family member may see follows from these rows."""

    __tablename__ = "membership"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True
    )
    # The primary key serves lookups by person; listing a case's members needs its own index.
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Invite(Base):
    """A single-use, expiring way in, which fixes the newcomer's role and (for families) case."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Only the SHA-256 of the code: the code is a secret, and a copy of the database must not
    # hand out working invites. Unique, so the code alone finds its invite.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    # CASCADE, not SET NULL: a family invite that lost its case must not let anybody in.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    # Null when the invite was made on the command line rather than by someone in the bot.
    created_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # `used_at` alone marks the invite as spent; `used_by` may be nulled when the person goes.
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        # No hash: even the hash of a live invite has no business in the logs.
        return f"Invite(id={self.id}, role={self.role!r}, case_id={self.case_id})"


class ProcessedUpdate(Base):
    """An incoming update that was handled, so that a second delivery of it is ignored."""

    __tablename__ = "processed_update"

    # Channel and the channel's update id, like "telegram:123456789".
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Indexed for pruning: the rows are only needed for as long as a redelivery can come.
    processed_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"ProcessedUpdate(key={self.key!r})"


class ReceivedUpdate(Base):
    """An update a bot process received by webhook, kept until it has been handled, so that
    any process sharing the database can handle it in its person's turn (PostgreSQL, see
    `bot/telegram/_shared.py`)."""

    __tablename__ = "received_update"
    __table_args__ = (
        # A person's waiting updates, oldest first: what the process holding their turn reads.
        Index(None, "turn", "update_id"),
    )

    # Telegram's update id: a second delivery of an update still waiting is not kept twice.
    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The person's turn: a number made from their keyed hash (`person.external_key`), so two
    # people may share one (they then simply take turns), and it names nobody.
    turn: Mapped[int] = mapped_column(Integer)
    # The number of the process that received it, while that process lives: the update is
    # left to it until then.
    receiver: Mapped[int] = mapped_column(Integer)
    # The update as Telegram sent it, message text and all: sealed.
    payload: Mapped[str] = mapped_column(EncryptedText("received_update.payload"))
    # Only updates in flight are here (tens of rows): looking for forsaken ones needs no index.
    received_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"ReceivedUpdate(update_id={self.update_id}, turn={self.turn})"


class Run(Base):
    """One pass of a person through one version of a flow, with the engine's state."""

    __tablename__ = "run"
    __table_args__ = (
        Index(None, "person_id", "status"),
        # SQLite reuses the highest rowid after a delete without AUTOINCREMENT; run ids travel
        # in Telegram callback data, so an old button must never point at someone else's run.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    step: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # Holds the run's answers too (the engine's state): sealed like them.
    state: Mapped[dict[str, JSONValue]] = mapped_column(EncryptedJSON("run.state"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return (
            f"Run(id={self.id}, flow={self.flow_id!r}@{self.flow_version}, "
            f"step={self.step!r}, status={self.status!r})"
        )


class Answer(Base):
    """One answer under its stable key; a revisited question overwrites its row."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    # Sealed, every value: a choice says as much about a family as typed words do.
    value: Mapped[Value] = mapped_column(EncryptedJSON("answer.value"), nullable=False)
    step: Mapped[str] = mapped_column(String(64))
    # Exports read answers in time order, optionally from a point in time on.
    answered_at: Mapped[datetime] = mapped_column(index=True)

    def __repr__(self) -> str:
        # The value is left out: logs carry no answers.
        return f"Answer(run_id={self.run_id}, key={self.key!r})"


class Score(Base):
    """A score a flow computed from a run's answers (for example the WHO-5 total)."""

    __tablename__ = "score"

    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime]


class Flag(Base):
    """A risk a flow's rule raised, for a coordinator to acknowledge and resolve."""

    __tablename__ = "flag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Nullable and SET NULL: a flag is a record of concern that must outlive a deleted run.
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="SET NULL"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("run.id", ondelete="SET NULL"), index=True
    )
    flow_id: Mapped[str] = mapped_column(String(64))
    flow_version: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    # An English msgid, translated when shown, so each coordinator reads it in their language.
    reason: Mapped[str] = mapped_column(Text)
    # Copied answers, so the flag still shows why it was raised if the answers change later.
    evidence: Mapped[dict[str, JSONValue]] = mapped_column(EncryptedJSON("flag.evidence"))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    raised_at: Mapped[datetime]
    due_at: Mapped[datetime]
    # When the people who must act were told: at once for urgent and high, in the daily
    # digest for medium and low. Null means "still to tell", which is what makes the telling
    # survive a crash: whichever process finds it null tells them. Indexed for finding those
    # (`flags.to_notify`, the digest's and the alarms' query) among thousands told.
    notified_at: Mapped[datetime | None] = mapped_column(index=True)
    # When a flag already told is to be told again (a repeated alarm): now, or — within a few
    # minutes of the last notice — at the end of that window, once for all repeats.
    tell_again_at: Mapped[datetime | None] = mapped_column(index=True)
    # When the flag is next escalated to every coordinator if nobody has acknowledged it:
    # its due time at first, then again each interval. Null once acknowledged or resolved.
    escalate_at: Mapped[datetime | None] = mapped_column(index=True)
    escalations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Indexed: a caseworker's /flags shows the flags assigned to them, whatever their case.
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    resolution: Mapped[str | None] = mapped_column(EncryptedText("flag.resolution"))

    def __repr__(self) -> str:
        return f"Flag(id={self.id}, rule={self.rule!r}, level={self.level!r})"


def _sql(value: str | int) -> ColumnElement[str | int]:
    """A constant written into the SQL itself, not bound as a parameter: a database uses an
    index on an expression, or a partial index, only for a query that spells the expression
    or the condition the same way — which a parameter's placeholder never does."""
    if isinstance(value, str):
        if "'" in value:
            raise ValueError(f"not a plain constant: {value!r}")
        return literal_column(f"'{value}'")
    return literal_column(str(int(value)))


def level_rank() -> ColumnElement[int]:
    """A flag's level as a rank, most serious first (urgent=0 … low=3, unknown ones last):
    what the review queue sorts by (alphabetical order would put "high" before "urgent")."""
    return case(
        *((Flag.level == _sql(level), _sql(rank)) for rank, level in enumerate(FLAG_LEVELS)),
        else_=_sql(len(FLAG_LEVELS)),
    )


def unresolved() -> ColumnElement[bool]:
    """A flag still to be dealt with (open or acknowledged), spelled as the index below has it."""
    return Flag.status.in_([_sql(status) for status in UNRESOLVED_FLAG_STATUSES])


# The review queue (/flags): the unresolved flags, most serious first, then by due time. An
# index in exactly that order, of the unresolved flags only, lets the first page of a
# coordinator's queue read five index entries rather than sort every unresolved flag: the
# queue of a large organisation holds ten thousand. Partial, so the resolved flags, most of
# them, take no room in it.
Index(
    "ix_flag_review_queue",
    # In parentheses: PostgreSQL takes an expression in an index only so.
    Grouping(level_rank()),
    Flag.due_at,
    Flag.raised_at,
    Flag.id,
    postgresql_where=unresolved(),
    sqlite_where=unresolved(),
)


def open_case() -> ColumnElement[bool]:
    """A case still worked on (open, not erased), spelled as the open cases' indexes below
    have it."""
    return and_(Case.status == _sql("open"), Case.erased_at.is_(None))


# The coordinators' overview (migration 0016): the open cases per caseworker, and by
# programme, stage and risk level, each read from an index of the open cases alone (the
# closed ones, a growing share, take no room in them).
Index(
    "ix_case_file_open_caseworker",
    Case.caseworker_id,
    postgresql_where=open_case(),
    sqlite_where=open_case(),
)
Index(
    "ix_case_file_open_programme",
    Case.programme,
    Case.stage,
    Case.risk_level,
    postgresql_where=open_case(),
    sqlite_where=open_case(),
)


def any_flag_status() -> ColumnElement[bool]:
    """Every flag (each has one of the statuses), spelled as `ix_flag_raised_at` has it."""
    return Flag.status.in_([_sql(status) for status in FLAG_STATUSES])


def closed_case() -> ColumnElement[bool]:
    return Case.status == _sql("closed")


# The flags raised in a period and the cases closed in one (the overview). Partial, on a
# condition spelled with constants that only the overview's queries spell: SQLite, without
# statistics, would otherwise take a plain index on `raised_at` for any `raised_at < now`
# (the flags still to tell: every flag read, 13 ms instead of 0.1) and one on `closed_at`
# for the retention's scans.
Index(
    "ix_flag_raised_at",
    Flag.raised_at,
    postgresql_where=any_flag_status(),
    sqlite_where=any_flag_status(),
)
Index(
    "ix_case_file_closed_at",
    Case.closed_at,
    postgresql_where=closed_case(),
    sqlite_where=closed_case(),
)


def finished_flow() -> ColumnElement[str | None]:
    """A run's flow if the run is finished (None otherwise), spelled as the index below has
    it."""
    return case((Run.status == _sql("completed"), Run.flow_id))


# The web view's list of cases searched by the start of a code (`code LIKE 'AB%'`): in
# PostgreSQL's usual collations (anything but "C") the unique index on the code cannot serve
# a pattern, so one with `text_pattern_ops` does (PostgreSQL only: SQLite compares the range
# of codes on its unique index).
Index("ix_case_file_code_pattern", Case.code, postgresql_ops={"code": "text_pattern_ops"}).ddl_if(
    dialect="postgresql"
)

# The cases silent for weeks (the list's `silent` filter): the check-ins finished since a
# day, of every case, read as a range of this index rather than probing each case's runs.
# On an expression that only that query spells (`finished_flow`): SQLite, without
# statistics, would take a plain index on (flow_id, ended_at), or a partial one, for a
# case's own runs too (its history, its last check-in), and read every case's check-ins.
Index(
    "ix_run_finished_flow_ended_at",
    # In parentheses: PostgreSQL takes an expression in an index only so.
    Grouping(finished_flow()),
    Run.ended_at,
    Run.case_id,
)


class AuditEvent(Base):
    """Who did what, when: every change of a flag and every look at a case's answers.

    Append-only: the repository can only add and read, and the database refuses DELETE on
    this table and UPDATE of anything but the sealed note (triggers, migration 0010). The ids
    are plain integers without foreign keys on purpose: the record must stay as it was
    written when a person, case or flag is deleted later.
    """

    __tablename__ = "audit_event"
    # The overview finds the escalations of a period by action and time (migration 0016).
    __table_args__ = (
        Index(None, "case_id", "at"),
        Index(None, "flag_id", "at"),
        Index(None, "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    # Null with role "system" (escalation, digest) or "operator" (the command line).
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer)
    flag_id: Mapped[int | None] = mapped_column(Integer)
    # A person's own words (a note, a resolution): shown to reviewers, never logged; sealed.
    # The one column that may change (migration 0010): key rotation re-seals it, erasure
    # and retention blank it; who did what when stays as written.
    note: Mapped[str | None] = mapped_column(EncryptedText("audit_event.note"))
    detail: Mapped[dict[str, JSONValue]] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"AuditEvent(id={self.id}, action={self.action!r}, flag_id={self.flag_id})"


class Schedule(Base):
    """When a case's family is asked for a flow (their check-in), and where that stands.

    The due work lives here, not in memory: `next_due_at` is the next reminder (UTC, computed
    in the schedule's local time), and the bot processes claim due rows with SKIP LOCKED, so
    after downtime each overdue reminder goes out once and with several processes exactly once.
    """

    __tablename__ = "schedule"
    __table_args__ = (UniqueConstraint("case_id", "flow_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    flow_id: Mapped[str] = mapped_column(String(64))
    # The cadence in its stored form (`bot.rules.cadence.Cadence.as_dict()`).
    cadence: Mapped[dict[str, JSONValue]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    # Who paused it ("family" through /stop, or staff), so the caseworker sees it.
    paused_by: Mapped[str | None] = mapped_column(String(16))
    paused_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # The last reminder sent; a completed run of the flow after it means it was answered.
    reminded_at: Mapped[datetime | None]
    # The one gentle follow-up reminder, if the family has not answered by then.
    follow_up_at: Mapped[datetime | None] = mapped_column(index=True)
    # Reminders in a row that were not answered; a "no contact" flag at the threshold.
    missed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set while a due reminder waits for the family to finish another flow.
    deferred_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Schedule(id={self.id}, case_id={self.case_id}, flow={self.flow_id!r})"


class OutboxNotice(Base):
    """Something the bot is to tell a person on its own initiative, until it is told.

    Written in the same transaction as the change that causes it (a flag raised, a reminder
    due, a closure proposed), so a change is never stored without its notice nor a notice
    without its change. A sender claims queued rows (SKIP LOCKED on PostgreSQL, so several
    processes never take the same one), and marks each sent only once Telegram accepted it;
    a claim that is never settled (the process was killed mid-send) lapses at `claimed_until`
    and the notice is sent again. Urgent ones are claimed first.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "state", "urgent", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Whom to tell; none for a notice to the deployment's fallback chat (`chat`), where an
    # alarm goes that would otherwise reach nobody.
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    chat: Mapped[str | None] = mapped_column(String(64))
    # The flag it is about, if any: its history shows when each person was told.
    flag_id: Mapped[int | None] = mapped_column(
        ForeignKey("flag.id", ondelete="SET NULL"), index=True
    )
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The message and its buttons, as `bot.services.notices.encode` writes them; rendered in
    # the recipient's language when sent.
    body: Mapped[dict[str, JSONValue]] = mapped_column(EncryptedJSON("outbox.body"))
    state: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    queued_at: Mapped[datetime]
    # Not before: now at first, later after each failed try.
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"OutboxNotice(id={self.id}, state={self.state!r}, urgent={self.urgent})"


class CaseChild(Base):
    """A child of a case, known by a pseudonym: its number in the case (never reused), an
    optional short label ("eldest", never a name), year of birth, placement and sibling group.

    The Child Status Index rates one child (domain.md, "Corrections"): a home visit rates each
    child of the case in a run of its own (`RunChild`). A Simba case places siblings together:
    `sibling_group` tells groups of siblings apart within a case, `with_siblings` records
    whether this child lives with the rest of their group.
    """

    __tablename__ = "case_child"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(EncryptedText("case_child.label"))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    # Where the child lives now (`bot.services.children.PLACEMENTS`).
    placement: Mapped[str | None] = mapped_column(String(32))
    sibling_group: Mapped[str | None] = mapped_column(String(16))
    with_siblings: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        # No label: it is the caseworker's words about a child.
        return f"CaseChild(id={self.id}, case_id={self.case_id}, number={self.number})"


class RunChild(Base):
    """The child a run is about (a home visit's ratings): its answers and scores are that
    child's. A row of its own rather than a column of `run`, so runs of other flows carry
    nothing of it."""

    __tablename__ = "run_child"

    run_id: Mapped[int] = mapped_column(ForeignKey("run.id", ondelete="CASCADE"), primary_key=True)
    child_id: Mapped[int] = mapped_column(
        ForeignKey("case_child.id", ondelete="CASCADE"), index=True
    )


class WebLink(Base):
    """A one-time sign-in link to the web view (`/web` in the bot), bound to the staff
    member who asked for it: single use, valid for minutes.

    The token is a selector (which link) and a verifier (the secret): the selector finds the
    row, and only the SHA-256 of the verifier is kept, like an invite's code, so a copy of the
    database hands out no working links. A wrong verifier for a known selector counts as a
    failure, and a link is locked after a few.
    """

    __tablename__ = "web_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"WebLink(id={self.id}, person_id={self.person_id})"


class WebSession(Base):
    """A signed-in browser: the SHA-256 of its random session id (the cookie holds the id),
    whose it is, and when it ends (idle timeout and absolute lifetime)."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    # The absolute end, whatever the activity; idle ends come from last_seen_at.
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # The language chosen with the web view's switch (None: the person's own).
    language: Mapped[str | None] = mapped_column(String(16))

    def __repr__(self) -> str:
        return f"WebSession(id={self.id}, person_id={self.person_id})"
