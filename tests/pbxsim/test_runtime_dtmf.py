"""DTMF through bridges and over the IAX2 trunk (dtmf.py): a key pressed on one side of a
call reaches the other, where a ConfBridge menu acts on it. No trace shows DTMF crossing a
bridge; these follow Asterisk's bridge_channel.c (unverified on real Asterisk, see
docs/pbxsim.md)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from telephony.pbxsim import EmulatedPBX
from tests.pbxsim.amiclient import Client, running_pbx, two_lab_pbxs, until
from tests.traces import LAB_CONFIG

TIME_SCALE = 20.0
DTMF_EVENTS = ("DTMFBegin", "DTMFEnd")


def lab_pbx() -> contextlib.AbstractAsyncContextManager[tuple[EmulatedPBX, Client]]:
    return running_pbx(LAB_CONFIG / "pbx-1", TIME_SCALE, "bridge", "bridgepass")


def _dtmf(client: Client) -> list[tuple[str, str, str, str]]:
    """(event, channel, digit, direction), DurationMs appended to the direction of an End."""
    return [
        (
            m["Event"],
            m["Channel"],
            m["Digit"],
            m["Direction"] + (f" {m['DurationMs']}ms" if "DurationMs" in m else ""),
        )
        for m in client.messages()
        if m.get("Event") in DTMF_EVENTS
    ]


def _other_half(channel: str) -> str:
    return channel[:-1] + ("2" if channel.endswith(";1") else "1")


async def _answered_12345_call(client: Client) -> tuple[str, str]:
    """A citizen answered by a q12345 agent: (caller's ;1 in Queue, agent's bridged ;1)."""
    client.send(
        "Action: Originate\nChannel: Local/caller@callers\nContext: inbound\nExten: 12345\n"
        'Priority: 1\nCallerID: "Citizen" <13800000019>\nAsync: true\n'
    )
    await until(lambda: client.events("AgentConnect"), "an agent answers")
    connect = client.events("AgentConnect")[0]
    return connect["Channel"], connect["DestChannel"]


async def test_a_key_crosses_a_two_party_bridge_to_the_far_half() -> None:
    """The agent's phone (;2) presses 5: its bridged ;1 receives it, the bridge writes it to
    the caller's ;1 (Sent), whose ;2 receives it."""
    async with lab_pbx() as (_pbx, client):
        caller, agent = await _answered_12345_call(client)
        client.send(f"Action: PlayDTMF\nChannel: {_other_half(agent)}\nDigit: 5\n")
        far_half = _other_half(caller)
        await until(lambda: any(d[1] == far_half for d in _dtmf(client)), "the digit arrives")
        assert _dtmf(client) == [
            ("DTMFBegin", agent, "5", "Received"),
            ("DTMFEnd", agent, "5", "Received 100ms"),
            ("DTMFBegin", caller, "5", "Sent"),
            ("DTMFEnd", caller, "5", "Sent 100ms"),
            ("DTMFBegin", far_half, "5", "Received"),
            ("DTMFEnd", far_half, "5", "Received 100ms"),
        ]


async def test_a_feature_prefix_that_stops_matching_is_streamed_to_the_peer() -> None:
    """The agent's ;1 has linkage_transfer (*8) armed: `*` is held as a feature's start, `*5`
    matches none, and the collected `*5` is streamed to the caller (no Sent events,
    ast_dtmf_stream's 100 ms per digit)."""
    async with lab_pbx() as (_pbx, client):
        caller, agent = await _answered_12345_call(client)
        phone = _other_half(agent)
        client.send(f"Action: PlayDTMF\nChannel: {phone}\nDigit: *\nDuration: 60\n")
        client.send(f"Action: PlayDTMF\nChannel: {phone}\nDigit: 5\nDuration: 60\n")
        far_half = _other_half(caller)
        await until(lambda: len([d for d in _dtmf(client) if d[1] == far_half]) == 4, "*5")
        assert [d for d in _dtmf(client) if d[1] != agent] == [
            ("DTMFBegin", far_half, "*", "Received"),
            ("DTMFEnd", far_half, "*", "Received 100ms"),
            ("DTMFBegin", far_half, "5", "Received"),
            ("DTMFEnd", far_half, "5", "Received 100ms"),
        ]


