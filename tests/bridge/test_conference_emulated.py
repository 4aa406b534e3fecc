"""Three-party calls end to end on the emulated PBX (real AMI socket, real Redis).

The PBX runs the lab configuration of the traces (one PBX carrying the 12345 queue and the
city 110 queue, Local agents answering after a second) plus the shipped pbx-12345 dialplan's
three-party contexts ([hb-conf], [hb-conf-caller]). A caller answered by a 12345 agent is
put in a room with a city 110 agent; decisions, endings, no answer and a restart follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.model import Conference
from bridge.conferences.orchestrator import ConferenceError, ConferenceOrder
from bridge.conferences.stack import ConferenceStack
from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.stack import TransferStack
from routing.conference_rules import Role, Rule
from routing.tickets import Kind, TicketStatus, Urgency
from routing.transfer_paths import PlatformEntry, QueueEntry
from telephony.ami.client import AMIClient
from telephony.live import LiveModel
from telephony.pbxsim.pbx import EmulatedPBX
from tests.traces import LAB_CONFIG

PBX = "lab"
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "asterisk" / "pbx-12345"
PLATFORMS = [
    PlatformEntry(
        "city-12345", "12345", "city", "370800", PBX, (QueueEntry("q12345", "inbound", "12345"),)
    ),
    PlatformEntry(
        "city-110", "110", "city", "370800", PBX, (QueueEntry("q110-city", "inbound", "110"),)
    ),
]
HOTLINE, POLICE = "city-12345", "city-110"
DRAFT = AgentDraft(kind=Kind.HELP, summary="小区门口井盖丢失", target="110")


def lab_config(folder: Path) -> Path:
    """The lab PBX plus the shipped three-party contexts, feature code and conference
    profiles and menu, copied verbatim; the queue member gosub arms the feature on the agent's
    leg as the shipped one does."""
    for item in (LAB_CONFIG / "pbx-1").iterdir():
        shutil.copy(item, folder / item.name)
    shipped = (SHIPPED / "extensions.conf").read_text(encoding="utf-8")
    sections = [
        re.search(rf"^\[{name}\]\n(?:(?!^\[).*\n)*", shipped, re.MULTILINE)
        for name in ("hb-conf", "hb-conf-caller", "hb-threeparty", "hb-conf-keys")
    ]
    extensions = (folder / "extensions.conf").read_text(encoding="utf-8")
    extensions = extensions.replace("[globals]\n", "[globals]\nBRIDGE_AGI = 127.0.0.1:4573\n")
    extensions = extensions.replace(
        "Set(DYNAMIC_FEATURES=linkage_transfer)",
        "Set(DYNAMIC_FEATURES=linkage_transfer#hb_threeparty)",
    )
    for found in sections:
        assert found is not None
        extensions += "\n" + found.group(0)
    (folder / "extensions.conf").write_text(extensions, encoding="utf-8")
    feature = re.search(r"^hb_threeparty => .*$", (SHIPPED / "features.conf").read_text(), re.M)
    assert feature is not None
    with (folder / "features.conf").open("a", encoding="utf-8") as features:
        features.write(feature.group(0) + "\n")
    rooms = (SHIPPED / "confbridge.conf").read_text(encoding="utf-8")
    with (folder / "confbridge.conf").open("a", encoding="utf-8") as confbridge:
        confbridge.write(rooms.split("[general]\n", 1)[1])
    return folder


@dataclass
class World:
    pbx: EmulatedPBX
    client: AMIClient
    transfers: TransferStack
    conferences: ConferenceStack

    @property
    def live(self) -> LiveModel:
        return self.transfers.links[PBX].live

    async def conference(self, room: str) -> Conference:
        return await self.conferences.service.get(room)


@contextlib.asynccontextmanager
async def connected(
    redis: aioredis.Redis,
    pbx: EmulatedPBX,
    config: ConferenceConfig,
    platforms: list[PlatformEntry] = PLATFORMS,
) -> AsyncIterator[World]:
    """A bridge (transfer + conference stacks) logged in to `pbx`."""
    client = AMIClient("127.0.0.1", pbx.ami_port, "bridge", "bridgepass")
    transfers = TransferStack.build(redis, platforms, {}, TransferConfig(), [PBX])
    conferences = ConferenceStack.build(transfers, config)
    transfers.attach(PBX, client)
    conferences.attach(PBX, client)
    await client.connect()
    try:
        yield World(pbx, client, transfers, conferences)
    finally:
        conferences.close()
        await transfers.close()
        await client.close()


@contextlib.asynccontextmanager
async def emulated(
    redis: aioredis.Redis,
    folder: Path,
    config: ConferenceConfig,
    agi_port: int = 4573,
    platforms: list[PlatformEntry] = PLATFORMS,
) -> AsyncIterator[World]:
    pbx = EmulatedPBX.from_config_dir(
        lab_config(folder),
        name=PBX,
        time_scale=10.0,
        agi_redirect={("127.0.0.1", 4573): ("127.0.0.1", agi_port)},
    )
    await pbx.start()
    try:
        async with connected(redis, pbx, config, platforms) as world:
            yield world
    finally:
        await pbx.stop()


async def until(condition: Callable[[], object], what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def eventually(check: Callable[[], object], what: str) -> None:
    """Like until() for async checks (ticket or conference state in Redis)."""
    for _ in range(500):
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def answered_call(
    client: AMIClient, live: LiveModel, caller: str, half: str, seat: str, **originate: Any
) -> tuple[str, str]:
    """A citizen's call originated as the Local channel `caller` (`originate` says where it
    goes), until its `half` (";1"/";2") is bridged with a seat whose channel name contains
    `seat`: (caller's channel, seat's channel)."""
    await client.action("Originate", Channel=caller, Async="true", **originate)
    found: list[tuple[str, str]] = []

    def seated() -> bool:
        for channel in live.channels.values():
            if channel.name.startswith(caller) and channel.name.endswith(half):
                peer = live.bridged_peer(channel.uniqueid)
                if peer is not None and seat in peer.name:
                    found.append((channel.name, peer.name))
                    return True
        return False

    await until(seated, f"a seat answers {caller}")
    return found[0]


async def answered_12345_call(world: World) -> str:
    """A citizen answered by a 12345 agent (trace 13's first part); the caller's channel."""
    caller, _agent = await answered_call(
        world.client,
        world.live,
        "Local/caller@callers",
        ";1",
        "agents",
        Context="inbound",
        Exten="12345",
        Priority="1",
    )
    return caller


async def room_members(world: World, room: str) -> set[str]:
    result = await world.client.list_action("ConfbridgeList", Conference=room)
    return {getattr(item, "channel", "") for item in result.events}


async def start(world: World, draft: AgentDraft = DRAFT) -> tuple[Conference, str]:
    caller = await answered_12345_call(world)
    conference = await world.conferences.service.start(
        ConferenceOrder(pbx=PBX, caller_channel=caller, agent="12345-01", draft=draft)
    )
    return conference, caller


async def three_in_room(world: World, room: str) -> Conference:
    async def answered() -> bool:
        return (await world.conference(room)).answered

    await eventually(answered, "the 110 agent joins the room")
    await eventually(lambda: _count(world, room, 3), "caller, 12345 agent and 110 leg in the room")
    return await world.conference(room)


async def _count(world: World, room: str, n: int) -> bool:
    return len(await room_members(world, room)) == n


async def ticket_status(world: World, ticket_id: str) -> TicketStatus:
    return (await world.transfers.store.get(ticket_id)).status


async def ticket_accepted(world: World, ticket_id: str, platform: str) -> None:
    """The room records its acceptance before the ticket does: wait for the ticket's."""

    async def accepted() -> bool:
        ticket = await world.transfers.store.get(ticket_id)
        return (ticket.status, ticket.accepted_by) == (TicketStatus.ACCEPTED, platform)

    await eventually(accepted, f"ticket {ticket_id} accepted by {platform}")


async def ended(world: World, room: str) -> Conference:
    async def done() -> bool:
        return (await world.conference(room)).state == "ended"

    await eventually(done, f"conference {room} ends")
    await eventually(lambda: room not in world.pbx.conferences, f"room {room} is gone on the PBX")
    return await world.conference(room)


async def test_three_party_call_agreed_then_caller_hangs_up(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        arrivals = world.transfers.hub.listen(queue="q110-city")
        conference, caller = await start(world)
        room = conference.id
        assert await ticket_status(world, conference.ticket_id) is TicketStatus.TRANSFERRING
        conference = await three_in_room(world, room)
        roles = sorted(m.role.value for m in conference.members.values())
        assert roles == ["caller", "origin_agent", "other_agent"]
        assert await ticket_status(world, conference.ticket_id) is TicketStatus.QUEUED
        # The 110 agent's screen-pop hears the call with its ticket.
        popped = await asyncio.wait_for(arrivals.inbox.get(), 5)
        assert (popped.stage, popped.ticket_id) == ("answered", conference.ticket_id)
        assert popped.agent.startswith("agent11")

        service = world.conferences.service
        await service.decide(room, HOTLINE, "12345-01", POLICE)
        now = await service.decide(room, POLICE, "110-07", POLICE)
        assert (now.platform, now.rule) == (POLICE, Rule.AGREED)

        await world.client.action("Hangup", Channel=caller)
        final = await ended(world, room)
        assert final.acceptance is not None and final.acceptance.platform == POLICE
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert (ticket.status, ticket.accepted_by) == (TicketStatus.ACCEPTED, POLICE)
        history = await world.transfers.store.history(conference.ticket_id)
        assert "agreed; decided by 12345-01,110-07 at 20" in history[-1].note
        # "at" is the agents' last word (the 110 agent's decision), before the ending.
        said_at = history[-1].note.split(" at ", 1)[1].split(";", 1)[0]
        assert datetime.fromisoformat(said_at) < history[-1].at
        # Nobody is left on a line: the agents' legs were kicked and hung up.
        await until(
            lambda: not any("agent" in c.name for c in world.live.channels.values()),
            "every agent leg is gone",
        )


async def test_no_decision_is_a_tie_break_to_the_first_platform(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        conference, _caller = await start(world)
        conference = await three_in_room(world, conference.id)
        # The 12345 agent leaves with nobody having decided: 12345 got the call first.
        origin = conference.member_by_role(Role.ORIGIN_AGENT)
        assert origin is not None
        await world.client.action("Hangup", Channel=origin.channel)
        await ticket_accepted(world, conference.ticket_id, HOTLINE)
        history = await world.transfers.store.history(conference.ticket_id)
        assert "tie_break" in history[-1].note and "received the call first" in history[-1].note
        # The accepting side's agent left: the caller is handed to the 12345 queue, where a
        # 12345 agent answers; the 110 agent alone is not kept in the room.
        final = await ended(world, conference.id)
        assert any("caller handed to city-12345" in note for note in final.notes)
        caller = final.member_by_role(Role.CALLER)
        assert caller is not None

        def back_with_12345() -> bool:
            peer = world.live.bridged_peer(caller.uniqueid)
            return peer is not None and peer.name.startswith("Local/agent10")

        await until(back_with_12345, "a 12345 agent has the caller again")


async def test_urgent_ticket_goes_to_110_whatever_the_agents_said(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    urgent = DRAFT.model_copy(update={"urgency": Urgency.URGENT})
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        conference, caller = await start(world, urgent)
        await three_in_room(world, conference.id)
        await world.conferences.service.decide(conference.id, HOTLINE, "12345-01", HOTLINE)
        await world.conferences.service.decide(conference.id, POLICE, "110-07", HOTLINE)
        await world.client.action("Hangup", Channel=caller)
        final = await ended(world, conference.id)
        assert final.acceptance is not None
        assert (final.acceptance.platform, final.acceptance.rule) == (POLICE, Rule.URGENT)
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert ticket.accepted_by == POLICE
        history = await world.transfers.store.history(conference.ticket_id)
        assert "marked urgent" in history[-1].note and "110 dispatches first" in history[-1].note


async def test_the_other_side_not_answering_leaves_the_caller_with_the_first_agent(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    config = ConferenceConfig(ring_timeout_seconds=0.5)
    async with emulated(redis_client, tmp_path, config) as world:
        for agent in ("agent111", "agent112"):
            await world.client.action(
                "QueuePause", Queue="q110-city", Interface=f"Local/{agent}@agents/n", Paused="true"
            )
        conference, caller = await start(world)

        async def failed() -> bool:
            return await ticket_status(world, conference.ticket_id) is TicketStatus.TRANSFER_FAILED

        await eventually(failed, "the ticket says the other side did not answer")
        history = await world.transfers.store.history(conference.ticket_id)
        assert "did not answer" in history[-1].note
        assert "back with the first agent" in history[-1].note
        # Nothing keeps ringing: the 110 leg is gone; caller and 12345 agent are together.
        await until(
            lambda: not any(c.uniqueid.endswith("-1") for c in world.live.channels.values()),
            "the 110 leg is hung up",
        )
        await eventually(lambda: _count(world, conference.id, 2), "two left in the room")
        members = await room_members(world, conference.id)
        assert caller in members
        now = await world.conference(conference.id)
        assert now.state == "talking" and not now.answered


async def test_the_caller_hanging_up_while_110_rings_stops_the_ringing(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        for agent in ("agent111", "agent112"):
            await world.client.action(
                "QueuePause", Queue="q110-city", Interface=f"Local/{agent}@agents/n", Paused="true"
            )
        conference, caller = await start(world)
        await eventually(lambda: _count(world, conference.id, 2), "caller and agent in the room")
        await until(
            lambda: any(
                c.name.startswith("Local/110@inbound") for c in world.live.channels.values()
            ),
            "the 110 queue is being rung",
        )
        await world.client.action("Hangup", Channel=caller)
        final = await ended(world, conference.id)
        assert any("the caller left" in note for note in final.notes)
        await until(
            lambda: (
                not any(
                    c.name.startswith("Local/110@inbound") for c in world.live.channels.values()
                )
            ),
            "nothing keeps ringing at 110",
        )
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert ticket.status is TicketStatus.TRANSFER_FAILED
        history = await world.transfers.store.history(conference.ticket_id)
        assert "before city-110 answered" in history[-1].note


async def test_by_config_the_two_left_stay_together(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    config = ConferenceConfig(keep_in_room_after_agent_leaves=True)
    async with emulated(redis_client, tmp_path, config) as world:
        conference, caller = await start(world)
        conference = await three_in_room(world, conference.id)
        await world.conferences.service.decide(conference.id, HOTLINE, "12345-01", POLICE)
        # 110 accepts, yet its agent leaves first: the caller stays with the 12345 agent.
        other = conference.member_by_role(Role.OTHER_AGENT)
        assert other is not None
        await world.client.action("Hangup", Channel=other.channel)

        async def accepted() -> bool:
            return (await world.conference(conference.id)).acceptance is not None

        await eventually(accepted, "the acceptance is recorded")
        await eventually(lambda: _count(world, conference.id, 2), "two left in the room")
        now = await world.conference(conference.id)
        assert now.state == "talking"
        assert {m.role for m in now.in_room()} == {Role.CALLER, Role.ORIGIN_AGENT}
        assert caller in await room_members(world, conference.id)


async def test_a_missing_110_queue_is_refused_before_anyone_moves(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    missing = PlatformEntry(
        POLICE, "110", "city", "370800", PBX, (QueueEntry("q110-gone", "inbound", "110gone"),)
    )
    platforms = [PLATFORMS[0], missing]
    async with emulated(redis_client, tmp_path, ConferenceConfig(), platforms=platforms) as world:
        caller = await answered_12345_call(world)
        agent = world.live.bridged_peer(caller)
        with pytest.raises(ConferenceError, match="q110-gone does not exist") as refused:
            await world.conferences.service.start(
                ConferenceOrder(pbx=PBX, caller_channel=caller, agent="12345-01", draft=DRAFT)
            )
        assert refused.value.status == 409
        assert not world.pbx.conferences and not world.conferences.rooms.rooms
        assert world.live.bridged_peer(caller) == agent  # still talking, untouched
        # The ticket created for it says why nothing happened.
        keys = [k.decode() async for k in redis_client.scan_iter("hb:ticket:LK-*")]
        (ticket_key,) = [k for k in keys if not k.endswith(":history")]
        ticket = await world.transfers.store.get(ticket_key.removeprefix("hb:ticket:"))
        assert ticket.status is TicketStatus.TRANSFER_FAILED
        history = await world.transfers.store.history(ticket.id)
        assert "q110-gone does not exist" in history[-1].note


async def test_the_first_agent_leaving_while_110_rings_leaves_the_caller_waiting_for_110(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        members = [f"Local/{agent}@agents/n" for agent in ("agent111", "agent112")]
        for member in members:
            await world.client.action(
                "QueuePause", Queue="q110-city", Interface=member, Paused="true"
            )
        conference, caller = await start(world)
        await eventually(lambda: _count(world, conference.id, 2), "caller and agent in the room")
        origin = conference.member_by_role(Role.ORIGIN_AGENT)
        assert origin is not None
        await world.client.action("Hangup", Channel=origin.channel)
        await eventually(lambda: _count(world, conference.id, 1), "the caller alone, waiting")
        assert (await world.conference(conference.id)).state == "ringing"
        # A 110 agent becomes free and answers into the room.
        await world.client.action(
            "QueuePause", Queue="q110-city", Interface=members[0], Paused="false"
        )
        await eventually(lambda: _count(world, conference.id, 2), "caller and 110 agent together")

        async def answered() -> bool:
            return (await world.conference(conference.id)).answered

        await eventually(answered, "the bridge sees the 110 agent join")
        now = await world.conference(conference.id)
        assert {m.role for m in now.in_room()} == {Role.CALLER, Role.OTHER_AGENT}
        assert caller in await room_members(world, conference.id)


async def test_api_removing_the_other_agent_hands_the_caller_to_110_when_110_accepts(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig()) as world:
        conference, _caller = await start(world)
        room = conference.id
        await three_in_room(world, room)
        await world.conferences.service.decide(room, HOTLINE, "12345-01", POLICE)
        # The 12345 agent leaves (removed over the API): 110 accepts and its agent stays.
        await world.conferences.service.remove(room, "origin_agent")

        async def accepted() -> bool:
            return (await world.conference(room)).acceptance is not None

        await eventually(accepted, "the acceptance is recorded")
        await eventually(lambda: _count(world, room, 2), "caller and 110 agent remain")
        now = await world.conference(room)
        assert now.state == "talking"
        assert {m.role for m in now.in_room()} == {Role.CALLER, Role.OTHER_AGENT}
        await ticket_accepted(world, conference.ticket_id, POLICE)
        # Then the 110 agent hangs up: the caller must not stay alone in the room.
        other = now.member_by_role(Role.OTHER_AGENT)
        assert other is not None
        await world.client.action("Hangup", Channel=other.channel)
        final = await ended(world, room)
        assert any("caller handed to city-110" in note for note in final.notes)


async def test_restart_mid_conference_recovers_from_redis_and_confbridgelist(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    pbx = EmulatedPBX.from_config_dir(lab_config(tmp_path), name=PBX, time_scale=10.0)
    await pbx.start()
    try:
        async with connected(redis_client, pbx, ConferenceConfig()) as first:
            conference, caller = await start(first)
            conference = await three_in_room(first, conference.id)
            await first.conferences.service.decide(conference.id, POLICE, "110-07", HOTLINE)
        # While the bridge is down the 12345 agent hangs up: nobody sees it happen.
        origin = conference.member_by_role(Role.ORIGIN_AGENT)
        assert origin is not None
        bystander = AMIClient("127.0.0.1", pbx.ami_port, "bridge", "bridgepass")
        await bystander.connect()
        await bystander.action("Hangup", Channel=origin.channel)
        await until(lambda: len(pbx.conferences[conference.id].members) == 2, "agent gone")
        await bystander.close()

        async with connected(redis_client, pbx, ConferenceConfig()) as second:
            await second.transfers.resync(PBX)
            outcomes = await second.conferences.recover()
            # Redis had the decision, ConfbridgeList the departure: the decision stands and
            # the caller goes to the accepting side (12345), the 110 agent is let go.
            assert outcomes[conference.id] == "closed"
            final = await ended(second, conference.id)
            assert final.acceptance is not None
            assert (final.acceptance.platform, final.acceptance.rule) == (HOTLINE, Rule.DECISION)
            assert any("origin_agent left (restart)" in n for n in final.notes)
            assert any("caller handed to city-12345" in n for n in final.notes)
            ticket = await second.transfers.store.get(conference.ticket_id)
            assert (ticket.status, ticket.accepted_by) == (TicketStatus.ACCEPTED, HOTLINE)

            def back_with_12345() -> bool:
                peer = second.live.bridged_peer(caller)
                return peer is not None and peer.name.startswith("Local/agent10")

            await until(back_with_12345, "a 12345 agent has the caller again")
    finally:
        await pbx.stop()


@pytest.fixture(autouse=True)
def _quiet_emulator_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
