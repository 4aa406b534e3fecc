"""Replays every recorded FastAGI conversation through the real server over a real socket.

The test plays Asterisk: it sends the recorded `AST->AGI` bytes in their recorded read chunks,
and reads what the server sends. The route handler issues the recorded commands through the
session's typed helpers. Checked: the server's bytes equal the recorded `AGI->AST` bytes, the
typed results equal what the trace says, and the server closes the socket where the recording
shows `CLOSE-by-server`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from telephony.agi import (
    AgiError,
    AgiHangup,
    AgiRequest,
    AgiRoutes,
    AgiSession,
    ChannelStatus,
    CommandFailed,
    CommandNotPermitted,
    FastAgiServer,
    InvalidCommand,
    Playback,
    UsageError,
)
from tests.traces import Record, read_trace, trace_files

Step = Callable[[AgiSession], Awaitable[object]]


def fails(kind: type[AgiError], **reply: object) -> tuple[str, dict[str, object]]:
    """The expected outcome of a step that raises `kind` with these reply fields."""
    return (kind.__name__, reply)


USAGE_GET_DATA = (
    "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
    "Returns the digits received from the channel at the other end."
)

SCRIPTS: dict[str, list[tuple[Step, object]]] = {
    "07_fastagi": [
        (lambda s: s.verbose("bridge probe connected", 1), None),
        (lambda s: s.get_variable("CALLERID(num)"), "13800000007"),
        (lambda s: s.set_variable("TICKET_ID", "T-1"), None),
        (lambda s: s.get_variable("TICKET_ID"), "T-1"),
        (
            lambda s: s.get_full_variable("${CALLERID(name)}/${CHANNEL}"),
            "Citizen 0007/Local/caller@callers-00000011;1",
        ),
        (lambda s: s.get_variable("NO_SUCH_VAR"), None),
        (lambda s: s.channel_status(), ChannelStatus.UP),
        (lambda s: s.exec("NoOp", "fastagi-exec-test"), 0),
        (lambda s: s.command("FOO BAR"), fails(InvalidCommand, code=510)),
    ],
    "07b_fastagi_hangup": [
        (lambda s: s.get_variable("CALLERID(num)"), "13800000008"),
        # HANGUP arrived while idle: the next command raises it, carrying its own reply.
        (lambda s: s.get_variable("TICKET_ID"), fails(AgiHangup, code=200, result="0")),
        (lambda s: s.exec("NoOp", "after-hangup"), 0),
        (lambda s: s.stream_file("beep"), fails(CommandNotPermitted, code=511)),
    ],
    "09_dynamic_feature_onekey": [
        (lambda s: s.verbose("onekey transfer requested"), None),
        (lambda s: s.get_variable("BRIDGEPEER"), "Local/caller@callers-0000004b;1"),
        (lambda s: s.get_variable("DYNAMIC_FEATURES"), "linkage_transfer"),
        (lambda s: s.get_variable("CHANNEL"), "Local/agent102@agents-0000004c;1"),
        (lambda s: s.get_variable("BRIDGEPVTCALLID"), None),
        (lambda s: s.get_variable("CALLERID(num)"), "13800000009"),
        (lambda s: s.channel_status(), ChannelStatus.UP),
        (lambda s: s.get_variable("BRIDGEPEER"), None),
    ],
    "09b_dynamic_feature_onekey_receive": [
        (lambda s: s.verbose("onekey transfer requested"), None),
        (lambda s: s.get_variable("BRIDGEPEER"), "Local/caller@callers-0000004e;1"),
        (lambda s: s.get_variable("DYNAMIC_FEATURES"), "linkage_transfer"),
        (lambda s: s.get_variable("CHANNEL"), "Local/agent101@agents-0000004f;1"),
        (lambda s: s.get_variable("BRIDGEPVTCALLID"), None),
        (lambda s: s.get_variable("CALLERID(num)"), "13800000009"),
        (lambda s: s.exec("ChannelRedirect", "Local/caller@callers-0000004e;1,inbound,110,1"), 0),
        (lambda s: s.get_variable("CHANNELREDIRECT_STATUS"), "SUCCESS"),
        (lambda s: s.channel_status(), ChannelStatus.UP),
        (lambda s: s.get_variable("BRIDGEPEER"), None),
    ],
    "14_fastagi_getdata": [
        (lambda s: s.get_data("beep", 3000, 1), "2"),
        (lambda s: s.set_variable("CATEGORY", "求助"), None),
        (lambda s: s.get_variable("CATEGORY"), "求助"),
        (lambda s: s.get_full_variable("${CATEGORY}"), "求助"),
        # The trace also sends the value bare; `command` quotes only what needs quoting.
        (lambda s: _result(s.command("SET VARIABLE", "CATEGORY_RAW", "求助")), "1"),
        (lambda s: s.get_variable("CATEGORY_RAW"), "求助"),
        (lambda s: s.get_data("beep", 2000, 1), ""),  # `200 result= (timeout)`
        (lambda s: s.wait_for_digit(1500), None),
        (lambda s: s.wait_for_digit(5000), "5"),  # `200 result=53`: ASCII of '5'
        (lambda s: s.stream_file("nonexistent"), fails(CommandFailed, result="-1", endpos=0)),
        (lambda s: s.stream_file("beep"), Playback(digit=None, endpos=3520)),
        (lambda s: s.get_data("nonexistent", 1500, 1), fails(CommandFailed, result="-1")),
        (lambda s: s.command("FOO BAR"), fails(InvalidCommand, code=510)),
        (lambda s: s.command("GET DATA"), fails(UsageError, code=520, usage=USAGE_GET_DATA)),
        (lambda s: s.exec("Goto", "inbound,12345,1"), 0),
        (lambda s: s.get_variable("CATEGORY"), "求助"),
    ],
}


async def _result(reply: Awaitable[object]) -> object:
    return getattr(await reply, "result", None)


def _outcome_of(exc: AgiError, expected: object) -> object:
    """What a raised error looks like, reduced to the reply fields the expectation names."""
    if not isinstance(expected, tuple):
        return (type(exc).__name__, {})
    fields = expected[1]
    reply = getattr(exc, "reply", None)
    return (type(exc).__name__, {name: getattr(reply, name, None) for name in fields})


async def _run_script(session: AgiSession, script: list[tuple[Step, object]]) -> list[object]:
    outcomes: list[object] = []
    for step, expected in script:
        try:
            outcomes.append(await step(session))
        except AgiError as exc:
            outcomes.append(_outcome_of(exc, expected))
    return outcomes


async def _play_asterisk(port: int, records: list[Record]) -> list[bytes]:
    """Act as Asterisk; return every chunk the server sent, checking each against the trace."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received: list[bytes] = []
    previous = ""
    async with asyncio.timeout(10):  # a guard against a hung test, not a measurement
        for record in records:
            if record.direction == "AST->AGI":
                if previous == "AST->AGI":
                    await asyncio.sleep(0.01)  # let consecutive chunks arrive as separate reads
                writer.write(record.data)
                await writer.drain()
            elif record.direction == "AGI->AST":
                received.append(await reader.readexactly(len(record.data)))
            elif record.direction == "CLOSE-by-server":
                assert await reader.read(1) == b"", "server sent more than the trace"
            previous = record.direction
    writer.close()
    return received


