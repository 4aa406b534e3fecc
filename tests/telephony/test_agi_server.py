"""The FastAGI server over real sockets: robustness against bad clients, hangups, graceful stop.

The test plays Asterisk with a plain socket. Waits are bounded by `asyncio.timeout` guards so a
regression fails instead of hanging; nothing asserts on durations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from panoramisk.fast_agi import Application

from telephony.agi import AgiHangup, AgiRoutes, AgiSession, FastAgiServer

HEADERS = (
    "agi_network: yes\n"
    "agi_network_script: {route}\n"
    "agi_request: agi://127.0.0.1:4573/{route}\n"
    "agi_channel: Local/caller@callers-00000001;1\n"
    "agi_uniqueid: lab-1.1\n"
    "agi_callerid: 13800000001\n"
    "agi_calleridname: 张三\n"
    "agi_context: agi\n"
    "agi_extension: s\n"
    "agi_priority: 1\n"
    "agi_arg_1: 110\n"
    "\n"
)
Handler = Callable[[AgiSession], Awaitable[None]]
GUARD = 10  # seconds: only to turn a hang into a failure


class Asterisk:
    """One FastAGI connection as Asterisk makes it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def call(cls, port: int, route: str = "flow") -> Asterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HEADERS.format(route=route).encode())
        await writer.drain()
        return cls(reader, writer)

    async def expect(self, command: bytes, reply: bytes = b"200 result=1\n") -> None:
        async with asyncio.timeout(GUARD):
            assert await self.reader.readline() == command
        self.writer.write(reply)
        await self.writer.drain()

    async def closed_by_server(self) -> bool:
        async with asyncio.timeout(GUARD):
            return await self.reader.read() == b""


async def until(condition: Callable[[], bool]) -> None:
    """Poll server counters (they have no event to wait on) under the hang guard."""
    async with asyncio.timeout(GUARD):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[FastAgiServer]]]:
    servers: list[FastAgiServer] = []

    async def start(handler: Handler | None = None, **options: float) -> FastAgiServer:
        routes = AgiRoutes()
        if handler is not None:
            routes.add("flow", handler)
        server = FastAgiServer(routes, **options)  # type: ignore[arg-type]
        await server.start("127.0.0.1", 0)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop(deadline=1)


async def one_variable(session: AgiSession) -> None:
    await session.set_variable("SEEN", session.request.calleridname)


async def test_session_runs_and_server_closes(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    server = await serve(one_variable)
    asterisk = await Asterisk.call(server.port)
    await asterisk.expect('SET VARIABLE SEEN "张三"\n'.encode())
    assert await asterisk.closed_by_server()
    await until(lambda: server.status().active_sessions == 0)
    assert server.status().sessions_started == 1


async def test_headers_one_byte_per_read(serve: Callable[..., Awaitable[FastAgiServer]]) -> None:
    server = await serve(one_variable)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    for byte in HEADERS.format(route="flow").encode():
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0)
    await Asterisk(reader, writer).expect('SET VARIABLE SEEN "张三"\n'.encode())


async def test_disconnect_before_blank_line_costs_nothing(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    server = await serve(one_variable)
    for _ in range(20):
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"agi_network: yes\nagi_network_script: flow\n")  # no blank line
        await writer.drain()
        writer.close()
    await until(lambda: server.status().connections_rejected == 20)
    assert server.status().pending_connections == 0
    # ...and the server still serves the next call.
    asterisk = await Asterisk.call(server.port)
    await asterisk.expect('SET VARIABLE SEEN "张三"\n'.encode())


class Spinning(Exception):
    pass


class CountingReader(asyncio.StreamReader):
    """Gives up after many reads at EOF: panoramisk's loop would otherwise never yield."""

    reads = 0

    async def read(self, n: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 10_000:
            raise Spinning
        return await super().read(n)


async def test_panoramisk_spins_on_the_same_early_disconnect() -> None:
    """Why we do not use panoramisk's server: on EOF before the blank line its header loop
    calls read() forever without ever yielding to the event loop."""
    reader = CountingReader()
    reader.feed_data(b"agi_network: yes\n")
    reader.feed_eof()
    app = Application(loop=asyncio.get_running_loop())
    with pytest.raises(Spinning):
        await app.handler(reader, None)


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\nHost: bridge\n\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n\n", b"\n\n"],
)
async def test_garbage_is_closed_at_once(
    serve: Callable[..., Awaitable[FastAgiServer]], garbage: bytes
) -> None:
    server = await serve(one_variable)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(garbage)
    await writer.drain()
    assert await Asterisk(reader, writer).closed_by_server()
    assert server.status().connections_rejected == 1
    assert server.status().sessions_started == 0


