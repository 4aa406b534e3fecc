"""Starting a one-key transfer: find the caller, create the ticket, check, tag, move.

Order of the steps (each failure leaves the caller where it is and says why):

1. the caller's channel on the agent's PBX (live model), the origin platform (the queue the
   call came through), the path (routing.transfer_paths);
2. in parallel: create the linkage ticket (one script call) and check the target queue exists
   on its PBX (``QueueStatus Queue=<q>``: a missing queue lists nothing, trace 15; a Redirect
   to a missing extension would answer Success and then hang the caller up);
3. in parallel: the in-flight record for recovery and ``Setvar LINKAGE_TICKET`` on the caller
   (as trace 16 does: hb-trunk carries it over a trunk as IAXVAR, and hb-queue makes it
   inheritable so the answering agent's leg has it too); ticket -> ``transferring`` follows
   the move;
4. blind: ``Redirect`` the caller to the entry; consult: ``Redirect`` caller and agent into a
   three-party room and ``Originate`` a leg from the room to the entry (the agent stays on
   until the other side answers, trace 13);
5. the outcome watcher takes over (bridge.transfers.outcomes).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from pydantic import ValidationError
from redis.exceptions import RedisError

from bridge.tickets import (
    CreateResult,
    Hop,
    IdempotencyConflict,
    Ticket,
    TicketDraft,
    TicketStore,
)
from bridge.transfers.config import Mode, TransferConfig
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.inflight import InFlight, InFlightStore
from bridge.transfers.outcomes import OutcomeWatcher, PbxLink
from routing.tickets import IllegalTransition, Kind, Level, Platform, TicketStatus, Urgency
from routing.transfer_paths import (
    Entry,
    NoTransferPath,
    PlatformEntry,
    TransferPlan,
    plan_transfer,
)
from telephony.ami.errors import AMIError
from telephony.live import Channel, LiveModel

log = logging.getLogger(__name__)

RETURN = "HB_RETURN"  # where [hb-trunk] sends the caller back: "context,exten,priority"
TICKET_VARIABLE = "LINKAGE_TICKET"
CALLER_NUMBER = re.compile(r"^\+?[0-9*#]{1,32}$")
# Kind when neither the agent's draft nor the caller's IVR choice (HB_KIND) gives one: what
# the other platform takes (MISSION.md annex).
DEFAULT_KIND = {"110": Kind.REPORT, "12345": Kind.HELP}


class TransferError(Exception):
    """A transfer refused or failed; `status` is the HTTP status that fits."""

    def __init__(self, reason: str, *, status: int = 409, ticket_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.ticket_id = ticket_id


@dataclass(frozen=True)
class TransferOrder:
    pbx: str  # the PBX the caller is on now
    caller_channel: str  # channel name or uniqueid
    agent: str  # agent id: `by` in the ticket history
    agent_channel: str = ""  # the agent's leg (consult mode needs it)
    source_platform: str | None = None  # None: the queue the call came through says
    draft: AgentDraft = field(default_factory=AgentDraft)
    request_id: str | None = None  # idempotency: a retry returns the same ticket


@dataclass(frozen=True)
class TransferStarted:
    ticket: Ticket
    plan: TransferPlan
    mode: Mode
    created: bool  # False: a retried request id; nothing was moved again


class TransferService:
    def __init__(
        self,
        store: TicketStore,
        inflight: InFlightStore,
        watcher: OutcomeWatcher,
        links: Mapping[str, PbxLink],
        platforms: Sequence[PlatformEntry],
        zones: Mapping[str, str],
        config: TransferConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.inflight = inflight
        self.watcher = watcher
        self.links = links
        self.platforms = list(platforms)
        self.by_id = {p.id: p for p in self.platforms}
        self.zones = dict(zones)
        self.config = config
        self.clock = clock
        self._queue_platform = {(p.pbx, q.name): p.id for p in self.platforms for q in p.queues}
        self._queue_seen: dict[tuple[str, str], float] = {}  # (pbx, queue) -> when checked

    async def start(self, order: TransferOrder) -> TransferStarted:
        link = self._link(order.pbx)
        caller = link.live.channel(order.caller_channel)
        if caller is None:
            raise TransferError(
                f"caller channel {order.caller_channel!r} is not up on {order.pbx}", status=404
            )
        plan = self.plan(link, caller, order)
        mode: Mode = (
            "consult" if (order.draft.mode or self.config.default_mode) == "consult" else "blind"
        )
        if mode == "consult" and not order.agent_channel:
            raise TransferError("consult mode needs the agent's channel", status=422)
        draft = self.ticket_draft(plan, caller, order)
        request_id = order.request_id or f"onekey-{caller.uniqueid}-{int(self.clock() * 1000)}"
        ticket, problem = await self._create_and_check(draft, request_id, order, plan)
        if not ticket.created:
            return TransferStarted(ticket.ticket, plan, mode, created=False)
        ticket_id = ticket.ticket_id  # not .ticket: that builds the whole model
        if problem:
            await self._refuse(ticket_id, order.agent, problem)
        record = self._record(ticket_id, mode, link, caller, order, plan)
        expected = {caller.uniqueid, f"{record.room}-2"} if mode == "consult" else {caller.uniqueid}
        # Watch before moving: the caller's QueueCallerJoin may follow the reply at once.
        watch = self.watcher.watch(record, expected)
        problem = await self._tag_and_move(record, link, plan.entry)
        if problem:
            self.watcher.discard(watch)
            await self._abandon(record, order.agent, problem)
        # After the move, not before: the caller need not wait for it (the ticket is safe in
        # Redis already), and its reply costs the event loop a full ticket to parse.
        started = await self._transferring(record, order.agent, plan, ticket)
        return TransferStarted(started, plan, mode, created=True)

    # --- steps --------------------------------------------------------------------------

    def _link(self, pbx: str) -> PbxLink:
        link = self.links.get(pbx)
        if link is None:
            raise TransferError(f"PBX {pbx!r} is not configured", status=404)
        if link.client is None or not link.client.connected:
            raise TransferError(f"PBX {pbx} is unreachable (AMI not connected)", status=503)
        return link

    def plan(self, link: PbxLink, caller: Channel, order: TransferOrder) -> TransferPlan:
        source = order.source_platform or self._platform_of_call(link, caller)
        kind = self.by_id[source].kind if source in self.by_id else ""
        target = order.draft.target or ("12345" if kind == "110" else "110")
        district = order.draft.district_code if target == "110" and kind == "110" else None
        try:
            return plan_transfer(self.platforms, source, target, district, self.zones)
        except NoTransferPath as exc:
            raise TransferError(str(exc), status=422) from None

    def _platform_of_call(self, link: PbxLink, caller: Channel) -> str:
        agent = link.live.bridged_peer(caller.uniqueid)
        # The member is keyed by its interface, which the agent's channel name gives: a
        # lookup, not a walk through every member of every queue on each key press.
        interfaces = _interfaces_of(agent.name) if agent is not None else []
        for queue in link.live.queues.values():
            owner = self._queue_platform.get((link.name, queue.name))
            if owner is None:
                continue
            members = [queue.members.get(interface) for interface in interfaces]
            if any(m is not None and m.caller == caller.uniqueid for m in members):
                return owner
        for queue in link.live.queues.values():  # a member not named after its channel
            if any(m.caller == caller.uniqueid for m in queue.members.values()):
                found = self._queue_platform.get((link.name, queue.name))
                if found:
                    return found
        # After a resync no AgentConnect was seen: the queue dialplan's CITY_CODE tells.
        code = caller.variables.get("CITY_CODE", "")
        for platform in self.platforms:
            if platform.pbx == link.name and platform.district_code == code:
                return platform.id
        raise TransferError(
            f"cannot tell which platform answered {caller.name} on {link.name}: "
            "give source_platform",
            status=422,
        )

    def ticket_draft(
        self, plan: TransferPlan, caller: Channel, order: TransferOrder
    ) -> TicketDraft:
        d, origin, target = order.draft, plan.origin, plan.target
        number = caller.caller_id_num if CALLER_NUMBER.fullmatch(caller.caller_id_num) else None
        try:
            return TicketDraft(
                direction=plan.direction,
                origin_platform=Platform(origin.kind),
                origin_level=Level(origin.level),
                origin_district=origin.district_code,
                origin_ref=d.origin_ref,
                caller_number=number,
                caller_name=d.caller_name or _plain_name(caller.caller_id_name),
                kind=d.kind or ivr_kind(caller) or DEFAULT_KIND[target.kind],
                summary=d.summary,
                urgency=d.urgency or Urgency.NORMAL,
                district_code=d.district_code or target.district_code,
                location=d.location,
                originating_agent=order.agent,
                officers_contact=d.officers_contact,
                target_platform=Platform(target.kind),
                target_level=Level(target.level),
                target_district=target.district_code,
                hops=[self.hop(h.from_platform, h.to_platform) for h in plan.hops],
                channel=caller.name,
                uniqueid=caller.uniqueid,
            )
        except ValidationError as exc:
            raise TransferError(f"ticket fields: {_first_error(exc)}", status=422) from None

    def hop(self, from_id: str, to_id: str) -> Hop:
        a, b = self.by_id[from_id], self.by_id[to_id]
        return Hop(
            from_platform=Platform(a.kind),
            from_level=Level(a.level),
            from_district=a.district_code,
            to_platform=Platform(b.kind),
            to_level=Level(b.level),
            to_district=b.district_code,
        )

    async def _create_and_check(
        self,
        draft: TicketDraft,
        request_id: str,
        order: TransferOrder,
        plan: TransferPlan,
    ) -> tuple[CreateResult, str]:
        target = self.links.get(plan.target.pbx) or PbxLink(plan.target.pbx, LiveModel())
        created, exists = await asyncio.gather(
            self.store.create(draft, request_id=request_id, by=order.agent),
            self.queue_exists(target, plan.target_queue),
            return_exceptions=True,
        )
        if isinstance(created, IdempotencyConflict):
            raise TransferError(str(created), status=409)
        if isinstance(created, ValueError):
            raise TransferError(str(created), status=422)
        if isinstance(created, BaseException):
            raise TransferError(f"ticket store unreachable: {created}", status=503)
        if isinstance(exists, BaseException):
            return created, f"target PBX {target.name} unreachable: {exists}"
        if not exists:
            return created, f"target queue {plan.target_queue} does not exist on {target.name}"
        return created, ""

    async def queue_exists(self, link: PbxLink, queue: str) -> bool:
        """Whether `queue` exists on the link's PBX (a missing one lists nothing, trace 15)."""
        client = link.connected_client()  # an unreachable PBX fails even when cached
        key, now = (link.name, queue), self.clock()
        if now - self._queue_seen.get(key, float("-inf")) < self.config.target_check_ttl_seconds:
            return True
        result = await client.list_action("QueueStatus", Queue=queue)
        found = any(getattr(item, "queue", None) == queue for item in result.events)
        if found:
            self._queue_seen[key] = now
        else:
            self._queue_seen.pop(key, None)
        return found

    async def _refuse(self, ticket_id: str, agent: str, reason: str) -> NoReturn:
        await self.store.transition(ticket_id, TicketStatus.TRANSFER_FAILED, by=agent, note=reason)
        raise TransferError(reason, status=409, ticket_id=ticket_id)

    def _record(
        self,
        ticket_id: str,
        mode: Mode,
        link: PbxLink,
        caller: Channel,
        order: TransferOrder,
        plan: TransferPlan,
    ) -> InFlight:
        origin_queue = plan.origin.queues[0]
        room = re.sub(r"\D", "", ticket_id) if mode == "consult" else ""
        return InFlight(
            ticket_id=ticket_id,
            mode=mode,
            source_pbx=link.name,
            caller_channel=caller.name,
            caller_uniqueid=caller.uniqueid,
            agent_channel=order.agent_channel or _peer_name(link, caller),
            origin_context=origin_queue.context,
            origin_extension=origin_queue.extension,
            target_pbx=plan.target.pbx,
            target_queue=plan.target_queue,
            deadline=self.clock() + self.config.answer_timeout_seconds,
            room=room,
            consult_channel=f"{room}-1" if room else "",
        )

    async def _tag_and_move(self, record: InFlight, link: PbxLink, entry: Entry) -> str:
        """The in-flight record, the caller's variables, then the move; "" when the PBX took
        the move, else what went wrong (nothing was moved then).

        All are sent at once, in this order: one AMI session runs its actions one after the
        other in the order they arrive, so each Setvar has taken effect when the Redirect
        runs, without a round trip of its own before it. The in-flight record (for a restart)
        is sent to Redis before the AMI actions, but the move does not wait for its reply.
        """
        saving = asyncio.ensure_future(self.inflight.save(record, self.clock()))
        tags = [_ami(link, "Setvar", **self._setvar(record, TICKET_VARIABLE, record.ticket_id))]
        if record.target_pbx != record.source_pbx:
            # [hb-trunk] sends the caller here if the trunk fails: its own origin queue
            # (a county's), not the dialplan's default city queue.
            back = f"{record.origin_context},{record.origin_extension},1"
            tags.append(_ami(link, "Setvar", **self._setvar(record, RETURN, back)))
        # Tasks take their first step (where AMIClient writes the action) in creation order.
        steps = [asyncio.ensure_future(step) for step in (*tags, self._move(record, link, entry))]
        saved, *tagged, moved = await asyncio.gather(saving, *steps, return_exceptions=True)
        if isinstance(moved, BaseException):
            raise moved
        assert isinstance(moved, str)
        if not moved:
            # The caller is on its way: a failed Setvar or record cannot stop it any more.
            for result in (saved, *tagged):
                if result:
                    log.warning(
                        "transfer under way with a step missing",
                        extra={"ticket": record.ticket_id, "problem": str(result)},
                    )
        return moved

    @staticmethod
    def _setvar(record: InFlight, name: str, value: str) -> dict[str, str]:
        return {"Channel": record.caller_channel, "Variable": name, "Value": value}

    async def _transferring(
        self, record: InFlight, agent: str, plan: TransferPlan, created: CreateResult
    ) -> Ticket:
        """Ticket -> transferring, only from created: the outcome may have overtaken it
        (queued, or transfer_failed when a trunk failed at once) and must not be undone.
        As it is then, or as created if Redis failed (the outcome's own update follows)."""
        entry = plan.entry
        note = f"to {plan.target.id} via {entry.context},{entry.extension} on {entry.pbx}"
        try:
            return await self.store.transition(
                record.ticket_id,
                TicketStatus.TRANSFERRING,
                by=agent,
                note=note,
                only_from=frozenset({TicketStatus.CREATED}),
            )
        except IllegalTransition:
            return await self._current(record.ticket_id, created.ticket)
        except (RedisError, OSError):
            return created.ticket

    async def _current(self, ticket_id: str, fallback: Ticket) -> Ticket:
        try:
            return await self.store.get(ticket_id)
        except (RedisError, OSError):
            return fallback

    async def _move(self, record: InFlight, link: PbxLink, entry: Entry) -> str:
        """Send the caller on; "" when the PBX took it, else what went wrong."""
        context, extension = entry.context, entry.extension
        if record.mode == "blind":
            headers = {
                "Channel": record.caller_channel,
                "Context": context,
                "Exten": extension,
                "Priority": "1",
            }
            return await _ami(link, "Redirect", **headers)
        return await self._consult(record, link, context, extension)

    async def _consult(self, record: InFlight, link: PbxLink, context: str, extension: str) -> str:
        room = record.room
        problem = await _ami(
            link,
            "Redirect",
            Channel=record.caller_channel,
            ExtraChannel=record.agent_channel,
            Context=self.config.conference_context,
            Exten=room,
            Priority="1",
            ExtraContext=self.config.conference_context,
            ExtraExten=room,
            ExtraPriority="1",
        )
        if problem:
            return problem
        return await _ami(
            link,
            "Originate",
            Channel=f"Local/{extension}@{context}/n",
            Context=self.config.conference_context,
            Exten=room,
            Priority="1",
            Async="true",
            ChannelId=f"{room}-1",
            OtherChannelId=f"{room}-2",
            Variable=f"LINKAGE_TICKET={record.ticket_id}",
        )

    async def _abandon(self, record: InFlight, by: str, reason: str) -> NoReturn:
        """Nothing was moved (or the move was refused): record why and tell the caller."""
        try:
            await self.store.transition(
                record.ticket_id, TicketStatus.TRANSFER_FAILED, by=_word(by), note=reason
            )
            await self.inflight.delete(record.ticket_id)
        except (RedisError, OSError):
            pass  # the in-flight record lets recovery settle it
        raise TransferError(reason, status=502, ticket_id=record.ticket_id)


