"""The whole one-key path on two emulated PBXs running the shipped dialplans, linked by their
IAX2 trunk: an agent talking to a citizen presses *8 -> features.conf runs Gosub(hb-onekey)
-> AGI to the bridge's FastAGI server -> ticket + Setvar + Redirect -> the caller reaches the
other platform's queue (over the trunk with its ticket, or on the same PBX) -> an agent there
answers -> the ticket is accepted and the screen-pop hears it. Every path of MISSION.md, a
trunk that fails, and the way back when nobody answers in time: the bridge Redirects the
caller, waiting in the target's Queue() or in Dial() over the trunk, to the origin queue with
QUEUE_PRIO set (the emulator honours a Redirect of a caller waiting in Queue(), as Asterisk
does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.phone import PhoneTransfers
from bridge.transfers.stack import TransferStack
from ivr.onekey import Prompts, add_onekey_route
from routing.tickets import Direction, TicketStatus
from telephony.agi import AgiRoutes, FastAgiServer
from telephony.ami.client import AMIClient
from telephony.ami.events import QueueEntry
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


@dataclass
class Lab:
    stack: TransferStack
    clients: dict[str, AMIClient]
    pbxs: dict[str, EmulatedPBX]
    network: IaxNetwork

    async def answered_call(self, pbx: str, exten: str) -> str:
        """A citizen reaches `exten`'s queue on `pbx` and an agent answers; the agent's
        channel (the queue arms the feature codes on it)."""
        await self.clients[pbx].action(
            "Originate",
            Channel=f"Local/{exten}@hb-queue",
            Application="Wait",
            Data="600",
            Async="true",
            CallerID='"张三" <13800000001>',
        )
        live = self.stack.links[pbx].live
        found: list[str] = []

        def seated() -> bool:
            for channel in live.channels.values():
                peer = live.bridged_peer(channel.uniqueid)
                if channel.name.startswith(f"Local/{exten}@hb-queue") and peer is not None:
                    found[:] = [peer.name]
                    return "agents" in peer.name
            return False

        await until(seated, f"an agent answers on {pbx}")
        return found[0]

    async def waiting_call(self, pbx: str, exten: str, queue: str) -> str:
        """A citizen calls `exten` and waits in `queue` (nobody free): its uniqueid."""
        live = self.stack.links[pbx].live
        before = {c.uniqueid for c in live.waiting(queue)}
        await self.clients[pbx].action(
            "Originate",
            Channel=f"Local/{exten}@hb-queue",
            Application="Wait",
            Data="600",
            Async="true",
            # Queue() does not answer: without a long Timeout the originate gives up (30 s).
            Timeout="600000",
            CallerID='"李四" <13800000002>',
        )
        found: list[str] = []

        def joined() -> bool:
            found[:] = [c.uniqueid for c in live.waiting(queue) if c.uniqueid not in before]
            return bool(found)

        await until(joined, f"a citizen waits in {queue} on {pbx}")
        return found[0]

    async def press(self, pbx: str, agent: str, keys: str = "*8") -> None:
        for digit in keys:
            await self.clients[pbx].action("PlayDTMF", Channel=agent, Digit=digit, Receive="yes")

    def queued_leg(self, pbx: str, exten: str) -> str:
        """Uniqueid of the caller's leg that dialled `exten` into the queue (its ;2 half)."""
        return next(
            c.uniqueid
            for c in self.stack.links[pbx].live.channels.values()
            if c.name.startswith(f"Local/{exten}@hb-queue") and c.name.endswith(";2")
        )


@contextlib.asynccontextmanager
async def lab_of(redis: aioredis.Redis, folder: Path, config: TransferConfig) -> AsyncIterator[Lab]:
    stack = TransferStack.build(redis, PLATFORMS, ZONES, config, ["pbx-12345", "pbx-110"])
    routes = AgiRoutes()
    add_onekey_route(routes, PhoneTransfers(stack), Prompts())
    agi = FastAgiServer(routes)
    await agi.start("127.0.0.1", 0)
    network = IaxNetwork()
    to_bridge = {("127.0.0.1", 4573): ("127.0.0.1", agi.port)}
    pbxs: dict[str, EmulatedPBX] = {}
    for name, shipped in (("pbx-12345", SHIPPED_12345), ("pbx-110", SHIPPED)):
        (folder / name).mkdir()
        pbxs[name] = EmulatedPBX.from_config_dir(
            emulated_config(folder / name, shipped),
            name=name,
            time_scale=TIME_SCALE,
            agi_redirect=to_bridge,
            iax_network=network,
        )
    clients: dict[str, AMIClient] = {}
    try:
        for name, pbx in pbxs.items():
            await pbx.start()
            clients[name] = AMIClient("127.0.0.1", pbx.ami_port, "hotline-bridge", "change-me")
            stack.attach(name, clients[name])
            await clients[name].connect()
        yield Lab(stack, clients, pbxs, network)
    finally:
        await stack.close()
        for client in clients.values():
            await client.close()
        for pbx in pbxs.values():
            await pbx.stop()
        await agi.stop(deadline=1)


