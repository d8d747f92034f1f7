"""A TCP proxy on 127.0.0.1 that a test cuts: the database going away under a running bot.

The shared PostgreSQL server must never be stopped by a test (other workers use it). The bot
talks to it through this proxy instead; `cut()` drops every open connection and refuses new
ones (nothing listens on the port any more), `restore()` listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["TcpProxy"]

_CHUNK = 65536


class TcpProxy:
    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TcpProxy:
        await self.restore()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.cut()

    async def restore(self) -> None:
        """Listen (again, on the same port) and pass connections through."""
        if self._server is None:
            self._server = await asyncio.start_server(self._connected, "127.0.0.1", self.port)
            self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every open connection at once and refuse new ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # The open connections go first: waiting for the server to close waits for them.
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while this connection was being made
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._open |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pipe = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._open.discard(sink)
            with contextlib.suppress(ConnectionError, OSError, RuntimeError):
                sink.close()
