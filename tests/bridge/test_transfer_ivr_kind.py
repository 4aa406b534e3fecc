"""The caller's IVR choice (HB_KIND from the 12345 entry menu) as the ticket's default kind.

The agent's draft wins; without one, the kind the caller chose in the menu; without that (or
with a value that is not one of the five kinds), what the target platform takes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bridge.transfers.orchestrator import ivr_kind
from routing.tickets import Kind
from telephony.live import Channel
from tests.bridge.test_transfer_orchestration import (
    World,
    channel_names,
    eventually,
    press,
    world_of,
)


@pytest.fixture
async def world(redis_client: aioredis.Redis) -> AsyncIterator[World]:
    async with world_of(redis_client) as found:
        yield found


async def seat_with_choice(world: World, caller: str, choice: str) -> None:
    await world.seat("pbx-12345", "q12345", caller, f"a-{caller}", "PJSIP/12345-01", "13800000001")
    caller_channel, _ = channel_names(caller, "PJSIP/12345-01")
    # As Asterisk reports the menu's Set(HB_KIND=...) to the manager.
    await world.pbx["pbx-12345"].push_raw(
        [
            ("Event", "VarSet"),
            ("Channel", caller_channel),
            ("Uniqueid", caller),
            ("Variable", "HB_KIND"),
            ("Value", choice),
        ]
    )
    live = world.stack.links["pbx-12345"].live

    def chosen() -> bool:
        found = live.channel(caller)
        return found is not None and found.variables.get("HB_KIND") == choice

    await eventually(chosen, "HB_KIND in the live model")


async def test_the_callers_menu_choice_is_the_kind_when_the_agent_gave_none(world: World) -> None:
    await seat_with_choice(world, "k1", "投诉举报")
    started = await press(world, "pbx-12345", "k1", summary="噪音")
    assert started.ticket.kind is Kind.COMPLAINT


async def test_the_agents_draft_kind_wins_over_the_menu_choice(world: World) -> None:
    await seat_with_choice(world, "k2", "咨询")
    started = await press(world, "pbx-12345", "k2", kind="意见建议")
    assert started.ticket.kind is Kind.SUGGESTION


async def test_an_unknown_menu_value_falls_back_to_what_the_target_takes(world: World) -> None:
    await seat_with_choice(world, "k3", "garbage")
    started = await press(world, "pbx-12345", "k3")
    assert started.ticket.kind is Kind.REPORT  # 12345 -> 110 with nothing said: 报警


def test_ivr_kind_reads_only_the_five_kinds() -> None:
    channel = Channel(uniqueid="u", name="PJSIP/x-1")
    assert ivr_kind(channel) is None
    channel.variables["HB_KIND"] = " 求助 "
    assert ivr_kind(channel) is Kind.HELP
    channel.variables["HB_KIND"] = "报警了"
    assert ivr_kind(channel) is None
