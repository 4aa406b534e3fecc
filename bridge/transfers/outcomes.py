"""Watching a transfer to its end: queued, answered, or back to the origin (never dropped).

Outcomes, from AMI events of both PBXs:

- ``QueueCallerJoin`` on the target queue by the moved caller (same uniqueid, a channel
  carrying ``LINKAGE_TICKET``, or the channel a ``LinkageIn`` UserEvent named) -> ``queued``,
  the call is linked to the ticket, the queue's screen-pop hears "arrived";
- ``AgentConnect`` for that caller -> ``accepted`` by the answering agent, the agent's leg is
  linked too, the agent's screen-pop hears "answered"; in consult mode the originating agent
  leaves the three-party room now;
- ``AgentConnect`` for a call that nobody watches but carries ``LINKAGE_TICKET`` (tickets the
  IVR opened: urgent 12345 -> 110 by key 9, the 110 -> 12345 diversion) in a queue of the
  ticket's target platform -> the same: ``accepted``, both legs linked, "answered" announced;
- ``LinkageTrunkFailed`` (the dialplan already sent the caller back to its origin queue),
  the caller abandoning or hanging up, or no answer by the deadline -> ``transfer_failed``
  with the reason; on the deadline the caller is moved back to the origin queue at its head
  (blind) or the consult leg is hung up, leaving caller and agent together (consult).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from redis.exceptions import RedisError

from bridge.screenpop.hub import LinkedCall, ScreenPopHub
from bridge.tickets import TicketStore
from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import agent_id_of
from bridge.transfers.inflight import InFlight, InFlightStore
from routing.tickets import IllegalTransition, TicketStatus
from routing.transfer_paths import PlatformEntry
from telephony.ami.client import AMIClient
from telephony.ami.errors import AMIError
from telephony.ami.events import (
    AgentConnect,
    Event,
    Hangup,
    QueueCallerAbandon,
    QueueCallerJoin,
    UserEvent,
)
from telephony.live import LiveModel

log = logging.getLogger(__name__)

WATCHED_EVENTS = ("QueueCallerJoin", "AgentConnect", "QueueCallerAbandon", "Hangup", "UserEvent")
SYSTEM = "hotline-bridge"
CLOSE_TIMEOUT_SECONDS = 1.0
# bridge.ivr_wiring opens its tickets as "ivr-<direction>"; tickets of transfers and
# three-party rooms have their own watchers and must not be accepted twice.
IVR_ORIGIN_PREFIX = "ivr-"


def opened_by_ivr(originating_agent: str) -> bool:
    return originating_agent.startswith(IVR_ORIGIN_PREFIX)


@dataclass
class PbxLink:
    """One PBX as the transfer service sees it: its live model and (once logged in) client."""

    name: str
    live: LiveModel
    client: AMIClient | None = None

    def connected_client(self) -> AMIClient:
        if self.client is None or not self.client.connected:
            raise AMIError("connect", f"PBX {self.name} is not connected")
        return self.client


@dataclass
class Watch:
    record: InFlight
    expected: set[str]  # uniqueids that may join the target queue as this transfer
    queued_uniqueid: str | None = None
    timer: asyncio.Task[None] | None = field(default=None, repr=False)


class OutcomeWatcher:
    def __init__(
        self,
        store: TicketStore,
        inflight: InFlightStore,
        links: Mapping[str, PbxLink],
        config: TransferConfig,
        hub: ScreenPopHub,
        clock: Callable[[], float] = time.time,
        platforms: Sequence[PlatformEntry] = (),
    ) -> None:
        self.store = store
        self.inflight = inflight
        self.links = links
        self.config = config
        self.hub = hub
        self.clock = clock
        self.watches: dict[str, Watch] = {}
        self._by_uniqueid: dict[str, str] = {}  # expected/queued uniqueid -> ticket id
        # (pbx, queue) -> (platform kind, district): whose queue answered an IVR ticket's call.
        self._queue_owner = {
            (p.pbx, q.name): (p.kind, p.district_code) for p in platforms for q in p.queues
        }
        # Events are handled in order by one task of the watcher's own, not inside the AMI
        # client's subscription task: handling awaits AMI replies and Redis, and the client
        # must be able to stop its subscription at any moment.
        self._events: asyncio.Queue[tuple[str, Event]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    # --- registering --------------------------------------------------------------------

    def watch(self, record: InFlight, expected: set[str], queued: str | None = None) -> Watch:
        watch = Watch(record, set(expected), queued)
        self.watches[record.ticket_id] = watch
        for uniqueid in watch.expected | ({queued} if queued else set()):
            self._by_uniqueid[uniqueid] = record.ticket_id
        delay = max(0.0, record.deadline - self.clock())
        watch.timer = asyncio.get_running_loop().create_task(self._deadline(watch, delay))
        return watch

    def discard(self, watch: Watch) -> None:
        """Stop watching without recording anything (the caller is handled elsewhere)."""
        self._forget(watch)

    def _forget(self, watch: Watch) -> None:
        self.watches.pop(watch.record.ticket_id, None)
        for uniqueid in [u for u, t in self._by_uniqueid.items() if t == watch.record.ticket_id]:
            del self._by_uniqueid[uniqueid]
        current = asyncio.current_task()
        if watch.timer is not None and watch.timer is not current:
            watch.timer.cancel()

    async def close(self) -> None:
        tasks = [w.timer for w in self.watches.values() if w.timer is not None]
        if self._worker is not None:
            tasks.append(self._worker)
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded: Python 3.11's wait_for can swallow a cancel that meets a reply.
            await asyncio.wait(tasks, timeout=CLOSE_TIMEOUT_SECONDS)
        self.watches.clear()
        self._worker = None

    # --- events -------------------------------------------------------------------------

    def offer(self, pbx: str, event: Event) -> None:
        """Queue one AMI event from `pbx` for handling (a subscription per PBX calls this)."""
        self._events.put_nowait((pbx, event))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._handle_events())

    async def _handle_events(self) -> None:
        while True:
            pbx, event = await self._events.get()
            try:
                await self.on_event(pbx, event)
            except Exception:
                log.exception("transfer outcome handling failed", extra={"pbx": pbx})

    async def on_event(self, pbx: str, event: Event) -> None:
        """Handle one AMI event from `pbx`."""
        if isinstance(event, UserEvent):
            await self._on_user_event(event)
        elif isinstance(event, QueueCallerJoin):
            await self._on_join(pbx, event)
        elif isinstance(event, AgentConnect):
            await self._on_connect(pbx, event)
        elif isinstance(event, QueueCallerAbandon):
            watch = self._watch_for(event.uniqueid)
            if watch is not None and watch.queued_uniqueid == event.uniqueid:
                await self.fail(watch, f"caller hung up waiting in {event.queue}")
        elif isinstance(event, Hangup):
            watch = self._watch_for(event.uniqueid)
            if watch is not None and watch.queued_uniqueid is None:
                if (
                    pbx == watch.record.source_pbx
                    and event.uniqueid == watch.record.caller_uniqueid
                ):
                    await self._caller_gone(watch)

    async def _caller_gone(self, watch: Watch) -> None:
        record = watch.record
        if record.mode == "consult" and record.consult_channel:
            # Nobody is left to hand over to: stop the leg still waiting on the other side.
            await self._ami(record.source_pbx, "Hangup", Channel=record.consult_channel)
        await self.fail(watch, "caller hung up during the transfer")

    def _watch_for(self, uniqueid: str) -> Watch | None:
        ticket_id = self._by_uniqueid.get(uniqueid)
        return None if ticket_id is None else self.watches.get(ticket_id)

    async def _on_user_event(self, event: UserEvent) -> None:
        ticket_id = str(event.headers.get("Ticket", "")).strip()
        watch = self.watches.get(ticket_id)
        if watch is None:
            return
        if event.user_event == "LinkageIn":
            watch.expected.add(event.uniqueid)
            self._by_uniqueid[event.uniqueid] = ticket_id
        elif event.user_event == "LinkageTrunkFailed":
            status = event.headers.get("DialStatus", "")
            # The dialplan has already sent the caller back to its origin queue.
            await self.fail(watch, f"trunk to {watch.record.target_pbx} failed ({status})")

    async def _on_join(self, pbx: str, event: QueueCallerJoin) -> None:
        ticket_id = event.variables.get("LINKAGE_TICKET") or self._by_uniqueid.get(event.uniqueid)
        watch = self.watches.get(ticket_id or "")
        if watch is None or watch.queued_uniqueid is not None:
            return
        record = watch.record
        if pbx != record.target_pbx or event.queue != record.target_queue:
            return  # e.g. back in its origin queue after a trunk failure
        await self.mark_queued(watch, event.uniqueid, event.queue, event.channel)

    async def mark_queued(self, watch: Watch, uniqueid: str, queue: str, channel: str = "") -> None:
        record = watch.record
        watch.queued_uniqueid = uniqueid
        self._by_uniqueid[uniqueid] = record.ticket_id
        await self._step(record.ticket_id, TicketStatus.QUEUED, f"waiting in {queue}")
        await self._link(uniqueid, channel, record.ticket_id)
        self.hub.publish(
            LinkedCall("arrived", record.ticket_id, record.target_pbx, queue, uniqueid)
        )

    async def _on_connect(self, pbx: str, event: AgentConnect) -> None:
        watch = self._watch_for(event.uniqueid)
        if watch is None:
            await self._accept_unwatched(pbx, event)
            return
        if pbx != watch.record.target_pbx:
            return
        if event.queue != watch.record.target_queue:
            return
        await self.accept(
            watch, event.uniqueid, event.interface, event.dest_uniqueid, event.dest_channel
        )

    async def accept(
        self, watch: Watch, uniqueid: str, interface: str, agent_leg: str, agent_channel: str = ""
    ) -> None:
        """The caller is talking to a target-queue agent: the ticket is accepted by them."""
        record = watch.record
        self._forget(watch)
        agent = agent_id_of(interface) if interface else "unknown-agent"
        if watch.queued_uniqueid is None:
            watch.queued_uniqueid = uniqueid
            await self._step(record.ticket_id, TicketStatus.QUEUED, f"in {record.target_queue}")
            await self._link(uniqueid, "", record.ticket_id)
        await self._step(
            record.ticket_id, TicketStatus.ACCEPTED, f"answered in {record.target_queue}", agent
        )
        if agent_leg:
            await self._link(agent_leg, agent_channel, record.ticket_id)
        if record.mode == "consult" and record.agent_channel:
            await self._ami(record.source_pbx, "Hangup", Channel=record.agent_channel)
        await self._drop_record(record)
        self.hub.publish(
            LinkedCall(
                "answered",
                record.ticket_id,
                record.target_pbx,
                record.target_queue,
                uniqueid,
                agent,
            )
        )

    async def _accept_unwatched(self, pbx: str, event: AgentConnect) -> None:
        """A ticket the IVR opened (no transfer watches it) answered in its target queue."""
        ticket_id = event.variables.get("LINKAGE_TICKET", "").strip()
        owner = self._queue_owner.get((pbx, event.queue))
        if not ticket_id or owner is None:
            return
        try:
            ticket = await self.store.get(ticket_id)
        except (RedisError, OSError, LookupError, ValueError) as exc:
            log.info("linkage ticket not readable", extra={"ticket": ticket_id, "error": str(exc)})
            return
        # Only the receiving side accepts: the caller back in an origin queue (trunk failure)
        # or a ticket already taken is none of this event's business.
        if ticket.status is not TicketStatus.QUEUED or not opened_by_ivr(ticket.originating_agent):
            return
        if owner != (ticket.target_platform.value, ticket.target_district):
            return
        agent = agent_id_of(event.interface) if event.interface else "unknown-agent"
        await self._link(event.uniqueid, event.channel, ticket_id)
        await self._step(ticket_id, TicketStatus.ACCEPTED, f"answered in {event.queue}", agent)
        if event.dest_uniqueid:
            await self._link(event.dest_uniqueid, event.dest_channel, ticket_id)
        self.hub.publish(LinkedCall("answered", ticket_id, pbx, event.queue, event.uniqueid, agent))

    # --- failures -----------------------------------------------------------------------

    async def _deadline(self, watch: Watch, delay: float) -> None:
        await asyncio.sleep(delay)
        seconds = f"{self.config.answer_timeout_seconds:g}"
        await self.revert(watch, f"no answer in {watch.record.target_queue} within {seconds} s")

    async def revert(self, watch: Watch, reason: str) -> None:
        """Bring the caller back (origin queue at its head, or the agent in consult mode)."""
        record = watch.record
        if record.mode == "consult":
            problem = await self._ami(
                record.source_pbx, "Hangup", Channel=record.consult_channel or record.room
            )
        else:
            problem = await self._back_to_origin_queue(record)
        if problem:
            reason = f"{reason}; moving the caller back failed: {problem}"
        await self.fail(watch, reason)

    async def _back_to_origin_queue(self, record: InFlight) -> str:
        problem = await self._ami(
            record.source_pbx,
            "Setvar",
            Channel=record.caller_channel,
            Variable="QUEUE_PRIO",
            Value=str(self.config.return_priority),
        )
        if problem:
            return problem
        return await self._ami(
            record.source_pbx,
            "Redirect",
            Channel=record.caller_channel,
            Context=record.origin_context,
            Exten=record.origin_extension,
            Priority="1",
        )

    async def fail(self, watch: Watch, reason: str) -> None:
        record = watch.record
        self._forget(watch)
        await self._step(record.ticket_id, TicketStatus.TRANSFER_FAILED, reason)
        await self._drop_record(record)
        self.hub.publish(
            LinkedCall(
                "failed",
                record.ticket_id,
                record.target_pbx,
                record.target_queue,
                watch.queued_uniqueid or "",
                reason=reason,
            )
        )
        log.warning("transfer failed", extra={"ticket": record.ticket_id, "reason": reason})

    # --- small steps that log instead of raising (an event handler must go on) ---------

    async def _step(
        self, ticket_id: str, status: TicketStatus, note: str, by: str = SYSTEM
    ) -> None:
        try:
            await self.store.transition(ticket_id, status, by=by, note=note)
        except IllegalTransition as exc:
            log.info("ticket already moved on", extra={"ticket": ticket_id, "error": str(exc)})
        except (RedisError, OSError) as exc:
            log.error("ticket update lost", extra={"ticket": ticket_id, "error": str(exc)})

    async def _link(self, uniqueid: str, channel: str, ticket_id: str) -> None:
        try:
            await self.store.link_call(uniqueid, ticket_id)
            if channel:
                await self.store.link_channel(channel, ticket_id)
        except (RedisError, OSError, LookupError, ValueError) as exc:
            log.error("call link lost", extra={"ticket": ticket_id, "error": str(exc)})

    async def _drop_record(self, record: InFlight) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.inflight.delete(record.ticket_id)

    async def _ami(self, pbx: str, action: str, **headers: str) -> str:
        """Run an action; "" when it worked, else what went wrong."""
        link = self.links.get(pbx)
        if link is None:
            return f"PBX {pbx} is not configured"
        try:
            await link.connected_client().action(action, time_limit=None, **headers)
        except AMIError as exc:
            return str(exc)
        return ""
