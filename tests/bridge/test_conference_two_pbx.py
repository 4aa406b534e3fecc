"""Three-party calls across the two emulated PBXs, end to end, nothing played by the test but
the people's keys: the shipped pbx-12345 and pbx-110 folders (as the demo prepares them: seats
become emulated phones), joined by their IAX2 trunk, the bridge's FastAGI server and real
Redis.

A 12345 agent presses *9 (features.conf -> [hb-threeparty] -> AGI threeparty) -> caller and
agent in a room on the 12345 PBX -> the room's Originate rings the city 110 queue on the OTHER
PBX over the trunk ([hb-trunk] Dial(IAX2/to110/110)) -> a 110 seat answers, its screen-pop
hears the ticket -> the agents press hb_menu keys in the room (ConfBridge menu ->
dialplan_exec(hb-conf-keys) -> AGI conference-key) -> the endings.

The 110 agent's key is pressed on the 110 seat's own phone on the 110 PBX: the emulator passes
it through the seat's bridge and over the trunk to the room leg, as Asterisk passes DTMF.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.model import Conference
from bridge.conferences.phone import PhoneConferences
from bridge.conferences.stack import ConferenceStack
from bridge.demo.phones import prepare_pbx_dir
from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.stack import TransferStack
from ivr.conference_keys import KeyPrompts, KeyResult, add_conference_key_route
from ivr.onekey import CallerLookup, KeyPress
from ivr.threeparty import ThreePartyResult, add_threeparty_route
from routing.conference_rules import Role, Rule
from routing.tickets import Kind, TicketStatus, Urgency
from telephony.agi import AgiRoutes, FastAgiServer
from telephony.ami.client import AMIClient
from telephony.pbxsim.pbx import EmulatedPBX
from telephony.pbxsim.trunk import IaxNetwork
from tests.bridge.test_conference_emulated import answered_call, eventually, until
from tests.bridge.test_transfer_orchestration import PLATFORMS, ZONES, next_call

ASTERISK = Path(__file__).resolve().parents[2] / "config" / "asterisk"
PBXS = ("pbx-12345", "pbx-110")
HOTLINE, POLICE = "12345-370800", "110-370800"
TIME_SCALE = 10.0
DRAFT = AgentDraft(kind=Kind.HELP, summary="小区门口井盖丢失", target="110")


@dataclass
class TwoPbx:
    transfers: TransferStack
    conferences: ConferenceStack
    clients: dict[str, AMIClient]
    pbxs: dict[str, EmulatedPBX]

    async def conference(self, room: str) -> Conference:
        return await self.conferences.service.get(room)

    async def answered_12345_call(self) -> tuple[str, str]:
        """A citizen answered by a 12345 seat: (caller's channel, agent's channel)."""
        return await answered_call(
            self.clients["pbx-12345"],
            self.transfers.links["pbx-12345"].live,
            "Local/12345@hb-queue",
            ";2",
            "hb-demo-phones",
            Application="Wait",
            Data="600",
            CallerID='"张三" <13800000001>',
        )

    async def press(self, pbx: str, phone: str, keys: str) -> None:
        """`keys` sent from a phone: on a Local `;2`, heard by its `;1` (trace 09)."""
        for digit in keys:
            await self.clients[pbx].action("PlayDTMF", Channel=phone, Digit=digit)

    async def room_of_star_9(self, agent: str) -> Conference:
        await self.press("pbx-12345", agent[:-1] + "2", "*9")
        rooms = self.conferences.rooms.rooms
        await until(lambda: len(rooms) == 1, "a room is started")
        (started,) = rooms.values()
        return started

    async def three_in_room(self, room: str) -> Conference:
        async def answered() -> bool:
            return (await self.conference(room)).answered

        await eventually(answered, "the 110 agent joins the room over the trunk")
        conference = self.pbxs["pbx-12345"].conferences
        await until(lambda: len(conference[room].members) == 3, "three in the room")
        return await self.conference(room)

    async def ended(self, room: str) -> Conference:
        async def done() -> bool:
            return (await self.conference(room)).state == "ended"

        await eventually(done, f"conference {room} ends")
        return await self.conference(room)

    async def decision_on(self, channel: str) -> str:
        """HB_CONF_DECISION as the last decision key run on `channel` left it."""
        reply = await self.clients["pbx-12345"].action(
            "Getvar", Channel=channel, Variable="HB_CONF_DECISION"
        )
        return str(reply.get("Value") or "")


def _bridge_routes(routes: AgiRoutes, holder: list[TwoPbx]) -> None:
    """threeparty and conference-key, served by the world once it is built."""

    class Late:
        async def three_party(self, press: KeyPress, find_caller: CallerLookup) -> ThreePartyResult:
            return await _phone(holder).three_party(press, find_caller)

        async def conference_key(self, uniqueid: str, channel: str, key: str) -> KeyResult:
            return await _phone(holder).conference_key(uniqueid, channel, key)

    add_threeparty_route(routes, Late(), "hotline-bridge/threeparty-failed")
    add_conference_key_route(routes, Late(), KeyPrompts())


def _phone(holder: list[TwoPbx]) -> PhoneConferences:
    world = holder[0]
    return PhoneConferences(world.transfers, world.conferences.service)


async def _said(world: TwoPbx, channel: str, platform: str) -> bool:
    return await world.decision_on(channel) == platform


def _caller_with_menu(dialplan: str) -> str:
    """An administrator giving the caller the agents' menu too."""
    return dialplan.replace(
        "ConfBridge(${EXTEN},hb_bridge,hb_user)\n",
        "ConfBridge(${EXTEN},hb_bridge,hb_user,hb_menu)\n",
    )


