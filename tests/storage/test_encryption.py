"""Encryption at rest: what the database holds is sealed, what the bot reads is the value, and
keys rotate while the bot reads and writes (issue #15, item 4). On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.bootstrap import keyring as keyring_of
from bot.cli import main
from bot.config import Settings
from bot.services.keys import left, rotate
from bot.storage import Database, crypto
from bot.storage.crypto import KeyError_, Keyring
from bot.storage.sealed import sealed_columns
from tests.conftest import TEST_KEYRING

from .conftest import T0, Seed

SeedFn = Callable[..., Awaitable[Seed]]

# Invented: a Telegram id and words a family might type.
TELEGRAM_ID = "7000000123"
WORDS = "We hebben ruzie gehad, MARKER-VRIJE-TEKST"


@pytest.fixture
def ring() -> Iterator[Keyring]:
    """The session's ring, installed again after a test that installs another."""
    yield TEST_KEYRING
    crypto.install(TEST_KEYRING)


# --- the key ring on its own ------------------------------------------------------------


def test_a_sealed_value_opens_only_in_its_own_column() -> None:
    ring = Keyring.generate("k1")
    token = ring.seal(b"words", "answer.value")
    assert token.startswith("wz1:k1:") and "words" not in token
    assert ring.open(token, "answer.value") == b"words"
    with pytest.raises(KeyError_, match="does not open"):
        ring.open(token, "flag.resolution")  # copied into another column


def test_an_altered_value_does_not_open() -> None:
    ring = Keyring.generate("k1")
    token = ring.seal(b"words", "answer.value")
    body = token.rsplit(":", 1)[1]
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(KeyError_, match="does not open"):
        ring.open(token.rsplit(":", 1)[0] + ":" + flipped, "answer.value")


def test_the_same_value_seals_differently_each_time_but_hashes_the_same() -> None:
    ring = Keyring.generate("k1")
    assert ring.seal(b"7", "c") != ring.seal(b"7", "c")
    assert ring.lookup_key("telegram", 7) == ring.lookup_key("telegram", "7")
    assert ring.lookup_key("telegram", 7) != ring.lookup_key("console", 7)
    # Another deployment's secret gives other hashes and pseudonyms.
    other = Keyring.generate("k1")
    assert ring.lookup_key("telegram", 7) != other.lookup_key("telegram", 7)
    assert ring.pseudonym("case", "AB12") != other.pseudonym("case", "AB12")


# Values as the bot stores them and a few it never writes but a database may hold (written
# before encryption, or by hand): the quick paths must read each one as json.loads does.
# (None is not sealed: a null column stays null.)
STORED = [
    0,
    7,
    10,
    123456789012345678901234567890,
    -1,
    1.5,
    -0.0,
    1e300,
    True,
    False,
    "",
    "ja",
    "café ✓",
    "مرحبا\u200f",
    "😀",
    'zei "hoi"',
    "a\\b",
    "regel\neen",
    "\x01",
    "\u2028",
    "0",
    "007",
    "true",
    "null",
    [],
    [1, "a"],
    {"k": "v"},
    {"nested": {"x": [None]}},
]


@pytest.mark.parametrize("value", STORED, ids=repr)
def test_a_sealed_json_value_reads_as_json_loads_reads_it(value: crypto.JSONValue) -> None:
    column = crypto.EncryptedJSON("answer.value")
    token = column.process_bind_param(value, None)  # type: ignore[arg-type]
    stored = json.dumps(token)
    assert crypto.stored_json(stored) == json.loads(stored) == token
    assert type(crypto.stored_json(stored)) is str
    opened = column.process_result_value(crypto.stored_json(stored), None)  # type: ignore[arg-type]
    assert json.dumps(opened) == json.dumps(value)


@pytest.mark.parametrize(
    "plain",
    [
        b"0",
        b"01",
        b"12",
        b"-3",
        b"1.0",
        b"true",
        b"false",
        b"null",
        b'"x"',
        b'""',
        b'"\\n"',
        b'"a\\"b"',
        b'"\xc3\xa9"',
        b'"\x01"',
        b"[]",
        b" 1",
        b'"\xe2\x80\xa8"',
        b"tru",
    ],
    ids=repr,
)
def test_opened_values_read_as_json_loads_reads_them(plain: bytes) -> None:
    try:
        expected = json.loads(plain)
    except ValueError as refused:
        with pytest.raises(type(refused)):
            crypto._plain_json(plain)
    else:
        read = crypto._plain_json(plain)
        assert read == expected and type(read) is type(expected)


