"""The FastAGI server: asyncio streams, one task per connection, routes by script path.

Built on asyncio streams rather than panoramisk's `fast_agi.Application`, whose header loop
spins at 100 % CPU forever when a client disconnects before the blank line. Here the header
block is read with one `readuntil` bounded in size (`header_limit`) and time
(`header_timeout`); anything else -- early disconnect, garbage, an oversized block -- closes
that connection at once and only bumps a counter.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

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


class StreamLink:
    """AgiLink over an asyncio stream pair."""

    __slots__ = ("_reader", "_transport", "_writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._transport = writer.transport

    async def send(self, line: bytes) -> None:
        self._writer.write(line)
        # A command is a few bytes and Asterisk answers it before we send the next one, so
        # the kernel takes it whole; drain (a coroutine per command) only when it did not.
        if self._transport.get_write_buffer_size():
            await self._writer.drain()

    async def read_line(self) -> bytes:
        try:
            return await self._reader.readline()
        except ConnectionError:
            return b""
        except ValueError:  # the reader's limit: a reply line longer than header_limit
            raise AgiProtocolError("AGI reply line longer than the server's line limit") from None

    def hangup_signalled(self) -> bool:
        return False  # FastAGI learns of hangups only through the `HANGUP` line


class FastAgiServer:
    """Serve `routes` over FastAGI. `start()`, then `stop()` for a graceful end.

    `header_limit` bounds the `agi_*` block and every reply line (bytes); `header_timeout`
    bounds how long a new connection may take to send its block (seconds).
    """

    def __init__(
        self, routes: AgiRoutes, *, header_limit: int = 16384, header_timeout: float = 5.0
    ) -> None:
        self._routes = routes
        self._header_limit = header_limit
        self._header_timeout = header_timeout
        self._server: asyncio.Server | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._sessions: set[asyncio.Task[None]] = set()
        self._started = 0
        self._hung_up = 0
        self._failed = 0
        self._rejected = 0

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, host, port, limit=self._header_limit, backlog=1024
        )
        log.info("FastAGI listening on %s:%d", host, self.port)

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
        for task in list(self._pending):
            task.cancel()
        running = set(self._sessions) | set(self._pending)
        if running:
            _, late = await asyncio.wait(running, timeout=deadline)
            for task in late:
                log.warning("FastAGI session still running at the stop deadline: cancelled")
                task.cancel()
            if late:
                await asyncio.wait(late)
        if self._server is not None:
            await self._server.wait_closed()
        log.info("FastAGI stopped")

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # start_server runs this callback as a task
        self._pending.add(task)
        try:
            request = await self._read_request(reader)
            self._pending.discard(task)
            if request is not None:
                self._sessions.add(task)
                await self._serve(request, AgiSession(request, StreamLink(reader, writer)))
        except asyncio.CancelledError:
            pass  # stop(): a pending connection dropped, or a session past the deadline
        finally:
            self._pending.discard(task)
            self._sessions.discard(task)
            # After HANGUP Asterisk keeps the socket open: closing it is our job.
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> AgiRequest | None:
        try:
            async with asyncio.timeout(self._header_timeout):
                block = await reader.readuntil(b"\n\n")
            return parse_header_block(block)
        except (asyncio.IncompleteReadError, ConnectionError):
            reason = "disconnected before the end of the agi_* block"
        except asyncio.LimitOverrunError:
            reason = f"agi_* block larger than {self._header_limit} bytes"
        except TimeoutError:
            reason = f"no complete agi_* block within {self._header_timeout} s"
        except AgiHeaderError as exc:
            reason = str(exc)
        self._rejected += 1
        log.debug("FastAGI connection rejected: %s", reason)
        return None

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
