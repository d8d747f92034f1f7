"""Bulk seeding of an invented organisation at scale, for `wegwijzer bench --scale`.

A deployment about two years in: a few programmes, coordinators, caseworkers with about forty
cases each, families of one to three people, their check-ins and the caseworkers' home visits
and guidance with their answers and scores, children, flags (most resolved; some open, some
acknowledged, assigned or overdue), schedules with reminders due now, the outbox of the last
weeks and the audit log (with the last weeks' check-in reminders). Everything is invented,
from a fixed random seed, in the proportions of `Shape` (100,000 cases: 200,000 people,
2,000,000 answers, 50,000 flags of which 10,000 open, 1,000 reminders due).

The rows go in through each database's own bulk path — COPY on PostgreSQL (asyncpg), large
executemany batches in one transaction on SQLite (sqlite3) — into a freshly migrated database:
through the ORM this much would take an hour. Sealed columns still hold properly sealed
values, so reading them works as in a deployment: each distinct plain value is sealed a few
times, once, with the column's name as associated data (as `crypto.EncryptedText` and
`EncryptedJSON` do) and the sealed strings are reused. A person's id is sealed one by one:
it has to match the person's `external_key`, by which the bot finds them.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import make_url

from bot.config import DEFAULT_FLAG_DUE, Settings
from bot.engine import FlowRegistry
from bot.engine.events import RunState, Text
from bot.engine.model import (
    ChecklistStep,
    ChoiceStep,
    EndStep,
    NumberStep,
    ScaleStep,
    TextStep,
    YesNoStep,
)
from bot.engine.vocabulary import PROGRAMMES, REINTEGRATION_STAGES
from bot.rules.cadence import parse_cadence
from bot.services import texts
from bot.services.emergency import EMERGENCY_FLOW
from bot.services.notices import Notice, encode
from bot.services.people import Recipient
from bot.services.schedules import NO_CONTACT_RULE, SCHEDULES_FLOW
from bot.storage import Base
from bot.storage.crypto import Keyring
from tests.databases import libpq_dsn

__all__ = ["CHANNEL", "Seeded", "Shape", "external_id_of", "seed_database"]

CHANNEL = "telegram"
# A person's Telegram id is this plus their row id: known to the bench without opening it.
_EXTERNAL_BASE = 900_000_000
# How many sealed copies of each distinct plain value: enough that equal answers do not all
# share one ciphertext, few enough to seal in no time.
_SEALED_COPIES = 3
_BATCH = 20_000
YEARS = 2


def external_id_of(person_id: int) -> str:
    return str(_EXTERNAL_BASE + person_id)


@dataclass(frozen=True)
class Shape:
    """How much of everything, in the proportions of issue #16 for `cases` cases."""

    cases: int = 100_000

    @property
    def coordinators(self) -> int:
        return max(2, self.cases // 2_000)

    @property
    def caseworkers(self) -> int:
        return max(2, self.cases // 40)

    @property
    def people(self) -> int:
        return 2 * self.cases

    @property
    def answers(self) -> int:
        return 20 * self.cases

    @property
    def flags(self) -> int:
        return self.cases // 2

    @property
    def open_flags(self) -> int:
        return self.cases // 10

    @property
    def acknowledged_flags(self) -> int:
        return self.cases * 3 // 100

    @property
    def digest_flags(self) -> int:
        # Medium and low flags raised on the day before the digest, beyond those drawn there
        # anyway (about 50 for 100,000 cases): so that a small seeding has some too.
        return max(3, self.cases // 20_000)

    @property
    def due_reminders(self) -> int:
        return max(10, self.cases // 100)

    @property
    def sent_notices(self) -> int:
        # privacy.yaml keeps delivered notices 30 days: about a fortnight's reminders for
        # every family, and the flags' notices to staff.
        return self.cases * 3 // 2


@dataclass
class Seeded:
    """What the seeding made that the measurements need, and what it cost."""

    shape: Shape
    coordinators: list[int]
    caseworkers: list[int]
    # Open cases with at least one run, by code, with their caseworker.
    active_cases: list[tuple[str, int]]
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# --- where the rows go ----------------------------------------------------------------------

Row = tuple[object, ...]


class _Writer(Protocol):
    def stamp(self, moment: datetime) -> object: ...

    async def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int: ...

    async def finish(self) -> None: ...


def _checked(table: str, columns: Sequence[str]) -> str:
    """The INSERT's column list, after checking it against the models: a renamed or new
    required column fails here, not as a half-seeded database."""
    model = Base.metadata.tables[table]
    unknown = [name for name in columns if name not in model.c]
    required = [
        column.name
        for column in model.c
        if not column.nullable
        and column.server_default is None
        and not (column.primary_key and column.autoincrement is True)
        and column.name not in columns
        and not column.primary_key
    ]
    if unknown or required:
        raise ValueError(f"{table}: unknown columns {unknown}, required columns missing {required}")
    return ", ".join(f'"{name}"' for name in columns)


class _SQLiteWriter:
    """One transaction of executemany batches with SQLite's own driver."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        # A seeding that fails is started again from scratch: no need to survive a crash, so
        # no journal (the bot's WAL mode is set again at the end) and no syncing; and a cache
        # that holds the indexes being filled.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-500000"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.connection.execute("BEGIN")

    def stamp(self, moment: datetime) -> object:
        # How SQLAlchemy's SQLite DateTime stores a value (naive UTC, always microseconds):
        # the bot compares these as text, so the form must be exactly the same.
        return moment.isoformat(" ", "microseconds")

    async def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        names = _checked(table, columns)
        marks = ", ".join("?" for _ in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        count = 0
        for batch in _batches(rows):
            self.connection.executemany(sql, batch)
            count += len(batch)
        return count

    async def finish(self) -> None:
        self.connection.execute("COMMIT")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.close()


class _PostgresWriter:
    """COPY through asyncpg, then the id sequences moved past the rows written."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.tables: list[str] = []

    @classmethod
    async def open(cls, url: str) -> _PostgresWriter:
        return cls(await asyncpg.connect(libpq_dsn(url)))

    def stamp(self, moment: datetime) -> object:
        return moment  # `timestamp without time zone`: naive UTC, as UTCDateTime stores it

    async def write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> int:
        _checked(table, columns)
        count = 0
        for batch in _batches(rows):
            await self.connection.copy_records_to_table(table, records=batch, columns=columns)
            count += len(batch)
        if "id" in columns and count:
            self.tables.append(table)
        return count

    async def finish(self) -> None:
        try:
            for table in self.tables:
                # The bot's own inserts come after the seeded ids.
                await self.connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f'(SELECT max(id) FROM "{table}"))'
                )
            # What autovacuum does shortly after a bulk load: statistics for the planner and
            # the visibility map for index-only scans. Measuring before it would measure a
            # database no deployment runs on for more than a minute.
            await self.connection.execute("VACUUM ANALYZE")
        finally:
            await self.connection.close()


def _batches(rows: Iterable[Row]) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# --- sealed values --------------------------------------------------------------------------


class _Sealed:
    """Sealed strings of a column, `_SEALED_COPIES` per distinct value, made on first use."""

    def __init__(self, keyring: Keyring, column: str, rng: random.Random, *, json_column: bool):
        self.keyring, self.column, self.rng, self.json_column = keyring, column, rng, json_column
        self.pool: dict[str, list[str]] = {}
        self.known: dict[tuple[type, object], list[str]] = {}

    def __call__(self, value: object) -> str:
        # By type too: True == 1, and the two are sealed as different JSON.
        known = (type(value), value) if isinstance(value, str | int | float) else None
        copies = self.known.get(known) if known is not None else None
        if copies is None:
            plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            copies = self.pool.get(plain)
            if copies is None:
                data = plain if self.json_column else str(value)
                copies = [
                    self._stored(self.keyring.seal(data.encode(), self.column))
                    for _ in range(_SEALED_COPIES)
                ]
                self.pool[plain] = copies
            if known is not None:
                self.known[known] = copies
        return copies[int(self.rng.random() * _SEALED_COPIES)]

    def _stored(self, token: str) -> str:
        # A JSON column holds the sealed string as a JSON string (EncryptedJSON).
        return json.dumps(token) if self.json_column else token


# --- the flows: what is asked, what is scored, what raises flags -----------------------------

# Free text is invented and harmless; one starts with "=" as someone's typing might.
_NOTES = (
    "Talked with the mother about school mornings.",
    "All fine, the children were playing outside.",
    "Wil volgende keer liever 's avonds.",
    "=we were told to write it like this",
    "Grandmother stays for two weeks.",
)


@dataclass(frozen=True)
class _Question:
    key: str
    step: str
    draw: Callable[[random.Random], object]


@dataclass(frozen=True)
class _FlowPlan:
    flow_id: str
    version: int
    questions: tuple[_Question, ...]
    end_step: str
    scores: dict[str, tuple[str, ...]]
    rules: tuple[tuple[str, str, str, dict[str, object]], ...]  # rule, level, reason, evidence


def _draw_choice(values: Sequence[object]) -> Callable[[random.Random], object]:
    # Earlier options are the commoner answers in most of the flows (fine, enough, yes).
    weights = [1.0 / (1 + n) for n in range(len(values))]
    return lambda rng: rng.choices(values, weights)[0]


def _draw_scale(values: Sequence[int]) -> Callable[[random.Random], object]:
    middle = (min(values) + max(values)) / 2 + 0.5
    return lambda rng: min(max(round(rng.gauss(middle, 1.2)), min(values)), max(values))


def _questions(step: object) -> list[_Question]:
    if isinstance(step, ChecklistStep):
        done = _draw_choice(["done", "not_yet", "not_applicable"])
        return [_Question(step.status_key(item.id), step.id, done) for item in step.items]
    if isinstance(step, ScaleStep):
        return [_Question(step.key, step.id, _draw_scale([o.value for o in step.options]))]
    if isinstance(step, ChoiceStep):
        return [_Question(step.key, step.id, _draw_choice([o.value for o in step.options]))]
    if isinstance(step, YesNoStep):
        return [_Question(step.key, step.id, lambda rng: rng.random() < 0.8)]
    if isinstance(step, NumberStep):
        low, high = int(step.min or 0), int(step.max or 10)
        return [_Question(step.key, step.id, lambda rng: rng.randint(low, high))]
    if isinstance(step, TextStep):
        return [_Question(step.key, step.id, lambda rng: rng.choice(_NOTES))]
    return []


def _plans(flows: FlowRegistry) -> dict[str, _FlowPlan]:
    plans = {}
    for flow in flows.latest():
        questions = tuple(q for step in flow.steps for q in _questions(step))
        end = next(step.id for step in flow.steps if isinstance(step, EndStep))
        rules = []
        for rule in flow.flags:
            evidence: dict[str, object] = {}
            for leaf in rule.when.comparisons():
                subject = leaf.subject
                if subject is not None and subject[0] in ("answer", "score"):
                    evidence[subject[1]] = leaf.values[0]
            reason = getattr(rule.reason, "msgid", rule.reason)
            rules.append((rule.id, rule.level, str(reason), evidence))
        scores = {name: score.sum for name, score in flow.scores.items() if score.sum}
        plans[flow.id] = _FlowPlan(flow.id, flow.version, questions, end, scores, tuple(rules))
    return plans


# Who runs which flow, how often (of all runs), and how many of its questions a run answers.
_RUN_KINDS = (
    ("family_checkin", "family", 55),
    ("home_visit", "caseworker", 27),
    ("risk_screening", "caseworker", 6),
    ("caregiver_check", "caseworker", 5),
    ("reintegration", "caseworker", 4),
    ("meldcode", "caseworker", 2),
    ("case_closure", "caseworker", 1),
)
_MOST_ANSWERS = 13
# The weeks of check-in reminders in the audit log (a deployment keeps them all; the case page
# reads the last half year of a case, through the index on case and time).
_REMINDER_WEEKS = 8

_LEVEL_WEIGHTS = {"urgent": 4, "high": 20, "medium": 50, "low": 26}
# How long a flag of each level typically stays unresolved (days): urgent ones are handled at
# once, low ones can wait for months in a busy team.
_OPEN_FOR_DAYS = {"urgent": 3.0, "high": 20.0, "medium": 150.0, "low": 250.0}
_PROGRAMME_WEIGHTS = (35, 15, 10, 20, 15, 5)
_LANGUAGES = (("nl", 55), ("ar", 10), ("tr", 8), ("pl", 7), ("uk", 6), ("fr", 5), ("sw", 4))
_LANGUAGES += (("en", 5),)


# --- the seeding ----------------------------------------------------------------------------


@dataclass
class _Case:
    id: int
    code: str
    programme: str
    caseworker: int
    created: datetime
    closed: datetime | None
    family: list[int] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    runs: int = 0


@dataclass
class _Run:
    id: int
    case: _Case
    flow: str
    person: int
    started: datetime
    status: str
    questions: list[_Question]


async def seed_database(
    url: str,
    shape: Shape,
    keyring: Keyring,
    flows: FlowRegistry,
    settings: Settings,
    now: datetime,
    *,
    seed: int = 16,
) -> Seeded:
    """Fill the migrated, empty database at `url` (sqlite:/// or postgresql://)."""
    started = time.perf_counter()
    backend = make_url(url).get_backend_name()
    writer: _Writer
    if backend == "sqlite":
        database = make_url(url).database
        assert database, "a SQLite file, not a memory database"
        writer = _SQLiteWriter(database)
    else:
        writer = await _PostgresWriter.open(url)
    seeding = _Seeding(shape, keyring, flows, settings, now, random.Random(seed), writer)
    try:
        seeded = await seeding.run()
    finally:
        await writer.finish()
    seeded.seconds = time.perf_counter() - started
    return seeded


class _Seeding:
    def __init__(
        self,
        shape: Shape,
        keyring: Keyring,
        flows: FlowRegistry,
        settings: Settings,
        now: datetime,
        rng: random.Random,
        writer: _Writer,
    ) -> None:
        self.shape, self.keyring, self.settings, self.rng, self.w = (
            shape,
            keyring,
            settings,
            rng,
            writer,
        )
        # Naive UTC inside, as the columns store it: no conversion for each of millions of
        # values.
        self.now = now.astimezone(UTC).replace(tzinfo=None)
        self.start = self.now - timedelta(days=365 * YEARS)
        self.plans = _plans(flows)
        self.flows = flows
        self.rows: dict[str, int] = {}
        zone = ZoneInfo(settings.timezone)
        local = now.astimezone(zone)
        slot = datetime.combine(local.date(), settings.digest_time, tzinfo=zone)
        if slot > local:
            slot -= timedelta(days=1)
        # The digest last due (and not yet built): flags of the day before it wait for it.
        self.digest_slot = slot.astimezone(UTC).replace(tzinfo=None)
        self._utc = writer.stamp

    def _between(self, first: datetime, last: datetime) -> datetime:
        return first + (last - first) * self.rng.random()

    async def _write(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        self.rows[table] = self.rows.get(table, 0) + await self.w.write(table, columns, rows)

    async def run(self) -> Seeded:
        shape, rng = self.shape, self.rng
        coordinators = list(range(1, shape.coordinators + 1))
        caseworkers = list(range(coordinators[-1] + 1, coordinators[-1] + 1 + shape.caseworkers))
        cases = self._cases(caseworkers)
        self._families(cases, first_id=caseworkers[-1] + 1)
        await self._people(coordinators, caseworkers, cases)
        await self._case_files(cases)
        await self._write(
            "membership",
            ("person_id", "case_id", "created_at"),
            (
                (person, case.id, self._utc(case.created))
                for case in cases
                for person in case.family
            ),
        )
        await self._children(cases)
        runs = self._runs(cases)
        await self._runs_answers_scores(runs)
        flags = await self._flags(runs, cases, coordinators)
        await self._schedules_and_outbox(cases, flags)
        await self._audit(flags, cases)
        active = [
            (case.code, case.caseworker) for case in cases if case.closed is None and case.runs
        ]
        rng.shuffle(active)
        return Seeded(shape, coordinators, caseworkers, active, self.rows)

    # -- cases and people

    def _cases(self, caseworkers: list[int]) -> list[_Case]:
        rng, codes = self.rng, set()
        alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
        cases = []
        for case_id in range(1, self.shape.cases + 1):
            code = ""
            while not code or code in codes:
                letters = "".join(rng.choices(alphabet, k=6))
                code = f"{letters[:3]}-{letters[3:]}"
            codes.add(code)
            created = self._between(self.start - timedelta(days=120), self.now - timedelta(days=1))
            age = (self.now - created).days
            closed = None
            if rng.random() < 0.3 * age / (365 * YEARS):
                closed = self._between(created + timedelta(days=1), self.now)
            programme = rng.choices(PROGRAMMES, _PROGRAMME_WEIGHTS)[0]
            cases.append(_Case(case_id, code, programme, rng.choice(caseworkers), created, closed))
        return cases

    def _families(self, cases: list[_Case], first_id: int) -> None:
        """One to three people per case, as many as make `shape.people` with the staff."""
        rng = self.rng
        staff = self.shape.coordinators + self.shape.caseworkers
        extra = max(0, self.shape.people - staff - len(cases))
        sizes = [1] * len(cases)
        while extra > 0:
            index = rng.randrange(len(cases))
            if sizes[index] < 3:
                sizes[index] += 1
                extra -= 1
        person = first_id
        for case, size in zip(cases, sizes, strict=True):
            case.family = list(range(person, person + size))
            person += size

    async def _people(self, coordinators: list[int], caseworkers: list[int], cases: list[_Case]):
        rng, keyring = self.rng, self.keyring
        languages = [code for code, _ in _LANGUAGES]
        weights = [weight for _, weight in _LANGUAGES]

        def person(person_id: int, role: str, created: datetime, status: str = "active") -> Row:
            external = external_id_of(person_id)
            consent = "given" if role != "family" or rng.random() < 0.95 else "refused"
            left = self._utc(self._between(created, self.now)) if status == "left" else None
            return (
                person_id,
                CHANNEL,
                keyring.seal(external.encode(), "person.external_id"),
                keyring.lookup_key(CHANNEL, external),
                role,
                "nl" if role != "family" else rng.choices(languages, weights)[0],
                status,
                self._utc(created),
                consent,
                self._utc(created + timedelta(minutes=5)),
                left,
            )

        def rows() -> Iterator[Row]:
            for person_id in coordinators:
                yield person(person_id, "coordinator", self.start - timedelta(days=200))
            for person_id in caseworkers:
                yield person(person_id, "caseworker", self.start - timedelta(days=100))
            for case in cases:
                for person_id in case.family:
                    chance = rng.random()
                    status = (
                        "active" if chance < 0.95 else "unreachable" if chance < 0.98 else "left"
                    )
                    yield person(person_id, "family", case.created, status)

        columns = (
            "id",
            "channel",
            "external_id",
            "external_key",
            "role",
            "language",
            "status",
            "created_at",
            "consent",
            "consent_at",
            "left_at",
        )
        await self._write("person", columns, rows())

    async def _case_files(self, cases: list[_Case]) -> None:
        rng, now = self.rng, self.now

        def maybe(chance: float, moment: Callable[[], datetime]) -> object:
            return self._utc(moment()) if rng.random() < chance else None

        def rows() -> Iterator[Row]:
            for case in cases:
                live = case.closed is None
                stage = None
                if case.programme != "family_strengthening" and rng.random() < 0.7:
                    stage = rng.choice(REINTEGRATION_STAGES)
                risk = rng.choices(("high", "medium", "low", None), (10, 30, 25, 35))[0]
                risk_set = self._between(case.created, now) if risk else None
                yield (
                    case.id,
                    case.code,
                    case.programme,
                    "open" if live else "closed",
                    case.caseworker,
                    stage,
                    self._utc(self._between(case.created, now)) if stage else None,
                    maybe(0.4, lambda c=case: self._between(c.created, now)),
                    maybe(0.8 if live else 0.0, lambda: now + timedelta(days=rng.uniform(-7, 30))),
                    maybe(0.6, lambda c=case: self._between(c.created, now)),
                    risk,
                    self._utc(risk_set) if risk_set else None,
                    self._utc(risk_set + timedelta(days=90)) if risk_set and live else None,
                    maybe(0.05 if live else 0.0, lambda: now + timedelta(days=rng.uniform(-5, 60))),
                    None if live else self._utc(case.closed or now),
                    self._utc(case.created),
                )

        columns = (
            "id",
            "code",
            "programme",
            "status",
            "caseworker_id",
            "stage",
            "stage_since",
            "returned_at",
            "visit_due_at",
            "last_visit_at",
            "risk_level",
            "risk_set_at",
            "review_due_at",
            "reevaluation_due_at",
            "closed_at",
            "created_at",
        )
        await self._write("case_file", columns, rows())

    async def _children(self, cases: list[_Case]) -> None:
        rng = self.rng
        labels = _Sealed(self.keyring, "case_child.label", rng, json_column=False)
        placements = [*texts.PLACEMENTS, None]

        def rows() -> Iterator[Row]:
            child_id = 0
            for case in cases:
                for number in range(1, rng.choices((1, 2, 3, 4), (35, 35, 20, 10))[0] + 1):
                    child_id += 1
                    case.children.append(child_id)
                    label = rng.choice(("eldest", "youngest", "middle")) if number > 1 else None
                    yield (
                        child_id,
                        case.id,
                        number,
                        labels(label) if label and rng.random() < 0.3 else None,
                        rng.randint(2006, 2024),
                        rng.choice(placements),
                        self._utc(case.created),
                    )

        columns = ("id", "case_id", "number", "label", "birth_year", "placement", "created_at")
        await self._write("case_child", columns, rows())

    # -- runs, answers, scores

    def _runs(self, cases: list[_Case]) -> list[_Run]:
        """Runs holding `shape.answers` answers in all, on cases chosen by how long they were
        open and how busy they are (some families answer every time, some never), spread
        over the whole time, in time order (ids grow with time, as in a deployment)."""
        rng = self.rng
        count = self.shape.answers // 4 + 10  # more than enough: drawing stops at the budget
        weights = []
        for case in cases:
            open_days = ((case.closed or self.now) - case.created).total_seconds() / 86_400
            weights.append(max(open_days, 1.0) * rng.lognormvariate(0.0, 0.8))
        chosen = rng.choices(cases, weights, k=count)
        kinds = [(flow, role) for flow, role, _ in _RUN_KINDS if flow in self.plans]
        kind_weights = [weight for flow, _, weight in _RUN_KINDS if flow in self.plans]
        drawn = rng.choices(kinds, kind_weights, k=count)
        runs, budget = [], self.shape.answers
        for case, (flow, role) in zip(chosen, drawn, strict=True):
            if budget <= 0:
                break
            first = max(case.created, self.start)
            started = self._between(
                first, max(first, (case.closed or self.now) - timedelta(hours=1))
            )
            person = rng.choice(case.family) if role == "family" else case.caseworker
            recent = self.now - started < timedelta(days=14)
            status = "completed"
            if rng.random() < 0.05:
                status = "active" if recent else "paused"
            questions = list(self.plans[flow].questions)
            if len(questions) > _MOST_ANSWERS:  # a guidance run answers a stretch of it
                start = rng.randrange(len(questions) - _MOST_ANSWERS + 1)
                questions = questions[start : start + rng.randint(6, _MOST_ANSWERS)]
            if status != "completed":
                questions = questions[: rng.randint(1, max(1, len(questions) - 1))]
            questions = questions[:budget]
            budget -= len(questions)
            case.runs += 1
            runs.append(_Run(0, case, flow, person, started, status, questions))
        runs.sort(key=lambda run: run.started)
        for number, run in enumerate(runs, 1):
            run.id = number
        return runs

    async def _runs_answers_scores(self, runs: list[_Run]) -> None:
        rng, plans = self.rng, self.plans
        values = _Sealed(self.keyring, "answer.value", rng, json_column=True)
        states = _Sealed(self.keyring, "run.state", rng, json_column=True)
        run_rows: list[Row] = []
        score_rows: list[Row] = []
        child_rows: list[Row] = []

        def answers() -> Iterator[Row]:
            answer_id = 0
            for run in runs:
                plan = plans[run.flow]
                given: dict[str, object] = {}
                at = run.started
                for question in run.questions:
                    at += timedelta(seconds=rng.uniform(8, 90))
                    value = question.draw(rng)
                    given[question.key] = value
                    answer_id += 1
                    yield (
                        answer_id,
                        run.id,
                        question.key,
                        values(value),
                        question.step,
                        self._utc(at),
                    )
                step = plan.end_step if run.status == "completed" else run.questions[-1].step
                ended = at + timedelta(seconds=10) if run.status == "completed" else None
                state = RunState(plan.flow_id, plan.version, step, status="active")
                run_rows.append(
                    (
                        run.id,
                        plan.flow_id,
                        plan.version,
                        run.person,
                        run.case.id,
                        step,
                        run.status,
                        states(state.to_dict()),
                        self._utc(run.started),
                        self._utc(ended or at),
                        self._utc(ended) if ended else None,
                    )
                )
                if ended is None:
                    continue
                for name, keys in plan.scores.items():
                    numbers = [given.get(key) for key in keys]
                    if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
                        total = float(sum(n for n in numbers if isinstance(n, int)))
                        score_rows.append((run.id, name, total, self._utc(ended)))
                if plan.flow_id == "home_visit" and run.case.children:
                    child_rows.append((run.id, rng.choice(run.case.children)))

        answer_columns = ("id", "run_id", "key", "value", "step", "answered_at")
        # The runs are written first (answers refer to them), but their rows are only known
        # once their answers are drawn: the answers wait in a list meanwhile.
        buffered = list(answers())
        run_columns = (
            "id",
            "flow_id",
            "flow_version",
            "person_id",
            "case_id",
            "step",
            "status",
            "state",
            "started_at",
            "updated_at",
            "ended_at",
        )
        self.runs = runs
        await self._write("run", run_columns, run_rows)
        await self._write("answer", answer_columns, buffered)
        del buffered
        await self._write("score", ("run_id", "name", "value", "computed_at"), score_rows)
        await self._write("run_child", ("run_id", "child_id"), child_rows)

    # -- flags

    async def _flags(
        self, runs: list[_Run], cases: list[_Case], coordinators: list[int]
    ) -> list[Row]:
        rng, now, shape = self.rng, self.now, self.shape
        evidence = _Sealed(self.keyring, "flag.evidence", rng, json_column=True)
        resolutions = _Sealed(self.keyring, "flag.resolution", rng, json_column=False)
        by_level: dict[str, list[tuple[str, int, str, str, dict[str, object]]]] = {}
        for plan in self.plans.values():
            for rule, level, reason, shown in plan.rules:
                by_level.setdefault(level, []).append(
                    (plan.flow_id, plan.version, rule, reason, shown)
                )
        # Flags no flow rule raises: the emergency route and a family gone silent.
        emergency = texts.ALARM_REASONS["immediate_danger"].msgid
        alarm = {"trigger": "sos", "kinds": ["immediate_danger"], "role": "family"}
        by_level["urgent"].append((EMERGENCY_FLOW, 1, EMERGENCY_FLOW, emergency, alarm))
        silent = (SCHEDULES_FLOW, 1, NO_CONTACT_RULE, texts.NO_CONTACT.msgid, {"missed": 2})
        by_level["medium"].append(silent)
        runs_of: dict[str, list[_Run]] = {}
        for run in self.runs:
            if run.status == "completed":
                runs_of.setdefault(run.flow, []).append(run)
        levels = list(_LEVEL_WEIGHTS)
        drawn = []
        for number in range(shape.flags):
            # The last few are the day's medium and low flags, which wait for today's digest.
            for_digest = number >= shape.flags - shape.digest_flags
            level = (
                rng.choice(("medium", "low"))
                if for_digest
                else rng.choices(levels, list(_LEVEL_WEIGHTS.values()))[0]
            )
            flow_id, version, rule, reason, shown = rng.choice(by_level[level])
            own = runs_of.get(flow_id)
            if own:
                run: _Run | None = rng.choice(own)
                assert run is not None
                case, raised = run.case, run.started + timedelta(minutes=10)
            else:
                run, case = None, rng.choice(cases)
                raised = self._between(max(case.created, self.start), case.closed or now)
            if for_digest:
                raised = self.digest_slot - timedelta(days=rng.random())
            # How long the flag would take to resolve, against how long ago it was raised:
            # the flags for which that is most are the ones still unresolved (mostly recent
            # ones, and the more serious the more recent).
            age = (now - raised).total_seconds() / 86_400
            key = rng.expovariate(1.0 / _OPEN_FOR_DAYS[level]) / max(age, 0.01)
            drawn.append((raised, level, flow_id, version, rule, reason, shown, run, case, key))
        drawn.sort(key=lambda flag: flag[0])
        by_key = sorted(range(len(drawn)), key=lambda n: drawn[n][-1], reverse=True)
        unresolved = by_key[: shape.open_flags + shape.acknowledged_flags]
        status = ["resolved"] * len(drawn)
        for rank, index in enumerate(unresolved):
            status[index] = "open" if rank % 13 < 10 else "acknowledged"
        rows: list[Row] = []
        for flag_id, (
            raised,
            level,
            flow_id,
            version,
            rule,
            reason,
            shown,
            run,
            case,
            _,
        ) in enumerate(drawn, 1):
            state = status[flag_id - 1]
            due = raised + self.settings.flag_due.get(level, DEFAULT_FLAG_DUE[level])
            notified: datetime | None = raised + timedelta(minutes=1)
            if level in ("medium", "low"):
                # Told in the first digest after it was raised; the last one is still to come.
                days = math.ceil((raised - self.digest_slot).total_seconds() / 86_400)
                slot = self.digest_slot + timedelta(days=days)
                notified = slot if slot < self.digest_slot else None
            escalate, escalations = None, 0
            if state == "open":
                repeat = self.settings.escalation_repeat[level]
                escalations = max(0, math.ceil((now - due) / repeat))
                escalate = due + repeat * escalations
            acknowledged = acknowledged_by = resolved = resolved_by = resolution = None
            if state != "open":
                acknowledged = min(raised + timedelta(minutes=rng.uniform(5, 2880)), now)
                acknowledged_by = rng.choice(coordinators)
            if state == "resolved":
                resolved = min(acknowledged + timedelta(hours=rng.uniform(1, 480)), now)  # type: ignore[operator]
                resolved_by = rng.choice((rng.choice(coordinators), case.caseworker))
                resolution = resolutions(rng.choice(_NOTES))
            assigned = case.caseworker if rng.random() < 0.15 else None
            rows.append(
                (
                    flag_id,
                    case.id,
                    run.id if run else None,
                    flow_id,
                    version,
                    rule,
                    level,
                    reason,
                    evidence(shown),
                    state,
                    self._utc(raised),
                    self._utc(due),
                    self._utc(notified) if notified else None,
                    self._utc(escalate) if escalate else None,
                    escalations,
                    assigned,
                    self._utc(acknowledged) if acknowledged else None,
                    acknowledged_by,
                    self._utc(resolved) if resolved else None,
                    resolved_by,
                    resolution,
                )
            )
        columns = (
            "id",
            "case_id",
            "run_id",
            "flow_id",
            "flow_version",
            "rule",
            "level",
            "reason",
            "evidence",
            "status",
            "raised_at",
            "due_at",
            "notified_at",
            "escalate_at",
            "escalations",
            "assigned_to",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "resolved_by",
            "resolution",
        )
        await self._write("flag", columns, rows)
        return rows

    # -- schedules, reminders and the outbox

    async def _schedules_and_outbox(self, cases: list[_Case], flags: list[Row]) -> None:
        rng, now, shape = self.rng, self.now, self.shape
        bodies = _Sealed(self.keyring, "outbox.body", rng, json_column=True)
        nobody = Recipient(0, CHANNEL, "", None)
        reminder = encode(Notice(nobody, texts.REMINDER, start_flow="family_checkin"))
        follow_up = encode(Notice(nobody, texts.REMINDER_FOLLOW_UP, start_flow="family_checkin"))
        weekdays = ("mon", "tue", "wed", "thu", "fri", "sat")
        cadences = [
            json.dumps(parse_cadence(f"weekly {day} 18:00", self.settings.timezone).as_dict())
            for day in weekdays
        ]
        live = [case for case in cases if case.closed is None]
        scheduled = [case for case in live if rng.random() < 0.9]
        due = set(rng.sample(range(len(scheduled)), min(shape.due_reminders, len(scheduled))))
        schedule_rows: list[Row] = []
        due_people: list[int] = []
        for number, case in enumerate(scheduled):
            paused = number not in due and rng.random() < 0.07
            if number in due:
                next_due = now - timedelta(minutes=rng.uniform(1, 50))
                due_people.extend(case.family)
            else:
                next_due = now + timedelta(hours=rng.uniform(1, 24 * 7))
            schedule_rows.append(
                (
                    number + 1,
                    case.id,
                    "family_checkin",
                    rng.choice(cadences),
                    "paused" if paused else "active",
                    rng.choice(("family", "caseworker")) if paused else None,
                    self._utc(now - timedelta(days=rng.uniform(1, 60))) if paused else None,
                    self._utc(next_due),
                    self._utc(next_due - timedelta(days=7)),
                    rng.choices((0, 1, 2), (80, 15, 5))[0],
                    self._utc(case.created),
                )
            )
        columns = (
            "id",
            "case_id",
            "flow_id",
            "cadence",
            "status",
            "paused_by",
            "paused_at",
            "next_due_at",
            "reminded_at",
            "missed",
            "created_at",
        )
        await self._write("schedule", columns, schedule_rows)

        families = [person for case in live for person in case.family]
        staff = [flag for flag in flags if flag[12] is not None]  # told flags: notices to staff
        recent = [flag for flag in staff if now - self._moment(flag[10]) < timedelta(days=30)]
        outbox_rows: list[Row] = []
        month_ago = now - timedelta(days=30)
        for _ in range(shape.sent_notices):
            queued = self._between(month_ago, now - timedelta(minutes=5))
            if recent and rng.random() < 0.3:
                flag = rng.choice(recent)
                level = str(flag[6])
                told = texts.NEW_FLAG.using(
                    level=texts.LEVELS[level], case="—", reason=Text(str(flag[7]))
                )
                body = encode(Notice(nobody, told, for_whoever_acts=True))
                person, flag_id, urgent = self._staff_for(flag), flag[0], level == "urgent"
            else:
                body = reminder if rng.random() < 0.8 else follow_up
                person, flag_id, urgent = rng.choice(families), None, False
            outbox_rows.append(
                (person, flag_id, urgent, bodies(body), "sent", queued, queued, 1, queued)
            )
        # Reminders a duty round queued a few minutes ago, waiting for the sender.
        for person in due_people[: shape.due_reminders]:
            queued = now - timedelta(minutes=rng.uniform(0.5, 10))
            outbox_rows.append(
                (person, None, False, bodies(reminder), "queued", queued, queued, 0, None)
            )
        # And a few that failed and wait for their next try.
        for person in rng.sample(families, max(1, shape.due_reminders // 10)):
            queued = now - timedelta(minutes=rng.uniform(10, 60))
            later = now + timedelta(hours=rng.uniform(1, 6))
            outbox_rows.append(
                (person, None, False, bodies(reminder), "queued", queued, later, 3, None)
            )
        outbox_rows.sort(key=lambda row: row[5])  # type: ignore[arg-type, return-value]

        def rows() -> Iterator[Row]:
            for number, (
                person,
                flag_id,
                urgent,
                body,
                state,
                queued,
                due_at,
                tries,
                done,
            ) in enumerate(outbox_rows, 1):
                assert isinstance(queued, datetime) and isinstance(due_at, datetime)
                yield (
                    number,
                    person,
                    CHANNEL,
                    flag_id,
                    urgent,
                    body,
                    state,
                    self._utc(queued),
                    self._utc(due_at),
                    tries,
                    self._utc(queued + timedelta(seconds=2)) if done else None,
                )

        columns = (
            "id",
            "person_id",
            "channel",
            "flag_id",
            "urgent",
            "body",
            "state",
            "queued_at",
            "due_at",
            "attempts",
            "done_at",
        )
        await self._write("outbox", columns, rows())

    def _staff_for(self, flag: Row) -> int:
        return int(flag[15] or self.rng.choice(range(1, self.shape.coordinators + 1)))

    def _moment(self, stamped: object) -> datetime:
        return stamped if isinstance(stamped, datetime) else datetime.fromisoformat(str(stamped))

    # -- the audit log

    async def _audit(self, flags: list[Row], cases: list[_Case]) -> None:
        rng = self.rng
        notes = _Sealed(self.keyring, "audit_event.note", rng, json_column=False)
        coordinators = range(1, self.shape.coordinators + 1)

        def rows() -> Iterator[Row]:
            event = 0
            for flag in flags:
                flag_id, case_id, level, raised = flag[0], flag[1], flag[6], flag[10]
                event += 1
                detail = json.dumps(
                    {"level": level, "rule": flag[5], "flow": f"{flag[3]}@{flag[4]}"}
                )
                yield (event, raised, None, "system", "raised", case_id, flag_id, None, detail)
                if flag[12] is not None:
                    action = "notified" if level in ("urgent", "high") else "digested"
                    event += 1
                    yield (event, flag[12], None, "system", action, case_id, flag_id, None, "{}")
                    for person in rng.sample(coordinators, min(2, len(coordinators))):
                        event += 1
                        told = json.dumps({"to": person, "role": "coordinator"})
                        yield (
                            event,
                            flag[12],
                            None,
                            "system",
                            "told",
                            case_id,
                            flag_id,
                            None,
                            told,
                        )
                if flag[16] is not None:
                    event += 1
                    yield (
                        event,
                        flag[16],
                        flag[17],
                        "coordinator",
                        "acknowledged",
                        case_id,
                        flag_id,
                        None,
                        "{}",
                    )
                if flag[18] is not None:
                    event += 1
                    note = notes(rng.choice(_NOTES))
                    role = "coordinator" if flag[19] in coordinators else "caseworker"
                    yield (
                        event,
                        flag[18],
                        flag[19],
                        role,
                        "resolved",
                        case_id,
                        flag_id,
                        note,
                        "{}",
                    )
            for case in cases:
                if case.runs:
                    event += 1
                    at = self._utc(self._between(case.created, case.closed or self.now))
                    yield (
                        event,
                        at,
                        case.caseworker,
                        "caseworker",
                        "case_viewed",
                        case.id,
                        None,
                        None,
                        "{}",
                    )
            # The weekly check-in reminders of the last weeks, of the live cases the families
            # use: what a case page's timeline reads (answered or missed).
            for case in cases:
                if case.closed is not None or not case.runs:
                    continue
                at = max(self.now - timedelta(weeks=_REMINDER_WEEKS), case.created)
                at += timedelta(days=rng.uniform(0, 7))
                while at < self.now:
                    event += 1
                    yield (
                        event,
                        self._utc(at),
                        None,
                        "system",
                        "reminder_sent",
                        case.id,
                        None,
                        None,
                        '{"to": 1}',
                    )
                    at += timedelta(days=7)

        columns = (
            "id",
            "at",
            "actor_id",
            "actor_role",
            "action",
            "case_id",
            "flag_id",
            "note",
            "detail",
        )
        await self._write("audit_event", columns, rows())
