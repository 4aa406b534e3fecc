"""Starting a three-party call and taking the agents' decisions.

Start (from the phone's feature code or ``POST /api/conferences``), each failure before the
move leaving the call as it was:

1. the caller's channel on the agent's PBX and the path to the other platform, as the one-key
   transfer finds them (bridge.transfers: live model, queue of the call, routing.transfer_paths);
2. the linkage ticket: the one the call already carries (``LINKAGE_TICKET`` or a call link)
   is reused, else one is created from the agent's draft; the other platform's queue is
   checked to exist (a Redirect/Originate toward a missing one answers Success, trace 15);
3. a fresh room number (Redis INCR), the conference saved, ticket -> ``transferring``,
   ``Setvar __LINKAGE_TICKET`` on the caller;
4. ONE ``Redirect`` with ``ExtraChannel`` moves caller (through [hb-conf-caller]: a short
   prompt, then the room) and agent (straight into [hb-conf]) without dropping either
   (trace 13); then ``Originate Local/<entry>/n`` -> [hb-conf] <room>, ``ChannelId``
   ``<room>-1``, ``__LINKAGE_TICKET`` attached, ``Timeout`` = the ring time: the other
   platform's queue rings and its agent lands in the room with the ticket (screen-pop);
5. bridge.conferences.rooms keeps the room to its rules from there.

The room lives on the origin PBX. When the other platform is on the other PBX, the plan's
entry is the trunk context (hb-trunk): the originated Local leg crosses the IAX2 trunk carrying
the ticket as IAXVAR, exactly like a transferred caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import NoReturn

from redis.exceptions import RedisError

from bridge.conferences.model import Conference, Member
from bridge.conferences.rooms import RoomKeeper
from bridge.tickets import Ticket, TicketNotFound
from bridge.transfers.drafts import agent_id_of
from bridge.transfers.orchestrator import TransferError, TransferOrder, TransferService
from bridge.transfers.outcomes import PbxLink
from routing.conference_rules import Acceptance, Role, Vote, vote_for_key
from routing.tickets import IllegalTransition, TicketStatus, Urgency
from routing.transfer_paths import TransferPlan
from telephony.live import Channel

# A ticket in one of these may be (re)sent to another platform: it can be reused.
REUSABLE = frozenset(
    {
        TicketStatus.CREATED,
        TicketStatus.RETURNED,
        TicketStatus.REJECTED,
        TicketStatus.TRANSFER_FAILED,
    }
)
DangerCheck = Callable[[str], str]  # summary -> why it is a danger ("" when it is not)


class ConferenceError(Exception):
    """A three-party call refused or failed; `status` is the HTTP status that fits."""

    def __init__(self, reason: str, *, status: int = 409) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# A three-party call starts from the same order as a one-key transfer (which call, who, the
# draft; bridge.call_requests builds it from either API's body).
ConferenceOrder = TransferOrder


class ConferenceService:
    def __init__(
        self,
        transfers: TransferService,
        rooms: RoomKeeper,
        danger_check: DangerCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.transfers = transfers
        self.rooms = rooms
        self.danger_check = danger_check
        self.clock = clock

    # --- start -----------------------------------------------------------------------------

    async def start(self, order: ConferenceOrder) -> Conference:
        link = self._link(order.pbx)
        caller = link.live.channel(order.caller_channel)
        if caller is None:
            raise ConferenceError(
                f"caller channel {order.caller_channel!r} is not up on {order.pbx}", status=404
            )
        agent = self._agent_leg(link, caller, order.agent_channel)
        transfer = replace(order, caller_channel=caller.uniqueid, agent_channel=agent.name)
        try:
            # The one-key transfer's own steps, so both features agree on origin and path.
            plan = self.transfers.plan(link, caller, transfer)
            # Both are round trips (Redis, the target PBX): side by side.
            ticket, refused = await asyncio.gather(
                self._ticket(plan, caller, transfer), self._target_problem(plan)
            )
        except TransferError as exc:
            raise ConferenceError(exc.reason, status=exc.status) from None
        existing = await self._running_for(ticket.id)
        if existing is not None:
            return existing  # a retried request: nothing is moved twice
        if refused is not None:
            await self._refuse(ticket, order.agent, refused)
        conference = await self._new_conference(plan, ticket, caller, agent, order.agent)
        await self._move(conference, caller, agent)
        return conference

    def _link(self, pbx: str) -> PbxLink:
        link = self.rooms.links.get(pbx)
        if link is None:
            raise ConferenceError(f"PBX {pbx!r} is not configured", status=404)
        if link.client is None or not link.client.connected:
            raise ConferenceError(f"PBX {pbx} is unreachable (AMI not connected)", status=503)
        return link

    @staticmethod
    def _agent_leg(link: PbxLink, caller: Channel, named: str) -> Channel:
        found = link.live.channel(named) if named else link.live.bridged_peer(caller.uniqueid)
        if found is None:
            what = f"agent channel {named!r}" if named else f"no agent bridged with {caller.name}"
            raise ConferenceError(f"{what} is not up on {link.name}", status=404)
        return found

    async def _ticket(self, plan: TransferPlan, caller: Channel, order: TransferOrder) -> Ticket:
        """The ticket the call carries when it may be sent on, else a new one."""
        store = self.transfers.store
        carried = caller.variables.get("LINKAGE_TICKET") or await store.ticket_for_call(
            caller.uniqueid
        )
        if carried:
            try:
                ticket = await store.get(carried)
            except TicketNotFound:
                ticket = None
            if ticket is not None and ticket.status in REUSABLE:
                return ticket
        draft = self.transfers.ticket_draft(plan, caller, order)
        request_id = order.request_id or f"conference-{caller.uniqueid}"
        try:
            return (await store.create(draft, request_id=request_id, by=order.agent)).ticket
        except ValueError as exc:  # IdempotencyConflict is one
            raise ConferenceError(str(exc), status=409) from None
        except (RedisError, OSError) as exc:
            raise ConferenceError(f"ticket store unreachable: {exc}", status=503) from None

    async def _running_for(self, ticket_id: str) -> Conference | None:
        room = await self.rooms.store.room_of_ticket(ticket_id)
        found = None if room is None else await self.rooms.store.get(room)
        return found if found is not None and found.state != "ended" else None

    async def _target_problem(self, plan: TransferPlan) -> ConferenceError | None:
        """Why the other platform's queue cannot be called, or None when it can."""
        target = self.transfers.links.get(plan.target.pbx) or PbxLink(
            plan.target.pbx, self.rooms.links[plan.entry.pbx].live
        )
        try:
            exists = await self.transfers.queue_exists(target, plan.target_queue)
        except Exception as exc:  # AMIError or a lost connection: the PBX cannot be asked
            return ConferenceError(f"target PBX {target.name} unreachable: {exc}", status=502)
        if not exists:
            return ConferenceError(
                f"target queue {plan.target_queue} does not exist on {target.name}", status=409
            )
        return None

    async def _refuse(self, ticket: Ticket, agent: str, error: ConferenceError) -> NoReturn:
        """The other platform cannot be called: the ticket says why, nobody was moved."""
        with contextlib.suppress(IllegalTransition, RedisError, OSError):
            await self.transfers.store.transition(
                ticket.id, TicketStatus.TRANSFER_FAILED, by=agent, note=error.reason
            )
        raise error

    async def _new_conference(
        self, plan: TransferPlan, ticket: Ticket, caller: Channel, agent: Channel, agent_id: str
    ) -> Conference:
        room = await self.rooms.store.next_room()
        origin_queue = plan.origin.queues[0]
        police = next((p.id for p in (plan.origin, plan.target) if p.kind == "110"), None)
        now = self.clock()
        conference = Conference(
            id=room,
            ticket_id=ticket.id,
            pbx=plan.entry.pbx,
            origin_platform=plan.origin.id,
            other_platform=plan.target.id,
            first_platform=self._first_platform(ticket, plan),
            police_platform=police,
            danger=self._danger(ticket),
            members={
                caller.uniqueid: Member(
                    uniqueid=caller.uniqueid, channel=caller.name, role=Role.CALLER
                ),
                agent.uniqueid: Member(
                    uniqueid=agent.uniqueid,
                    channel=agent.name,
                    role=Role.ORIGIN_AGENT,
                    agent=agent_id,
                ),
            },
            other_leg=f"{room}-1",
            entry_context=plan.entry.context,
            entry_extension=plan.entry.extension,
            target_pbx=plan.target.pbx,
            target_queue=plan.target_queue,
            origin_context=origin_queue.context,
            origin_extension=origin_queue.extension,
            ring_deadline=now + self.rooms.config.ring_timeout_seconds,
            created_at=now,
        )
        await self.rooms.save(conference)
        return conference

    def _first_platform(self, ticket: Ticket, plan: TransferPlan) -> str:
        """Who received the call first: the ticket's origin (a reused ticket may predate this
        platform's part), else the platform starting the conference."""
        for platform in self.transfers.platforms:
            key = (platform.kind, platform.level, platform.district_code)
            origin = (ticket.origin_platform.value, ticket.origin_level.value)
            if key == (*origin, ticket.origin_district) and platform.id in (
                plan.origin.id,
                plan.target.id,
            ):
                return platform.id
        return plan.origin.id

    def _danger(self, ticket: Ticket) -> str:
        if ticket.urgency in (Urgency.URGENT, Urgency.CRITICAL):
            return f"ticket {ticket.id} marked {ticket.urgency.value}"
        if self.danger_check is not None and ticket.summary:
            return self.danger_check(ticket.summary)
        return ""

    async def _move(self, conference: Conference, caller: Channel, agent: Channel) -> None:
        rooms, config, room = self.rooms, self.rooms.config, conference.id
        note = f"three-party call in room {room} on {conference.pbx}, calling "
        note += f"{conference.other_platform} via {conference.entry_context},"
        note += f"{conference.entry_extension}"
        # The ticket's move and the caller's tag are independent round trips: side by side.
        moved, tagged = await asyncio.gather(
            self.transfers.store.transition(
                conference.ticket_id, TicketStatus.TRANSFERRING, by=_by(conference), note=note
            ),
            rooms.ami(
                conference.pbx,
                "Setvar",
                Channel=caller.name,
                Variable="__LINKAGE_TICKET",
                Value=conference.ticket_id,
            ),
            return_exceptions=True,
        )
        if isinstance(moved, IllegalTransition | RedisError | OSError):
            await self._abandon(conference, f"ticket not moved to transferring: {moved}")
        if isinstance(moved, BaseException):
            raise moved
        problem = str(tagged) if isinstance(tagged, BaseException) else tagged
        problem = problem or await rooms.ami(
            conference.pbx,
            "Redirect",
            Channel=caller.name,
            Context=config.caller_context,
            Exten=room,
            Priority="1",
            ExtraChannel=agent.name,
            ExtraContext=config.room_context,
            ExtraExten=room,
            ExtraPriority="1",
        )
        if problem:
            await self._abandon(conference, f"could not move caller and agent: {problem}")
        rooms.arm_ring_timer(conference)
        problem = await rooms.ami(
            conference.pbx,
            "Originate",
            Channel=f"Local/{conference.entry_extension}@{conference.entry_context}/n",
            Context=config.room_context,
            Exten=room,
            Priority="1",
            Async="true",
            Timeout=str(int(config.ring_timeout_seconds * 1000)),
            ChannelId=conference.other_leg,
            OtherChannelId=f"{room}-2",
            Variable=f"__LINKAGE_TICKET={conference.ticket_id}",
        )
        if problem:
            async with rooms.lock(room):
                await rooms.other_side_failed(conference, f"could not be called: {problem}")

    async def _abandon(self, conference: Conference, reason: str) -> None:
        """Nothing was moved: the ticket says why and the conference is over."""
        try:
            await self.transfers.store.transition(
                conference.ticket_id, TicketStatus.TRANSFER_FAILED, by="hotline-bridge", note=reason
            )
        except (IllegalTransition, RedisError, OSError):
            pass  # the conference record below still says why
        conference.state = "ended"
        conference.notes.append(f"not started: {reason}")
        await self.rooms.save(conference)
        raise ConferenceError(reason, status=502)

    # --- decisions and members -------------------------------------------------------------

    async def get(self, room: str) -> Conference:
        found = self.rooms.rooms.get(room) or await self.rooms.store.get(room)
        if found is None:
            raise ConferenceError(f"no conference {room!r}", status=404)
        return found

    async def decide(self, room: str, voter_platform: str, by: str, platform: str) -> Acceptance:
        """Record an agent's word (`platform` should accept); the answer as things stand."""
        async with self.rooms.lock(room):
            conference = await self._running(room)
            pair = (conference.origin_platform, conference.other_platform)
            if voter_platform not in pair:
                raise ConferenceError(
                    f"platform {voter_platform} is not in conference {room} ({', '.join(pair)})",
                    status=403,
                )
            if platform not in pair:
                raise ConferenceError(
                    f"platform must be one of {', '.join(pair)}, got {platform!r}", status=422
                )
            conference.votes.append(Vote(voter_platform, by, platform, self.clock()))
            conference.notes.append(f"{by} ({voter_platform}): {platform} accepts")
            await self.rooms.save(conference)
            return self.rooms.provisional(conference)

    async def key_pressed(self, uniqueid: str, channel: str, key: str) -> Acceptance:
        """A decision key (hb_menu 1/2) pressed in a room by the channel `uniqueid`."""
        found = self.rooms.find_member(uniqueid, channel)
        if found is None:
            raise ConferenceError(
                f"channel {channel or uniqueid} is in no three-party call", status=404
            )
        conference, member = found
        mine = conference.platform_of(member.role)
        if mine is None:
            raise ConferenceError("only the agents decide who accepts", status=403)
        pair = (conference.origin_platform, conference.other_platform)
        other = pair[1] if mine == pair[0] else pair[0]
        try:
            platform = vote_for_key(key, mine, other)
        except ValueError as exc:
            raise ConferenceError(str(exc), status=422) from None
        agent = member.agent or agent_id_of(member.channel)
        return await self.decide(conference.id, mine, agent, platform)

    async def remove(self, room: str, who: str) -> Member:
        """Kick a member (by role or uniqueid), or stop ringing the other side; the room's
        rules do the rest."""
        conference = await self._running(room)
        member = next(
            (m for m in conference.in_room() if who in (m.uniqueid, m.role.value, m.channel)),
            None,
        )
        ringing = not conference.answered and conference.ring_deadline > 0
        if member is None and ringing and who in (Role.OTHER_AGENT.value, conference.other_leg):
            return await self._stop_ringing(conference)
        if member is None:
            raise ConferenceError(f"no member {who!r} in conference {room}", status=404)
        problem = await self.rooms.ami(
            conference.pbx, "ConfbridgeKick", Conference=room, Channel=member.channel
        )
        if problem:
            raise ConferenceError(f"PBX refused to remove {member.channel}: {problem}", status=502)
        return member

    async def _stop_ringing(self, conference: Conference) -> Member:
        """The other side is still being rung: stop calling it (the caller stays with the
        first agent; its leg's Hangup is handled as not answered)."""
        channel = self.rooms.leg_name(conference)
        problem = await self.rooms.ami(conference.pbx, "Hangup", Channel=channel)
        if problem:
            raise ConferenceError(f"PBX refused to stop ringing {channel}: {problem}", status=502)
        return Member(uniqueid=conference.other_leg, channel=channel, role=Role.OTHER_AGENT)

    async def _running(self, room: str) -> Conference:
        conference = self.rooms.rooms.get(room)
        if conference is None:
            stored = await self.rooms.store.get(room)
            if stored is None:
                raise ConferenceError(f"no conference {room!r}", status=404)
            raise ConferenceError(f"conference {room} has ended", status=409)
        return conference


def _by(conference: Conference) -> str:
    member = conference.member_by_role(Role.ORIGIN_AGENT)
    return member.agent if member is not None and member.agent else "hotline-bridge"
