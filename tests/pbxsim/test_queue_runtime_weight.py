"""Queue weight and wrapuptime on the running emulator, over AMI: a member shared by two
queues answers the higher-weight queue's caller first; a member in wrap-up is not rung."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telephony.pbxsim import EmulatedPBX
from tests.pbxsim.fidelity import split_server_bytes

# Slower than the other runtime tests: the order under test hangs on fractions of a second.
TIME_SCALE = 5.0

_DIALPLAN = (
    "[agents]\n"
    "exten => _age[n]t.,1,Ringing()\n same => n,Wait(1)\n same => n,Answer()\n"
    " same => n,Wait(3)\n same => n,Hangup()\n"
    "[callers]\nexten => caller,1,Answer()\n same => n,Wait(600)\n same => n,Hangup()\n"
    "[inbound]\nexten => high,1,Queue(qhigh,tT)\nexten => low,1,Queue(qlow,tT)\n"
    "exten => urgent,1,Set(QUEUE_PRIO=5)\n same => n,Queue(qhigh,tT)\n"
)


def _folder(tmp_path: Path, queues: str) -> Path:
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    (tmp_path / "queues.conf").write_text(queues)
    (tmp_path / "extensions.conf").write_text(_DIALPLAN)
    return tmp_path


def _originate(caller: str, exten: str) -> bytes:
    return (
        "Action: Originate\r\nChannel: Local/caller@callers\r\nContext: inbound\r\n"
        f"Exten: {exten}\r\nPriority: 1\r\nAsync: true\r\nCallerID: <{caller}>\r\n\r\n"
    ).encode()


def _pause(paused: bool) -> bytes:
    # No Queue header: the member is paused in every queue it is in.
    return (
        "Action: QueuePause\r\nInterface: Local/agent1@agents/n\r\n"
        f"Paused: {'true' if paused else 'false'}\r\n\r\n"
    ).encode()


async def _run(folder: Path, actions: list[tuple[float, bytes]], until: float) -> list[dict]:
    """Send each (emulated second, action) in turn; the events until `until`."""
    pbx = EmulatedPBX.from_config_dir(folder, time_scale=TIME_SCALE)
    await pbx.start()
    received = bytearray()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", pbx.ami_port)

        async def read() -> None:
            while chunk := await reader.read(65536):
                received.extend(chunk)

        reading = asyncio.create_task(read())
        writer.write(b"Action: Login\r\nUsername: t\r\nSecret: t\r\n\r\n")
        clock = 0.0
        for at, action in actions:
            await asyncio.sleep((at - clock) / TIME_SCALE)
            clock = at
            writer.write(action)
            await writer.drain()
        await asyncio.sleep((until - clock) / TIME_SCALE)
        reading.cancel()
        writer.close()
    finally:
        await pbx.stop()
    return [dict(m.headers) for m in split_server_bytes(bytes(received))]


def _shared_member_queues(high_weight: int) -> str:
    member = "member => Local/agent1@agents/n,0,Agent 1\n"
    return (
        "[general]\nshared_lastcall = yes\n"
        f"[qhigh]\nstrategy = linear\nretry = 1\nringinuse = no\nweight = {high_weight}\n{member}"
        f"[qlow]\nstrategy = linear\nretry = 1\nringinuse = no\nweight = 0\n{member}"
    )


@pytest.mark.parametrize(("high_weight", "order"), [(10, ["B", "A"]), (0, ["A", "B"])])
async def test_the_higher_weight_queue_gets_the_shared_member_first(
    tmp_path: Path, high_weight: int, order: list[str]
) -> None:
    # The member is paused in both queues; A waits in qlow from 0.2 s, B in qhigh from 0.7 s;
    # at 3 s the member is back. Callers look once a second from joining, so A looks first
    # (3.2 s): with weight 10 on qhigh, app_queue's compare_weight keeps the member for B.
    actions = [
        (0.0, _pause(True)),
        (0.2, _originate("A", "low")),
        (0.7, _originate("B", "high")),
        (3.0, _pause(False)),
    ]
    events = await _run(_folder(tmp_path, _shared_member_queues(high_weight)), actions, 14.0)
    connected = [e["CallerIDNum"] for e in events if e.get("Event") == "AgentConnect"]
    assert connected == order


def _wrapup_queue(wrapuptime: int) -> str:
    return (
        f"[general]\n[qhigh]\nstrategy = linear\nretry = 1\nringinuse = no\n"
        f"wrapuptime = {wrapuptime}\nmember => Local/agent1@agents/n,0,Agent 1\n"
    )


async def test_a_member_in_wrapup_is_not_rung(tmp_path: Path) -> None:
    calls = [(0.0, _originate("X", "high")), (0.2, _originate("Y", "high"))]
    events = await _run(_folder(tmp_path, _wrapup_queue(4)), calls, 16.0)
    connects = {e["CallerIDNum"]: e for e in events if e.get("Event") == "AgentConnect"}
    # Y waits for X's call (1 s ring + 3 s talk), then the 4 s wrap-up, then 1 s ring.
    assert int(connects["Y"]["HoldTime"]) >= 8


async def test_without_wrapup_the_member_is_rung_again_at_once(tmp_path: Path) -> None:
    calls = [(0.0, _originate("X", "high")), (0.2, _originate("Y", "high"))]
    events = await _run(_folder(tmp_path, _wrapup_queue(0)), calls, 12.0)
    connects = {e["CallerIDNum"]: e for e in events if e.get("Event") == "AgentConnect"}
    assert int(connects["Y"]["HoldTime"]) < 8


async def test_queue_status_lists_a_priority_caller_first_with_its_priority(
    tmp_path: Path,
) -> None:
    actions = [
        (0.0, _pause(True)),
        (0.2, _originate("A", "high")),
        (0.4, _originate("U", "urgent")),
        (1.0, b"Action: QueueStatus\r\nQueue: qhigh\r\n\r\n"),
    ]
    events = await _run(_folder(tmp_path, _wrapup_queue(0)), actions, 1.5)
    entries = [
        (e["CallerIDNum"], e["Position"], e["Priority"])
        for e in events
        if e.get("Event") == "QueueEntry"
    ]
    assert entries == [("U", "1", "5"), ("A", "2", "0")]
