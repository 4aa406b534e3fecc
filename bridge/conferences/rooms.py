"""Keeping three-party rooms to their rules once they run: joins, leaves, hang-ups, the other
side not answering, the acceptance on the ticket, and recovery after a bridge restart.

Events (AMI, the origin PBX): ``ConfbridgeJoin``/``ConfbridgeLeave`` say who is in the room;
``Hangup`` of the other side's leg before it joined means it was not answered (busy, queue
gone, Originate Timeout); ``Hangup`` of the caller before joining ends the call. A room with
one member left never ends by itself in Asterisk (trace 13), so the bridge closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from redis.exceptions import RedisError

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.model import Conference, Member
from bridge.conferences.store import ConferenceStore
from bridge.screenpop.hub import LinkedCall, ScreenPopHub
from bridge.tickets import TicketNotFound, TicketStore
from bridge.transfers.drafts import agent_id_of
from bridge.transfers.outcomes import PbxLink
from routing.conference_rules import Acceptance, Role, Step, after_leave, decide
from routing.tickets import IllegalTransition, TicketStatus
from telephony.ami.errors import AMIError
from telephony.ami.events import ConfbridgeJoin, ConfbridgeLeave, Event, Hangup

log = logging.getLogger(__name__)
WATCHED_EVENTS = ("ConfbridgeJoin", "ConfbridgeLeave", "ConfbridgeEnd", "Hangup")
SYSTEM = "hotline-bridge"


class RoomKeeper:
    def __init__(
        self,
        store: ConferenceStore,
        tickets: TicketStore,
        links: Mapping[str, PbxLink],
        hub: ScreenPopHub,
        config: ConferenceConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.tickets = tickets
        self.links = links
        self.hub = hub
        self.config = config
        self.clock = clock
        self.rooms: dict[str, Conference] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}

    # --- bookkeeping ----------------------------------------------------------------------

    def lock(self, room: str) -> asyncio.Lock:
        return self._locks.setdefault(room, asyncio.Lock())

    async def save(self, conference: Conference) -> None:
        self.rooms[conference.id] = conference
        await self.store.save(conference)
        if conference.state == "ended":
            self.rooms.pop(conference.id, None)
            self._locks.pop(conference.id, None)
            self._cancel_timer(conference.id)

    def find_member(self, uniqueid: str, channel: str = "") -> tuple[Conference, Member] | None:
        for conference in self.rooms.values():
            for member in conference.members.values():
                if member.uniqueid == uniqueid or (channel and member.channel == channel):
                    return conference, member
        return None

    def leg_name(self, conference: Conference) -> str:
        """The other side's originated ;1 by name (Hangup wants a name; its uniqueid is ours)."""
        link = self.links.get(conference.pbx)
        found = None if link is None else link.live.channel(conference.other_leg)
        return conference.other_leg if found is None else found.name

    async def ami(self, pbx: str, action: str, **headers: str) -> str:
        """Send an action; "" when the PBX took it, else what went wrong."""
        try:
            await self.links[pbx].connected_client().action(action, time_limit=None, **headers)
        except (AMIError, KeyError) as exc:
            return str(exc)
        return ""

    # --- the other side ringing -------------------------------------------------------------

    def arm_ring_timer(self, conference: Conference) -> None:
        delay = max(0.0, conference.ring_deadline - self.clock())
        self._cancel_timer(conference.id)
        self._timers[conference.id] = asyncio.get_running_loop().create_task(
            self._ring_timeout(conference.id, delay)
        )

    def stop_timers(self) -> None:
        for room in list(self._timers):
            self._cancel_timer(room)

    def _cancel_timer(self, room: str) -> None:
        timer = self._timers.pop(room, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _ring_timeout(self, room: str, delay: float) -> None:
        await asyncio.sleep(delay)
        async with self.lock(room):
            conference = self.rooms.get(room)
            if conference is None or conference.answered or conference.state == "ended":
                return
            seconds = round(self.config.ring_timeout_seconds)
            await self.other_side_failed(conference, f"did not answer within {seconds} s")

    async def other_side_failed(self, conference: Conference, why: str) -> None:
        """The other side never came: stop its leg; the caller stays with the first agent."""
        self._cancel_timer(conference.id)
        conference.answered = False
        conference.state = "talking"
        conference.ring_deadline = 0.0
        reason = f"{conference.other_platform} {why}; the caller is back with the first agent"
        conference.notes.append(reason)
        await self.save(conference)
        problem = await self.ami(conference.pbx, "Hangup", Channel=self.leg_name(conference))
        if problem:
            log.info("other leg not hung up", extra={"room": conference.id, "error": problem})
        await self._ticket(conference, TicketStatus.TRANSFER_FAILED, SYSTEM, reason)
        self.hub.publish(
            LinkedCall(
                "failed",
                conference.ticket_id,
                conference.target_pbx,
                conference.target_queue,
                conference.other_leg,
                reason=reason,
            )
        )
        # The first agent may already have gone: the caller must not wait alone.
        await self._settle(conference, Role.OTHER_AGENT)

    # --- events ----------------------------------------------------------------------------

    async def on_event(self, pbx: str, event: Event) -> None:
        room = getattr(event, "conference", None)
        if isinstance(event, Hangup):
            found = self.find_member(event.uniqueid, event.channel)
            room = found[0].id if found else self._ringing_room(event.uniqueid)
        if room is None or room not in self.rooms or self.rooms[room].pbx != pbx:
            return
        async with self.lock(room):
            conference = self.rooms.get(room)
            if conference is None:
                return
            try:
                if isinstance(event, ConfbridgeJoin):
                    await self._joined(conference, event)
                elif isinstance(event, ConfbridgeLeave):
                    await self._left(conference, event.uniqueid)
                elif isinstance(event, Hangup):
                    await self._hung_up(conference, event)
                elif event.name == "ConfbridgeEnd":
                    await self.end(conference, "the room ended")
            except (RedisError, OSError) as exc:
                log.error("conference state not saved", extra={"room": room, "error": str(exc)})

    def _ringing_room(self, uniqueid: str) -> str | None:
        """The room whose other-side leg (;1 or ;2 of the Originate) this is."""
        for conference in self.rooms.values():
            if uniqueid in (conference.other_leg, _second_half(conference.other_leg)):
                return conference.id
        return None

    async def _joined(self, conference: Conference, event: ConfbridgeJoin) -> None:
        member = conference.members.get(event.uniqueid)
        if member is None and event.uniqueid == conference.other_leg:
            member = Member(uniqueid=event.uniqueid, channel=event.channel, role=Role.OTHER_AGENT)
            conference.members[event.uniqueid] = member
        if member is None:
            log.warning("stranger in a three-party room", extra={"channel": event.channel})
            return
        member.in_room = True
        member.channel = event.channel
        if member.role is Role.OTHER_AGENT and not conference.answered:
            await self._answered(conference, member)
        await self.save(conference)

    async def _answered(self, conference: Conference, member: Member) -> None:
        self._cancel_timer(conference.id)
        conference.answered = True
        conference.state = "talking"
        agent = self._answering_agent(conference)
        member.agent = agent
        conference.notes.append(f"{conference.other_platform} answered ({agent or 'agent'})")
        await self._ticket(conference, TicketStatus.QUEUED, SYSTEM, f"room {conference.id}")
        with contextlib.suppress(RedisError, OSError, ValueError):
            await self.tickets.link_call(member.uniqueid, conference.ticket_id)
        self.hub.publish(
            LinkedCall(
                "answered",
                conference.ticket_id,
                conference.target_pbx,
                conference.target_queue,
                member.uniqueid,
                agent,
            )
        )

    def _answering_agent(self, conference: Conference) -> str:
        """The agent the other side's queue connected (the ;2 half's bridged peer)."""
        link = self.links.get(conference.target_pbx)
        if link is None:
            return ""
        for channel in link.live.channels.values():
            carries = channel.variables.get("LINKAGE_TICKET") == conference.ticket_id
            if channel.uniqueid == _second_half(conference.other_leg) or carries:
                peer = link.live.bridged_peer(channel.uniqueid)
                if peer is not None and peer.uniqueid != conference.other_leg:
                    return agent_id_of(peer.name)
        return ""

    async def _left(self, conference: Conference, uniqueid: str) -> None:
        member = conference.members.get(uniqueid)
        if member is None or not member.in_room:
            return
        member.in_room = False
        conference.notes.append(f"{member.role.value} left")
        await self.save(conference)
        await self._settle(conference, member.role)

    async def _hung_up(self, conference: Conference, event: Hangup) -> None:
        member = conference.members.get(event.uniqueid)
        if member is not None and member.in_room:
            return  # its ConfbridgeLeave does the work
        if member is not None and member.role is Role.CALLER and conference.state != "ended":
            # Hung up before reaching the room (during the prompt): nobody is left to serve.
            await self.close(conference, "the caller hung up")
        elif member is None and not conference.answered and conference.ring_deadline:
            cause = event.cause_txt or str(event.cause)
            await self.other_side_failed(conference, f"did not answer: its leg ended ({cause})")

    # --- endings ---------------------------------------------------------------------------

    async def _settle(self, conference: Conference, left: Role) -> None:
        remaining = {m.role for m in conference.in_room()}
        if conference.answered and left in (Role.ORIGIN_AGENT, Role.OTHER_AGENT):
            await self.accept(conference)  # an agent leaving closes the decision
        accepting = None if conference.acceptance is None else conference.acceptance.platform
        step = after_leave(
            left,
            remaining,
            None if accepting is None else conference.role_of_platform(accepting),
            keep_in_room=self.config.keep_in_room_after_agent_leaves,
            ringing=not conference.answered and conference.ring_deadline > 0,
        )
        if step is Step.CLOSE_ROOM:
            why = "the caller left" if left is Role.CALLER else "only agents were left"
            await self.close(conference, why)
        elif step is Step.HAND_CALLER:
            await self.hand_caller(conference, accepting or conference.origin_platform)

    def provisional(self, conference: Conference) -> Acceptance:
        return decide(
            platforms=(conference.origin_platform, conference.other_platform),
            first_platform=conference.first_platform,
            police_platform=conference.police_platform,
            votes=conference.votes,
            danger=conference.danger,
        )

    async def accept(self, conference: Conference) -> None:
        """Record the acceptance on the ticket (once; only if the other side took part)."""
        if conference.acceptance is not None or not conference.answered:
            return
        acceptance = self.provisional(conference)
        conference.acceptance = acceptance
        conference.notes.append(f"accepted by {acceptance.platform} ({acceptance.rule.value})")
        await self.save(conference)
        # When: the agents' last word, or now when a rule decided at the end.
        said = [v.at for v in conference.votes] if acceptance.by != "rule" else []
        when = datetime.fromtimestamp(max(said, default=self.clock()), UTC).isoformat()
        note = f"three-party call {conference.id}: {acceptance.rule.value}; decided by "
        note += f"{acceptance.by} at {when}; {acceptance.reason}"
        await self._ticket(conference, TicketStatus.ACCEPTED, acceptance.platform, note)

    async def hand_caller(self, conference: Conference, platform: str) -> None:
        """Send the caller to `platform`'s queue (at its head) and close the room behind it."""
        caller = conference.member_by_role(Role.CALLER)
        if caller is None:
            return
        if platform == conference.origin_platform:
            context, exten = conference.origin_context, conference.origin_extension
        else:
            context, exten = conference.entry_context, conference.entry_extension
        conference.notes.append(f"caller handed to {platform} ({context},{exten})")
        caller.in_room = False  # its ConfbridgeLeave is the redirect, not a hang-up
        await self.save(conference)
        priority = str(self.config.handover_priority)
        await self.ami(
            conference.pbx, "Setvar", Channel=caller.channel, Variable="QUEUE_PRIO", Value=priority
        )
        problem = await self.ami(
            conference.pbx,
            "Redirect",
            Channel=caller.channel,
            Context=context,
            Exten=exten,
            Priority="1",
        )
        if problem:
            conference.notes.append(f"caller not handed over: {problem}")
            log.error("caller not handed over", extra={"room": conference.id, "error": problem})
            await self.save(conference)
            return
        await self.close(conference, f"caller handed to {platform}")

    async def close(self, conference: Conference, why: str) -> None:
        """End the room: the decision stands, everyone left is kicked, nothing keeps ringing."""
        await self.accept(conference)
        if not conference.answered and conference.ring_deadline:
            await self.ami(conference.pbx, "Hangup", Channel=self.leg_name(conference))
            if conference.acceptance is None:
                reason = f"{why} before {conference.other_platform} answered"
                await self._ticket(conference, TicketStatus.TRANSFER_FAILED, SYSTEM, reason)
        for member in conference.in_room():
            await self.ami(
                conference.pbx, "ConfbridgeKick", Conference=conference.id, Channel=member.channel
            )
        await self.end(conference, why)

    async def end(self, conference: Conference, why: str) -> None:
        if conference.state == "ended":
            return
        await self.accept(conference)
        conference.state = "ended"
        conference.notes.append(f"ended: {why}")
        await self.save(conference)

    async def _ticket(
        self, conference: Conference, status: TicketStatus, by: str, note: str
    ) -> None:
        try:
            await self.tickets.transition(conference.ticket_id, status, by=by, note=note)
        except IllegalTransition as exc:
            log.info("ticket not moved", extra={"ticket": conference.ticket_id, "error": str(exc)})
        except (RedisError, OSError, TicketNotFound) as exc:
            log.error("ticket not moved", extra={"ticket": conference.ticket_id, "error": str(exc)})

    # --- after a restart -------------------------------------------------------------------

    async def recover(self) -> dict[str, str]:
        """Pick up the rooms a previous run left: ConfbridgeList says who is still there."""
        outcomes: dict[str, str] = {}
        for conference in await self.store.active():
            self.rooms[conference.id] = conference
            async with self.lock(conference.id):
                try:
                    outcomes[conference.id] = await self._recover_one(conference)
                except (RedisError, OSError, AMIError) as exc:
                    # One room's trouble must not keep the others from being picked up.
                    outcomes[conference.id] = f"skipped: {type(exc).__name__}: {exc}"
        return outcomes

    async def _recover_one(self, conference: Conference) -> str:
        present = await self._listed(conference)
        if present is None:
            return "left as it was (PBX unreachable)"
        leg = conference.other_leg
        if leg in present and leg not in conference.members:
            # The other side answered while the bridge was down.
            member = Member(uniqueid=leg, channel=present[leg], role=Role.OTHER_AGENT)
            conference.members[leg] = member
            await self._answered(conference, member)
        before = {m.uniqueid for m in conference.in_room()}
        for member in conference.members.values():
            member.in_room = member.uniqueid in present
        await self.save(conference)
        if not present:
            await self.end(conference, "the room was gone after a restart")
            return "ended"
        # Whoever left while the bridge was down leaves now, by the same rules.
        for uniqueid in sorted(before - set(present)):
            if conference.state == "ended":
                break
            conference.notes.append(f"{conference.members[uniqueid].role.value} left (restart)")
            await self._settle(conference, conference.members[uniqueid].role)
        if conference.state == "ended":
            return "closed"
        if not conference.answered and conference.ring_deadline:
            self.arm_ring_timer(conference)  # fires at once when already past
            return "ringing"
        return "running"

    async def _listed(self, conference: Conference) -> dict[str, str] | None:
        """uniqueid -> channel of the room's members now; {} when the room is gone."""
        link = self.links.get(conference.pbx)
        try:
            client = link.connected_client() if link else None
            if client is None:
                return None
            result = await client.list_action("ConfbridgeList", Conference=conference.id)
        except AMIError as exc:
            # "No Conference by that name found.": the room is gone (everyone left).
            return {} if "no conference" in str(exc).lower() else None
        return {
            getattr(item, "uniqueid", ""): getattr(item, "channel", "")
            for item in result.events
            if getattr(item, "conference", None) == conference.id
        }


def _second_half(leg: str) -> str:
    """The ;2 half's uniqueid of an originated Local leg whose ;1 is `<room>-1`."""
    return leg[:-2] + "-2" if leg.endswith("-1") else leg
