"""The FastAGI server: one asyncio Protocol per connection, one task per session.

Not panoramisk's `fast_agi.Application`: its header loop spins at 100 % CPU forever when a
client disconnects before the blank line. Here a connection is a small `asyncio.Protocol`
that buffers bytes and looks for the blank line as they arrive, so a connection that never
completes its `agi_*` block costs no task and no CPU: it is closed when it disconnects, when
the block outgrows `header_limit` bytes, or after `header_timeout` seconds, and only bumps a
counter. Only a complete, parsable block starts a session task. The protocol is also the
session's line reader -- lighter than asyncio streams (no StreamReader/Writer pair, no task
before the headers), which is where most of the server's CPU per session went.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import cast

from telephony.agi.errors import AgiError, AgiHangup, AgiHeaderError, AgiProtocolError
from telephony.agi.request import AgiRequest, parse_header_block
from telephony.agi.routes import AgiRoutes
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FastAgiStatus:
    """A snapshot for /health and metrics."""

    listening: bool
    active_sessions: int  # handlers running now
    pending_connections: int  # connected, headers not yet complete
    sessions_started: int
    sessions_hung_up: int  # ended by the caller hanging up (a normal end)
    sessions_failed: int  # the handler raised: a bug or an unreachable dependency
    connections_rejected: int  # garbage, early disconnect, oversized or slow headers, no route


class AgiConnection(asyncio.Protocol):
    """One FastAGI connection: collects the `agi_*` block, then serves as the session's
    AgiLink (`send`, `read_line`)."""

    def __init__(self, server: FastAgiServer) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self.header_deadline = 0.0  # loop time by which the agi_* block must be complete
        self._line_waiter: asyncio.Future[None] | None = None
        self._write_waiter: asyncio.Future[None] | None = None
        self._session_started = False
        self._closed = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A TCP transport; uvloop's does not subclass asyncio.Transport, hence cast.
        self._transport = cast(asyncio.Transport, transport)
        self._server._connection_opened(self)
        self.header_deadline = self._loop.time() + self._server.header_timeout

    def data_received(self, data: bytes) -> None:
        searched = max(len(self._buffer) - 1, 0)  # a "\n\n" may straddle two reads
        self._buffer += data
        if not self._session_started:
            self._look_for_headers(searched)
        elif len(self._buffer) > 4 * self._server.header_limit:
            self._reject_flood()
        elif self._line_waiter is not None and b"\n" in data:
            self._wake(self._line_waiter)

    def eof_received(self) -> bool:
        return False  # Asterisk half-closed: nothing more to read, so close

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if not self._session_started:
            self.reject("disconnected before the end of the agi_* block")
        self._wake(self._line_waiter)
        self._wake(self._write_waiter)

    def pause_writing(self) -> None:
        self._write_waiter = self._loop.create_future()

    def resume_writing(self) -> None:
        self._wake(self._write_waiter)
        self._write_waiter = None

    # AgiLink

    async def send(self, line: bytes) -> None:
        if self._closed or self._transport is None:
            raise AgiHangup("Asterisk closed the AGI connection")
        self._transport.write(line)
        if self._write_waiter is not None:  # the kernel buffer is full: wait for room
            await self._write_waiter

    async def read_line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if self._closed:
                return b""
            if len(self._buffer) > self._server.header_limit:
                raise AgiProtocolError("AGI reply line longer than the server's line limit")
            self._line_waiter = self._loop.create_future()
            try:
                await self._line_waiter
            finally:
                self._line_waiter = None

    def hangup_signalled(self) -> bool:
        return False  # FastAGI learns of hangups only through the `HANGUP` line

    def close(self) -> None:
        # After HANGUP Asterisk keeps the socket open: closing it is the server's job.
        if self._transport is not None:
            self._transport.close()

    # the agi_* block

    def _look_for_headers(self, start: int) -> None:
        end = self._buffer.find(b"\n\n", start)
        if end < 0:
            if len(self._buffer) > self._server.header_limit:
                self.reject(f"agi_* block larger than {self._server.header_limit} bytes")
            return
        block = bytes(self._buffer[: end + 2])
        del self._buffer[: end + 2]
        try:
            request = parse_header_block(block)
        except AgiHeaderError as exc:
            self.reject(str(exc))
            return
        self._session_started = True
        self._server._start_session(self, request)

    def reject(self, reason: str) -> None:
        self._server._connection_rejected(self, reason)
        self.close()

    def _reject_flood(self) -> None:
        log.warning("FastAGI: %d unread bytes from Asterisk, closing", len(self._buffer))
        self._buffer.clear()
        if self._transport is not None:
            self._transport.abort()

    @staticmethod
    def _wake(waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class FastAgiServer:
    """Serve `routes` over FastAGI. `start()`, then `stop()` for a graceful end.

    `header_limit` bounds the `agi_*` block and every reply line (bytes); `header_timeout`
    bounds how long a new connection may take to send its block (seconds).
    """

    def __init__(
        self, routes: AgiRoutes, *, header_limit: int = 16384, header_timeout: float = 5.0
    ) -> None:
        self.header_limit = header_limit
        self.header_timeout = header_timeout
        self._routes = routes
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._pending: set[AgiConnection] = set()
        self._sessions: set[asyncio.Task[None]] = set()
        self._started = 0
        self._hung_up = 0
        self._failed = 0
        self._rejected = 0

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AgiConnection(self), host, port, backlog=1024
        )
        self._sweep()
        log.info("FastAGI listening on %s:%d", host, self.port)

    def _sweep(self) -> None:
        """Close connections whose agi_* block is late. One timer for the whole server,
        not one per connection: the header timeout fires between 1 and 1.5 times its value."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in [c for c in self._pending if c.header_deadline <= now]:
            connection.reject(f"no complete agi_* block within {self.header_timeout} s")
        self._sweeper = loop.call_later(self.header_timeout / 2, self._sweep)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the FastAGI server is not listening")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def active_sessions(self) -> int:
        return len(self._sessions)

    def status(self) -> FastAgiStatus:
        return FastAgiStatus(
            listening=self._server is not None and self._server.is_serving(),
            active_sessions=len(self._sessions),
            pending_connections=len(self._pending),
            sessions_started=self._started,
            sessions_hung_up=self._hung_up,
            sessions_failed=self._failed,
            connections_rejected=self._rejected,
        )

    async def stop(self, deadline: float = 10.0) -> None:
        """Stop accepting, drop connections still sending headers, give running sessions up
        to `deadline` seconds to finish, then cancel what is left."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self._pending):
            connection.close()
        if self._sessions:
            _, late = await asyncio.wait(set(self._sessions), timeout=deadline)
            for task in late:
                log.warning("FastAGI session still running at the stop deadline: cancelled")
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._server is not None:
            await self._server.wait_closed()
        log.info("FastAGI stopped")

    def _connection_opened(self, connection: AgiConnection) -> None:
        self._pending.add(connection)

    def _connection_rejected(self, connection: AgiConnection, reason: str) -> None:
        if connection in self._pending:  # counted once, however many ways it ended
            self._pending.discard(connection)
            self._rejected += 1
            log.debug("FastAGI connection rejected: %s", reason)

    def _start_session(self, connection: AgiConnection, request: AgiRequest) -> None:
        self._pending.discard(connection)
        self._sessions.add(
            asyncio.get_running_loop().create_task(self._run_session(connection, request))
        )

    async def _run_session(self, connection: AgiConnection, request: AgiRequest) -> None:
        try:
            await self._serve(request, AgiSession(request, connection))
        except asyncio.CancelledError:
            pass  # stop(): past the deadline
        finally:
            connection.close()
            task = asyncio.current_task()
            assert task is not None
            self._sessions.discard(task)

    async def _serve(self, request: AgiRequest, session: AgiSession) -> None:
        handler = self._routes.get(request.route)
        if handler is None:
            self._rejected += 1
            log.warning("FastAGI: no route %r (channel %s)", request.route, request.channel)
            await _tell_dialplan(session, f"hotline-bridge: no FastAGI route {request.route!r}")
            return
        self._started += 1
        try:
            await handler(session)
        except Exception as exc:
            # A hangup is a normal end, and so is a command refused on the dead channel
            # after the handler caught AgiHangup and went on.
            if isinstance(exc, AgiHangup) or (isinstance(exc, AgiError) and session.hung_up):
                self._hung_up += 1
                log.debug("FastAGI %s on %s: caller hung up", request.route, request.channel)
            else:
                self._failed += 1
                log.exception("FastAGI route %s failed on %s", request.route, request.channel)


async def _tell_dialplan(session: AgiSession, message: str) -> None:
    try:
        await session.verbose(message)
    except AgiError:
        pass  # best effort: the dialplan goes on with its fallback anyway
