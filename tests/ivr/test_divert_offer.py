"""The 110 diversion route (`divert-110`) over a real FastAGI socket with a scripted Asterisk
(trace 14's replies) and tickets in a real Redis: confirmed -> consultation ticket 110->12345
and the trunk to 12345; not confirmed, silence or a missing prompt -> back into q110-city at
the head; hang-up; the store down."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bridge.ivr_wiring import IvrTickets
from ivr.divert_110 import add_divert_route
from ivr.linkage import LinkageTickets
from ivr.prompts import DivertOffer
from routing.tickets import Direction, Kind, TicketStatus, Urgency
from telephony.agi.routes import AgiRoutes
from telephony.agi.server import FastAgiServer
from tests.ivr.test_entry_menu import CITY, BrokenTickets, ScriptedCall, play_call, ticket_store

BACK = {"QUEUE_PRIO": "10", "HB_ROUTE": "hb-queue,110370800,1"}


@pytest.fixture
def tickets(redis_client: aioredis.Redis) -> IvrTickets:
    store = ticket_store(redis_client)
    return IvrTickets(lambda: store, CITY)


async def run_divert(
    call: ScriptedCall, tickets: LinkageTickets, offer: DivertOffer | None = None
) -> FastAgiServer:
    routes = AgiRoutes()
    add_divert_route(routes, offer or DivertOffer(), tickets)
    return await play_call(call, routes)


def divert_call(*keys: str, **options: object) -> ScriptedCall:
    return ScriptedCall("divert-110", list(keys), **options)  # type: ignore[arg-type]


async def test_confirmed_diversion_opens_a_consultation_ticket_and_goes_to_12345(
    tickets: IvrTickets, redis_client: aioredis.Redis
) -> None:
    call = divert_call("1", callerid="13900000001")
    await run_divert(call, tickets)
    assert call.commands[0] == "GET DATA hotline-bridge/divert-confirm 5000 1"
    assert call.variables["HB_ROUTE"] == "hb-trunk,12345,1"
    assert call.variables["HB_KIND"] == "咨询"
    ticket = await ticket_store(redis_client).get(call.variables["LINKAGE_TICKET"])
    assert ticket.direction is Direction.CITY_110_TO_CITY_12345
    assert ticket.kind is Kind.CONSULTATION
    assert ticket.urgency is Urgency.NORMAL
    assert ticket.status is TicketStatus.QUEUED
    assert (ticket.origin_district, ticket.target_district) == (CITY, CITY)
    assert ticket.caller_number == "13900000001"
    assert call.commands[-1] == 'SET VARIABLE HB_ROUTE "hb-trunk,12345,1"'


@pytest.mark.parametrize("answer", ["2", ""])
async def test_no_confirmation_goes_back_to_110_ahead_of_later_callers(
    answer: str, tickets: IvrTickets, redis_client: aioredis.Redis
) -> None:
    call = divert_call(answer)
    await run_divert(call, tickets)
    assert call.variables == BACK
    assert 'STREAM FILE hotline-bridge/divert-back-to-110 ""' in call.commands
    assert await redis_client.keys("*") == []


async def test_a_missing_confirmation_prompt_keeps_the_caller_on_110(tickets: IvrTickets) -> None:
    call = divert_call(missing={"hotline-bridge/divert-confirm"})
    await run_divert(call, tickets)
    assert call.variables == BACK


async def test_without_confirmation_the_key_at_the_offer_is_enough(tickets: IvrTickets) -> None:
    call = divert_call()
    await run_divert(call, tickets, DivertOffer(confirm=False))
    assert not any(c.startswith("GET DATA") for c in call.commands)
    assert call.variables["HB_ROUTE"] == "hb-trunk,12345,1"
    assert call.variables["LINKAGE_TICKET"].startswith("LK-")


async def test_the_caller_still_reaches_12345_when_the_ticket_store_is_down() -> None:
    broken = BrokenTickets()
    call = divert_call("1")
    await run_divert(call, broken)
    assert broken.asked[0].kind is Kind.CONSULTATION
    assert call.variables == {"HB_KIND": "咨询", "HB_ROUTE": "hb-trunk,12345,1"}


async def test_a_hang_up_at_the_confirmation_writes_nothing(
    tickets: IvrTickets, redis_client: aioredis.Redis
) -> None:
    call = divert_call("1", hangup_during=0)
    server = await run_divert(call, tickets)
    assert call.commands == ["GET DATA hotline-bridge/divert-confirm 5000 1"]
    assert call.variables == {}
    assert await redis_client.keys("*") == []
    assert server.status().sessions_hung_up == 1