async def _ami(link: PbxLink, action: str, **headers: str) -> str:
    try:
        await link.connected_client().action(action, time_limit=None, **headers)
    except AMIError as exc:
        return str(exc)
    return ""


def ivr_kind(caller: Channel) -> Kind | None:
    """The caller's own choice in the 12345 entry menu (``HB_KIND``, sent with every event
    through manager.conf ``channelvars``); None when unset or not one of the five kinds."""
    value = caller.variables.get("HB_KIND", "").strip()
    try:
        return Kind(value) if value else None
    except ValueError:
        return None


def _interfaces_of(channel: str) -> list[str]:
    """Queue member interfaces a channel may belong to (the inverse of
    telephony.live.channel_of_interface): ``PJSIP/1001-0000002a`` -> ``PJSIP/1001``;
    ``Local/agent121@agents-00000001;1`` -> ``Local/agent121@agents/n`` and without ``/n``."""
    local = channel.startswith("Local/")
    if local:
        channel = channel.removesuffix(";1").removesuffix(";2")
    prefix, dash, _ = channel.rpartition("-")
    if not dash:
        return []
    return [f"{prefix}/n", prefix] if local else [prefix]


def _peer_name(link: PbxLink, caller: Channel) -> str:
    """The caller's bridged peer now: the agent's leg (API transfers may not name it)."""
    peer = link.live.bridged_peer(caller.uniqueid)
    return "" if peer is None else peer.name


def _plain_name(name: str) -> str | None:
    name = name.strip()
    return name[:64] if name and name != "<unknown>" else None


def _word(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "hotline-bridge"


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "ticket"
    return f"{where}: {error['msg']}"