@pytest.mark.parametrize(
    "stored",
    [
        '"plain text, before encryption"',
        '"wz1:k:a\\"b"',
        '"wz1:k:\\u0041"',
        '{"a": 1}',
        "3",
        '"wz1:k:AAAA"',
        ' "wz1:k:AAAA"',
    ],
)
def test_stored_json_is_json_loads_for_anything_else(stored: str) -> None:
    assert crypto.stored_json(stored) == json.loads(stored)


def test_a_new_key_keeps_the_old_ones_to_open_what_they_sealed() -> None:
    old = Keyring.generate("k1")
    token = old.seal(b"words", "c")
    new = old.with_new_key("k2")
    assert new.current == "k2" and new.open(token, "c") == b"words"
    assert new.hash_key == old.hash_key  # lookups keep working across rotations
    assert new.seal(b"words", "c").startswith("wz1:k2:")
    with pytest.raises(KeyError_, match="current key"):
        new.without("k2")
    with pytest.raises(KeyError_, match="'k1', which is not loaded"):
        new.without("k1").open(token, "c")


def test_the_ring_round_trips_as_json_and_never_shows_its_keys() -> None:
    ring = Keyring.generate("k1").with_new_key("k2")
    again = Keyring.from_json(ring.to_json())
    assert (again.current, dict(again.keys), again.hash_key) == (
        ring.current,
        dict(ring.keys),
        ring.hash_key,
    )
    assert "k2" in repr(ring)
    assert all(crypto._b64(key) not in repr(ring) for key in ring.keys.values())


@pytest.mark.parametrize(
    "document",
    ["", "{}", '{"current": "a", "keys": {}, "hash_key": ""}', '{"current": "x", "keys": '],
)
def test_a_malformed_ring_is_refused_with_what_it_should_be(document: str) -> None:
    with pytest.raises(KeyError_):
        Keyring.from_json(document)