AGI_TRACES = trace_files(".agi.txt")


def _name(path: Path) -> str:
    return path.name.removesuffix(".agi.txt")


def test_every_agi_trace_is_replayed() -> None:
    assert AGI_TRACES, "no *.agi.txt traces found"
    assert sorted(map(_name, AGI_TRACES)) == sorted(SCRIPTS)


@pytest.mark.parametrize("path", AGI_TRACES, ids=_name)
async def test_trace_replay_bytes_and_results(path: Path) -> None:
    records = read_trace(path)
    script = SCRIPTS[_name(path)]
    outcomes: list[object] = []
    requests: list[AgiRequest] = []
    finished = asyncio.Event()

    async def handler(session: AgiSession) -> None:
        requests.append(session.request)
        outcomes.extend(await _run_script(session, script))
        finished.set()

    routes = AgiRoutes()
    first_headers = next(r.data for r in records if r.direction == "AST->AGI")
    script_line = next(
        line
        for line in first_headers.decode().splitlines()
        if line.startswith("agi_network_script")
    )
    routes.add(script_line.split(": ", 1)[1].partition("?")[0], handler)
    server = FastAgiServer(routes)
    await server.start("127.0.0.1", 0)
    try:
        sent = await _play_asterisk(server.port, records)
        await finished.wait()
    finally:
        await server.stop(deadline=1)

    assert sent == [r.data for r in records if r.direction == "AGI->AST"]
    assert outcomes == [expected for _, expected in script]
    assert requests[0].channel in first_headers.decode()
    assert server.status().sessions_failed == 0


async def test_trace_07b_request_has_route_query_and_args() -> None:
    records = read_trace(next(p for p in AGI_TRACES if _name(p) == "07b_fastagi_hangup"))
    seen: list[AgiSession] = []

    async def handler(session: AgiSession) -> None:
        seen.append(session)
        await _run_script(session, SCRIPTS["07b_fastagi_hangup"])

    routes = AgiRoutes()
    routes.add("route", handler)
    server = FastAgiServer(routes)
    await server.start("127.0.0.1", 0)
    try:
        await _play_asterisk(server.port, records)
    finally:
        await server.stop(deadline=1)

    request = seen[0].request
    assert (request.route, request.query, request.args) == (
        "route",
        {"district": "370811"},
        ["110", "370811"],
    )
    assert request.uniqueid == "lab-1795945610.38"
    assert request.calleridname == "Citizen 0008"
    assert request.accountcode == ""
    assert request.extension == "fastagi-args"
    assert seen[0].hung_up
