"""One-key transfer orchestration against two scripted AMI peers (real sockets, real Redis).

Every path of MISSION.md and every failure of issue 4 item 5: target queue missing, target
PBX unreachable, AMI error and timeout, nobody answering in time, trunk failure, the caller
hanging up, and a bridge restart in the middle of a transfer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.screenpop.hub import LinkedCall, Listener
from bridge.settings import load_settings
from bridge.tickets import TicketDraft
from bridge.transfers.config import TransferConfig, platform_table, zone_table
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.inflight import InFlight
from bridge.transfers.orchestrator import TransferError, TransferOrder, TransferStarted
from bridge.transfers.stack import TransferStack
from routing.tickets import Direction, Kind, TicketStatus
from telephony.ami.client import AMIClient
from tests.bridge.test_transfer_peer import ScriptedPBX, scripted

JINING = Path(__file__).resolve().parents[2] / "config" / "jining.toml"
SETTINGS = load_settings(JINING)
PLATFORMS = platform_table(SETTINGS)
ZONES = zone_table(SETTINGS)
QUEUES_110 = {q.name for p in SETTINGS.platforms if p.pbx == "pbx-110" for q in p.queues}


@dataclass
class World:
    stack: TransferStack
    pbx: dict[str, ScriptedPBX]

    async def seat(
        self, pbx: str, queue: str, caller: str, agent: str, interface: str, number: str
    ) -> None:
        """A caller answered by an agent of `queue`, as AMI announces it."""
        peer = self.pbx[pbx]
        caller_channel, agent_channel = channel_names(caller, interface)
        # Every channel event carries the whole snapshot, caller id included, as Asterisk's do.
        who = [("CallerIDNum", number), ("CallerIDName", "张三")]
        legs = ((caller_channel, caller), (agent_channel, agent))
        for channel, uniqueid in legs:
            await peer.push_raw(
                [("Event", "Newchannel"), ("Channel", channel), ("Uniqueid", uniqueid), *who]
            )
        for channel, uniqueid in legs:
            await peer.push_raw(
                [
                    ("Event", "BridgeEnter"),
                    ("Channel", channel),
                    ("Uniqueid", uniqueid),
                    ("BridgeUniqueid", f"bridge-{caller}"),
                    *who,
                ]
            )
        await peer.push_raw(
            [
                ("Event", "AgentConnect"),
                ("Queue", queue),
                ("Channel", caller_channel),
                ("Uniqueid", caller),
                ("DestChannel", agent_channel),
                ("DestUniqueid", agent),
                ("Interface", interface),
                ("MemberName", "seat"),
                *who,
            ]
        )
        live = self.stack.links[pbx].live
        await eventually(lambda: live.bridged_peer(caller) is not None, "call seated")


def channel_names(caller: str, interface: str) -> tuple[str, str]:
    return f"PJSIP/citizen-{caller}", f"{interface}-0000{caller[-4:]:0>4}"


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds (no timing asserted; 5 s guard against hangs)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never happened: {what}")


@contextlib.asynccontextmanager
async def world_of(
    redis: aioredis.Redis,
    config: TransferConfig | None = None,
    clock: Callable[[], float] | None = None,
    queues_110: set[str] = QUEUES_110,
) -> AsyncIterator[World]:
    async with (
        scripted("pbx-12345", {"q12345"}) as (p1, c1),
        scripted("pbx-110", set(queues_110)) as (p2, c2),
    ):
        extra = {"clock": clock} if clock else {}
        stack = TransferStack.build(
            redis,
            PLATFORMS,
            ZONES,
            config or TransferConfig(),
            ["pbx-12345", "pbx-110"],
            **extra,  # type: ignore[arg-type]
        )
        stack.attach("pbx-12345", c1)
        stack.attach("pbx-110", c2)
        await c1.connect()
        await c2.connect()
        try:
            yield World(stack, {"pbx-12345": p1, "pbx-110": p2})
        finally:
            await stack.close()


@pytest.fixture
async def world(redis_client: aioredis.Redis) -> AsyncIterator[World]:
    async with world_of(redis_client) as found:
        yield found


async def press(world: World, pbx: str, caller: str, **draft: object) -> TransferStarted:
    order = TransferOrder(
        pbx=pbx,
        caller_channel=caller,
        agent="seat-01",
        agent_channel=world.stack.links[pbx].live.bridged_peer(caller).name,  # type: ignore[union-attr]
        draft=AgentDraft.model_validate(draft),
    )
    return await world.stack.service.start(order)


async def status(world: World, ticket_id: str) -> TicketStatus:
    return (await world.stack.store.get(ticket_id)).status


async def until_status(world: World, ticket_id: str, wanted: TicketStatus) -> None:
    for _ in range(1000):
        if await status(world, ticket_id) is wanted:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{ticket_id} never reached {wanted.value}")


async def arrive(world: World, pbx: str, queue: str, uniqueid: str, ticket_id: str) -> None:
    await world.pbx[pbx].push_raw(
        [
            ("Event", "QueueCallerJoin"),
            ("Queue", queue),
            ("Position", "1"),
            ("Channel", f"IAX2/in-{uniqueid}"),
            ("Uniqueid", uniqueid),
            ("ChanVariable", f"LINKAGE_TICKET={ticket_id}"),
        ]
    )


async def answer(world: World, pbx: str, queue: str, uniqueid: str, interface: str) -> None:
    await world.pbx[pbx].push_raw(
        [
            ("Event", "AgentConnect"),
            ("Queue", queue),
            ("Channel", f"IAX2/in-{uniqueid}"),
            ("Uniqueid", uniqueid),
            ("DestChannel", f"{interface}-00000099"),
            ("DestUniqueid", f"agent-{uniqueid}"),
            ("Interface", interface),
            ("MemberName", "city 110 seat 01"),
        ]
    )


async def next_call(listener: Listener) -> LinkedCall:
    async with asyncio.timeout(5):
        return await listener.inbox.get()


# --- the paths --------------------------------------------------------------------------------


async def test_12345_to_110_blind_queued_answered_and_screen_popped(world: World) -> None:
    await world.seat("pbx-12345", "q12345", "c1", "a1", "PJSIP/12345-01", "13800000001")
    queue_stream = world.stack.hub.listen(queue="q110-city")
    agent_stream = world.stack.hub.listen(agent="110-city-01")

    started = await press(world, "pbx-12345", "c1", kind="求助", summary="邻居噪音 扰民")
    ticket = started.ticket
    assert ticket.status is TicketStatus.TRANSFERRING
    assert ticket.direction is Direction.CITY_12345_TO_CITY_110
    assert (ticket.caller_number, ticket.caller_name, ticket.kind) == (
        "13800000001",
        "张三",
        Kind.HELP,
    )
    p1 = world.pbx["pbx-12345"]
    setvars = {s["Variable"]: (s["Channel"], s["Value"]) for s in p1.named("Setvar")}
    assert setvars == {
        "LINKAGE_TICKET": ("PJSIP/citizen-c1", ticket.id),
        "HB_RETURN": ("PJSIP/citizen-c1", "hb-queue,12345,1"),  # if the trunk fails
    }
    [redirect] = p1.named("Redirect")
    assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (
        "PJSIP/citizen-c1",
        "hb-trunk",
        "110",
    )
    assert world.pbx["pbx-110"].named("QueueStatus")[-1]["Queue"] == "q110-city"
    assert await world.stack.store.ticket_for_call("c1") == ticket.id

    await arrive(world, "pbx-110", "q110-city", "far-1", ticket.id)
    arrived = await next_call(queue_stream)
    assert (arrived.stage, arrived.ticket_id, arrived.uniqueid) == ("arrived", ticket.id, "far-1")
    assert await status(world, ticket.id) is TicketStatus.QUEUED
    assert await world.stack.store.ticket_for_call("far-1") == ticket.id

    await answer(world, "pbx-110", "q110-city", "far-1", "PJSIP/110-city-01")
    answered = await next_call(agent_stream)
    assert (answered.stage, answered.agent) == ("answered", "110-city-01")
    accepted = await world.stack.store.get(ticket.id)
    assert (accepted.status, accepted.accepted_by) == (TicketStatus.ACCEPTED, "110-city-01")
    assert await world.stack.store.ticket_for_call("agent-far-1") == ticket.id
    assert await world.stack.inflight.all() == []
    history = [h.to_status for h in await world.stack.store.history(ticket.id)]
    assert history == [
        TicketStatus.CREATED,
        TicketStatus.TRANSFERRING,
        TicketStatus.QUEUED,
        TicketStatus.ACCEPTED,
    ]


async def test_110_to_12345_goes_over_the_trunk_to_q12345(world: World) -> None:
    await world.seat("pbx-110", "q110-city", "c2", "a2", "PJSIP/110-city-02", "13900000002")
    started = await press(world, "pbx-110", "c2")
    assert started.ticket.direction is Direction.CITY_110_TO_CITY_12345
    assert started.ticket.kind is Kind.HELP  # no draft: what 12345 takes
    [redirect] = world.pbx["pbx-110"].named("Redirect")
    assert (redirect["Context"], redirect["Exten"]) == ("hb-trunk", "12345")
    await arrive(world, "pbx-12345", "q12345", "far-2", started.ticket.id)
    await until_status(world, started.ticket.id, TicketStatus.QUEUED)


async def test_city_110_to_the_county_of_the_incident_on_the_same_pbx(world: World) -> None:
    await world.seat("pbx-110", "q110-city", "c3", "a3", "PJSIP/110-city-03", "13900000003")
    started = await press(world, "pbx-110", "c3", target="110", district_code="370883")
    ticket = started.ticket
    assert ticket.direction is Direction.CITY_110_TO_COUNTY_110
    assert (ticket.target_district, ticket.district_code) == ("370883", "370883")
    [redirect] = world.pbx["pbx-110"].named("Redirect")
    assert (redirect["Context"], redirect["Exten"]) == ("hb-queue", "110370883")
    # Same PBX: the caller keeps its uniqueid; no LINKAGE_TICKET variable needed to match.
    await world.pbx["pbx-110"].push_raw(
        [
            ("Event", "QueueCallerJoin"),
            ("Queue", "q110-370883"),
            ("Position", "1"),
            ("Channel", "PJSIP/citizen-c3"),
            ("Uniqueid", "c3"),
        ]
    )
    await until_status(world, ticket.id, TicketStatus.QUEUED)


async def test_county_110_to_12345_records_both_hops(world: World) -> None:
    await world.seat("pbx-110", "q110-370883", "c4", "a4", "PJSIP/110-370883-01", "13900000004")
    started = await press(world, "pbx-110", "c4", kind="投诉举报")
    ticket = started.ticket
    assert ticket.direction is Direction.COUNTY_110_TO_CITY_12345
    assert [(h.from_district, h.to_platform.value) for h in ticket.hops] == [
        ("370883", "110"),
        ("370800", "12345"),
    ]
    [redirect] = world.pbx["pbx-110"].named("Redirect")
    assert (redirect["Context"], redirect["Exten"]) == ("hb-trunk", "12345")


async def test_consult_mode_keeps_the_agent_until_the_other_side_answers(world: World) -> None:
    await world.seat("pbx-12345", "q12345", "c5", "a5", "PJSIP/12345-05", "13800000005")
    started = await press(world, "pbx-12345", "c5", mode="consult")
    assert started.mode == "consult"
    p1 = world.pbx["pbx-12345"]
    [redirect] = p1.named("Redirect")
    room = redirect["Exten"]
    assert (redirect["Context"], redirect["ExtraChannel"], redirect["ExtraExten"]) == (
        "hb-conf",
        "PJSIP/12345-05-000000c5",
        room,
    )
    [originate] = p1.named("Originate")
    assert (originate["Channel"], originate["Exten"], originate["Variable"]) == (
        "Local/110@hb-trunk/n",
        room,
        f"LINKAGE_TICKET={started.ticket.id}",
    )
    assert not p1.named("Hangup")
    await arrive(world, "pbx-110", "q110-city", "far-5", started.ticket.id)
    await answer(world, "pbx-110", "q110-city", "far-5", "PJSIP/110-city-05")
    await p1.wait_for(lambda: bool(p1.named("Hangup")), "origin agent leaves")
    assert p1.named("Hangup")[0]["Channel"] == "PJSIP/12345-05-000000c5"
    await until_status(world, started.ticket.id, TicketStatus.ACCEPTED)


async def test_a_retried_request_id_returns_the_ticket_and_moves_nobody_twice(
    world: World,
) -> None:
    await world.seat("pbx-12345", "q12345", "c6", "a6", "PJSIP/12345-06", "13800000006")
    order = TransferOrder(pbx="pbx-12345", caller_channel="c6", agent="seat-06", request_id="r-6")
    first = await world.stack.service.start(order)
    again = await world.stack.service.start(order)
    assert (again.created, again.ticket.id) == (False, first.ticket.id)
    assert len(world.pbx["pbx-12345"].named("Redirect")) == 1


# --- refusals and failures ---------------------------------------------------------------------


async def test_a_missing_target_queue_fails_before_anyone_moves(
    redis_client: aioredis.Redis,
) -> None:
    async with world_of(redis_client, queues_110=QUEUES_110 - {"q110-city"}) as world:
        await world.seat("pbx-12345", "q12345", "c7", "a7", "PJSIP/12345-07", "13800000007")
        with pytest.raises(TransferError, match="target queue q110-city does not exist") as caught:
            await press(world, "pbx-12345", "c7")
        assert caught.value.ticket_id is not None
        ticket = await world.stack.store.get(caught.value.ticket_id)
        assert ticket.status is TicketStatus.TRANSFER_FAILED
        assert not world.pbx["pbx-12345"].named("Redirect")
        assert not world.pbx["pbx-12345"].named("Setvar")
        notes = [h.note for h in await world.stack.store.history(ticket.id)]
        assert "target queue q110-city does not exist on pbx-110" in notes


async def test_an_unreachable_target_pbx_fails_before_anyone_moves(world: World) -> None:
    await world.seat("pbx-12345", "q12345", "c8", "a8", "PJSIP/12345-08", "13800000008")
    client = world.stack.links["pbx-110"].client
    assert client is not None
    await client.close()
    world.pbx["pbx-110"].drop_connections()
    await eventually(lambda: not client.connected, "pbx-110 down")
    with pytest.raises(TransferError, match="target PBX pbx-110 unreachable") as caught:
        await press(world, "pbx-12345", "c8")
    assert caught.value.ticket_id is not None
    assert await status(world, caught.value.ticket_id) is TicketStatus.TRANSFER_FAILED
    assert not world.pbx["pbx-12345"].named("Redirect")


@pytest.mark.parametrize(
    ("failing", "how", "message"),
    [
        ("Redirect", "error", "No such channel"),
        ("Redirect", "silent", "no complete reply"),
    ],
)
async def test_an_ami_error_leaves_the_caller_with_the_agent(
    world: World, failing: str, how: str, message: str
) -> None:
    await world.seat("pbx-12345", "q12345", "c9", "a9", "PJSIP/12345-09", "13800000009")
    peer = world.pbx["pbx-12345"]
    if how == "error":
        peer.errors[failing] = message
    else:
        peer.silent.add(failing)
    with pytest.raises(TransferError, match=message) as caught:
        await press(world, "pbx-12345", "c9")
    assert caught.value.ticket_id is not None
    assert await status(world, caught.value.ticket_id) is TicketStatus.TRANSFER_FAILED
    assert await world.stack.inflight.all() == []
    assert world.stack.watcher.watches == {}


@pytest.mark.parametrize("how", ["error", "silent"])
async def test_the_setvars_go_out_with_the_redirect_and_do_not_hold_it_back(
    world: World, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    await world.seat("pbx-12345", "q12345", "c11", "a11", "PJSIP/12345-11", "13800000011")
    peer = world.pbx["pbx-12345"]
    if how == "error":
        peer.errors["Setvar"] = "Permission denied"
    else:
        peer.silent.add("Setvar")
    started = await press(world, "pbx-12345", "c11")
    # On the wire in this order (Asterisk runs one session's actions in arrival order), and
    # the Redirect did not wait for a Setvar reply: none came.
    sent = [a for a in peer.actions if a["Action"] in ("Setvar", "Redirect")]
    assert [(a["Action"], a.get("Variable")) for a in sent] == [
        ("Setvar", "LINKAGE_TICKET"),
        ("Setvar", "HB_RETURN"),
        ("Redirect", None),
    ]
    assert sent[0]["Value"] == started.ticket.id
    assert started.ticket.status is TicketStatus.TRANSFERRING  # the caller has moved on
    assert "transfer under way with a step missing" in caplog.text


async def test_unknown_caller_and_no_path_are_refused_without_a_ticket(world: World) -> None:
    with pytest.raises(TransferError, match="caller channel 'ghost' is not up on pbx-12345"):
        await press_plain(world, "ghost")
    await world.seat("pbx-110", "q110-city", "c10", "a10", "PJSIP/110-city-10", "139")
    with pytest.raises(TransferError, match="district is required"):
        await press(world, "pbx-110", "c10", target="110")
    assert await world.stack.store.redis.keys("hb:ticket:*") == []


async def press_plain(world: World, caller: str) -> TransferStarted:
    order = TransferOrder(pbx="pbx-12345", caller_channel=caller, agent="seat")
    return await world.stack.service.start(order)


async def test_nobody_answering_in_time_sends_the_caller_back_to_the_head_of_the_origin_queue(
    redis_client: aioredis.Redis,
) -> None:
    config = TransferConfig(answer_timeout_seconds=0.2)
    async with world_of(redis_client, config) as world:
        await world.seat("pbx-12345", "q12345", "c11", "a11", "PJSIP/12345-11", "138")
        started = await press(world, "pbx-12345", "c11")
        await arrive(world, "pbx-110", "q110-city", "far-11", started.ticket.id)
        await until_status(world, started.ticket.id, TicketStatus.TRANSFER_FAILED)
        p1 = world.pbx["pbx-12345"]
        prio = [a for a in p1.named("Setvar") if a["Variable"] == "QUEUE_PRIO"]
        assert prio and prio[0]["Value"] == "10"
        back = p1.named("Redirect")[-1]
        assert (back["Channel"], back["Context"], back["Exten"]) == (
            "PJSIP/citizen-c11",
            "hb-queue",
            "12345",
        )
        notes = [h.note for h in await world.stack.store.history(started.ticket.id)]
        assert "no answer in q110-city within 0.2 s" in notes[-1]


async def test_a_trunk_failure_is_recorded_and_the_dialplan_brings_the_caller_back(
    world: World,
) -> None:
    await world.seat("pbx-12345", "q12345", "c12", "a12", "PJSIP/12345-12", "138")
    started = await press(world, "pbx-12345", "c12")
    await world.pbx["pbx-12345"].push_raw(
        [
            ("Event", "UserEvent"),
            ("UserEvent", "LinkageTrunkFailed"),
            ("Channel", "PJSIP/citizen-c12"),
            ("Uniqueid", "c12"),
            ("Ticket", started.ticket.id),
            ("DialStatus", "CHANUNAVAIL"),
        ]
    )
    await until_status(world, started.ticket.id, TicketStatus.TRANSFER_FAILED)
    notes = [h.note for h in await world.stack.store.history(started.ticket.id)]
    assert notes[-1] == "trunk to pbx-110 failed (CHANUNAVAIL)"
    assert len(world.pbx["pbx-12345"].named("Redirect")) == 1  # ours only; the dialplan moves


async def test_a_caller_hanging_up_in_the_target_queue_fails_the_transfer(world: World) -> None:
    await world.seat("pbx-12345", "q12345", "c13", "a13", "PJSIP/12345-13", "138")
    started = await press(world, "pbx-12345", "c13")
    await arrive(world, "pbx-110", "q110-city", "far-13", started.ticket.id)
    await until_status(world, started.ticket.id, TicketStatus.QUEUED)
    await world.pbx["pbx-110"].push_raw(
        [
            ("Event", "QueueCallerAbandon"),
            ("Queue", "q110-city"),
            ("Uniqueid", "far-13"),
            ("Channel", "IAX2/in-far-13"),
        ]
    )
    await until_status(world, started.ticket.id, TicketStatus.TRANSFER_FAILED)


# --- restart in the middle -----------------------------------------------------------------------


async def test_restart_with_the_caller_waiting_resumes_and_finishes(
    redis_client: aioredis.Redis,
) -> None:
    async with world_of(redis_client) as world:
        await world.seat("pbx-12345", "q12345", "c14", "a14", "PJSIP/12345-14", "138")
        started = await press(world, "pbx-12345", "c14")
        ticket_id = started.ticket.id
        # The bridge dies here: its watcher is gone, the caller sits in q110-city.
        await world.stack.close()
        world.pbx["pbx-110"].queue_items.append(
            [
                ("Event", "QueueEntry"),
                ("Queue", "q110-city"),
                ("Position", "1"),
                ("Channel", "IAX2/in-far-14"),
                ("Uniqueid", "far-14"),
                ("Wait", "3"),
            ]
        )
        world.pbx["pbx-110"].channel_items.append(
            [
                ("Event", "CoreShowChannel"),
                ("Channel", "IAX2/in-far-14"),
                ("Uniqueid", "far-14"),
                ("ChanVariable", f"LINKAGE_TICKET={ticket_id}"),
            ]
        )
        async with restarted(redis_client, world) as again:
            assert await again.recover() == {ticket_id: "queued: watching again"}
            assert await status(world, ticket_id) is TicketStatus.QUEUED
            listener = again.hub.listen(agent="110-city-07")
            await world.pbx["pbx-110"].push_raw(
                [
                    ("Event", "AgentConnect"),
                    ("Queue", "q110-city"),
                    ("Channel", "IAX2/in-far-14"),
                    ("Uniqueid", "far-14"),
                    ("DestChannel", "PJSIP/110-city-07-00000001"),
                    ("DestUniqueid", "ag-14"),
                    ("Interface", "PJSIP/110-city-07"),
                ]
            )
            assert (await next_call(listener)).ticket_id == ticket_id
            await until_status(world, ticket_id, TicketStatus.ACCEPTED)


async def test_restart_past_the_deadline_reverts_and_before_the_move_fails(
    redis_client: aioredis.Redis,
) -> None:
    async with world_of(redis_client) as world:
        await world.seat("pbx-12345", "q12345", "c15", "a15", "PJSIP/12345-15", "138")
        started = await press(world, "pbx-12345", "c15")
        await world.stack.close()
        # A second transfer the bridge died in before moving anyone: ticket still `created`.
        store = world.stack.store
        never = await store.create(_draft_of(started), request_id="never-moved", by="seat")
        record = InFlight(
            ticket_id=never.ticket.id,
            mode="blind",
            source_pbx="pbx-12345",
            caller_channel="PJSIP/citizen-c15",
            caller_uniqueid="c15",
            agent_channel=channel_names("c15", "PJSIP/12345-15")[1],
            origin_context="hb-queue",
            origin_extension="12345",
            target_pbx="pbx-110",
            target_queue="q110-city",
            deadline=0.0,
        )
        await world.stack.inflight.save(record, 0.0)
        # The never-moved caller is still bridged with its agent.
        caller_channel, agent_channel = channel_names("c15", "PJSIP/12345-15")
        for channel, uniqueid in ((caller_channel, "c15"), (agent_channel, "a15")):
            world.pbx["pbx-12345"].channel_items.append(
                [
                    ("Event", "CoreShowChannel"),
                    ("Channel", channel),
                    ("Uniqueid", uniqueid),
                    ("BridgeId", "bridge-c15"),
                ]
            )
        far_future = started.ticket.created_at.timestamp() + 10_000
        async with restarted(redis_client, world, clock=lambda: far_future) as again:
            done = await again.recover()
            assert done[never.ticket.id] == "failed: never moved"
            assert done[started.ticket.id] == "watching again"
            await until_status(world, started.ticket.id, TicketStatus.TRANSFER_FAILED)
            back = world.pbx["pbx-12345"].named("Redirect")[-1]
            assert (back["Context"], back["Exten"]) == ("hb-queue", "12345")
            assert await status(world, never.ticket.id) is TicketStatus.TRANSFER_FAILED
            assert await again.inflight.all() == []


def _draft_of(started: TransferStarted) -> TicketDraft:
    fields = set(TicketDraft.model_fields)
    return TicketDraft.model_validate(started.ticket.model_dump(include=fields))


@contextlib.asynccontextmanager
async def restarted(
    redis: aioredis.Redis, world: World, clock: Callable[[], float] | None = None
) -> AsyncIterator[TransferStack]:
    """A new bridge on the same Redis and PBXs, logged in afresh (live models resynced)."""
    extra = {"clock": clock} if clock else {}
    stack = TransferStack.build(
        redis,
        PLATFORMS,
        ZONES,
        TransferConfig(),
        ["pbx-12345", "pbx-110"],
        **extra,  # type: ignore[arg-type]
    )
    clients = []
    for name, peer in world.pbx.items():
        client = AMIClient("127.0.0.1", peer.port, "bridge", "secret", action_timeout=0.5)
        stack.attach(name, client)
        await client.connect()
        clients.append(client)
    try:
        yield stack
    finally:
        await stack.close()
        for client in clients:
            await client.close()


@pytest.mark.parametrize(("ttl", "asked"), [(5.0, 1), (0.0, 2)])
async def test_a_checked_target_queue_is_trusted_for_the_configured_time(
    redis_client: aioredis.Redis, ttl: float, asked: int
) -> None:
    config = TransferConfig(target_check_ttl_seconds=ttl)
    async with world_of(redis_client, config) as world:
        for n in ("16", "17"):
            await world.seat("pbx-12345", "q12345", f"c{n}", f"a{n}", f"PJSIP/12345-{n}", "138")
            await press(world, "pbx-12345", f"c{n}")
        checks = [a for a in world.pbx["pbx-110"].named("QueueStatus") if a.get("Queue")]
        assert len(checks) == asked


async def test_a_consult_caller_hanging_up_stops_the_leg_to_the_other_side(world: World) -> None:
    await world.seat("pbx-12345", "q12345", "c18", "a18", "PJSIP/12345-18", "138")
    started = await press(world, "pbx-12345", "c18", mode="consult")
    p1 = world.pbx["pbx-12345"]
    room = p1.named("Redirect")[0]["Exten"]
    await p1.push_raw([("Event", "Hangup"), ("Channel", "PJSIP/citizen-c18"), ("Uniqueid", "c18")])
    await until_status(world, started.ticket.id, TicketStatus.TRANSFER_FAILED)
    assert [a["Channel"] for a in p1.named("Hangup")] == [f"{room}-1"]