@pytest.fixture
async def lab(redis_client: aioredis.Redis, tmp_path: Path) -> AsyncIterator[Lab]:
    async with lab_of(redis_client, tmp_path, TransferConfig()) as found:
        yield found


@pytest.mark.parametrize(
    ("pbx", "exten", "draft", "direction", "target_pbx", "target_queue", "hops"),
    [
        ("pbx-12345", "12345", {}, Direction.CITY_12345_TO_CITY_110, "pbx-110", "q110-city", 1),
        ("pbx-110", "110370800", {}, Direction.CITY_110_TO_CITY_12345, "pbx-12345", "q12345", 1),
        (
            "pbx-110",
            "110370800",
            {"target": "110", "district_code": "370883"},
            Direction.CITY_110_TO_COUNTY_110,
            "pbx-110",
            "q110-370883",
            1,
        ),
        (
            "pbx-110",
            "110370883",
            {},
            Direction.COUNTY_110_TO_CITY_12345,
            "pbx-12345",
            "q12345",
            2,
        ),
    ],
)
async def test_key_press_reaches_the_other_platform_with_its_ticket(
    lab: Lab,
    pbx: str,
    exten: str,
    draft: dict[str, str],
    direction: Direction,
    target_pbx: str,
    target_queue: str,
    hops: int,
) -> None:
    agent = await lab.answered_call(pbx, exten)
    agent_id = agent.split("/", 1)[1].rsplit("-", 1)[0]  # Local/agentX@agents-0000;1
    await lab.stack.drafts.put(
        agent_id, AgentDraft.model_validate({"kind": "求助", "summary": "需要转办", **draft})
    )
    stream = lab.stack.hub.listen(queue=target_queue)
    await lab.press(pbx, agent)

    arrived = await next_call(stream)
    assert (arrived.stage, arrived.pbx) == ("arrived", target_pbx)
    answered = await next_call(stream)
    assert (answered.stage, answered.ticket_id) == ("answered", arrived.ticket_id)

    ticket = await lab.stack.store.get(arrived.ticket_id)
    assert (ticket.status, ticket.direction, len(ticket.hops)) == (
        TicketStatus.ACCEPTED,
        direction,
        hops,
    )
    assert (ticket.originating_agent, ticket.summary, ticket.caller_number) == (
        agent_id,
        "需要转办",
        "13800000001",
    )
    # The receiving call and the agent who answered it both find the ticket (screen-pop),
    # and the ticket rides on the call as LINKAGE_TICKET.
    live = lab.stack.links[target_pbx].live
    receiving_agent = live.bridged_peer(arrived.uniqueid)
    assert receiving_agent is not None
    for uniqueid in (arrived.uniqueid, receiving_agent.uniqueid):
        assert await lab.stack.store.ticket_for_call(uniqueid) == ticket.id
    reply = await lab.clients[target_pbx].action(
        "Getvar", Channel=receiving_agent.name, Variable="LINKAGE_TICKET"
    )
    assert reply.get("Value") == ticket.id


async def test_a_failed_trunk_brings_the_caller_back_and_fails_the_ticket(lab: Lab) -> None:
    agent = await lab.answered_call("pbx-12345", "12345")
    lab.network.unregister(lab.pbxs["pbx-110"])  # the IAX2 trunk is down; AMI stays up
    near = lab.stack.links["pbx-12345"].live
    await lab.press("pbx-12345", agent)
    caller = lab.queued_leg("pbx-12345", "12345")

    def back_with_another_12345_agent() -> bool:
        peer = near.bridged_peer(caller)
        return peer is not None and peer.name != agent and "agent12345" in peer.name

    await until(back_with_another_12345_agent, "the caller is answered in q12345 again")
    ticket_id = await lab.stack.store.ticket_for_call(caller)
    assert ticket_id is not None
    ticket = await lab.stack.store.get(ticket_id)
    assert ticket.status is TicketStatus.TRANSFER_FAILED
    notes = [h.note for h in await lab.stack.store.history(ticket_id)]
    assert notes[-1].startswith("trunk to pbx-110 failed")


async def test_a_failed_trunk_brings_a_county_caller_back_to_the_county_queue(lab: Lab) -> None:
    agent = await lab.answered_call("pbx-110", "110370883")
    lab.network.unregister(lab.pbxs["pbx-12345"])  # the IAX2 trunk is down; AMI stays up
    near = lab.stack.links["pbx-110"].live
    await lab.press("pbx-110", agent)
    caller = lab.queued_leg("pbx-110", "110370883")

    def back_in_the_county_queue() -> bool:
        peer = near.bridged_peer(caller)
        county = near.queues.get("q110-370883")
        answered_there = county is not None and any(
            m.caller == caller for m in county.members.values()
        )
        return peer is not None and peer.name != agent and answered_there

    await until(back_in_the_county_queue, "the caller is answered in q110-370883 again")
    city = near.queues.get("q110-city")
    assert city is None or all(m.caller != caller for m in city.members.values())
    ticket_id = await lab.stack.store.ticket_for_call(caller)
    assert ticket_id is not None
    ticket = await lab.stack.store.get(ticket_id)
    assert ticket.status is TicketStatus.TRANSFER_FAILED


