"""End to end on the emulated 110 PBX running the shipped dialplan: a caller answered in the
city 110 queue is transferred to the county centre of the incident (属地), waits there, a
county agent answers, the screen-pop hears it and the call finds its ticket.

The way back after no answer, the trunk paths and the key press itself are end to end in
test_transfer_keypress_emulated.py (two emulated PBXs linked by their IAX2 trunk).

The emulator has no PJSIP phones, so the shipped queues' PJSIP members become Local members
(`Local/agent<seat>@agents/n`) answered by a small [agents] context, as in the lab traces.
Here the transfer is started through the service, as `POST /api/transfers` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.orchestrator import TransferOrder
from bridge.transfers.stack import TransferStack
from routing.tickets import TicketStatus
from telephony.ami.client import AMIClient
from telephony.live import LiveModel
from telephony.pbxsim.pbx import EmulatedPBX
from tests.bridge.test_transfer_orchestration import PLATFORMS, ZONES, next_call

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "asterisk" / "pbx-110"
AGENTS = """
[agents]
exten => _age[n]t.,1,NoOp(Call-taker ${EXTEN} ringing)
 same => n,Ringing()
 same => n,Wait(1)
 same => n,Answer()
 same => n,Wait(600)
 same => n,Hangup()
"""


def emulated_config(folder: Path, shipped: Path = SHIPPED) -> Path:
    """A copy of a shipped PBX folder whose PJSIP queue members are emulated Local agents."""
    for item in shipped.iterdir():
        shutil.copy(item, folder / item.name)
    queues = (folder / "queues.conf").read_text(encoding="utf-8")
    queues = re.sub(r"member => PJSIP/([\w-]+),", r"member => Local/agent\1@agents/n,", queues)
    (folder / "queues.conf").write_text(queues, encoding="utf-8")
    with (folder / "extensions.conf").open("a", encoding="utf-8") as extensions:
        extensions.write(AGENTS)
    return folder


@dataclass
class Emulated:
    pbx: EmulatedPBX
    client: AMIClient
    stack: TransferStack

    @property
    def live(self) -> LiveModel:
        return self.stack.links["pbx-110"].live


@contextlib.asynccontextmanager
async def emulated(
    redis: aioredis.Redis, folder: Path, config: TransferConfig
) -> AsyncIterator[Emulated]:
    pbx = EmulatedPBX.from_config_dir(emulated_config(folder), name="pbx-110", time_scale=10.0)
    await pbx.start()
    client = AMIClient("127.0.0.1", pbx.ami_port, "hotline-bridge", "change-me")
    stack = TransferStack.build(redis, PLATFORMS, ZONES, config, ["pbx-12345", "pbx-110"])
    stack.attach("pbx-110", client)
    await client.connect()
    try:
        yield Emulated(pbx, client, stack)
    finally:
        await stack.close()
        await client.close()
        await pbx.stop()


async def until(condition: object, what: str) -> None:
    assert callable(condition)
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def answered_city_call(world: Emulated) -> str:
    """A citizen's call answered by a city 110 agent; returns the caller's channel name."""
    await world.client.action(
        "Originate",
        Channel="Local/110370800@hb-queue",
        Application="Wait",
        Data="600",
        Async="true",
        CallerID="13900000001",
    )
    found: list[str] = []

    def seated() -> bool:
        for channel in world.live.channels.values():
            if channel.name.startswith("Local/110370800@hb-queue") and channel.name.endswith(";2"):
                peer = world.live.bridged_peer(channel.uniqueid)
                if peer is not None and "agents" in peer.name:
                    found.append(channel.name)
                    return True
        return False

    await until(seated, "a city 110 agent answers")
    return found[0]


async def ticket_variable(world: Emulated, channel: str) -> str:
    reply = await world.client.action("Getvar", Channel=channel, Variable="LINKAGE_TICKET")
    return reply.get("Value")


def order_for(world: Emulated, caller: str) -> TransferOrder:
    peer = world.live.bridged_peer(caller)
    assert peer is not None
    return TransferOrder(
        pbx="pbx-110",
        caller_channel=caller,
        agent="110-city-01",
        agent_channel=peer.name,
        draft=AgentDraft(
            kind="报警", summary="邹城某路口两车相撞", target="110", district_code="370883"
        ),
    )


async def test_city_110_to_county_on_the_emulated_pbx(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with emulated(redis_client, tmp_path, TransferConfig()) as world:
        caller = await answered_city_call(world)
        arrivals = world.stack.hub.listen(queue="q110-370883")
        started = await world.stack.service.start(order_for(world, caller))
        ticket_id = started.ticket.id

        arrived = await next_call(arrivals)
        assert (arrived.stage, arrived.ticket_id) == ("arrived", ticket_id)
        answered = await next_call(arrivals)
        assert answered.stage == "answered"
        assert answered.agent.startswith("agent110-370883-")
        ticket = await world.stack.store.get(ticket_id)
        assert (ticket.status, ticket.target_district) == (TicketStatus.ACCEPTED, "370883")
        # The ticket rides on the caller's channel, and both legs of the call find it.
        assert await ticket_variable(world, caller) == ticket_id
        caller_uid = world.live.channel(caller).uniqueid  # type: ignore[union-attr]
        assert await world.stack.store.ticket_for_call(caller_uid) == ticket_id
        county_agent = world.live.bridged_peer(caller_uid)
        assert county_agent is not None and "agent110-370883" in county_agent.name
        assert await world.stack.store.ticket_for_call(county_agent.uniqueid) == ticket_id


@pytest.fixture(autouse=True)
def _quiet_emulator_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
