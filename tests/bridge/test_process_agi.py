"""`hotline-bridge-agi` as Asterisk runs it: a child process talking AGI on stdin/stdout.

The test plays Asterisk: it writes the agi_* block, reads each command, writes each reply, and
sends SIGHUP the way Asterisk signals a hangup to a process AGI.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from telephony.agi import AgiRoutes, FastAgiServer
from telephony.agi.diagnostic_routes import echo

GUARD = 20  # seconds: turns a hang into a failure; a cold interpreter start is most of it
ENV = (
    "agi_request: hotline-bridge-agi\n"
    "agi_channel: Local/caller@callers-00000007;1\n"
    "agi_language: en\n"
    "agi_uniqueid: lab-7.7\n"
    "agi_callerid: 13800000007\n"
    "agi_calleridname: 李四\n"
    "agi_context: agi\n"
    "agi_extension: process\n"
    "agi_priority: 2\n"
    "agi_arg_1: {route}\n"
    "\n"
)


class ProcessAgi:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None and process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout

    @classmethod
    async def start(cls, *argv: str) -> ProcessAgi:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bridge.process_agi",
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        agi = cls(process)
        if argv:
            agi.stdin.write(ENV.format(route=argv[0]).encode())
            await agi.stdin.drain()
        return agi

    async def command(self) -> bytes:
        async with asyncio.timeout(GUARD):
            return await self.stdout.readline()

    async def reply(self, line: bytes = b"200 result=1\n") -> None:
        self.stdin.write(line)
        await self.stdin.drain()

    async def finish(self) -> tuple[int, bytes, bytes]:
        async with asyncio.timeout(GUARD):
            rest, errors = await self.process.communicate()
        assert self.process.returncode is not None
        return self.process.returncode, rest, errors


async def test_ping_sets_the_variable_the_dialplan_checks() -> None:
    agi = await ProcessAgi.start("ping")
    assert (
        await agi.command()
        == b'VERBOSE "hotline-bridge: ping from Local/caller@callers-00000007;1" 1\n'
    )
    await agi.reply()
    assert await agi.command() == b'SET VARIABLE HOTLINE_BRIDGE "OK"\n'
    await agi.reply()
    code, rest, errors = await agi.finish()
    assert (code, rest) == (0, b"")
    assert errors == b"", "pyst2's debug lines must not reach Asterisk's log"


async def test_echo_quotes_hostile_arguments_and_carries_utf8() -> None:
    agi = await ProcessAgi.start("echo?district=370811", 'a "b"\\', "求助 市民")
    expected = [
        b'SET VARIABLE ECHO_ARG_1 "a \\"b\\"\\\\"\n',
        'SET VARIABLE ECHO_ARG_2 "求助 市民"\n'.encode(),
        b'SET VARIABLE ECHO_Q_district "370811"\n',
        b'SET VARIABLE ECHO_COUNT "2"\n',
        b'SET VARIABLE HOTLINE_BRIDGE "OK"\n',
    ]
    for line in expected:
        assert await agi.command() == line
        await agi.reply()
    assert (await agi.finish())[0] == 0


async def test_sighup_ends_the_route_as_a_normal_hangup() -> None:
    args = [str(n) for n in range(20)]
    agi = await ProcessAgi.start("echo", *args)
    commands = [await agi.command()]
    agi.process.send_signal(signal.SIGHUP)
    while True:  # Asterisk keeps answering until the process stops asking
        await agi.reply()
        line = await agi.command()
        if not line:
            break
        commands.append(line)
    code, _, errors = await agi.finish()
    assert code == 0
    assert b"Traceback" not in errors
    assert len(commands) < len(args), "the route went on after SIGHUP"


async def test_hangup_line_then_closed_pipe_is_a_normal_end() -> None:
    agi = await ProcessAgi.start("ping")
    await agi.command()
    await agi.reply(b"HANGUP\n200 result=1\n")
    code, rest, errors = await agi.finish()
    assert (code, rest) == (0, b"")
    assert b"Traceback" not in errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [((), b"usage: hotline-bridge-agi ROUTE"), (("nope",), b"no route 'nope' (have: echo, ping)")],
)
async def test_usage_errors_exit_2_with_a_clear_message(
    argv: tuple[str, ...], message: bytes
) -> None:
    agi = await ProcessAgi.start(*argv)
    code, _, errors = await agi.finish()
    assert code == 2
    assert message in errors


async def test_same_handler_sends_the_same_bytes_over_fastagi() -> None:
    """One route handler, two transports: the command bytes must not differ."""
    argv = ("echo?district=370811", 'x "y"', "求助")
    process = await ProcessAgi.start(*argv)
    over_process = []
    while line := await process.command():
        over_process.append(line)
        await process.reply()
    await process.finish()

    routes = AgiRoutes()
    routes.add("echo", echo)
    server = FastAgiServer(routes)
    await server.start("127.0.0.1", 0)
    over_fastagi = []
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b'agi_network_script: echo?district=370811\nagi_arg_1: x "y"\n'
            + "agi_arg_2: 求助\n\n".encode()
        )
        while line := await reader.readline():
            over_fastagi.append(line)
            writer.write(b"200 result=1\n")
        writer.close()
    finally:
        await server.stop(deadline=1)
    assert over_process == over_fastagi
    assert len(over_fastagi) == 5