# Bridge seconds are real seconds; at TIME_SCALE 10 this is 10 s on the emulated PBXs' clock,
# well inside the trunk's own Dial timeout (30 emulated seconds).
ANSWER_TIMEOUT = 1.0


@pytest.mark.parametrize(
    ("pbx", "exten", "draft", "target_pbx", "target_queue", "origin_queue"),
    [
        # Same PBX: the caller waits in the county queue's Queue() when the Redirect comes.
        (
            "pbx-110",
            "110370800",
            {"target": "110", "district_code": "370883"},
            "pbx-110",
            "q110-370883",
            "q110-city",
        ),
        # Over the trunk: the caller's leg on pbx-12345 is in Dial(IAX2) when it is moved.
        ("pbx-12345", "12345", {}, "pbx-110", "q110-city", "q12345"),
    ],
)
async def test_no_answer_brings_the_caller_back_to_the_head_of_the_origin_queue(
    redis_client: aioredis.Redis,
    tmp_path: Path,
    pbx: str,
    exten: str,
    draft: dict[str, str],
    target_pbx: str,
    target_queue: str,
    origin_queue: str,
) -> None:
    config = TransferConfig(answer_timeout_seconds=ANSWER_TIMEOUT)
    async with lab_of(redis_client, tmp_path, config) as lab:
        agent = await lab.answered_call(pbx, exten)
        near = lab.stack.links[pbx].live
        caller = near.bridged_peer(agent)
        assert caller is not None
        # Nobody answers the target, and the origin's call-takers are all busy (paused):
        # another citizen is already waiting in the origin queue when the caller comes back.
        await pause_everyone(lab, target_pbx, target_queue)
        await pause_everyone(lab, pbx, origin_queue)
        other = await lab.waiting_call(pbx, exten, origin_queue)
        agent_id = agent.split("/", 1)[1].rsplit("-", 1)[0]
        await lab.stack.drafts.put(
            agent_id, AgentDraft.model_validate({"kind": "求助", "summary": "无人接听", **draft})
        )
        stream = lab.stack.hub.listen(queue=target_queue)
        await lab.press(pbx, agent)

        arrived = await next_call(stream)
        assert (arrived.stage, arrived.pbx) == ("arrived", target_pbx)
        failed = await next_call(stream)
        assert (failed.stage, failed.ticket_id) == ("failed", arrived.ticket_id)

        # Back at the head of the origin queue (QUEUE_PRIO, set before the Redirect), ahead
        # of the citizen who was waiting there already: as the PBX lists its queue.
        def waiting_order() -> list[str]:
            return [c.uniqueid for c in near.waiting(origin_queue)]

        await until(lambda: caller.uniqueid in waiting_order(), f"back in {origin_queue}")
        listed = await lab.clients[pbx].list_action("QueueStatus", Queue=origin_queue)
        entries = sorted(
            (e for e in listed.events if isinstance(e, QueueEntry)), key=lambda e: e.position
        )
        assert [(e.position, e.uniqueid) for e in entries] == [(1, caller.uniqueid), (2, other)]
        prio = await lab.clients[pbx].action("Getvar", Channel=caller.name, Variable="QUEUE_PRIO")
        assert prio.get("Value") == str(config.return_priority)

        # The first call-taker free answers the returned caller first.
        first_seat = next(iter(near.queues[origin_queue].members))
        await lab.clients[pbx].action(
            "QueuePause", Queue=origin_queue, Interface=first_seat, Paused="false"
        )

        def answered_in_the_origin_queue() -> bool:
            members = near.queues[origin_queue].members.values()
            return any(m.caller == caller.uniqueid for m in members)

        await until(answered_in_the_origin_queue, f"the caller is answered in {origin_queue}")
        await until(lambda: waiting_order() == [other], "the other citizen still waits")

        ticket = await lab.stack.store.get(arrived.ticket_id)
        assert ticket.status is TicketStatus.TRANSFER_FAILED
        history = await lab.stack.store.history(ticket.id)
        assert history[-1].note == f"no answer in {target_queue} within {ANSWER_TIMEOUT:g} s"
        assert await lab.stack.inflight.all() == []  # settled: nothing left for recovery


async def pause_everyone(lab: Lab, pbx: str, queue: str) -> None:
    """Every member of `queue` paused: a caller waits there unanswered."""
    live = lab.stack.links[pbx].live
    await until(lambda: bool(live.queues.get(queue, None) and live.queues[queue].members), queue)
    for interface in list(live.queues[queue].members):
        await lab.clients[pbx].action("QueuePause", Queue=queue, Interface=interface, Paused="true")
    await until(lambda: all(m.paused for m in live.queues[queue].members.values()), "paused")
