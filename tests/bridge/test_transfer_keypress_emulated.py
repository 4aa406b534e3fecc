"""The whole one-key path on two emulated PBXs running the shipped dialplans, linked by their
IAX2 trunk: a 12345 agent talking to a citizen presses *8 -> features.conf runs
Gosub(hb-onekey) -> AGI to the bridge's FastAGI server -> ticket + Setvar + Redirect to
hb-trunk -> the call crosses to the 110 PBX with its ticket -> q110-city -> a city 110 agent
answers -> the ticket is accepted and the agent's screen-pop hears it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis

from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.phone import PhoneTransfers
from bridge.transfers.stack import TransferStack
from ivr.onekey import Prompts, add_onekey_route
from routing.tickets import Direction, Kind, TicketStatus
from telephony.agi import AgiRoutes, FastAgiServer
from telephony.ami.client import AMIClient
from telephony.pbxsim.pbx import EmulatedPBX
from telephony.pbxsim.trunk import IaxNetwork
from tests.bridge.test_transfer_emulated import SHIPPED, emulated_config
from tests.bridge.test_transfer_orchestration import PLATFORMS, ZONES, next_call

SHIPPED_12345 = SHIPPED.parent / "pbx-12345"
TIME_SCALE = 10.0


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_key_press_moves_the_caller_across_the_trunk_with_its_ticket(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    stack = TransferStack.build(
        redis_client, PLATFORMS, ZONES, TransferConfig(), ["pbx-12345", "pbx-110"]
    )
    routes = AgiRoutes()
    add_onekey_route(routes, PhoneTransfers(stack), Prompts())
    agi = FastAgiServer(routes)
    await agi.start("127.0.0.1", 0)
    network = IaxNetwork()
    for name in ("pbx-12345", "pbx-110"):
        (tmp_path / name).mkdir()
    to_bridge = {("127.0.0.1", 4573): ("127.0.0.1", agi.port)}
    pbxs = {
        name: EmulatedPBX.from_config_dir(
            emulated_config(tmp_path / name, shipped),
            name=name,
            time_scale=TIME_SCALE,
            agi_redirect=to_bridge,
            iax_network=network,
        )
        for name, shipped in (("pbx-12345", SHIPPED_12345), ("pbx-110", SHIPPED))
    }
    clients: dict[str, AMIClient] = {}
    try:
        for name, pbx in pbxs.items():
            await pbx.start()
            clients[name] = AMIClient("127.0.0.1", pbx.ami_port, "hotline-bridge", "change-me")
            stack.attach(name, clients[name])
            await clients[name].connect()
        await stack.drafts.put(
            "agent12345-01@agents",
            AgentDraft(
                kind=Kind.REPORT, summary="来电称邻居家中有人持刀争吵", district_code="370811"
            ),
        )
        answered = stack.hub.listen(queue="q110-city")
        near = stack.links["pbx-12345"].live

        # A citizen reaches 12345 and an agent answers (the queue arms the feature codes).
        await clients["pbx-12345"].action(
            "Originate",
            Channel="Local/12345@hb-queue",
            Application="Wait",
            Data="600",
            Async="true",
            CallerID='"张三" <13800000001>',
        )
        found: list[str] = []

        def seated() -> bool:
            for channel in near.channels.values():
                peer = near.bridged_peer(channel.uniqueid)
                if channel.name.endswith(";2") and "hb-queue" in channel.name and peer:
                    found[:] = [channel.name, peer.name]
                    return "agents" in peer.name
            return False

        await until(seated, "a 12345 agent answers")
        caller, agent = found

        # The agent presses *8 on the phone.
        for digit in "*8":
            await clients["pbx-12345"].action("PlayDTMF", Channel=agent, Digit=digit, Receive="yes")

        arrived = await next_call(answered)
        assert arrived.stage == "arrived"
        ticket_id = arrived.ticket_id
        done = await next_call(answered)
        assert (done.stage, done.ticket_id) == ("answered", ticket_id)
        assert done.agent.startswith("agent110-city-")

        ticket = await stack.store.get(ticket_id)
        assert ticket.status is TicketStatus.ACCEPTED
        assert ticket.direction is Direction.CITY_12345_TO_CITY_110
        assert (ticket.kind, ticket.district_code, ticket.caller_number) == (
            Kind.REPORT,
            "370811",
            "13800000001",
        )
        assert ticket.originating_agent == "agent12345-01@agents"
        # The far side's call (the IAX2 leg) and its agent both find the ticket (screen-pop).
        assert await stack.store.ticket_for_call(arrived.uniqueid) == ticket_id
        far = stack.links["pbx-110"].live
        far_agent = far.bridged_peer(arrived.uniqueid)
        assert far_agent is not None
        assert await stack.store.ticket_for_call(far_agent.uniqueid) == ticket_id
        assert caller  # the citizen's own leg stayed up on the 12345 PBX, bridged to the trunk
    finally:
        await stack.close()
        for client in clients.values():
            await client.close()
        for pbx in pbxs.values():
            await pbx.stop()
        await agi.stop(deadline=1)
