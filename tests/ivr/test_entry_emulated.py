"""The 12345 entry menu end to end on the emulated 12345 PBX running the shipped dialplan
(`[from-pstn]` -> `AGI(agi://${BRIDGE_AGI}/entry-12345)` -> `Goto(${HB_ROUTE})`): a caller
pressing 2 joins q12345 with HB_KIND 求助 and QUEUE_PRIO 5 and an agent answers; a caller who
stays silent reaches an agent too; with the bridge unreachable (trace 12) the dialplan's
fallback puts the caller in q12345. The emulator has no sound files but `beep` and no PJSIP
phones, so the prompts are `beep` and the seats are Local members (as in the lab traces).
Pressing 9 leaves over the IAX2 trunk, which the emulator does not have: there the test shows
`[hb-trunk]` reached with the urgent ticket and, the trunk failing, the dialplan bringing the
caller back to the head of q12345 (never dropped); the ticket itself is checked over FastAGI
in test_entry_menu.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis

from bridge.ivr_wiring import IvrTickets
from ivr.entry_12345 import add_entry_route
from ivr.prompts import EntryMenu, EntryPrompts
from telephony.agi.routes import AgiRoutes
from telephony.agi.server import FastAgiServer
from telephony.ami.client import AMIClient
from telephony.ami.events import Event
from telephony.pbxsim.pbx import EmulatedPBX
from tests.ivr.test_entry_menu import CITY, ticket_store

CONFIGS = Path(__file__).resolve().parents[2] / "config" / "asterisk"
AGENTS = """
[agents]
exten => _age[n]t.,1,NoOp(Call-taker ${EXTEN} ringing)
 same => n,Ringing()
 same => n,Wait(1)
 same => n,Answer()
 same => n,Wait(600)
 same => n,Hangup()
