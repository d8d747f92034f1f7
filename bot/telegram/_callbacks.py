"""Signed callback data: what a button carries, so that it cannot be forged or replayed.

Telegram gives a button at most 64 bytes of data and hands it back unchanged when pressed;
anyone can send any bytes instead. Each payload is therefore signed with an HMAC over the
payload *and the id of the person it was made for*: a button cannot be tampered with, made
up, or pressed by someone else. The signature does not stop its owner pressing it again:
what the payload names (a run, its step, an option) is checked against the database on
every press, so an old or repeated press of an answer button records nothing.

Format: `<kind>:<field>:…:<signature>` with a 12-character URL-safe signature (72 bits).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAX_CALLBACK_BYTES = 64
_SIGNATURE_LENGTH = 12


class ForgedCallback(ValueError):
    """The payload is malformed or its signature does not match."""


class CallbackSigner:
    def __init__(self, secret: bytes):
        self._secret = secret

    @classmethod
    def from_token(cls, token: str) -> CallbackSigner:
        # Derived from the bot token: every process of one bot agrees without more config,
        # and a new token (after a leak) invalidates every old button at once.
        return cls(hashlib.sha256(b"wegwijzer callback data\0" + token.encode()).digest())

    def sign(self, user_id: int, kind: str, *fields: object) -> str:
        payload = ":".join([kind, *(str(field) for field in fields)])
        data = f"{payload}:{self._signature(user_id, payload)}"
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {len(data)}")
        return data

    def verify(self, user_id: int, data: str | None) -> tuple[str, list[str]]:
        """The kind and fields of a genuine payload; ForgedCallback otherwise."""
        if not data or data.count(":") < 1:
            raise ForgedCallback("malformed")
        payload, _, signature = data.rpartition(":")
        expected = self._signature(user_id, payload)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise ForgedCallback("bad signature")
        kind, *fields = payload.split(":")
        return kind, fields

    def _signature(self, user_id: int, payload: str) -> str:
        digest = hmac.new(self._secret, f"{user_id}|{payload}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:_SIGNATURE_LENGTH]
