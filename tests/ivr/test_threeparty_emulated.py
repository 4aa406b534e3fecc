"""Three-party call from the phone, end to end on the emulated PBX: the 12345 agent presses *9
(features.conf `hb_threeparty` -> Gosub(hb-threeparty) -> AGI(agi://${BRIDGE_AGI}/threeparty),
the shipped dialplan), the bridge's FastAGI route starts the room; the keys pressed in the room
run the shipped hb_menu (confbridge.conf) -> dialplan_exec(hb-conf-keys,<key>,1) ->
AGI(.../conference-key?key=<key>) on the member's channel -> the bridge records the decision.
Nothing is played by the test but the phones' digits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.model import Conference
from bridge.conferences.phone import PhoneConferences
from bridge.transfers.drafts import AgentDraft
from ivr.conference_keys import KeyPrompts, add_conference_key_route
from ivr.threeparty import add_threeparty_route
from routing.conference_rules import Role, Rule
from routing.tickets import Kind, TicketStatus
from telephony.agi import AgiRoutes, FastAgiServer
from tests.bridge.test_conference_emulated import (
    POLICE,
    World,
    answered_12345_call,
    emulated,
    ended,
    eventually,
    three_in_room,
    until,
)

GUARD = 5  # seconds: only to turn a hang into a failure
PROMPTS = KeyPrompts(recorded="beep", refused="beep-refused")


class Bridge:
    """The bridge's FastAGI server; its routes are added once the world is up (the PBX
    needs the server's port first)."""

    def __init__(self) -> None:
        self.routes = AgiRoutes()
        self.server = FastAgiServer(self.routes)

    @property
    def port(self) -> int:
        return self.server.port

    def serve(self, world: World) -> None:
        phone = PhoneConferences(world.transfers, world.conferences.service)
        add_threeparty_route(self.routes, phone, "beep")
        add_conference_key_route(self.routes, phone, PROMPTS)


@pytest.fixture
async def agi_server() -> AsyncIterator[Bridge]:
    bridge = Bridge()
    await bridge.server.start("127.0.0.1", 0)
    try:
        yield bridge
    finally:
        await bridge.server.stop(deadline=1)


async def press(world: World, phone: str, key: str) -> None:
    """A digit from a phone: sent on a Local `;2`, heard on its `;1` (trace 09)."""
    await world.client.action("PlayDTMF", Channel=phone, Digit=key)


async def decision_on(world: World, channel: str) -> str:
    """HB_CONF_DECISION as the conference-key route left it on `channel`."""
    reply = await world.client.action("Getvar", Channel=channel, Variable="HB_CONF_DECISION")
    return str(reply.get("Value") or "")


async def only_room(world: World) -> Conference:
    await until(lambda: len(world.conferences.rooms.rooms) == 1, "a room is started")
    (conference,) = world.conferences.rooms.rooms.values()
    return conference


async def test_star_9_starts_the_room_and_the_keys_decide(
    redis_client: aioredis.Redis, tmp_path: Path, agi_server: Bridge
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig(), agi_server.port) as world:
        agi_server.serve(world)
        caller = await answered_12345_call(world)
        agent = world.live.bridged_peer(caller)
        assert agent is not None and agent.name.endswith(";1")
        draft = AgentDraft(kind=Kind.COMPLAINT, summary="夜间施工噪音扰民", target="110")
        await world.transfers.drafts.put("agent101@agents", draft)
        await world.transfers.drafts.put("agent102@agents", draft)
        # The agent's phone sends *9 (trace 09: PlayDTMF on the ;2 half is heard on ;1).
        for digit in "*9":
            await world.client.action("PlayDTMF", Channel=agent.name[:-1] + "2", Digit=digit)

        started = await only_room(world)
        conference = await three_in_room(world, started.id)
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert (ticket.kind, ticket.summary) == (Kind.COMPLAINT, "夜间施工噪音扰民")
        assert ticket.status is TicketStatus.QUEUED
        origin = conference.member_by_role(Role.ORIGIN_AGENT)
        other = conference.member_by_role(Role.OTHER_AGENT)
        assert origin is not None and other is not None
        assert origin.uniqueid == agent.uniqueid

        # The caller's room has no menu: its key decides nothing. The 110 agent's key 1
        # ("110 accepts") goes through the room's menu to the bridge.
        await press(world, caller[:-1] + "2", "1")
        await press(world, other.channel[:-1] + "2", "1")

        async def heard() -> bool:
            return await decision_on(world, other.channel) == POLICE

        await eventually(heard, "the 110 agent's key reaches the bridge")
        votes = (await world.conference(conference.id)).votes
        assert [(v.voter_platform, v.platform) for v in votes] == [(POLICE, POLICE)]
        assert await decision_on(world, caller) == ""

        await world.client.action("Hangup", Channel=caller)
        final = await ended(world, conference.id)
        assert final.acceptance is not None
        assert (final.acceptance.platform, final.acceptance.rule) == (POLICE, Rule.DECISION)
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert (ticket.status, ticket.accepted_by) == (TicketStatus.ACCEPTED, POLICE)
        history = await world.transfers.store.history(conference.ticket_id)
        assert f"decided by {other.agent}" in history[-1].note
        assert other.agent.startswith("agent11")
