"""The 110 queue-choice route (`route-110?district=`): no prompt ever, HB_QUEUE only when the
pluggable choice names another centre's queue, and every failure leaves HB_QUEUE empty (the
dialplan's own-queue fallback)."""

from __future__ import annotations

import asyncio
import re

import pytest

from ivr.route_110 import QueueChoice, add_route_110, choose_queue, own_queue
from telephony.agi.routes import AgiRoutes
from tests.ivr.test_entry_menu import ScriptedCall, serve


async def run_route(query: str, choose: QueueChoice = own_queue) -> ScriptedCall:
    routes = AgiRoutes()
    add_route_110(routes, choose)
    call = ScriptedCall(f"route-110{query}")
    async with serve(routes) as server:
        await asyncio.wait_for(call.run(server.port), 10)
    assert call.closed_by_server
    return call


async def test_today_every_caller_stays_in_their_centres_queue() -> None:
    call = await run_route("?district=370811")
    assert call.commands == []  # not even a prompt: the caller goes straight to the queue


async def test_a_choice_of_another_queue_sets_hb_queue() -> None:
    asked: list[str] = []

    def support(district: str) -> str:
        asked.append(district)
        return "aid110370811"

    call = await run_route("?district=370811", support)
    assert asked == ["370811"]
    assert call.commands == ['SET VARIABLE HB_QUEUE "aid110370811"']


@pytest.mark.parametrize("query", ["", "?district=3708", "?district=37O811"])
async def test_a_bad_district_leaves_the_own_queue(query: str) -> None:
    def never(district: str) -> str:
        raise AssertionError("asked for a bad district")

    call = await run_route(query, never)
    assert call.commands == []


async def test_a_failing_choice_leaves_the_own_queue() -> None:
    def broken(district: str) -> str:
        raise RuntimeError("overflow state unavailable")

    call = await run_route("?district=370883", broken)
    assert call.commands == []


def test_choose_queue_names_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="six-digit code, got None"):
        choose_queue(None, own_queue)
    with pytest.raises(ValueError, match=re.escape("answered '110,370811', not an [hb-queue]")):
        choose_queue("370811", lambda district: "110,370811")
    assert choose_queue("370811", lambda district: "110370811") is None  # its own queue
    assert choose_queue("370811", lambda district: "110370883") == "110370883"