async def test_the_far_agents_key_reaches_a_room_menu_over_the_trunk(tmp_path: Path) -> None:
    """A room leg on the 12345 PBX dials the 110 PBX's city queue over the trunk; the 110
    agent's phone presses 5, which crosses the agent's bridge, the trunk and the Dial bridge
    to the leg's ;1 in the room, whose menu key 5 (leave_conference) takes it out."""
    config = tmp_path / "pbx-1"
    shutil.copytree(LAB_CONFIG / "pbx-1", config)
    rooms = config / "confbridge.conf"
    rooms.chmod(0o644)
    rooms.write_text(rooms.read_text() + "\n[keys_menu]\ntype = menu\n5 = leave_conference\n")
    async with two_lab_pbxs(TIME_SCALE, config) as (near, far):
        near.send(
            "Action: Originate\nChannel: Local/to110@trunk\nApplication: ConfBridge\n"
            "Data: 913,default_bridge,default_user,keys_menu\n"
            'CallerID: "Citizen" <13800000020>\nAsync: true\n'
        )
        await until(lambda: near.events("ConfbridgeJoin"), "the leg joins the room")
        (joined,) = near.events("ConfbridgeJoin")
        await until(lambda: far.events("AgentConnect"), "the 110 agent answers")
        (connect,) = far.events("AgentConnect")
        agent, trunk_in = connect["DestChannel"], connect["Channel"]
        far.send(f"Action: PlayDTMF\nChannel: {_other_half(agent)}\nDigit: 5\n")
        await until(lambda: near.events("ConfbridgeLeave"), "the key takes the leg out")
        assert near.events("ConfbridgeLeave")[0]["Channel"] == joined["Channel"]
        assert _dtmf(far) == [
            ("DTMFBegin", agent, "5", "Received"),
            ("DTMFEnd", agent, "5", "Received 100ms"),
            ("DTMFBegin", trunk_in, "5", "Sent"),
            ("DTMFEnd", trunk_in, "5", "Sent 100ms"),
        ]
        room_leg = joined["Channel"]
        (trunk_out,) = {d[1] for d in _dtmf(near) if d[1].startswith("IAX2/to110-")}
        assert _dtmf(near) == [
            ("DTMFBegin", trunk_out, "5", "Received"),
            ("DTMFEnd", trunk_out, "5", "Received 100ms"),
            ("DTMFBegin", _other_half(room_leg), "5", "Sent"),
            ("DTMFEnd", _other_half(room_leg), "5", "Sent 100ms"),
            ("DTMFBegin", room_leg, "5", "Received"),
            ("DTMFEnd", room_leg, "5", "Received 100ms"),
        ]


async def test_a_lone_feature_prefix_reaches_the_peer_after_featuredigittimeout() -> None:
    """`*` alone starts linkage_transfer (*8) on the agent's ;1 and is held; when
    featuredigittimeout (1000 ms by default) passes without another digit, it is streamed to
    the caller after all."""
    async with lab_pbx() as (_pbx, client):
        caller, agent = await _answered_12345_call(client)
        client.send(f"Action: PlayDTMF\nChannel: {_other_half(agent)}\nDigit: *\n")
        far_half = _other_half(caller)
        await until(lambda: any(d[1] == far_half for d in _dtmf(client)), "the held *")
        assert [d for d in _dtmf(client) if d[1] != agent] == [
            ("DTMFBegin", far_half, "*", "Received"),
            ("DTMFEnd", far_half, "*", "Received 100ms"),
        ]


async def test_senddtmf_plays_its_digits_to_the_other_half(tmp_path: Path) -> None:
    """SendDTMF(12w#,100,200) on a Local ;2: its ;1 receives 1, 2 and # with 200 ms tones
    (the `w` is a pause); an invalid character is skipped, as ast_dtmf_stream does."""
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    (tmp_path / "extensions.conf").write_text(
        "[sender]\nexten => s,1,Answer()\n same => n,SendDTMF(12w#x,100,200)\n"
        " same => n,Wait(600)\n"
        "[listener]\nexten => s,1,Answer()\n same => n,Wait(600)\n"
    )
    async with running_pbx(tmp_path, TIME_SCALE) as (_pbx, client):
        client.send(
            "Action: Originate\nChannel: Local/s@sender\nContext: listener\nExten: s\n"
            "Priority: 1\nAsync: true\n"
        )
        await until(lambda: len(_dtmf(client)) == 6, "three digits")
        received = {d[1] for d in _dtmf(client)}
        assert len(received) == 1 and received.pop().endswith(";1")
        assert [(d[0], d[2], d[3]) for d in _dtmf(client)] == [
            ("DTMFBegin", "1", "Received"),
            ("DTMFEnd", "1", "Received 200ms"),
            ("DTMFBegin", "2", "Received"),
            ("DTMFEnd", "2", "Received 200ms"),
            ("DTMFBegin", "#", "Received"),
            ("DTMFEnd", "#", "Received 200ms"),
        ]
