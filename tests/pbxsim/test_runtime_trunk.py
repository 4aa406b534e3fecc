"""Two emulated PBXs linked by the IAX2 trunk of lab-config pbx-1 / pbx-2 (trace 16's set-up),
checked over AMI in cases trace 16 does not record."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from tests.pbxsim.amiclient import Client, two_lab_pbxs, until
from tests.pbxsim.fidelity import split_server_bytes
from tests.traces import LAB_CONFIG

TIME_SCALE = 20.0


async def test_a_call_crosses_the_trunk_with_its_ticket() -> None:
    async with two_lab_pbxs(TIME_SCALE) as (near, far):
        near.send(
            "Action: Originate\nChannel: Local/caller@callers\nContext: trunk\n"
            'Exten: to110\nPriority: 1\nCallerID: "Citizen 16" <13800000016>\n'
            "Variable: LINKAGE_TICKET=LK-9\nAsync: true\n"
        )
        await asyncio.sleep(4 / TIME_SCALE)
        linkage = far.events("UserEvent")
        assert linkage and linkage[0]["Ticket"] == "LK-9" and linkage[0]["Peer"] == "lab12345"
        incoming = far.events("AgentConnect")
        assert incoming and incoming[0]["Channel"].startswith("IAX2/to12345-")
        assert incoming[0]["Queue"] == "q110-city"
        answered = [e for e in near.events("DialEnd") if e.get("DialStatus") == "ANSWER"]
        trunk = [e for e in answered if e.get("DestChannel", "").startswith("IAX2/to110-")]
        assert trunk, "the 12345 side never saw the trunk call answered"
        near.send("Action: Hangup\nChannel: /^Local\\/caller/\n")
        await asyncio.sleep(1 / TIME_SCALE)
        gone = [e["Channel"] for e in far.events("Hangup")]
        assert any(name.startswith("IAX2/to12345-") for name in gone)


async def test_an_unanswered_caller_is_answered_when_the_far_end_answers() -> None:
    """Local/to110@trunk's ;2 dials the trunk without Answer(): when the 110 side answers,
    Dial answers ;2, so the Originate holding ;1 succeeds (a three-party leg enters its
    room this way)."""
    async with two_lab_pbxs(TIME_SCALE) as (near, _far):
        near.send(
            "Action: Originate\nChannel: Local/to110@trunk\nApplication: Wait\nData: 600\n"
            'CallerID: "Citizen 17" <13800000017>\nAsync: true\n'
        )
        await asyncio.sleep(4 / TIME_SCALE)
        responses = near.events("OriginateResponse")
        assert responses and responses[0]["Response"] == "Success"
        up = [e["Channel"] for e in near.events("Newstate") if e["ChannelStateDesc"] == "Up"]
        assert any(name.startswith("Local/to110@trunk-") and name.endswith(";2") for name in up)


async def _call_ended_by_far_agent(config: Path) -> list[dict[str, str]]:
    """Hand a citizen over the trunk with `config`'s [trunk] dialplan, hang the far 110
    agent up once it answered, and return the 12345 side's events on the dialling ;1 (the
    Originate's Context/Exten run on the Local pair's ;1)."""
    async with two_lab_pbxs(TIME_SCALE, config) as (near, far):
        near.send(
            "Action: Originate\nChannel: Local/caller@callers\nContext: trunk\n"
            'Exten: to110\nPriority: 1\nCallerID: "Citizen 18" <13800000018>\nAsync: true\n'
        )
        await until(lambda: far.events("AgentConnect"), "the 110 agent answers")
        far.send("Action: Hangup\nChannel: /^Local\\/agent/\n")
        await until(lambda: _dialler_gone(near), "the 12345 caller's ;1 is hung up")
        return [
            e
            for m in split_server_bytes(bytes(near.data))
            if (e := dict(m.headers)).get("Channel", "").startswith("Local/caller@callers-")
            and e["Channel"].endswith(";1")
        ]


def _dialler_gone(client: Client) -> bool:
    return any(
        e["Channel"].startswith("Local/caller@callers-") and e["Channel"].endswith(";1")
        for e in client.events("Hangup")
    )


def _dialplan_steps(events: list[dict[str, str]]) -> list[str]:
    return [e["AppData"] for e in events if e.get("Event") == "Newexten"]


async def test_an_answered_dial_ending_at_the_far_end_hangs_the_caller_up() -> None:
    """app_dial without `g`: when the far 110 agent hangs up, Dial() does not return to the
    dialplan; the caller is hung up (normal clearing) and `[trunk]`'s NoOp after Dial never
    runs. Unverified on real Asterisk: trace 16a ends by the near caller's hangup."""
    events = await _call_ended_by_far_agent(LAB_CONFIG / "pbx-1")
    steps = _dialplan_steps(events)
    assert "IAX2/to110/110,30" in steps
    assert not any(step.startswith("Dial DIALSTATUS") for step in steps), steps
    hangup = [e for e in events if e.get("Event") == "Hangup"]
    assert hangup and hangup[0]["Cause"] == "16", hangup


async def test_with_the_g_option_the_caller_goes_on_after_the_far_end_hangs_up(
    tmp_path: Path,
) -> None:
    """Dial(...,g): the caller goes on to the next priority, with DIALSTATUS=ANSWER."""
    config = tmp_path / "pbx-1"
    shutil.copytree(LAB_CONFIG / "pbx-1", config)
    dialplan = config / "extensions.conf"
    dialplan.chmod(0o644)
    text = dialplan.read_text()
    assert "Dial(IAX2/to110/110,30)" in text
    dialplan.write_text(text.replace("Dial(IAX2/to110/110,30)", "Dial(IAX2/to110/110,30,g)"))
    steps = _dialplan_steps(await _call_ended_by_far_agent(config))
    assert "Dial DIALSTATUS=ANSWER" in steps, steps