async def test_oversized_header_block_is_closed(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    server = await serve(one_variable, header_limit=1024)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_calleridname: " + b"x" * 4096 + b"\n")
    await writer.drain()
    assert await Asterisk(reader, writer).closed_by_server()
    assert server.status().connections_rejected == 1


async def test_silent_client_is_closed_after_header_timeout(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    server = await serve(one_variable, header_timeout=0.05)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await Asterisk(reader, writer).closed_by_server()
    assert server.status().connections_rejected == 1


async def test_unknown_route_tells_the_dialplan_and_closes(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    server = await serve(one_variable)
    asterisk = await Asterisk.call(server.port, route="nope")
    await asterisk.expect(b"VERBOSE \"hotline-bridge: no FastAGI route 'nope'\" 1\n")
    assert await asterisk.closed_by_server()
    assert server.status().connections_rejected == 1


async def test_hangup_mid_flow_is_a_normal_end(
    serve: Callable[..., Awaitable[FastAgiServer]], caplog: pytest.LogCaptureFixture
) -> None:
    reached_end = False

    async def flow(session: AgiSession) -> None:
        nonlocal reached_end
        await session.answer()
        await session.get_data("menu", 5000, 1)  # the caller hangs up here
        reached_end = True

    server = await serve(flow)
    asterisk = await Asterisk.call(server.port)
    await asterisk.expect(b"ANSWER\n", b"200 result=0\n")
    await asterisk.expect(b"GET DATA menu 5000 1\n", b"HANGUP\n200 result=-1\n")
    # Asterisk keeps the socket open after HANGUP: the server must close it.
    assert await asterisk.closed_by_server()
    await until(lambda: server.status().active_sessions == 0)
    assert not reached_end
    status = server.status()
    assert (status.sessions_hung_up, status.sessions_failed) == (1, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_handler_may_catch_hangup_and_clean_up(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    caught: list[AgiHangup] = []

    async def flow(session: AgiSession) -> None:
        try:
            await session.verbose("menu")
        except AgiHangup as exc:
            caught.append(exc)
            await session.get_variable("TICKET_ID")  # dead-channel commands still work
            await session.stream_file("bye")  # 511 after the hangup: still a normal end

    server = await serve(flow)
    asterisk = await Asterisk.call(server.port)
    await asterisk.expect(b'VERBOSE "menu" 1\n', b"HANGUP\n200 result=1\n")
    await asterisk.expect(b"GET VARIABLE TICKET_ID\n", b"200 result=1 (T-9)\n")
    await asterisk.expect(
        b'STREAM FILE bye ""\n',
        b"511 Command Not Permitted on a dead channel or intercept routine\n",
    )
    assert await asterisk.closed_by_server()
    await until(lambda: server.status().active_sessions == 0)
    assert caught[0].reply is not None and caught[0].reply.result == "1"
    assert (server.status().sessions_hung_up, server.status().sessions_failed) == (1, 0)


async def test_asterisk_closing_mid_command_is_a_hangup(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    server = await serve(one_variable)
    asterisk = await Asterisk.call(server.port)
    await asterisk.reader.readline()
    asterisk.writer.close()
    await until(lambda: server.status().sessions_hung_up == 1)
    assert server.status().sessions_failed == 0


async def test_handler_bug_is_logged_and_counted(
    serve: Callable[..., Awaitable[FastAgiServer]], caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(session: AgiSession) -> None:
        raise KeyError("district")

    server = await serve(broken)
    asterisk = await Asterisk.call(server.port)
    assert await asterisk.closed_by_server()
    await until(lambda: server.status().sessions_failed == 1)
    assert any("route flow failed" in r.getMessage() for r in caplog.records)


async def test_graceful_stop_lets_running_sessions_finish(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    release = asyncio.Event()

    async def slow(session: AgiSession) -> None:
        await release.wait()
        await session.set_variable("DONE", "1")

    server = await serve(slow)
    asterisk = await Asterisk.call(server.port)
    await until(lambda: server.active_sessions == 1)
    port = server.port
    stopping = asyncio.create_task(server.stop(deadline=GUARD))
    await until(lambda: not server.status().listening)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    assert not stopping.done()
    release.set()
    await asterisk.expect(b'SET VARIABLE DONE "1"\n')
    assert await asterisk.closed_by_server()
    await stopping


async def test_stop_deadline_cancels_what_is_left(
    serve: Callable[..., Awaitable[FastAgiServer]],
) -> None:
    async def forever(session: AgiSession) -> None:
        await asyncio.Event().wait()

    server = await serve(forever)
    asterisk = await Asterisk.call(server.port)
    await until(lambda: server.active_sessions == 1)
    await server.stop(deadline=0.05)
    assert await asterisk.closed_by_server()
    assert server.active_sessions == 0


async def test_many_concurrent_sessions(serve: Callable[..., Awaitable[FastAgiServer]]) -> None:
    server = await serve(one_variable)

    async def one_call() -> bool:
        asterisk = await Asterisk.call(server.port)
        await asterisk.expect('SET VARIABLE SEEN "张三"\n'.encode())
        return await asterisk.closed_by_server()

    assert all(await asyncio.gather(*(one_call() for _ in range(100))))
    await until(lambda: server.status().sessions_started == 100)
