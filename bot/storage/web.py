"""The web view's sign-in links and sessions (bot/web): rows found by the SHA-256 of their
secret, never by the secret itself, so a copy of the database opens nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import WebLink, WebSession


class WebRepository:
    __slots__ = ("_lock", "_session")

    def __init__(self, session: AsyncSession, *, lock: bool) -> None:
        self._session = session
        self._lock = lock

    async def add_link(
        self, selector: str, token_hash: str, person_id: int, now: datetime, expires_at: datetime
    ) -> WebLink:
        link = WebLink(
            selector=selector,
            token_hash=token_hash,
            person_id=person_id,
            created_at=now,
            expires_at=expires_at,
            failures=0,
        )
        self._session.add(link)
        await self._session.flush()
        return link

    async def link(self, selector: str) -> WebLink | None:
        """The link with this selector, locked on PostgreSQL: two redemptions at once queue,
        and the second finds it used."""
        stmt = select(WebLink).where(WebLink.selector == selector)
        if self._lock:
            stmt = stmt.with_for_update()
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def use_link(self, link: WebLink, now: datetime) -> None:
        link.used_at = now
        await self._session.flush()

    async def link_failed(self, link: WebLink) -> None:
        link.failures += 1
        await self._session.flush()

    async def add_session(
        self, session_hash: str, person_id: int, now: datetime, expires_at: datetime
    ) -> WebSession:
        row = WebSession(
            session_hash=session_hash,
            person_id=person_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        self._session.add(row)
        await self._session.flush()
        return row

    async def session(self, session_hash: str) -> WebSession | None:
        stmt = select(WebSession).where(WebSession.session_hash == session_hash)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def seen(self, row: WebSession, now: datetime) -> None:
        row.last_seen_at = now
        await self._session.flush()

    async def set_language(self, row: WebSession, language: str) -> None:
        row.language = language
        await self._session.flush()

    async def end_session(self, session_hash: str) -> None:
        await self._session.execute(
            delete(WebSession).where(WebSession.session_hash == session_hash)
        )

    async def prune(self, now: datetime, idle_since: datetime) -> None:
        """Remove links past their time and sessions ended (idle or at their end): kept only
        while needed (`wegwijzer privacy map`)."""
        await self._session.execute(delete(WebLink).where(WebLink.expires_at <= now))
        ended = or_(WebSession.expires_at <= now, WebSession.last_seen_at <= idle_since)
        await self._session.execute(delete(WebSession).where(ended))
