"""The three-party orchestration against an AMI peer that answers with real Asterisk 22's bytes
from trace 13 (over a real socket, with a real Redis).

The peer plays the trace's server side: each action the bridge sends is answered with what
Asterisk sent after the same action in the trace (the room number, the bridge's ActionID
and the ChannelId of the originated leg put in); the call's set-up, the 12345 agent hanging
up and the caller hanging up are pushed as the trace has them. Actions the trace does not
hold (Setvar, the target queue check, ConfbridgeKick) get Asterisk's usual success replies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import redis.asyncio as aioredis

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.orchestrator import ConferenceOrder
from bridge.conferences.stack import ConferenceStack
from bridge.transfers.config import TransferConfig
from bridge.transfers.stack import TransferStack
from routing.conference_rules import Role, Rule
from routing.tickets import TicketStatus
from telephony.ami.client import AMIClient
from tests.bridge.test_conference_emulated import PLATFORMS, POLICE
from tests.traces import TRACES_DIR, read_trace

TRACE = TRACES_DIR / "13_conference_threeparty.ami.txt"
CALLER = "Local/caller@callers-00000058;1"
AGENT = "Local/agent102@agents-00000059;1"
LEG_110 = "Local/110@inbound-0000005b;1"
TRACE_LEG_ID = "lab-conf110-0013"  # the trace's ChannelId for the 110 leg
PBX = "lab"


def _headers(raw: bytes) -> dict[str, str]:
    lines = raw.decode().split("\r\n")
    return dict(line.split(": ", 1) for line in lines if ": " in line)


@dataclass
class Segment:
    """One trace action and every message Asterisk sent after it, before the next action."""

    action: dict[str, str]
    replies: list[bytes] = field(default_factory=list)


def segments() -> list[Segment]:
    found: list[Segment] = []
    for record in read_trace(TRACE):
        if record.direction == "C->S":
            found.append(Segment(_headers(record.data)))
        elif record.direction == "S->C" and found:
            found[-1].replies.append(record.data)
    return found


class TracePeer:
    def __init__(self) -> None:
        self.segments = segments()
        self.actions: list[dict[str, str]] = []
        self.room = "913"
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _trace(self, action_id: str) -> Segment:
        return next(s for s in self.segments if s.action["ActionID"] == action_id)

    def _rewrite(self, data: bytes, trace_id: str = "", action_id: str = "") -> bytes:
        text = data.decode()
        if trace_id:
            text = text.replace(f"ActionID: {trace_id}", f"ActionID: {action_id}")
        text = text.replace("Conference: 913\r\n", f"Conference: {self.room}\r\n")
        text = text.replace("conf-913", self.room)
        text = text.replace(f"{TRACE_LEG_ID}-2", f"{self.room}-2")
        text = text.replace(TRACE_LEG_ID, f"{self.room}-1")
        return text.encode()

    async def push(self, trace_id: str, *, with_response: bool = False) -> None:
        """Asterisk's messages after trace action `trace_id`, as events to the bridge."""
        replies = self._trace(trace_id).replies
        for data in replies if with_response else replies[1:]:
            await self._write(self._rewrite(data))

    async def _write(self, data: bytes) -> None:
        for writer in self._writers:
            writer.write(data)
            await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                action = _headers(await reader.readuntil(b"\r\n\r\n"))
                self.actions.append(action)
                for data in self._answer(action):
                    writer.write(data)
                await writer.drain()

    def _answer(self, action: dict[str, str]) -> list[bytes]:
        name, action_id = action["Action"], action.get("ActionID", "")
        if name == "Redirect":
            self.room = action["Exten"]
        traced = {"Login": "login-001", "Redirect": "redirect-003", "Originate": "originate-004"}
        if name in traced:
            segment = self._trace(traced[name])
            return [self._rewrite(d, traced[name], action_id) for d in segment.replies]
        if name == "QueueStatus":
            items = (
                [f"Event: QueueParams\r\nQueue: {action['Queue']}\r\n"] if "Queue" in action else []
            )
            return self._list(action_id, "QueueStatusComplete", items)
        if name == "CoreShowChannels":
            return self._list(action_id, "CoreShowChannelsComplete", [])
        message = {"ConfbridgeKick": "User kicked", "Hangup": "Channel Hungup"}.get(name, "OK")
        return [
            f"Response: Success\r\nActionID: {action_id}\r\nMessage: {message}\r\n\r\n".encode()
        ]

    @staticmethod
    def _list(action_id: str, complete: str, items: list[str]) -> list[bytes]:
        out = [f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n\r\n"]
        out += [f"{item}ActionID: {action_id}\r\n\r\n" for item in items]
        out.append(
            f"Event: {complete}\r\nActionID: {action_id}\r\nEventList: Complete\r\n"
            f"ListItems: {len(items)}\r\n\r\n"
        )
        return [part.encode() for part in out]

    def named(self, name: str) -> list[dict[str, str]]:
        return [a for a in self.actions if a["Action"] == name]


@dataclass
class Bridge:
    peer: TracePeer
    transfers: TransferStack
    conferences: ConferenceStack


@contextlib.asynccontextmanager
async def bridge(redis: aioredis.Redis) -> AsyncIterator[Bridge]:
    peer = TracePeer()
    port = await peer.start()
    client = AMIClient("127.0.0.1", port, "bridge", "bridgepass")
    transfers = TransferStack.build(redis, PLATFORMS, {}, TransferConfig(), [PBX])
    conferences = ConferenceStack.build(transfers, ConferenceConfig())
    transfers.attach(PBX, client)
    conferences.attach(PBX, client)
    await client.connect()
    await transfers.resync(PBX)
    try:
        yield Bridge(peer, transfers, conferences)
    finally:
        conferences.close()
        await transfers.close()
        await client.close()
        await peer.stop()


async def until(check: object, what: str) -> None:
    for _ in range(500):
        assert callable(check)
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_trace_13_room_from_start_to_the_last_member(redis_client: aioredis.Redis) -> None:
    async with bridge(redis_client) as world:
        peer, live = world.peer, world.transfers.links[PBX].live
        # The call as the trace has it: the citizen answered by 12345 agent 102.
        await peer.push("originate-002")
        await until(lambda: live.bridged_peer(CALLER) is not None, "caller bridged with agent")

        service = world.conferences.service
        order = ConferenceOrder(pbx=PBX, caller_channel=CALLER, agent="agent102")
        conference = await service.start(order)
        room = conference.id
        (redirect,) = peer.named("Redirect")
        assert (redirect["Channel"], redirect["ExtraChannel"]) == (CALLER, AGENT)
        assert (redirect["Context"], redirect["ExtraContext"]) == ("hb-conf-caller", "hb-conf")
        assert redirect["Exten"] == redirect["ExtraExten"] == room
        (setvar,) = peer.named("Setvar")
        assert (setvar["Variable"], setvar["Value"]) == ("__LINKAGE_TICKET", conference.ticket_id)
        (originate,) = peer.named("Originate")
        assert originate["Channel"] == "Local/110@inbound/n"
        assert (originate["Context"], originate["Exten"]) == ("hb-conf", room)
        assert originate["ChannelId"] == f"{room}-1"
        assert originate["Variable"] == f"__LINKAGE_TICKET={conference.ticket_id}"
        assert originate["Timeout"] == "60000"

        async def answered() -> bool:
            return (await service.get(room)).answered

        await until(answered, "the 110 leg joins")
        now = await service.get(room)
        assert {m.channel: m.role for m in now.in_room()} == {
            CALLER: Role.CALLER,
            AGENT: Role.ORIGIN_AGENT,
            LEG_110: Role.OTHER_AGENT,
        }
        store = world.transfers.store
        assert (await store.get(conference.ticket_id)).status is TicketStatus.QUEUED
        await service.decide(room, POLICE, "agent112", POLICE)

        # The 12345 agent hangs up (trace: ConfbridgeLeave, then Hangup): 110 accepts, the
        # caller stays with the 110 agent.
        await peer.push("hangup-010")

        async def accepted() -> bool:
            return (await store.get(conference.ticket_id)).status is TicketStatus.ACCEPTED

        await until(accepted, "the ticket is accepted")
        ticket = await store.get(conference.ticket_id)
        assert ticket.accepted_by == POLICE
        acceptance = (await service.get(room)).acceptance
        assert acceptance is not None and acceptance.rule is Rule.DECISION
        assert not peer.named("ConfbridgeKick")

        # The caller hangs up: the room would keep the 110 leg forever (trace 13: no
        # ConfbridgeEnd with one member left), so the bridge kicks it.
        await peer.push("hangup-012")
        await until(lambda: peer.named("ConfbridgeKick"), "the last member is kicked")
        (kick,) = peer.named("ConfbridgeKick")
        assert (kick["Conference"], kick["Channel"]) == (room, LEG_110)
        await peer.push("hangup-014")

        async def ended() -> bool:
            return (await service.get(room)).state == "ended"

        await until(ended, "the conference ends")
        final = await service.get(room)
        assert any("the caller left" in note for note in final.notes)
        assert (await store.get(conference.ticket_id)).accepted_by == POLICE


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
