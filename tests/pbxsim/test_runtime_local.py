"""A Local channel's halves end together (core_local): hanging up either half, answered or
still ringing, ends the other; a half waiting in Queue() leaves it as an abandoning caller
first (trace 03's order: HangupRequest, QueueCallerAbandon, QueueCallerLeave,
SoftHangupRequest, Hangup)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.pbxsim.amiclient import Client, running_pbx, until

TIME_SCALE = 20.0
# 100: the ;2 half queues unanswered (;1 still ringing); 300: it answers, then queues.
UNANSWERED, ANSWERED = "100", "300"


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    (tmp_path / "queues.conf").write_text("[general]\n[q]\nstrategy = rrmemory\ntimeout = 15\n")
    (tmp_path / "extensions.conf").write_text(
        "[inbound]\nexten => 100,1,Queue(q,tT)\n same => n,Hangup()\n"
        "exten => 300,1,Answer()\n same => n,Queue(q,tT)\n same => n,Hangup()\n"
    )
    return tmp_path


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    async with running_pbx(_folder(tmp_path), TIME_SCALE) as (_, session):
        yield session


async def _queued_citizen(client: Client, exten: str) -> tuple[str, str]:
    """A citizen holding the phone (;1 in Wait) whose ;2 half waits in queue q."""
    client.send(
        f"Action: Originate\nChannel: Local/{exten}@inbound\nApplication: Wait\n"
        "Data: 600\nAsync: true\n"
    )
    await until(lambda: client.events("QueueCallerJoin"), "QueueCallerJoin")
    one = f"Local/{exten}@inbound-00000000;1"
    return one, one[:-1] + "2"


def _hangups(client: Client) -> dict[str, dict[str, str]]:
    return {e["Channel"]: e for e in client.events("Hangup")}


def _events_of(client: Client, channel: str) -> list[str]:
    return [m["Event"] for m in client.messages() if m.get("Channel") == channel]


@pytest.mark.parametrize("exten", [UNANSWERED, ANSWERED])
@pytest.mark.parametrize("first", ["1", "2"])
async def test_either_half_hung_up_ends_the_pair_and_the_queue_sees_an_abandon(
    client: Client, exten: str, first: str
) -> None:
    one, two = await _queued_citizen(client, exten)
    client.send(f"Action: Hangup\nActionID: h1\nChannel: {one[:-1] + first}\n")
    await until(lambda: {one, two} <= set(_hangups(client)), "both halves' Hangup")
    assert client.reply("h1")["Message"] == "Channel Hungup"
    abandons = client.events("QueueCallerAbandon")
    assert [(e["Channel"], e["Queue"]) for e in abandons] == [(two, "q")]
    queued = [e for e in _events_of(client, two) if e != "VarSet"]
    tail = ["QueueCallerAbandon", "QueueCallerLeave", "SoftHangupRequest", "Hangup"]
    assert queued[-len(tail) :] == tail, f";2 ended out of order: {queued}"
    if first == "1":
        # The hangup reached ;2 from ;1 (core_local queues it on the other half).
        assert queued[queued.index("QueueCallerJoin") + 1 :].count("HangupRequest") == 1
        assert queued.index("HangupRequest") < queued.index("QueueCallerAbandon")
    else:
        assert "HangupRequest" in _events_of(client, one)
    # The other half hears of it before the first half's Hangup (traces 02-04, 15).
    hung_up, other = (one, two) if first == "1" else (two, one)
    order = [(m.get("Event"), m.get("Channel")) for m in client.messages()]
    assert order.index(("HangupRequest", other)) < order.index(("Hangup", hung_up))


async def test_a_citizen_hanging_up_while_ringing_fails_the_originate_with_reason_1(
    client: Client,
) -> None:
    one, _ = await _queued_citizen(client, UNANSWERED)
    client.send(f"Action: Hangup\nChannel: {one}\n")
    await until(lambda: client.events("OriginateResponse"), "OriginateResponse")
    response = client.events("OriginateResponse")[0]
    assert (response["Response"], response["Reason"]) == ("Failure", "1")


@pytest.mark.parametrize("exten", [UNANSWERED, ANSWERED])
async def test_the_hangup_cause_is_passed_to_the_other_half(client: Client, exten: str) -> None:
    one, two = await _queued_citizen(client, exten)
    client.send(f"Action: Hangup\nChannel: {one}\nCause: 16\n")
    await until(lambda: {one, two} <= set(_hangups(client)), "both halves' Hangup")
    hangups = _hangups(client)
    for half in (one, two):
        assert (hangups[half]["Cause"], hangups[half]["Cause-txt"]) == ("16", "Normal Clearing")
    assert client.events("HangupRequest")[0]["Cause"] == "16"