@contextlib.asynccontextmanager
async def two_pbxs(
    redis: aioredis.Redis,
    folder: Path,
    config: ConferenceConfig,
    edit_12345: Callable[[str], str] = str,
) -> AsyncIterator[TwoPbx]:
    holder: list[TwoPbx] = []
    routes = AgiRoutes()
    _bridge_routes(routes, holder)
    agi = FastAgiServer(routes)
    await agi.start("127.0.0.1", 0)
    network = IaxNetwork()
    pbxs: dict[str, EmulatedPBX] = {}
    for name in PBXS:
        prepare_pbx_dir(ASTERISK / name, folder / name)
        if name == "pbx-12345":
            dialplan = folder / name / "extensions.conf"
            dialplan.write_text(edit_12345(dialplan.read_text(encoding="utf-8")), encoding="utf-8")
        pbxs[name] = EmulatedPBX.from_config_dir(
            folder / name,
            name=name,
            time_scale=TIME_SCALE,
            agi_redirect={("127.0.0.1", 4573): ("127.0.0.1", agi.port)},
            iax_network=network,
            sounds=ASTERISK / "sounds",
        )
    transfers = TransferStack.build(redis, PLATFORMS, ZONES, TransferConfig(), PBXS)
    conferences = ConferenceStack.build(transfers, config)
    clients: dict[str, AMIClient] = {}

    try:
        for name, pbx in pbxs.items():
            await pbx.start()
            clients[name] = AMIClient("127.0.0.1", pbx.ami_port, "hotline-bridge", "change-me")
            transfers.attach(name, clients[name])
            conferences.attach(name, clients[name])
            await clients[name].connect()
        holder.append(TwoPbx(transfers, conferences, clients, pbxs))
        yield holder[0]
    finally:
        conferences.close()
        await transfers.close()
        for client in clients.values():
            await client.close()
        for pbx in pbxs.values():
            await pbx.stop()
        await agi.stop(deadline=1)