def test_without_a_key_the_bot_refuses_to_start_and_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENCRYPTION_KEYS")
    monkeypatch.setenv("KEY_FILE", str(tmp_path / "missing.keys"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    assert main(["db", "upgrade"]) == 2
    error = capsys.readouterr().err
    assert "no encryption key" in error and "wegwijzer keys new" in error
    assert not (tmp_path / "w.db").exists()


def test_keys_new_writes_a_private_ring_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wegwijzer.keys"
    assert main(["keys", "new", "--file", str(path)]) == 0
    assert path.stat().st_mode & 0o777 == 0o600
    ring = Keyring.load(None, path)
    # Never overwritten: a new ring would make the data unreadable.
    assert main(["keys", "new", "--file", str(path)]) == 1
    assert main(["keys", "new", "--file", str(path), "--if-missing"]) == 0
    assert Keyring.load(None, path).keys == ring.keys
    assert main(["keys", "add", "--file", str(path)]) == 0
    added = Keyring.load(None, path)
    assert set(added.keys) > set(ring.keys) and added.current not in ring.keys
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ring.keys"
    crypto.write_private(path, Keyring.generate("k1").to_json().encode())
    path.chmod(0o644)
    with pytest.raises(KeyError_, match="can be read by others"):
        Keyring.load(None, path)


def test_settings_name_the_ring_or_fall_back_to_the_installed_one(tmp_path: Path) -> None:
    assert keyring_of(Settings()) is crypto.active()
    path = tmp_path / "ring.keys"
    crypto.write_private(path, Keyring.generate("file1").to_json().encode())
    assert keyring_of(Settings(key_file=path)).current == "file1"
    from_env = Keyring.generate("env1").to_json()
    assert keyring_of(Settings(encryption_keys=from_env, key_file=path)).current == "env1"
    assert "env1" not in repr(Settings(encryption_keys=from_env))


def test_a_running_bot_takes_a_key_added_to_its_key_file(
    tmp_path: Path, ring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`wegwijzer keys add` in another process, then `keys rotate`: a bot started before
    opens what rotation sealed with the new key, and seals with it itself soon after."""
    path = tmp_path / "ring.keys"
    started = Keyring.generate("k1")
    crypto.write_private(path, started.to_json().encode())
    crypto.install(Keyring.load(None, path), path)  # what the bot did at start
    added = started.with_new_key("k2")
    crypto.write_private(path, added.to_json().encode())  # `keys add`, elsewhere
    resealed = added.seal(b"words", "answer.value")  # `keys rotate`, elsewhere
    assert crypto.open_sealed(resealed, "answer.value") == b"words"
    assert crypto.active().current == "k2"
    # A ring of another deployment (another hash key) put there by mistake is not taken.
    crypto.write_private(path, Keyring.generate("k3").to_json().encode())
    monkeypatch.setattr(crypto, "RECHECK", 0.0)
    assert crypto.active().current == "k2"


def test_a_key_file_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "ring.keys"
    crypto.write_private(path, b"first")
    crypto.write_private(path, b"second")
    assert path.read_bytes() == b"second" and [p.name for p in tmp_path.iterdir()] == [path.name]


# --- in the database --------------------------------------------------------------------


async def _raw(database: Database, sql: str) -> list[str]:
    async with database.engine.connect() as conn:
        return [str(value) for (value,) in (await conn.execute(text(sql))).all()]


async def test_free_text_answers_and_telegram_ids_are_sealed_in_the_database(
    database: Database, seed: SeedFn
) -> None:
    s = await seed(external_id=TELEGRAM_ID)
    async with database.transaction() as uow:
        await uow.answers.record(s.run_id, "note", WORDS, "step", T0)
        run = await uow.runs.get(s.run_id)
        assert run is not None
        await uow.runs.update(
            run, step="step", state={"answers": {"note": WORDS}}, status="active", now=T0
        )
    stored = []
    for sealed in sealed_columns():
        stored += await _raw(database, f"SELECT {sealed.column.name} FROM {sealed.table.name}")
    stored += await _raw(database, "SELECT external_key FROM person")
    assert stored and not any(TELEGRAM_ID in value or "MARKER" in value for value in stored)
    # Read back through the models, everything is what was written, and the id finds them.
    async with database.reading() as uow:
        person = await uow.people.get("telegram", int(TELEGRAM_ID))
        assert person is not None and person.external_id == TELEGRAM_ID
        assert await uow.answers.of_run(s.run_id) == {"note": WORDS}
        run = await uow.runs.get(s.run_id)
    assert run is not None and run.state == {"answers": {"note": WORDS}}


async def test_values_from_before_encryption_read_and_rotation_seals_them(
    database: Database, seed: SeedFn, ring: Keyring
) -> None:
    s = await seed()
    async with database.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO answer (run_id, key, value, step, answered_at) "
                "VALUES (:run, 'old', :value, 'step', :at)"
            ),
            {
                "run": s.run_id,
                "value": json.dumps("written in plain"),
                "at": T0.replace(tzinfo=None),
            },
        )
    async with database.reading() as uow:
        assert (await uow.answers.of_run(s.run_id))["old"] == "written in plain"
    app = _App(database)
    counts = (await rotate(app)).resealed  # type: ignore[arg-type]
    assert counts["answer.value"] == 1
    assert not any((await left(app)).values())  # type: ignore[arg-type]
    (raw,) = await _raw(database, "SELECT value FROM answer WHERE key = 'old'")
    assert "plain" not in raw and ring.current in raw
    async with database.reading() as uow:
        assert (await uow.answers.of_run(s.run_id))["old"] == "written in plain"


async def test_keys_rotate_while_reads_and_writes_go_on(
    database: Database, seed: SeedFn, ring: Keyring
) -> None:
    seeds = [await seed(external_id=f"70000001{n:02d}") for n in range(12)]
    for n, s in enumerate(seeds):
        async with database.transaction() as uow:
            await uow.answers.record(s.run_id, "note", f"{WORDS} {n}", "step", T0)
    crypto.install(ring.with_new_key("rotated"))
    app = _App(database)
    stop = asyncio.Event()
    reads = 0

    async def keep_reading_and_writing() -> None:
        nonlocal reads
        while not stop.is_set():
            for n, s in enumerate(seeds):
                async with database.reading() as uow:
                    assert (await uow.answers.of_run(s.run_id))["note"] == f"{WORDS} {n}"
                    assert await uow.people.get("telegram", f"70000001{n:02d}") is not None
                reads += 1
            async with database.transaction() as uow:
                await uow.answers.record(seeds[0].run_id, "later", reads, "step", T0)
            await asyncio.sleep(0)

    reader = asyncio.create_task(keep_reading_and_writing())
    rotation = await rotate(app, batch=5)  # type: ignore[arg-type]
    counts = rotation.resealed
    assert rotation.unopenable == rotation.left == {}
    stop.set()
    await reader
    assert reads > 0
    assert counts["answer.value"] >= 12 and counts["person.external_id"] == 12
    assert not any((await left(app)).values())  # type: ignore[arg-type]
    for value in await _raw(database, "SELECT value FROM answer"):
        assert "wz1:rotated:" in value
    # The old key can go now: everything still reads without it.
    crypto.install(crypto.active().without(ring.current))
    async with database.reading() as uow:
        assert (await uow.answers.of_run(seeds[3].run_id))["note"] == f"{WORDS} 3"


async def _answers(database: Database, run_id: int, prefix: str, count: int) -> None:
    async with database.transaction() as uow:
        for n in range(count):
            await uow.answers.record(run_id, f"{prefix}{n}", f"{WORDS} {n}", "step", T0)


async def test_a_value_sealed_with_a_key_not_in_the_ring_is_skipped_and_counted(
    database: Database, seed: SeedFn, ring: Keyring
) -> None:
    """It stops neither the rotation nor a rerun at its row (it comes first here, and the
    batches are small); loading the missing key lets the next rotation re-seal it."""
    s = await seed()
    lost = ring.with_new_key("lost")
    crypto.install(lost)
    await _answers(database, s.run_id, "lost", 3)  # the first rows of the table
    crypto.install(ring)
    await _answers(database, s.run_id, "kept", 4)
    rotated = ring.with_new_key("rotated")  # without "lost": its key was never loaded
    crypto.install(rotated)
    app = _App(database)

    for _ in range(2):  # a rerun does the same: nothing stuck, nothing counted twice
        rotation = await rotate(app, batch=2)  # type: ignore[arg-type]
        assert rotation.unopenable == {"answer.value": 3}
        assert rotation.left == {}
        assert (await left(app))["answer.value"] == 3  # type: ignore[arg-type]
    assert (await rotate(app, batch=2)).resealed["answer.value"] == 0  # type: ignore[arg-type]
    raw = await _raw(database, "SELECT value FROM answer ORDER BY id")
    assert [value.count("wz1:lost:") for value in raw] == [1, 1, 1, 0, 0, 0, 0]
    async with database.reading() as uow:
        audited = (await uow.audit.events())[-1]
    assert audited.detail["unopenable"] == {"answer.value": 3}

    found = Keyring(
        current="rotated", keys={**rotated.keys, "lost": lost.keys["lost"]}, hash_key=ring.hash_key
    )
    crypto.install(found)
    rotation = await rotate(app, batch=2)  # type: ignore[arg-type]
    assert rotation.resealed["answer.value"] == 3 and rotation.unopenable == {}
    assert not any((await left(app)).values())  # type: ignore[arg-type]
    async with database.reading() as uow:
        assert (await uow.answers.of_run(s.run_id))["lost2"] == f"{WORDS} 2"


async def test_values_held_when_the_retries_run_out_are_counted(
    database: Database, seed: SeedFn, ring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database.dialect != "postgresql":
        pytest.skip("only PostgreSQL skips rows another transaction holds")
    monkeypatch.setattr("bot.services.keys.RETRIES", 2)
    s = await seed()
    await _answers(database, s.run_id, "note", 3)
    crypto.install(ring.with_new_key("rotated"))
    app = _App(database)
    async with database.engine.connect() as holder, holder.begin():
        await holder.execute(
            text("SELECT id FROM answer WHERE key = 'note1' FOR UPDATE")
        )  # a handler's transaction that does not end
        rotation = await rotate(app)  # type: ignore[arg-type]
    assert rotation.left == {"answer.value": 1} and rotation.unopenable == {}
    assert rotation.resealed["answer.value"] == 2
    rotation = await rotate(app)  # type: ignore[arg-type]
    assert rotation.left == {} and rotation.resealed["answer.value"] == 1


def test_keys_rotate_prints_what_does_not_open_and_what_to_do(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    ring: Keyring,
) -> None:
    lost = ring.with_new_key("lost")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ENCRYPTION_KEYS", lost.to_json())
    assert main(["db", "upgrade"]) == 0

    async def a_person_sealed_with_the_lost_key() -> None:
        crypto.install(lost)
        database = Database.connect(url)
        try:
            async with database.transaction() as uow:
                await uow.people.add("telegram", TELEGRAM_ID, "family")
        finally:
            await database.dispose()

    asyncio.run(a_person_sealed_with_the_lost_key())
    monkeypatch.setenv("ENCRYPTION_KEYS", ring.with_new_key("rotated").to_json())
    capsys.readouterr()
    assert main(["keys", "rotate"]) == 1
    out, err = capsys.readouterr()
    assert "person.external_id: 0 re-sealed" in out
    assert "person.external_id: 1 do not open with the key ring" in err
    assert "load the key they were sealed with into the ring" in err
    assert TELEGRAM_ID not in out + err


class _App:
    """What the rotation needs of the app: the database, a clock."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @staticmethod
    def clock() -> object:
        return T0
