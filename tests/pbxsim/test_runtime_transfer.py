"""Attended transfer (features.conf atxfer) on a running queue call, driven as a client would:
the AMI Atxfer action, and a number that does not exist (no trace records that case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.pbxsim import EmulatedPBX
from tests.pbxsim.amiclient import Client, running_pbx, until

TIME_SCALE = 20.0


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    (tmp_path / "features.conf").write_text(
        "[general]\ntransferdigittimeout = 3\n[featuremap]\natxfer => *2\n"
    )
    (tmp_path / "queues.conf").write_text(
        "[general]\n[first]\nstrategy = rrmemory\ntimeout = 15\n"
        "member => Local/a@agents/n,0,A\n"
        "[second]\nstrategy = rrmemory\ntimeout = 15\nmember => Local/b@agents/n,0,B\n"
    )
    (tmp_path / "extensions.conf").write_text(
        "[callers]\nexten => caller,1,Answer()\n same => n,Wait(600)\n"
        "[inbound]\nexten => 1,1,Queue(first,tT)\n same => n,Hangup()\n"
        "exten => 2,1,Queue(second,tT)\n same => n,Hangup()\n"
        "[agents]\nexten => _[ab],1,Answer()\n same => n,Wait(600)\n"
    )
    return tmp_path


async def _connected(client: Client) -> str:
    """A citizen in queue `first`, answered by agent a: the agent's bridged ;1."""
    client.send(
        "Action: Originate\nActionID: o\nChannel: Local/caller@callers\nContext: inbound\n"
        "Exten: 1\nPriority: 1\nAsync: true\n"
    )
    return (await _wait_for(client, "AgentConnect"))[0]["DestChannel"]


async def _wait_for(client: Client, event: str, count: int = 1) -> list[dict[str, str]]:
    await until(lambda: len(client.events(event)) >= count, f"{count} {event} event(s)")
    return client.events(event)


async def test_atxfer_consults_then_hands_the_caller_over(tmp_path: Path) -> None:
    async with running_pbx(_folder(tmp_path), TIME_SCALE) as (_pbx, client):
        agent = await _connected(client)
        client.send(f"Action: Atxfer\nActionID: x\nChannel: {agent}\nContext: inbound\nExten: 2\n")
        await _wait_for(client, "AgentConnect", 2)  # agent b answers the consultation
        assert client.reply("x")["Message"] == "Atxfer successfully queued"
        assert [e["Digit"] for e in client.events("DTMFEnd")] == ["*", "2", "2"]
        client.send(f"Action: Hangup\nActionID: h\nChannel: {agent}\n")
        transfer = (await _wait_for(client, "AttendedTransfer"))[0]
        caller = client.events("AgentConnect")[0]["Channel"]
        target = transfer["TransferTargetChannel"]
        assert transfer["Result"] == "Success" and transfer["TransfereeChannel"] == caller
        assert target.startswith("Local/2@inbound-") and target.endswith(";1")
        completes = await _wait_for(client, "AgentComplete")
        assert completes[0]["Queue"] == "first" and completes[0]["Reason"] == "transfer"
        peers = [
            e["Value"]
            for e in client.events("VarSet")
            if e["Channel"] == caller and e["Variable"] == "BRIDGEPEER"
        ]
        assert peers[-1] == target


async def test_atxfer_to_a_missing_number_takes_the_caller_off_hold(tmp_path: Path) -> None:
    async with running_pbx(_folder(tmp_path), TIME_SCALE) as (_pbx, client):
        agent = await _connected(client)
        client.send(f"Action: Atxfer\nActionID: x\nChannel: {agent}\nContext: inbound\nExten: 9\n")
        stop = (await _wait_for(client, "MusicOnHoldStop", 2))[-1]
        assert stop["Channel"] == client.events("AgentConnect")[0]["Channel"]
        assert client.events("Hold") and not client.events("AttendedTransfer")
        assert not [e for e in client.events("Newchannel") if "Local/9@" in e["Channel"]]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ("Exten: 2\n", "No channel specified"),
        ("Channel: Local/nobody@agents-00000009;1\n", "No extension specified"),
        ("Channel: Local/nobody@agents-00000009;1\nExten: 2\n", "Channel specified does not exist"),
    ],
)
async def test_atxfer_errors_name_what_is_wrong(tmp_path: Path, headers: str, message: str) -> None:
    async with running_pbx(_folder(tmp_path), TIME_SCALE) as (_pbx, client):
        client.send("Action: Atxfer\nActionID: x\n" + headers)
        await until(lambda: any(m.get("ActionID") == "x" for m in client.messages()), "reply")
        reply = client.reply("x")
        assert (reply["Response"], reply["Message"]) == ("Error", message)


def test_unemulated_builtin_features_are_logged_with_where(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = _folder(tmp_path)
    (folder / "features.conf").write_text("[featuremap]\natxfer => *2\nblindxfer => #1\n")
    with caplog.at_level("WARNING", logger="telephony.pbxsim.pbx"):
        EmulatedPBX.from_config_dir(folder)
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1
    assert "features.conf:3: blindxfer => #1 is read but not emulated" in logged[0]