async def test_star_9_calls_110_over_the_trunk_and_both_agents_decide_by_key(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with two_pbxs(redis_client, tmp_path, ConferenceConfig()) as world:
        caller, agent = await world.answered_12345_call()
        await world.transfers.drafts.put("12345-01@hb-demo-phones", DRAFT)
        arrivals = world.transfers.hub.listen(queue="q110-city")
        started = await world.room_of_star_9(agent)
        conference = await world.three_in_room(started.id)
        room = conference.id
        assert conference.pbx == "pbx-12345" and conference.target_pbx == "pbx-110"
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert (ticket.summary, ticket.status) == (DRAFT.summary, TicketStatus.QUEUED)
        # The 110 seat on the other PBX answered; its screen-pop heard the ticket.
        popped = await next_call(arrivals)
        assert (popped.stage, popped.pbx, popped.ticket_id) == ("answered", "pbx-110", ticket.id)
        assert popped.agent.startswith("110-city-")
        live_110 = world.transfers.links["pbx-110"].live
        seat = next(c for c in live_110.channels.values() if popped.agent in c.name)
        reply = await world.clients["pbx-110"].action(
            "Getvar", Channel=seat.name, Variable="LINKAGE_TICKET"
        )
        assert reply.get("Value") == ticket.id

        origin = conference.member_by_role(Role.ORIGIN_AGENT)
        other = conference.member_by_role(Role.OTHER_AGENT)
        assert origin is not None and other is not None and origin.channel == agent
        # The caller's keys decide nothing: the caller's room has no menu.
        await world.press("pbx-12345", caller[:-1] + "1", "1")
        # 12345's agent says "the other platform" (2), 110's agent "mine" (1): agreed on 110.
        await world.press("pbx-12345", agent[:-1] + "2", "2")
        await eventually(lambda: _said(world, agent, POLICE), "12345's key is heard")
        # 110's seat presses on its own phone: the digit crosses the seat's call and the IAX2
        # trunk to the room leg on the 12345 PBX, whose menu hears it.
        await world.clients["pbx-110"].action(
            "PlayDTMF", Channel=seat.name, Digit="1", Receive="yes"
        )
        await eventually(lambda: _said(world, other.channel, POLICE), "110's key is heard")
        now = await world.conference(room)
        assert [(v.voter_platform, v.platform) for v in now.votes] == [
            (HOTLINE, POLICE),
            (POLICE, POLICE),
        ]
        assert world.conferences.rooms.provisional(now).rule is Rule.AGREED

        # The caller hangs up: the room closes, nothing is left on either PBX.
        await world.clients["pbx-12345"].action("Hangup", Channel=caller)
        final = await world.ended(room)
        assert final.acceptance is not None
        assert (final.acceptance.platform, final.acceptance.rule) == (POLICE, Rule.AGREED)
        ticket = await world.transfers.store.get(conference.ticket_id)
        assert (ticket.status, ticket.accepted_by) == (TicketStatus.ACCEPTED, POLICE)
        await until(lambda: room not in world.pbxs["pbx-12345"].conferences, "room gone")
        await until(lambda: not live_110.channels, "nothing is left on the 110 PBX")


async def test_a_caller_pressing_a_decision_key_is_refused(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    """The shipped caller's room has no menu; an administrator giving the caller hb_menu
    anyway gets the caller's key refused by the bridge, and the caller hears so."""
    async with two_pbxs(redis_client, tmp_path, ConferenceConfig(), _caller_with_menu) as world:
        caller, agent = await world.answered_12345_call()
        started = await world.room_of_star_9(agent)
        conference = await world.three_in_room(started.id)
        await world.press("pbx-12345", caller[:-1] + "1", "1")
        await eventually(lambda: _said(world, caller, "refused"), "the caller's key is refused")
        assert not (await world.conference(conference.id)).votes
        members = world.pbxs["pbx-12345"].conferences[conference.id].members
        assert caller in {m.name for m in members}  # still in the room


async def test_urgent_ticket_goes_to_110_and_the_12345_agent_leaving_keeps_110_with_caller(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    urgent = DRAFT.model_copy(update={"urgency": Urgency.URGENT})
    async with two_pbxs(redis_client, tmp_path, ConferenceConfig()) as world:
        caller, agent = await world.answered_12345_call()
        await world.transfers.drafts.put("12345-01@hb-demo-phones", urgent)
        started = await world.room_of_star_9(agent)
        conference = await world.three_in_room(started.id)
        # 12345's agent keeps it (1) and leaves: urgent overrides, 110 keeps the caller.
        await world.press("pbx-12345", agent[:-1] + "2", "1")
        await eventually(lambda: _said(world, agent, POLICE), "urgent: 110 whatever was said")
        await world.clients["pbx-12345"].action("Hangup", Channel=agent)

        async def accepted() -> bool:
            return (await world.conference(conference.id)).acceptance is not None

        await eventually(accepted, "the acceptance is recorded")
        now = await world.conference(conference.id)
        assert now.acceptance is not None
        assert (now.acceptance.platform, now.acceptance.rule) == (POLICE, Rule.URGENT)
        assert now.state == "talking"
        assert {m.role for m in now.in_room()} == {Role.CALLER, Role.OTHER_AGENT}
        members = world.pbxs["pbx-12345"].conferences[conference.id].members
        assert caller in {m.name for m in members}
        # The 110 agent hangs up on its own PBX: the call crosses back, the room closes and
        # the caller is not left alone (handed to 110's queue over the trunk).
        other = now.member_by_role(Role.OTHER_AGENT)
        assert other is not None
        live_110 = world.transfers.links["pbx-110"].live
        seat = next(c for c in live_110.channels.values() if "hb-demo-phones" in c.name)
        await world.clients["pbx-110"].action("Hangup", Channel=seat.name)
        final = await world.ended(conference.id)
        assert any(f"caller handed to {POLICE}" in note for note in final.notes)


async def test_110_not_answering_over_the_trunk_leaves_the_caller_with_the_12345_agent(
    redis_client: aioredis.Redis, tmp_path: Path
) -> None:
    async with two_pbxs(redis_client, tmp_path, ConferenceConfig(ring_timeout_seconds=1)) as world:
        seats = world.pbxs["pbx-110"].config.queues["q110-city"].members
        for seat in seats:
            await world.clients["pbx-110"].action(
                "QueuePause", Queue="q110-city", Interface=seat.interface, Paused="true"
            )
        caller, agent = await world.answered_12345_call()
        started = await world.room_of_star_9(agent)
        live_110 = world.transfers.links["pbx-110"].live
        await until(lambda: bool(live_110.channels), "the trunk call waits in q110-city")

        async def failed() -> bool:
            ticket = await world.transfers.store.get(started.ticket_id)
            return ticket.status is TicketStatus.TRANSFER_FAILED

        await eventually(failed, "the ticket says 110 did not answer")
        history = await world.transfers.store.history(started.ticket_id)
        assert "did not answer" in history[-1].note
        # Nothing keeps ringing on either PBX; caller and 12345 agent are still together.
        await until(lambda: not live_110.channels, "the trunk call is gone from the 110 PBX")
        room = world.pbxs["pbx-12345"].conferences[started.id]
        await until(lambda: len(room.members) == 2, "two left in the room")
        assert {m.name for m in room.members} == {caller, agent}
        now = await world.conference(started.id)
        assert now.state == "talking" and not now.answered


@pytest.fixture(autouse=True)
def _quiet_emulator_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING")
