"""The outcome watcher follows tickets the IVR opened (no orchestrated transfer watches them).

Urgent 12345 -> 110 by key 9 and the 110 -> 12345 diversion open a ticket and queue it at
once; when an agent of the receiving platform answers the call carrying ``LINKAGE_TICKET``,
the ticket is accepted by that agent, linked to both legs and announced on the screen-pop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bridge.ivr_wiring import IvrTickets
from bridge.screenpop.hub import LinkedCall, Listener
from ivr.linkage import LinkageOpening
from routing.tickets import Direction, Kind, TicketStatus
from tests.bridge.test_transfer_orchestration import SETTINGS, World, world_of

CITY = next(p.district_code for p in SETTINGS.platforms if p.level == "city")


@pytest.fixture
async def world(redis_client: aioredis.Redis) -> AsyncIterator[World]:
    async with world_of(redis_client) as found:
        yield found


def opening(direction: Direction, uniqueid: str) -> LinkageOpening:
    to_110 = direction is Direction.CITY_12345_TO_CITY_110
    return LinkageOpening(
        direction=direction,
        kind=Kind.REPORT if to_110 else Kind.CONSULTATION,
        urgent=to_110,
        channel=f"PJSIP/citizen-{uniqueid}",
        uniqueid=uniqueid,
        caller_number="13800000009",
        summary="",
    )


async def ivr_ticket(world: World, direction: Direction, uniqueid: str) -> str:
    return await IvrTickets(lambda: world.stack.store, CITY).open(opening(direction, uniqueid))


async def connect(world: World, pbx: str, queue: str, uniqueid: str, ticket_id: str) -> None:
    """An agent of `queue` answers a call whose channel carries LINKAGE_TICKET (channelvars)."""
    await world.pbx[pbx].push_raw(
        [
            ("Event", "AgentConnect"),
            ("Queue", queue),
            ("Channel", f"IAX2/in-{uniqueid}"),
            ("Uniqueid", uniqueid),
            ("ChanVariable", f"LINKAGE_TICKET={ticket_id}"),
            ("DestChannel", "PJSIP/seat-7-00000007"),
            ("DestUniqueid", f"agent-{uniqueid}"),
            ("Interface", "PJSIP/seat-7"),
            ("MemberName", "seat 7"),
        ]
    )


async def next_call(listener: Listener) -> LinkedCall:
    async with asyncio.timeout(5):
        return await listener.inbox.get()


async def until_status(world: World, ticket_id: str, wanted: TicketStatus) -> None:
    for _ in range(1000):
        if (await world.stack.store.get(ticket_id)).status is wanted:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{ticket_id} never reached {wanted.value}")


@pytest.mark.parametrize(
    ("direction", "pbx", "queue"),
    [
        (Direction.CITY_12345_TO_CITY_110, "pbx-110", "q110-city"),
        (Direction.CITY_110_TO_CITY_12345, "pbx-12345", "q12345"),
    ],
)
async def test_an_ivr_ticket_is_accepted_linked_and_announced_when_answered(
    world: World, direction: Direction, pbx: str, queue: str
) -> None:
    ticket_id = await ivr_ticket(world, direction, "ivr-1")
    assert (await world.stack.store.get(ticket_id)).status is TicketStatus.QUEUED
    agent_stream = world.stack.hub.listen(agent="seat-7")

    await connect(world, pbx, queue, "far-ivr-1", ticket_id)

    answered = await next_call(agent_stream)
    assert (answered.stage, answered.ticket_id, answered.queue) == ("answered", ticket_id, queue)
    accepted = await world.stack.store.get(ticket_id)
    assert (accepted.status, accepted.accepted_by) == (TicketStatus.ACCEPTED, "seat-7")
    assert await world.stack.store.ticket_for_call("far-ivr-1") == ticket_id
    assert await world.stack.store.ticket_for_call("agent-far-ivr-1") == ticket_id


async def test_an_answer_in_a_queue_of_the_origin_platform_does_not_accept(world: World) -> None:
    # Key 9 failed on the trunk: the caller is answered back in q12345, not by 110.
    ticket_id = await ivr_ticket(world, Direction.CITY_12345_TO_CITY_110, "ivr-2")
    await connect(world, "pbx-12345", "q12345", "ivr-2", ticket_id)
    # A later event proves the first was handled: the same ticket answered by 110.
    await connect(world, "pbx-110", "q110-city", "far-ivr-2", ticket_id)
    await until_status(world, ticket_id, TicketStatus.ACCEPTED)
    history = await world.stack.store.history(ticket_id)
    assert [h.to_status for h in history].count(TicketStatus.ACCEPTED) == 1
    assert history[-1].note == "answered in q110-city"


async def test_an_unknown_ticket_on_an_answered_call_is_ignored(world: World) -> None:
    await connect(world, "pbx-110", "q110-city", "far-ivr-3", "LK-19990101-000001")
    ticket_id = await ivr_ticket(world, Direction.CITY_12345_TO_CITY_110, "ivr-3")
    await connect(world, "pbx-110", "q110-city", "far-ivr-4", ticket_id)
    await until_status(world, ticket_id, TicketStatus.ACCEPTED)
    assert await world.stack.store.ticket_for_call("far-ivr-3") is None


async def test_a_queued_ticket_not_opened_by_the_ivr_is_left_to_its_own_watcher(
    world: World,
) -> None:
    # A three-party room queues its ticket itself and accepts it on the agents' decision.
    ivr_draft = IvrTickets(lambda: world.stack.store, CITY).draft_for(
        opening(Direction.CITY_12345_TO_CITY_110, "room-5")
    )
    draft = ivr_draft.model_copy(update={"originating_agent": "12345-01"})
    room = await world.stack.store.create(draft, request_id="room-5", by="12345-01")
    await world.stack.store.transition(room.ticket_id, TicketStatus.QUEUED, by="hotline-bridge")
    await connect(world, "pbx-110", "q110-city", "far-room-5", room.ticket_id)
    ivr_id = await ivr_ticket(world, Direction.CITY_12345_TO_CITY_110, "ivr-6")
    await connect(world, "pbx-110", "q110-city", "far-ivr-6", ivr_id)
    await until_status(world, ivr_id, TicketStatus.ACCEPTED)
    assert (await world.stack.store.get(room.ticket_id)).status is TicketStatus.QUEUED
