"""The alarm journal: where the emergency route writes an alarm before anything else.

The database can be down, locked by another writer, or the process killed while the alarm's
transaction waits. So every alarm is first appended here — one JSON line, flushed to disk
(fsync) — and only then recorded in the database. A duty replays the journal into flags, at
each alarm's own time, as soon as the database takes them (`services.emergency`); an alarm
already recorded is known by its key and not recorded twice, and an alarm of someone who
turns out not to be a member (a stranger, journaled while the database could not say) is
dropped without a trace.

Processes sharing the file (the bot and `wegwijzer chat` on one SQLite database) take turns
through a lock file beside it; each replays what it finds, and an alarm recorded twice is
still one flag. The file is readable by the bot's user only (0600) and holds only alarms not
yet replayed. It carries the person's id on the channel and what set the alarm off (`sos`,
`button` or a phrase of the danger list), both sealed with the database's key
(`storage.crypto`), and the alarm's kinds (`rules.alarms`); never the message. A line written before
alarms had kinds is read as immediate danger.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from ..engine.events import JSONValue
from ..rules.alarms import ALARM_KINDS, AlarmKind
from . import crypto

__all__ = ["AlarmJournal", "JournaledAlarm", "append_line"]

T = TypeVar("T")
SEALED_CONTEXT = "alarm_journal"
P = ParamSpec("P")


@dataclass(frozen=True)
class JournaledAlarm:
    key: str  # unique: the update's key, or one made for the alarm
    at: datetime
    channel: str
    external_id: str
    trigger: str
    # Most urgent first; an old line without them was immediate danger.
    kinds: tuple[str, ...] = ("immediate_danger",)

    @property
    def alarm_kinds(self) -> tuple[AlarmKind, ...]:
        """The kinds the bot knows, most urgent first (immediate danger when none is)."""
        return tuple(kind for kind in ALARM_KINDS if kind in self.kinds) or ("immediate_danger",)

    def to_line(self) -> str:
        fields: dict[str, JSONValue] = {"key": self.key, "at": self.at.isoformat()}
        fields["channel"] = self.channel
        # Who and what set it off are sealed like the database's copies (crypto.py).
        private = json.dumps({"external_id": self.external_id, "trigger": self.trigger})
        fields["sealed"] = crypto.active().seal(private.encode(), SEALED_CONTEXT)
        fields["kinds"] = list(self.kinds)
        return json.dumps(fields, ensure_ascii=False) + "\n"

    @classmethod
    def from_line(cls, line: str) -> JournaledAlarm:
        fields = json.loads(line)
        if "sealed" in fields:  # a line written before sealing has the two in plain
            fields.update(json.loads(crypto.open_sealed(fields["sealed"], SEALED_CONTEXT)))
        kinds = fields.get("kinds")
        return cls(
            key=str(fields["key"]),
            at=datetime.fromisoformat(fields["at"]),
            channel=str(fields["channel"]),
            external_id=str(fields["external_id"]),
            trigger=str(fields["trigger"]),
            kinds=tuple(str(kind) for kind in kinds)
            if isinstance(kinds, list)
            else ("immediate_danger",),
        )


class AlarmJournal:
    def __init__(self, path: Path):
        self.path = Path(path)
        # Appending and rewriting never overlap within the process (between processes: the
        # lock file).
        self._lock = asyncio.Lock()
        # Alarms this process is recording itself right now: the replay leaves them alone.
        self._recording: set[str] = set()

    async def record(self, alarm: JournaledAlarm) -> None:
        """Append the alarm and wait until it is on disk. Until it is settled or released,
        it counts as being recorded by this process (`being_recorded`)."""
        self._recording.add(alarm.key)
        async with self._lock:
            await asyncio.to_thread(self._in_turn, self._append, alarm.to_line())

    def resume(self, key: str) -> None:
        """This process records an alarm that is on disk already (taken again after a crash):
        the replay leaves it alone meanwhile, as after `record`."""
        self._recording.add(key)

    def being_recorded(self, key: str) -> bool:
        return key in self._recording

    def release(self, key: str) -> None:
        """This process gives up recording the alarm itself: the replay will."""
        self._recording.discard(key)

    async def pending(self) -> list[JournaledAlarm]:
        """The alarms not yet settled, oldest first. A line cut short by a crash mid-write
        (the last one) is skipped: its alarm was never acknowledged as recorded."""
        async with self._lock:
            return await asyncio.to_thread(self._in_turn, self._read)

    async def settle(self, keys: Iterable[str]) -> None:
        """Forget these alarms: they are in the database (or belong to nobody we know)."""
        done = set(keys)
        if not done:
            return
        self._recording -= done
        async with self._lock:
            await asyncio.to_thread(self._in_turn, self._rewrite, done)

    # --- file work, in a thread -----------------------------------------------------------

    def _in_turn(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work` while holding the lock file (other processes wait for their turn)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return work(*args, **kwargs)
        finally:
            os.close(lock)  # closing releases the lock

    def _append(self, line: str) -> None:
        append_line(self.path, line)

    def _read(self) -> list[JournaledAlarm]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        alarms = []
        for line in text.splitlines():
            try:
                alarms.append(JournaledAlarm.from_line(line))
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line
        return alarms

    def _rewrite(self, done: set[str]) -> None:
        kept = [alarm for alarm in self._read() if alarm.key not in done]
        if not kept:
            self.path.unlink(missing_ok=True)
            return
        # A new file, on disk before it replaces the old one: a crash leaves one or the other.
        fresh = self.path.with_name(self.path.name + ".new")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, "".join(alarm.to_line() for alarm in kept).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(fresh, self.path)


def append_line(path: Path, line: str, *, sync: bool = True) -> None:
    """Append one line to a file of the bot's user only (0600), on disk when this returns
    (`sync`). After a line torn by a crash mid-write, it starts a line of its own."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line
        os.write(fd, line.encode("utf-8"))
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
