"""AMI actions on a running call, in cases no trace records (Setvar with inheritance marks,
Hangup by Uniqueid, hanging up half of a Local channel), driven as a real client would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from telephony.pbxsim import EmulatedPBX
from tests.pbxsim.amiclient import Client, until

TIME_SCALE = 20.0


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\nchannelvars = X\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
        "[remote]\nsecret = r\nread = all\nwrite = all\n"
        "deny = 0.0.0.0/0.0.0.0\npermit = 10.0.0.0/255.0.0.0\n"
    )
    (tmp_path / "queues.conf").write_text(
        "[general]\n[q]\nstrategy = rrmemory\ntimeout = 15\n"
        "[rung]\nstrategy = rrmemory\ntimeout = 15\nmember => Local/slow@agents/n,0,Slow\n"
    )
    (tmp_path / "extensions.conf").write_text(
        "[callers]\nexten => caller,1,Answer()\n same => n,Wait(600)\n same => n,Hangup()\n"
        "[inbound]\nexten => 100,1,Queue(q,tT)\n same => n,Hangup()\n"
        "exten => 200,1,Wait(600)\n same => n,Hangup()\n"
        "exten => 300,1,Answer()\n same => n,Queue(q,tT)\n same => n,Hangup()\n"
        "exten => 400,1,Answer()\n same => n,Queue(rung,tT)\n same => n,Hangup()\n"
        "exten => elsewhere,1,UserEvent(Arrived)\n same => n,Wait(600)\n"
        "[agents]\nexten => slow,1,Ringing()\n same => n,Wait(600)\n"
    )
    return tmp_path


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[EmulatedPBX]:
    emulated = EmulatedPBX.from_config_dir(_folder(tmp_path), time_scale=TIME_SCALE)
    await emulated.start()
    yield emulated
    await emulated.stop()


@pytest.fixture
async def client(pbx: EmulatedPBX) -> AsyncIterator[Client]:
    session = Client()
    await session.connect(pbx.ami_port)
    yield session
    session.close()


async def _call(client: Client, exten: str) -> tuple[str, str]:
    """Originate Local/caller@callers into inbound `exten`; the ;1 and ;2 halves' names."""
    client.send(
        "Action: Originate\nChannel: Local/caller@callers\nContext: inbound\n"
        f"Exten: {exten}\nPriority: 1\nAsync: true\n"
    )
    await asyncio.sleep(1 / TIME_SCALE)
    names = [e["Channel"] for e in client.events("Newchannel")]
    one = next(n for n in names if n.startswith("Local/caller@callers-") and n.endswith(";1"))
    return one, one[:-1] + "2"


async def test_setvar_with_inheritance_marks_stores_the_bare_name(
    pbx: EmulatedPBX, client: Client
) -> None:
    one, _ = await _call(client, "200")
    client.send(f"Action: Setvar\nActionID: s1\nChannel: {one}\nVariable: __X\nValue: 42\n")
    client.send(f"Action: Getvar\nActionID: g1\nChannel: {one}\nVariable: X\n")
    client.send(f"Action: Setvar\nActionID: s2\nChannel: {one}\nVariable: _Y\nValue: 7\n")
    client.send(f"Action: Getvar\nActionID: g2\nChannel: {one}\nVariable: Y\n")
    client.send(f"Action: Setvar\nActionID: s3\nChannel: {one}\nVariable: __\nValue: 1\n")
    await asyncio.sleep(1 / TIME_SCALE)
    assert client.reply("g1")["Value"] == "42"
    assert client.reply("g2")["Value"] == "7"
    assert client.reply("s3")["Response"] == "Error"
    assert "nothing after its underscores" in client.reply("s3")["Message"]
    varset = [e for e in client.events("VarSet") if e["Variable"] == "__X"]
    assert varset and varset[0]["ChanVariable"] == "X=42"
    assert pbx.channels[one].inherited >= {"X", "Y"}


async def test_hangup_accepts_a_uniqueid(client: Client) -> None:
    one, _ = await _call(client, "200")
    uniqueid = next(e["Uniqueid"] for e in client.events("Newchannel") if e["Channel"] == one)
    client.send(f"Action: Hangup\nActionID: h1\nChannel: {uniqueid}\n")
    await asyncio.sleep(1 / TIME_SCALE)
    assert client.reply("h1")["Message"] == "Channel Hungup"
    assert one in [e["Channel"] for e in client.events("Hangup")]


@pytest.mark.parametrize("exten", ["200", "100", "300"])
async def test_hanging_up_the_first_half_takes_the_second_with_it(
    client: Client, exten: str
) -> None:
    """;2 running the dialplan (200: Wait, 100: waiting in a queue while ringing, 300:
    answered and waiting in a queue) goes when ;1, held by Originate, is hung up."""
    client.send(
        f"Action: Originate\nChannel: Local/{exten}@inbound\nApplication: Wait\n"
        "Data: 600\nAsync: true\n"
    )
    await asyncio.sleep(1 / TIME_SCALE)
    one = f"Local/{exten}@inbound-00000000;1"
    two = one[:-1] + "2"
    assert {one, two} <= {e["Channel"] for e in client.events("Newchannel")}
    client.send(f"Action: Hangup\nActionID: h1\nChannel: {one}\n")
    await asyncio.sleep(1 / TIME_SCALE)
    assert client.reply("h1")["Message"] == "Channel Hungup"
    gone = [e["Channel"] for e in client.events("Hangup")]
    assert one in gone and two in gone


@pytest.mark.parametrize("exten", ["100", "400"])
async def test_redirect_takes_a_waiting_caller_out_of_the_queue(
    pbx: EmulatedPBX, client: Client, exten: str
) -> None:
    """100: nobody to ring; 400: a member's phone is ringing (its leg is dropped)."""
    one, _ = await _call(client, exten)
    client.send(
        f"Action: Redirect\nActionID: r1\nChannel: {one}\nContext: inbound\n"
        "Exten: elsewhere\nPriority: 1\n"
    )
    await asyncio.sleep(1 / TIME_SCALE)
    assert client.reply("r1")["Response"] == "Success"
    leaves = [e for e in client.events("QueueCallerLeave") if e["Channel"] == one]
    assert len(leaves) == 1
    arrived = [e for e in client.events("UserEvent") if e["UserEvent"] == "Arrived"]
    assert arrived and arrived[0]["Channel"] == one
    assert all(not q.entries for q in pbx.queues.values())
    if exten == "400":
        slow = [e["Channel"] for e in client.events("Hangup") if "slow@agents" in e["Channel"]]
        assert len(slow) == 2, "the ringing member's leg was not dropped"


async def test_a_user_denied_from_the_client_address_cannot_log_in(pbx: EmulatedPBX) -> None:
    """manager.conf deny/permit: [remote] may only log in from 10.0.0.0/8; from 127.0.0.1 the
    right secret gets Asterisk's `Authentication failed` and the connection is closed."""
    session = Client()
    await session.connect(pbx.ami_port, "remote", "r")
    try:
        await until(lambda: session.task is not None and session.task.done(), "the close")
        replies = [m for m in session.messages() if "Response" in m]
        assert [(m["Response"], m["Message"]) for m in replies] == [
            ("Error", "Authentication failed")
        ]
    finally:
        session.close()
