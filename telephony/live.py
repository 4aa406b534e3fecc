"""The live model: channels, bridges and queues as Asterisk has them now, kept from AMI events.

Fed by the typed events of :mod:`telephony.ami.events` (``LiveModel.apply``) and rebuilt from
the ``QueueStatus`` and ``CoreShowChannels`` lists after every (re)connect
(``LiveModel.resync``), because events missed while disconnected are gone for good.

It answers: who waits in queue Q and since when (:meth:`LiveModel.waiting`), which channel
agent A is talking to (:meth:`LiveModel.talking_to`), which bridge channel C is in
(:meth:`LiveModel.bridge_of`) and C's bridged peer (:meth:`LiveModel.bridged_peer`).

Join times are this process's clock (``clock``, ``time.time`` by default): AMI queue events
carry no timestamp, and after a resync the join time is ``now - Wait``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from telephony.ami.client import ActionResult, AMIClient
from telephony.ami.events import (
    AgentComplete,
    AgentConnect,
    BridgeCreate,
    BridgeDestroy,
    BridgeEnter,
    BridgeLeave,
    ChannelEvent,
    ConfbridgeStart,
    CoreShowChannel,
    Event,
    Hangup,
    MemberStateFields,
    NewCallerid,
    Newchannel,
    Newstate,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
    QueueEntry,
    QueueMember,
    QueueMemberAdded,
    QueueMemberFields,
    QueueMemberPause,
    QueueMemberPenalty,
    QueueMemberRemoved,
    QueueMemberRinginuse,
    QueueMemberStatus,
    QueueParams,
    VarSet,
)


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str = ""
    state: int = 0
    state_desc: str = ""
    caller_id_num: str = ""
    caller_id_name: str = ""
    connected_line_num: str = ""
    connected_line_name: str = ""
    context: str = ""
    exten: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    bridge_id: str | None = None


@dataclass
class Bridge:
    uniqueid: str
    bridge_type: str = ""
    technology: str = ""
    conference: str | None = None  # set for ConfBridge rooms
    channels: list[str] = field(default_factory=list)  # uniqueids, in order of entry


@dataclass
class QueueCaller:
    uniqueid: str
    channel: str
    caller_id_num: str
    caller_id_name: str
    position: int
    joined_at: float  # seconds since the epoch (our clock)

    @classmethod
    def of(cls, event: QueueCallerJoin | QueueEntry, joined_at: float) -> QueueCaller:
        """The caller a Join event or a QueueStatus entry describes."""
        return cls(
            uniqueid=event.uniqueid,
            channel=event.channel,
            caller_id_num=event.caller_id_num,
            caller_id_name=event.caller_id_name,
            position=event.position,
            joined_at=joined_at,
        )


@dataclass
class Member:
    interface: str
    name: str = ""
    status: int = 0  # Asterisk device state: 1 not in use, 2 in use, 5 unavailable, 6 ringing...
    paused: bool = False
    paused_reason: str = ""
    penalty: int = 0
    in_call: bool = False
    calls_taken: int = 0
    agent_leg: str | None = None  # uniqueid of the member's channel while connected (AgentConnect)
    caller: str | None = None  # uniqueid of the caller it was connected to

    def take_state(self, state: MemberStateFields, name: str) -> None:
        """What Asterisk says of the member now (a QueueMember* event or a QueueStatus item)."""
        self.name = name
        self.status = state.status
        self.paused = state.paused
        self.paused_reason = state.paused_reason
        self.penalty = state.penalty
        self.in_call = state.in_call
        self.calls_taken = state.calls_taken


@dataclass
class Queue:
    name: str
    strategy: str = ""
    callers: dict[str, QueueCaller] = field(default_factory=dict)  # by uniqueid
    members: dict[str, Member] = field(default_factory=dict)  # by interface

    def waiting(self) -> list[QueueCaller]:
        return sorted(self.callers.values(), key=lambda caller: caller.position)


class ListActions(Protocol):
    """What resync needs of a client: :class:`AMIClient` has it."""

    async def list_action(
        self,
        name: str,
        *,
        time_limit: float | None = None,
        on_complete: Callable[[ActionResult], None] | None = None,
    ) -> ActionResult: ...


class LiveModel:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.channels: dict[str, Channel] = {}  # by uniqueid
        self.bridges: dict[str, Bridge] = {}  # by bridge uniqueid
        self.queues: dict[str, Queue] = {}  # by queue name
        self._by_name: dict[str, str] = {}  # channel name -> uniqueid
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            Newchannel: self._on_newchannel,
            Newstate: self._on_channel_snapshot,
            NewCallerid: self._on_channel_snapshot,
            Hangup: self._on_hangup,
            VarSet: self._on_varset,
            BridgeCreate: self._on_bridge_create,
            BridgeEnter: self._on_bridge_enter,
            BridgeLeave: self._on_bridge_leave,
            BridgeDestroy: self._on_bridge_destroy,
            ConfbridgeStart: self._on_confbridge_start,
            QueueCallerJoin: self._on_caller_join,
            QueueCallerLeave: self._on_caller_gone,
            QueueCallerAbandon: self._on_caller_gone,
            QueueMemberStatus: self._on_member_state,
            QueueMemberAdded: self._on_member_state,
            QueueMemberPause: self._on_member_state,
            QueueMemberPenalty: self._on_member_state,
            QueueMemberRinginuse: self._on_member_state,
            QueueMemberRemoved: self._on_member_removed,
            AgentConnect: self._on_agent_connect,
            AgentComplete: self._on_agent_complete,
        }

    # --- wiring -------------------------------------------------------------------------

    @property
    def event_names(self) -> list[str]:
        """The events the model uses (subscribe to only these)."""
        return [model.__name__ for model in self._handlers]

    def attach(self, client: AMIClient) -> None:
        """Feed the model from ``client`` (inline, never dropped) and resync on every login."""
        client.add_inline_handler(self.apply, self.event_names)
        client.add_resync_hook(self.resync)

    async def resync(self, client: ListActions) -> None:
        """Rebuild queues and channels from Asterisk's lists.

        Each rebuild runs inside the reader the moment the list's ``...Complete`` arrives, so
        events after the snapshot are applied on top of it, none before.
        """
        await client.list_action(
            "QueueStatus", on_complete=lambda result: self.rebuild_queues(result.events)
        )
        await client.list_action(
            "CoreShowChannels", on_complete=lambda result: self.rebuild_channels(result.events)
        )

    def apply(self, event: Event) -> None:
        """Update the model from one event; events it has no use for are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # --- questions ----------------------------------------------------------------------

    def channel(self, name_or_uniqueid: str) -> Channel | None:
        found = self.channels.get(name_or_uniqueid)
        if found is not None:
            return found
        uniqueid = self._by_name.get(name_or_uniqueid)
        return None if uniqueid is None else self.channels.get(uniqueid)

    def waiting(self, queue: str) -> list[QueueCaller]:
        """Callers waiting in ``queue``, by position, each with its join time."""
        found = self.queues.get(queue)
        return [] if found is None else found.waiting()

    def bridge_of(self, channel: str) -> Bridge | None:
        """The bridge a channel (name or uniqueid) is in, if any."""
        found = self.channel(channel)
        if found is None or found.bridge_id is None:
            return None
        return self.bridges.get(found.bridge_id)

    def bridged_peers(self, channel: str) -> list[Channel]:
        """The other channels in the same bridge."""
        found = self.channel(channel)
        bridge = self.bridge_of(channel)
        if found is None or bridge is None:
            return []
        return [
            self.channels[uid]
            for uid in bridge.channels
            if uid != found.uniqueid and uid in self.channels
        ]

    def bridged_peer(self, channel: str) -> Channel | None:
        """The channel bridged with ``channel`` in a two-party bridge (None in a conference)."""
        peers = self.bridged_peers(channel)
        return peers[0] if len(peers) == 1 else None

    def members(self, agent: str) -> list[Member]:
        """Every queue membership of an agent given by interface or member name."""
        return [
            member
            for queue in self.queues.values()
            for member in queue.members.values()
            if agent in (member.interface, member.name)
        ]

    def talking_to(self, agent: str) -> Channel | None:
        """The channel bridged with the agent (by interface or member name), if talking."""
        for member in self.members(agent):
            if member.agent_leg is not None:
                peer = self.bridged_peer(member.agent_leg)
                if peer is not None:
                    return peer
        # No AgentConnect seen (say, after a resync): look for the agent's own channel.
        interfaces = {member.interface for member in self.members(agent)} or {agent}
        for channel in self.channels.values():
            if channel.bridge_id is not None and any(
                channel_of_interface(channel.name, interface) for interface in interfaces
            ):
                peer = self.bridged_peer(channel.uniqueid)
                if peer is not None:
                    return peer
        return None

    # --- rebuilding from lists ----------------------------------------------------------

    def rebuild_queues(self, items: Iterable[Event]) -> None:
        """Replace every queue from a QueueStatus list (QueueParams/QueueMember/QueueEntry)."""
        now = self.clock()
        queues: dict[str, Queue] = {}
        for item in items:
            if isinstance(item, QueueParams):
                queues.setdefault(item.queue, Queue(item.queue)).strategy = item.strategy
            elif isinstance(item, QueueMember):
                member = Member(item.location)
                member.take_state(item, item.member_name)
                queues.setdefault(item.queue, Queue(item.queue)).members[item.location] = member
            elif isinstance(item, QueueEntry):
                queue = queues.setdefault(item.queue, Queue(item.queue))
                queue.callers[item.uniqueid] = QueueCaller.of(item, now - item.wait)
        self.queues = queues

    def rebuild_channels(self, items: Iterable[Event]) -> None:
        """Replace channels and bridges from a CoreShowChannels list."""
        self.channels, self._by_name, self.bridges = {}, {}, {}
        for item in items:
            if not isinstance(item, CoreShowChannel):
                continue
            channel = self._new_channel(item)
            if item.bridge_id:
                bridge = self.bridges.setdefault(item.bridge_id, Bridge(item.bridge_id))
                bridge.channels.append(channel.uniqueid)
                channel.bridge_id = item.bridge_id

    # --- channel events -----------------------------------------------------------------

    def _new_channel(self, event: ChannelEvent) -> Channel:
        channel = Channel(name=event.channel, uniqueid=event.uniqueid)
        self.channels[event.uniqueid] = channel
        self._update_channel(channel, event)
        return channel

    def _update_channel(self, channel: Channel, event: ChannelEvent) -> None:
        if channel.name != event.channel:
            self._by_name.pop(channel.name, None)
            channel.name = event.channel
        self._by_name[event.channel] = event.uniqueid
        channel.linkedid = event.linkedid
        channel.state = event.channel_state
        channel.state_desc = event.channel_state_desc
        channel.caller_id_num = event.caller_id_num
        channel.caller_id_name = event.caller_id_name
        channel.connected_line_num = event.connected_line_num
        channel.connected_line_name = event.connected_line_name
        channel.context = event.context
        channel.exten = event.exten
        channel.variables.update(event.variables)

    def _on_newchannel(self, event: Newchannel) -> None:
        self._new_channel(event)

    def _on_channel_snapshot(self, event: ChannelEvent) -> None:
        # Only Newchannel (or a resync) creates: a NewCallerid may follow the Hangup.
        channel = self.channels.get(event.uniqueid)
        if channel is not None:
            self._update_channel(channel, event)

    def _on_varset(self, event: VarSet) -> None:
        channel = self.channels.get(event.uniqueid)
        if channel is not None:
            channel.variables[event.variable] = event.value

    def _on_hangup(self, event: Hangup) -> None:
        channel = self.channels.pop(event.uniqueid, None)
        if channel is None:
            return
        if self._by_name.get(channel.name) == channel.uniqueid:
            del self._by_name[channel.name]
        if channel.bridge_id is not None:
            bridge = self.bridges.get(channel.bridge_id)
            if bridge is not None and channel.uniqueid in bridge.channels:
                bridge.channels.remove(channel.uniqueid)

    # --- bridge events ------------------------------------------------------------------

    def _bridge(self, uniqueid: str, bridge_type: str, technology: str) -> Bridge:
        bridge = self.bridges.get(uniqueid)
        if bridge is None:
            bridge = self.bridges[uniqueid] = Bridge(uniqueid, bridge_type, technology)
        return bridge

    def _on_bridge_create(self, event: BridgeCreate) -> None:
        self._bridge(event.bridge_uniqueid, event.bridge_type, event.bridge_technology)

    def _on_confbridge_start(self, event: ConfbridgeStart) -> None:
        bridge = self._bridge(event.bridge_uniqueid, event.bridge_type, event.bridge_technology)
        bridge.conference = event.conference

    def _on_bridge_enter(self, event: BridgeEnter) -> None:
        bridge = self._bridge(event.bridge_uniqueid, event.bridge_type, event.bridge_technology)
        if event.uniqueid not in bridge.channels:
            bridge.channels.append(event.uniqueid)
        channel = self.channels.get(event.uniqueid)
        if channel is not None:
            self._update_channel(channel, event)
            channel.bridge_id = event.bridge_uniqueid

    def _on_bridge_leave(self, event: BridgeLeave) -> None:
        bridge = self.bridges.get(event.bridge_uniqueid)
        if bridge is not None and event.uniqueid in bridge.channels:
            bridge.channels.remove(event.uniqueid)
        channel = self.channels.get(event.uniqueid)
        if channel is not None and channel.bridge_id == event.bridge_uniqueid:
            channel.bridge_id = None

    def _on_bridge_destroy(self, event: BridgeDestroy) -> None:
        bridge = self.bridges.pop(event.bridge_uniqueid, None)
        if bridge is None:
            return
        for uniqueid in bridge.channels:
            channel = self.channels.get(uniqueid)
            if channel is not None and channel.bridge_id == bridge.uniqueid:
                channel.bridge_id = None

    # --- queue events -------------------------------------------------------------------

    def _queue(self, name: str) -> Queue:
        queue = self.queues.get(name)
        if queue is None:
            queue = self.queues[name] = Queue(name)
        return queue

    def _on_caller_join(self, event: QueueCallerJoin) -> None:
        callers = self._queue(event.queue).callers
        for caller in callers.values():  # a caller of higher QUEUE_PRIO joins ahead of them
            if caller.position >= event.position:
                caller.position += 1
        callers[event.uniqueid] = QueueCaller.of(event, self.clock())

    def _on_caller_gone(self, event: QueueCallerLeave | QueueCallerAbandon) -> None:
        queue = self.queues.get(event.queue)
        if queue is None:
            return
        gone = queue.callers.pop(event.uniqueid, None)
        if gone is None:
            return  # the Leave after an Abandon
        for caller in queue.callers.values():  # Asterisk moves everyone behind up one place
            if caller.position > gone.position:
                caller.position -= 1

    def _on_member_state(self, event: QueueMemberFields) -> None:
        queue = self._queue(event.queue)
        member = queue.members.get(event.interface)
        if member is None:
            member = queue.members[event.interface] = Member(event.interface)
        member.take_state(event, event.member_name)

    def _on_member_removed(self, event: QueueMemberRemoved) -> None:
        queue = self.queues.get(event.queue)
        if queue is not None:
            queue.members.pop(event.interface, None)

    def _on_agent_connect(self, event: AgentConnect) -> None:
        member = self._queue(event.queue).members.get(event.interface)
        if member is None:
            member = self._queue(event.queue).members[event.interface] = Member(
                event.interface, name=event.member_name
            )
        member.agent_leg = event.dest_uniqueid
        member.caller = event.uniqueid

    def _on_agent_complete(self, event: AgentComplete) -> None:
        queue = self.queues.get(event.queue)
        member = None if queue is None else queue.members.get(event.interface)
        # After a caller hangup Asterisk sends it without channel headers: clear it then too.
        if member is not None and event.dest_uniqueid in ("", member.agent_leg):
            member.agent_leg = member.caller = None


def channel_of_interface(channel_name: str, interface: str) -> bool:
    """Whether a channel belongs to a queue member interface.

    ``PJSIP/1001`` owns ``PJSIP/1001-0000002a``; ``Local/agent121@agents/n`` owns the ``;1``
    half ``Local/agent121@agents-00000001;1`` (the half the queue bridges).
    """
    base = interface.removesuffix("/n")
    if channel_name.startswith("Local/"):
        if not channel_name.endswith(";1"):
            return False
        channel_name = channel_name[:-2]
    prefix, _, suffix = channel_name.rpartition("-")
    return prefix == base and suffix != ""
