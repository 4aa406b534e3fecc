"""110 queue diversion end to end on the emulated 110 PBX running the shipped dialplan and
queues: a caller waiting in q110-city (no seat free) presses 1, leaves by the queue's
`context` exit into `[hb-divert110]` (trace 10), confirms, and reaches a 12345 agent with a
consultation ticket 110->12345; the queue monitor's tracker counts it as EXIT_KEY (a
diversion), never as an early release. A caller who does not confirm goes back to q110-city.

The emulator has no IAX2 trunk, so the 12345 side is a `[lab-12345]` context with a q12345
queue on the same PBX, and the flow's target points there instead of `hb-trunk,12345,1`.
"""

from __future__ import annotations

import time
from pathlib import Path

import redis.asyncio as aioredis

from bridge.ivr_wiring import IvrTickets
from bridge.monitoring.config import QueueDirectory
from bridge.monitoring.tracker import ClosedCaller, QueueTracker
from ivr.divert_110 import add_divert_route
from ivr.prompts import DivertOffer, DivertPrompts
from routing.metrics import Outcome
from routing.tickets import Direction, Kind, TicketStatus
from telephony.agi.routes import AgiRoutes
from telephony.ami.events import Event
from tests.ivr.test_entry_emulated import CONFIGS, emulated, header, phone_of
from tests.ivr.test_entry_menu import CITY, ticket_store

LAB_12345 = """
[lab-12345]
exten => 12345,1,NoOp(12345 side for the emulator: no IAX2 trunk)
 same => n,Queue(q12345,tT)
 same => n,Hangup()
"""
Q12345 = """
[q12345](hb-queue)
member => Local/agent12345-01@agents/n,0,12345 seat 01
"""
OFFER = DivertOffer(
    prompts=DivertPrompts(confirm="beep", to_12345="beep", back_to_110="beep"),
    timeout_ms=30_000,
    target="lab-12345,12345,1",
)


def the_110_pbx(folder: Path) -> Path:
    """The shipped 110 folder, q110-city without seats (callers wait), a 12345 queue beside."""
    shipped = folder / "shipped"
    shipped.mkdir()
    for item in (CONFIGS / "pbx-110").iterdir():
        (shipped / item.name).write_bytes(item.read_bytes())
    queues = (shipped / "queues.conf").read_text(encoding="utf-8")
    queues = "\n".join(
        line for line in queues.splitlines() if not line.startswith("member => PJSIP/110-city-")
    )
    (shipped / "queues.conf").write_text(queues + "\n" + Q12345, encoding="utf-8")
    with (shipped / "extensions.conf").open("a", encoding="utf-8") as extensions:
        extensions.write(LAB_12345)
    return shipped


def divert_routes(redis: aioredis.Redis) -> AgiRoutes:
    routes = AgiRoutes()
    store = ticket_store(redis)
    add_divert_route(routes, OFFER, IvrTickets(lambda: store, CITY))
    return routes


def tracked(outcomes: list[ClosedCaller]) -> QueueTracker:
    return QueueTracker(QueueDirectory([]), outcomes.append, time.time, grace=0.5)


async def test_key_1_and_confirm_reach_12345_with_a_ticket_counted_as_a_diversion(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    outcomes: list[ClosedCaller] = []
    tracker = tracked(outcomes)
    out = tmp_path / "pbx"
    out.mkdir()
    async with emulated(the_110_pbx(tmp_path), out, divert_routes(redis_client)) as world:

        def follow(event: Event) -> None:
            tracker.apply(event)

        world.client.subscribe(follow)
        await world.call("110")
        waiting = await world.joined("q110-city")
        caller = header(waiting, "Channel")
        await world.client.action("PlayDTMF", Channel=phone_of(caller), Digit="1")
        assert await world.press_at_prompt("1") == caller  # the confirmation
        joined = await world.joined("q12345")
        assert header(joined, "Channel") == caller
        ticket_id = getattr(joined, "variables", {}).get("LINKAGE_TICKET", "")
        await world.answered("q12345")
        assert world.watched.named("QueueCallerAbandon") == []

    ticket = await ticket_store(redis_client).get(ticket_id)
    assert ticket.direction is Direction.CITY_110_TO_CITY_12345
    assert ticket.kind is Kind.CONSULTATION
    assert ticket.status is TicketStatus.QUEUED
    assert ticket.channel == caller
    city = [c.record.outcome for c in outcomes if c.record.queue == "q110-city"]
    assert city == [Outcome.EXIT_KEY]


async def test_no_confirmation_puts_the_caller_back_in_q110_city(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    out = tmp_path / "pbx"
    out.mkdir()
    async with emulated(the_110_pbx(tmp_path), out, divert_routes(redis_client)) as world:
        await world.call("110")
        waiting = await world.joined("q110-city")
        caller = header(waiting, "Channel")
        await world.client.action("PlayDTMF", Channel=phone_of(caller), Digit="1")
        await world.press_at_prompt("5")
        back = await world.watched.first(
            "QueueCallerJoin",
            lambda e: (
                header(e, "Queue") == "q110-city"
                and header(e, "Channel") == caller
                and e is not waiting
            ),
        )
        prio = await world.client.action("Getvar", Channel=caller, Variable="QUEUE_PRIO")
        assert prio.get("Value") == "10"
        assert header(back, "Channel") == caller
    assert await redis_client.keys("*") == []


async def test_with_the_bridge_down_the_caller_goes_back_to_q110_city_at_the_head(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    out = tmp_path / "pbx"
    out.mkdir()
    routes = divert_routes(redis_client)
    async with emulated(the_110_pbx(tmp_path), out, routes, agi_reachable=False) as world:
        await world.call("110")
        waiting = await world.joined("q110-city")
        caller = header(waiting, "Channel")
        await world.client.action("PlayDTMF", Channel=phone_of(caller), Digit="1")
        await world.watched.first(
            "QueueCallerJoin",
            lambda e: header(e, "Queue") == "q110-city" and e is not waiting,
        )
        prio = await world.client.action("Getvar", Channel=caller, Variable="QUEUE_PRIO")
        assert prio.get("Value") == "10"
