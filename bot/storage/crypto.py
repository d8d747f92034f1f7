"""Encryption at rest of what hurts most if leaked, and keyed hashes for lookups and pseudonyms.

design.md, principle 9: free text, answers and Telegram ids are encrypted in the database, so
a copied database file or dump reveals no family's words and no way to reach them. Values are
sealed with AES-256-GCM (`cryptography`'s AEAD) under the deployment's current key; each stored
value carries the id of the key that sealed it (`wz1:<key id>:<base64 nonce+ciphertext>`), so
keys can be rotated while the bot runs (`wegwijzer keys rotate` re-seals in batches, reads
meanwhile open either). The column's name is the associated data: a value altered, or copied
into another column, does not open. (Not the row: one answer's sealed value copied over
another's would open; the row's id is not known when a value is first sealed.)

A Telegram id must still find its person, so `person.external_key` holds a keyed hash
(HMAC-SHA256) of it under a separate secret that never rotates; the same secret, with another
label, makes the stable pseudonyms of research exports.

The key ring is one JSON document, from `ENCRYPTION_KEYS` or the file `KEY_FILE` (0600):

    {"current": "k2026a", "keys": {"k2026a": "<32 bytes, base64>"}, "hash_key": "<base64>"}

Values written before encryption existed (plain text, plain JSON) are read as they are and
sealed by the next `keys rotate`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..engine.events import JSONValue

__all__ = [
    "PREFIX",
    "EncryptedJSON",
    "EncryptedText",
    "KeyError_",
    "Keyring",
    "UnknownKey",
    "active",
    "install",
    "open_json",
    "open_private",
    "open_private_text",
    "open_sealed",
    "stored_json",
    "write_private",
]

PREFIX = "wz1:"
_NONCE = 12
_KEY_BYTES = 32


class KeyError_(ValueError):
    """The key ring is missing, malformed, or lacks the key a stored value was sealed with."""


class UnknownKey(KeyError_):
    """A stored value was sealed with a key that is not in the ring."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise KeyError_(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Keyring:
    """The deployment's keys: which one seals new values, all that can open old ones, and the
    secret of the keyed hashes."""

    current: str
    keys: Mapping[str, bytes]
    hash_key: bytes
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise KeyError_(f"the current key {self.current!r} is not among the keys")
        for key_id, key in self.keys.items():
            if not key_id or ":" in key_id:
                raise KeyError_(f"key id {key_id!r}: non-empty, without ':'")
            if len(key) != _KEY_BYTES:
                raise KeyError_(f"key {key_id!r} must be {_KEY_BYTES} bytes (base64 of them)")
        if len(self.hash_key) < _KEY_BYTES:
            raise KeyError_(f"hash_key must be at least {_KEY_BYTES} bytes")
        for key_id, key in self.keys.items():
            self._ciphers[key_id] = AESGCM(key)

    def __repr__(self) -> str:
        # Keys end up nowhere: not in logs, not in tracebacks.
        return f"Keyring(current={self.current!r}, keys={sorted(self.keys)})"

    # -- making and reading key rings

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        """A new ring: one key, current, and a new hash secret."""
        key_id = key_id or _new_key_id()
        return cls(
            current=key_id,
            keys={key_id: AESGCM.generate_key(bit_length=256)},
            hash_key=secrets.token_bytes(_KEY_BYTES),
        )

    def with_new_key(self, key_id: str | None = None) -> Keyring:
        """This ring with a new current key; the old ones stay, to open what they sealed."""
        key_id = key_id or _new_key_id()
        if key_id in self.keys:
            raise KeyError_(f"key id {key_id!r} exists already")
        keys = {**self.keys, key_id: AESGCM.generate_key(bit_length=256)}
        return Keyring(current=key_id, keys=keys, hash_key=self.hash_key)

    def without(self, key_id: str) -> Keyring:
        """This ring without a retired key (once nothing is sealed with it any more)."""
        if key_id == self.current:
            raise KeyError_("the current key cannot be retired")
        keys = {k: v for k, v in self.keys.items() if k != key_id}
        return Keyring(current=self.current, keys=keys, hash_key=self.hash_key)

    @classmethod
    def from_json(cls, text: str, source: str = "the key ring") -> Keyring:
        try:
            data = json.loads(text)
            current, keys, hash_key = data["current"], data["keys"], data["hash_key"]
        except (ValueError, KeyError, TypeError):
            raise KeyError_(
                f'{source} must be JSON like {{"current": ID, "keys": {{ID: BASE64}}, '
                '"hash_key": BASE64}'
            ) from None
        if not isinstance(keys, dict) or not keys:
            raise KeyError_(f"{source}: 'keys' must name at least one key")
        return cls(
            current=str(current),
            keys={str(k): _unb64(str(v), f"{source}: key {k!r}") for k, v in keys.items()},
            hash_key=_unb64(str(hash_key), f"{source}: hash_key"),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "current": self.current,
                "keys": {k: _b64(v) for k, v in self.keys.items()},
                "hash_key": _b64(self.hash_key),
            },
            indent=2,
        )

    @classmethod
    def load(cls, keys_json: str | None, key_file: Path | None) -> Keyring:
        """The ring from `ENCRYPTION_KEYS` (its JSON) when set, else from the key file.
        Raises KeyError_ saying what to do when neither is there."""
        if keys_json:
            return cls.from_json(keys_json, "ENCRYPTION_KEYS")
        if key_file is None:
            raise KeyError_("no encryption key: set ENCRYPTION_KEYS or KEY_FILE")
        try:
            text = key_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyError_(
                f"no encryption key: ENCRYPTION_KEYS is not set and the key file {key_file} "
                "does not exist. Answers and Telegram ids are stored encrypted, so the bot "
                f"does not start without one. Create it with `wegwijzer keys new --file "
                f"{key_file}` and keep a copy somewhere safe: without it the data cannot be read."
            ) from None
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            # Whoever can read the ring can read every family's answers.
            raise KeyError_(
                f"the key file {key_file} can be read by others (mode {mode:o}): "
                f"`chmod 600 {key_file}`, and ask who may have copied it"
            )
        return cls.from_json(text, f"key file {key_file}")

    # -- sealing and opening

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._ciphers[self.current].encrypt(nonce, plaintext, context.encode())
        return f"{PREFIX}{self.current}:{_b64(nonce + sealed)}"

    def open(self, token: str, context: str) -> bytes:
        key_id, _, body = token[len(PREFIX) :].partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKey(f"a stored value was sealed with key {key_id!r}, which is not loaded")
        # binascii: what base64.b64decode calls, without its checks and copies per value.
        raw = binascii.a2b_base64(body)
        try:
            return cipher.decrypt(raw[:_NONCE], raw[_NONCE:], context.encode())
        except InvalidTag:
            raise KeyError_(f"a value of {context} does not open: altered or moved") from None

    def is_current(self, token: object) -> bool:
        """Whether a stored value is sealed with the current key (else rotation re-seals it)."""
        return isinstance(token, str) and token.startswith(f"{PREFIX}{self.current}:")

    # -- keyed hashes

    def _mac(self, label: str, value: str) -> bytes:
        return hmac.new(self.hash_key, f"{label}\0{value}".encode(), hashlib.sha256).digest()

    def lookup_key(self, channel: str, external_id: str | int) -> str:
        """What `person.external_key` holds for a channel's id: found again without storing it."""
        return self._mac("person", f"{channel}:{external_id}").hex()

    def pseudonym(self, kind: str, value: str | int) -> str:
        """A stable pseudonym for a case code or an id in research exports: the same for the
        same value under this deployment's hash key, and says nothing of the value."""
        digest = self._mac(f"pseudonym:{kind}", str(value))
        return f"{kind[:1].upper()}-{base64.b32encode(digest[:10]).decode().lower()}"