"""
BEEPS = EntryPrompts(
    greeting="beep", menu="beep", invalid="beep", no_input="beep", to_agent="beep", to_110="beep"
)
# Long enough that the scripted caller's key always lands inside GET DATA (emulated time).
MENU = EntryMenu(prompts=BEEPS, timeout_ms=30_000)


def emulated_config(shipped: Path, folder: Path) -> Path:
    """The shipped PBX folder, each PJSIP seat a Local agent that answers, AGI events on."""
    for item in shipped.iterdir():
        shutil.copy(item, folder / item.name)
    queues = (folder / "queues.conf").read_text(encoding="utf-8")
    queues = re.sub(r"member => PJSIP/([\w-]+),", r"member => Local/agent\1@agents/n,", queues)
    (folder / "queues.conf").write_text(queues, encoding="utf-8")
    # The test watches AGIExecStart to press a key while the menu listens: read class agi.
    manager = (folder / "manager.conf").read_text(encoding="utf-8")
    manager = re.sub(r"^read = (.*)$", r"read = \1,agi", manager, flags=re.M)
    (folder / "manager.conf").write_text(manager, encoding="utf-8")
    with (folder / "extensions.conf").open("a", encoding="utf-8") as extensions:
        extensions.write(AGENTS)
    return folder


@dataclass
class Watched:
    """AMI events the tests wait for, with the channel each is about."""

    events: list[Event] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, event: Event) -> None:
        self.events.append(event)
        self.changed.set()

    def named(self, name: str) -> list[Event]:
        return [event for event in self.events if event.name == name]

    async def first(self, name: str, test: object = None, seconds: float = 10.0) -> Event:
        async def wait() -> Event:
            while True:
                for event in self.named(name):
                    if test is None or (callable(test) and test(event)):
                        return event
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), seconds)


def header(event: Event, name: str) -> str:
    """An AMI header by its name, from a typed event (by field alias) or a generic one."""
    fields = getattr(event, "fields", None)
    if isinstance(fields, dict):
        return str(fields.get(name, ""))
    for field_name, info in type(event).model_fields.items():
        if info.alias == name:
            return str(getattr(event, field_name))
    extra = getattr(event, "headers", None)  # a UserEvent's own headers
    return str(extra.get(name, "")) if isinstance(extra, dict) else ""


def phone_of(channel: str) -> str:
    if not channel.endswith(";2"):
        raise AssertionError(f"expected the ;2 half of a Local call, got {channel}")
    return channel[:-1] + "1"


@dataclass
class Emulated:
    pbx: EmulatedPBX
    client: AMIClient
    server: FastAgiServer
    watched: Watched

    async def call(self, exten: str, context: str = "from-pstn") -> None:
        await self.client.action(
            "Originate",
            Channel=f"Local/{exten}@{context}",
            Application="Wait",
            Data="600",
            Async="true",
            CallerID='"Citizen 0014" <13800000014>',
        )

    async def press_at_prompt(self, digit: str, command: str = "GET DATA beep") -> str:
        """Wait until the flow asks for a key, press `digit` on the caller's phone; returns the
        channel the flow runs on (the ;2 half of the Local call: the phone is ;1, and DTMF
        played on one half is heard by the other, as in trace 14)."""
        started = await self.watched.first(
            "AGIExecStart", lambda e: header(e, "Command").startswith(command)
        )
        channel = header(started, "Channel")
        await self.client.action("PlayDTMF", Channel=phone_of(channel), Digit=digit)
        return channel

    async def joined(self, queue: str) -> Event:
        return await self.watched.first("QueueCallerJoin", lambda e: header(e, "Queue") == queue)

    async def answered(self, queue: str) -> Event:
        return await self.watched.first("AgentConnect", lambda e: header(e, "Queue") == queue)


@contextlib.asynccontextmanager
async def emulated(
    shipped: Path, folder: Path, routes: AgiRoutes, *, agi_reachable: bool = True
) -> AsyncIterator[Emulated]:
    server = FastAgiServer(routes)
    await server.start("127.0.0.1", 0)
    # Unreachable: a port nobody listens on (the server's own, once it is stopped).
    port = server.port
    if not agi_reachable:
        await server.stop(deadline=1)
    pbx = EmulatedPBX.from_config_dir(
        emulated_config(shipped, folder),
        name=shipped.name,
        time_scale=10.0,
        agi_redirect={("127.0.0.1", 4573): ("127.0.0.1", port)},
    )
    await pbx.start()
    client = AMIClient("127.0.0.1", pbx.ami_port, "hotline-bridge", "change-me")
    watched = Watched()
    client.subscribe(watched.record, ["AGIExecStart", "QueueCallerJoin", "AgentConnect"])
    client.subscribe(watched.record, ["QueueCallerLeave", "QueueCallerAbandon", "UserEvent"])
    await client.connect()
    try:
        yield Emulated(pbx, client, server, watched)
    finally:
        await client.close()
        await pbx.stop()
        if agi_reachable:
            await server.stop(deadline=1)


def entry_routes(redis: aioredis.Redis, menu: EntryMenu = MENU) -> AgiRoutes:
    routes = AgiRoutes()
    store = ticket_store(redis)
    add_entry_route(routes, menu, IvrTickets(lambda: store, CITY))
    return routes


async def test_key_2_joins_q12345_with_kind_and_priority_and_is_answered(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    routes = entry_routes(redis_client)
    async with emulated(CONFIGS / "pbx-12345", tmp_path, routes) as world:
        await world.call("12345")
        caller = await world.press_at_prompt("2")
        joined = await world.joined("q12345")
        assert header(joined, "Channel") == caller
        assert getattr(joined, "variables", {}).get("HB_KIND") == "求助"
        prio = await world.client.action("Getvar", Channel=caller, Variable="QUEUE_PRIO")
        assert prio.get("Value") == "5"
        await world.answered("q12345")
        assert world.server.status().sessions_failed == 0


async def test_silence_reaches_an_agent_after_the_retries(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    menu = EntryMenu(prompts=BEEPS, timeout_ms=1000, attempts=2)
    async with emulated(CONFIGS / "pbx-12345", tmp_path, entry_routes(redis_client, menu)) as world:
        await world.call("12345")
        joined = await world.joined("q12345")
        starts = [header(e, "Command") for e in world.watched.named("AGIExecStart")]
        assert starts.count("GET DATA beep 1000 1") == 2
        assert not getattr(joined, "variables", {}).get("HB_KIND")
        await world.answered("q12345")


async def test_an_unreachable_bridge_falls_back_to_the_12345_queue(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    routes = entry_routes(redis_client)
    async with emulated(CONFIGS / "pbx-12345", tmp_path, routes, agi_reachable=False) as world:
        await world.call("12345")
        await world.joined("q12345")
        await world.answered("q12345")
        assert world.watched.named("AGIExecStart") == []


async def test_key_9_tries_the_110_trunk_and_a_failed_trunk_keeps_the_caller(
    tmp_path: Path, redis_client: aioredis.Redis
) -> None:
    async with emulated(CONFIGS / "pbx-12345", tmp_path, entry_routes(redis_client)) as world:
        await world.call("12345")
        caller = await world.press_at_prompt("9")
        failed = await world.watched.first(
            "UserEvent", lambda e: header(e, "UserEvent") == "LinkageTrunkFailed"
        )
        # [hb-trunk] dialled IAX2/to110/110 with the ticket, and says the dial failed.
        assert header(failed, "Channel") == caller
        ticket_id = header(failed, "Ticket")
        assert ticket_id.startswith("LK-")
        joined = await world.joined("q12345")
        assert header(joined, "Channel") == caller
        assert getattr(joined, "variables", {}).get("LINKAGE_TICKET") == ticket_id
        assert getattr(joined, "variables", {}).get("HB_KIND") == "报警"
        prio = await world.client.action("Getvar", Channel=caller, Variable="QUEUE_PRIO")
        assert prio.get("Value") == "10"
    ticket = await ticket_store(redis_client).get(ticket_id)
    assert ticket.urgency.value == "urgent"
