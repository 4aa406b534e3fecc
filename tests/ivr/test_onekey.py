"""The `onekey` AGI route over a real FastAGI socket, served by the real transfer stack
(scripted AMI peers, real Redis): key press -> ticket -> Redirect -> prompt to the agent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bridge.transfers.drafts import AgentDraft
from bridge.transfers.phone import PhoneTransfers
from ivr.onekey import Prompts, add_onekey_route
from routing.tickets import Kind, TicketStatus
from telephony.agi import AgiRoutes, FastAgiServer
from tests.bridge.test_transfer_orchestration import World, world_of

GUARD = 5  # seconds: only to turn a hang into a failure
AGENT = "PJSIP/12345-01-00000001"
CALLER = "PJSIP/citizen-c1"
UNKNOWN_AGENT = "PJSIP/12345-09-00000009"  # no channel of that name in the live model


class Asterisk:
    """The agent's channel running AGI(agi://bridge/onekey?pbx=...) as Asterisk does."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def press(
        cls,
        port: int,
        query: str = "?pbx=pbx-12345",
        agent: str = AGENT,
        uniqueid: str = "a1",
    ) -> Asterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        headers = (
            "agi_network: yes\n"
            f"agi_network_script: onekey{query}\n"
            f"agi_request: agi://127.0.0.1:4573/onekey{query}\n"
            f"agi_channel: {agent}\n"
            f"agi_uniqueid: {uniqueid}\n"
            "agi_callerid: 13800000001\n"
            "agi_context: hb-onekey\nagi_extension: s\nagi_priority: 2\n\n"
        )
        writer.write(headers.encode())
        await writer.drain()
        return cls(reader, writer)

    async def expect(self, command: bytes, reply: bytes = b"200 result=1\n") -> bytes:
        async with asyncio.timeout(GUARD):
            line = await self.reader.readline()
        assert line.startswith(command), line
        self.writer.write(reply)
        await self.writer.drain()
        return line


@pytest.fixture
async def bridge(redis_client: aioredis.Redis) -> AsyncIterator[tuple[World, FastAgiServer]]:
    async with world_of(redis_client) as world:
        routes = AgiRoutes()
        add_onekey_route(routes, PhoneTransfers(world.stack), Prompts())
        server = FastAgiServer(routes)
        await server.start("127.0.0.1", 0)
        await world.seat("pbx-12345", "q12345", "c1", "a1", "PJSIP/12345-01", "13800000001")
        try:
            yield world, server
        finally:
            await server.stop(deadline=1)


async def test_key_press_moves_the_caller_with_the_agents_draft_and_confirms(
    bridge: tuple[World, FastAgiServer],
) -> None:
    world, server = bridge
    draft = AgentDraft(kind=Kind.REPORT, summary="有人持刀威胁", district_code="370811")
    await world.stack.drafts.put("12345-01", draft)
    asterisk = await Asterisk.press(server.port)
    # The live model knows whom the agent talks to: no BRIDGEPEER round trip before the move.
    await asterisk.expect(b'SET VARIABLE HB_ONEKEY "ok"')
    line = await asterisk.expect(b"SET VARIABLE HB_ONEKEY_TICKET")
    ticket_id = line.decode().split('"')[1]
    await asterisk.expect(
        b"STREAM FILE hotline-bridge/transfer-started", b"200 result=0 endpos=8000\n"
    )
    ticket = await world.stack.store.get(ticket_id)
    assert (ticket.kind, ticket.summary, ticket.district_code) == (
        Kind.REPORT,
        "有人持刀威胁",
        "370811",
    )
    assert (ticket.status, ticket.originating_agent) == (TicketStatus.TRANSFERRING, "12345-01")
    [redirect] = world.pbx["pbx-12345"].named("Redirect")
    assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (
        CALLER,
        "hb-trunk",
        "110",
    )
    assert await world.stack.drafts.get("12345-01") is None  # used once


async def test_without_pbx_in_the_url_the_agents_channel_finds_it(
    bridge: tuple[World, FastAgiServer],
) -> None:
    world, server = bridge
    asterisk = await Asterisk.press(server.port, query="")
    await asterisk.expect(b'SET VARIABLE HB_ONEKEY "ok"')
    await asterisk.expect(b"SET VARIABLE HB_ONEKEY_TICKET")
    await asterisk.expect(b"STREAM FILE hotline-bridge/transfer-started")
    assert len(world.pbx["pbx-12345"].named("Redirect")) == 1


async def test_a_failed_transfer_plays_the_failure_prompt_and_moves_nobody(
    bridge: tuple[World, FastAgiServer],
) -> None:
    world, server = bridge
    world.pbx["pbx-110"].queues.discard("q110-city")
    asterisk = await Asterisk.press(server.port)
    await asterisk.expect(b'SET VARIABLE HB_ONEKEY "failed"')
    line = await asterisk.expect(b"SET VARIABLE HB_ONEKEY_TICKET")
    await asterisk.expect(b"STREAM FILE hotline-bridge/transfer-failed")
    ticket = await world.stack.store.get(line.decode().split('"')[1])
    assert ticket.status is TicketStatus.TRANSFER_FAILED
    assert not world.pbx["pbx-12345"].named("Redirect")


async def test_an_agent_leg_the_model_does_not_know_asks_asterisk_for_the_peer(
    bridge: tuple[World, FastAgiServer],
) -> None:
    world, server = bridge
    # E.g. a Local agent's other half, or a bridge the model has not heard of yet.
    asterisk = await Asterisk.press(server.port, agent=UNKNOWN_AGENT, uniqueid="a9")
    await asterisk.expect(b"GET VARIABLE BRIDGEPEER", f"200 result=1 ({CALLER})\n".encode())
    await asterisk.expect(b'SET VARIABLE HB_ONEKEY "ok"')
    await asterisk.expect(b"SET VARIABLE HB_ONEKEY_TICKET")
    await asterisk.expect(b"STREAM FILE hotline-bridge/transfer-started")
    [redirect] = world.pbx["pbx-12345"].named("Redirect")
    assert redirect["Channel"] == CALLER


async def test_no_bridged_caller_fails_without_a_ticket(
    bridge: tuple[World, FastAgiServer],
) -> None:
    world, server = bridge
    asterisk = await Asterisk.press(server.port, agent=UNKNOWN_AGENT, uniqueid="a9")
    await asterisk.expect(b"GET VARIABLE BRIDGEPEER", b"200 result=0\n")
    await asterisk.expect(b'SET VARIABLE HB_ONEKEY "failed"')
    await asterisk.expect(
        b"STREAM FILE hotline-bridge/transfer-failed", b"200 result=-1 endpos=0\n"
    )
    assert await world.stack.store.redis.keys("hb:ticket:*") == []