def _new_key_id() -> str:
    return f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(2)}"


# The key ring the column types use. One per process: set by `install` when the bot, a
# command or a test opens its database (bootstrap), before any value is read or written.
_ACTIVE: Keyring | None = None
# The key file it came from, if any, and when that was last looked at: a running bot picks up
# a key added by `wegwijzer keys add` (within RECHECK seconds, and at once when it meets a
# value sealed with a key it does not have), so rotation needs no restart. A ring from
# ENCRYPTION_KEYS cannot change under a running process: restart after adding a key.
_SOURCE: Path | None = None
_SEEN: int | None = None
_CHECKED = 0.0
RECHECK = 5.0


def install(keyring: Keyring, source: Path | None = None) -> None:
    global _ACTIVE, _SOURCE, _SEEN, _CHECKED
    _ACTIVE, _SOURCE, _CHECKED = keyring, source, time.monotonic()
    _SEEN = _stamp(source) if source is not None else None


def active() -> Keyring:
    if _ACTIVE is None:
        raise KeyError_("no key ring installed: the database is opened through bootstrap()")
    if _SOURCE is not None and time.monotonic() - _CHECKED > RECHECK:
        return _reload()
    return _ACTIVE


def open_sealed(token: str, context: str) -> bytes:
    """Open a stored value with the active ring; sealed with a key it lacks, read the key file
    again first (another process may have added that key)."""
    try:
        return active().open(token, context)
    except UnknownKey:
        if _SOURCE is None:
            raise
        return _reload(force=True).open(token, context)


