"""Queue behaviour no trace covers, driven over AMI like a real client would."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telephony.pbxsim import EmulatedPBX
from tests.pbxsim.fidelity import split_server_bytes

TIME_SCALE = 20.0


def _folder(tmp_path: Path, agents: int, strategy: str) -> Path:
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    members = "".join(
        f"member => Local/agent{n}@agents/n,0,Agent {n}\n" for n in range(1, agents + 1)
    )
    (tmp_path / "queues.conf").write_text(
        f"[general]\n[q]\nstrategy = {strategy}\ntimeout = 15\nretry = 1\nringinuse = no\n{members}"
    )
    (tmp_path / "extensions.conf").write_text(
        "[agents]\n"
        "exten => _age[n]t.,1,Ringing()\n same => n,Wait(1)\n same => n,Answer()\n"
        " same => n,Wait(2)\n same => n,Hangup()\n"
        "[callers]\nexten => caller,1,Answer()\n same => n,Wait(600)\n same => n,Hangup()\n"
        "[inbound]\nexten => 100,1,Queue(q,tT)\n same => n,UserEvent(AfterQueue)\n"
        " same => n,Hangup()\n"
    )
    return tmp_path


async def _run(
    folder: Path,
    callers: int,
    emulated_seconds: float,
    phone_times: tuple[float, float] | None = None,
) -> list[dict[str, str]]:
    """`callers` Originates into inbound 100, and every event of `emulated_seconds`;
    `phone_times` sets PJSIP phones' ring and talk times."""
    pbx = EmulatedPBX.from_config_dir(folder, time_scale=TIME_SCALE)
    if phone_times is not None:
        pbx.phone_ring_time, pbx.phone_talk_time = phone_times
    await pbx.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", pbx.ami_port)
        writer.write(b"Action: Login\r\nUsername: t\r\nSecret: t\r\n\r\n")
        for n in range(callers):
            writer.write(
                b"Action: Originate\r\nChannel: Local/caller@callers\r\nContext: inbound\r\n"
                b"Exten: 100\r\nPriority: 1\r\nAsync: true\r\n"
                + f"CallerID: <13800000{n:03d}>\r\n\r\n".encode()
            )
        await writer.drain()
        received = bytearray()

        async def read() -> None:
            while chunk := await reader.read(65536):
                received.extend(chunk)

        reading = asyncio.create_task(read())
        await asyncio.sleep(emulated_seconds / TIME_SCALE)
        reading.cancel()
        writer.close()
    finally:
        await pbx.stop()
    return [dict(m.headers) for m in split_server_bytes(bytes(received))]


async def test_a_member_who_hangs_up_is_free_for_the_next_caller(tmp_path: Path) -> None:
    events = await _run(_folder(tmp_path, agents=1, strategy="rrmemory"), 2, 12)
    connects = [e for e in events if e.get("Event") == "AgentConnect"]
    completes = [e for e in events if e.get("Event") == "AgentComplete"]
    assert len(connects) == 2, "the second caller never reached the freed member"
    assert [e["Reason"] for e in completes] == ["agent", "agent"]
    # The caller's dialplan goes on after Queue() when the member hangs up.
    assert sum(1 for e in events if e.get("UserEvent") == "AfterQueue") == 2


async def test_leastrecent_rings_the_member_idle_longest(tmp_path: Path) -> None:
    events = await _run(_folder(tmp_path, agents=2, strategy="leastrecent"), 3, 14)
    called = [e["MemberName"] for e in events if e.get("Event") == "AgentConnect"]
    # Two callers take both members; the third gets the one who finished first.
    assert called[:2] == ["Agent 1", "Agent 2"]
    assert called[2] == "Agent 1"


async def test_pjsip_members_answer_after_the_ring_time_and_talk(tmp_path: Path) -> None:
    folder = _folder(tmp_path, agents=1, strategy="rrmemory")
    queues = (folder / "queues.conf").read_text()
    (folder / "queues.conf").write_text(
        queues.replace("Local/agent1@agents/n,0,Agent 1", "PJSIP/desk-01,0,Desk 01")
    )
    events = await _run(folder, 1, 8, phone_times=(2.0, 3.0))
    connect = next(e for e in events if e.get("Event") == "AgentConnect")
    assert connect["DestChannel"].startswith("PJSIP/desk-01-")
    assert int(connect["RingTime"]) in (1, 2, 3)
    complete = next(e for e in events if e.get("Event") == "AgentComplete")
    assert complete["Reason"] == "agent"
    statuses = [e["Status"] for e in events if e.get("Event") == "QueueMemberStatus"]
    assert statuses[0] == "6" and statuses[-1] == "1"  # ringing, then free again