def _reload(force: bool = False) -> Keyring:
    global _ACTIVE, _SEEN, _CHECKED
    assert _ACTIVE is not None and _SOURCE is not None
    _CHECKED = time.monotonic()
    stamp = _stamp(_SOURCE)
    if force or stamp != _SEEN:
        try:
            ring = Keyring.load(None, _SOURCE)
        except (KeyError_, OSError):
            # Unreadable now (moved, or its rights widened): keep the ring this process
            # has; the bot keeps working and `wegwijzer keys` says what is wrong.
            return _ACTIVE
        if ring.hash_key == _ACTIVE.hash_key:  # another deployment's ring is never taken
            _ACTIVE, _SEEN = ring, stamp
    return _ACTIVE


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class EncryptedText(TypeDecorator[str]):
    """A text column stored sealed; `context` (the column's name) binds a value to it."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return active().seal(value.encode(), self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith(PREFIX):
            return value  # written before encryption: sealed by the next rotation
        return open_sealed(value, self.context).decode()


# json.dumps with arguments makes a new encoder for every value: this one is made once.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EncryptedJSON(TypeDecorator[JSONValue]):
    """A JSON column whose value is stored sealed, as a JSON string (so the column stays JSON
    and a value written before encryption still reads)."""

    impl = JSON
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: JSONValue, dialect: Dialect) -> JSONValue:
        if value is None:
            return None
        plain = _COMPACT_JSON(value)
        return active().seal(plain.encode(), self.context)

    def process_result_value(self, value: JSONValue, dialect: Dialect) -> JSONValue:
        return open_json(value, self.context)


def open_json(value: JSONValue, context: str) -> JSONValue:
    """The value of a sealed JSON column (`EncryptedJSON`), from what its JSON decoder gave:
    the sealed token opened, or a value written before encryption as it is."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return value
    return _plain_json(open_sealed(value, context))


_STORED_PREFIX = '"' + PREFIX
# What a JSON string between its quotes holds only when it is not the text itself: an escape,
# a quote, or a control character (which json.loads refuses, so the quick paths must too).
_ESCAPED_TEXT = re.compile('["\\\\\x00-\x1f]')
_ESCAPED_BYTES = re.compile(b'["\\\\\x00-\x1f]')


def stored_json(text: str) -> JSONValue:
    """The engines' JSON decoder (`json_deserializer`): `json.loads`, except for a sealed
    value, which is read without parsing.

    A sealed JSON column holds a JSON string of `PREFIX`, a key id and base64: when it holds
    nothing JSON escapes, the string is what lies between its quotes. An export reads a
    million of them; the parser would only copy each one out again.
    """
    if text.startswith(_STORED_PREFIX) and text.endswith('"'):
        inner = text[1:-1]
        if _ESCAPED_TEXT.search(inner) is None:
            return inner
    result: JSONValue = json.loads(text)
    return result


# Opened values that are one of JSON's words (booleans and null).
_WORDS: dict[bytes, JSONValue] = {b"true": True, b"false": False, b"null": None}


def _plain_json(plain: bytes) -> JSONValue:
    """`json.loads` of an opened value, with the common answers (a whole number, a word, a
    text without escapes) read directly: most answers are a choice or a number on a scale."""
    if plain.isdigit() and (len(plain) == 1 or plain[0] != 0x30):  # JSON has no leading 0
        return int(plain)
    if plain in _WORDS:
        return _WORDS[plain]
    if len(plain) >= 2 and plain[0] == plain[-1] == 0x22:
        inner = plain[1:-1]
        if _ESCAPED_BYTES.search(inner) is None:
            return inner.decode()
    result: JSONValue = json.loads(plain)
    return result


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read (0600), also when it existed with wider rights;
    whole or not at all (a reader never sees it half-written: a running bot reads the key
    file again when it changes)."""
    fresh = path.with_name(f".{path.name}.new")
    with open_private(fresh) as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(fresh, path)


def _private_descriptor(path: Path) -> int:
    # Created 0600 from the first byte on, and narrowed if it existed with wider rights.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    return descriptor


def open_private(path: Path) -> BinaryIO:
    """Open a file for writing in binary that only its owner can read (0600)."""
    return os.fdopen(_private_descriptor(path), "wb")


def open_private_text(path: Path) -> TextIO:
    """Open a file for writing text (UTF-8) that only its owner can read (0600)."""
    return os.fdopen(_private_descriptor(path), "w", encoding="utf-8", newline="")
