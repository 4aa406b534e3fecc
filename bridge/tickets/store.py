"""The linkage-ticket store on redis.asyncio: create, transition, links, search, export.

Every write that must not be lost is one atomic script call; a ticket is acknowledged (the call
returns) only after Redis has accepted it. How much an acknowledged ticket survives a crash
depends on Redis's AOF fsync mode (see docs/tickets.md).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from bridge.tickets.batching import ScriptBatcher
from bridge.tickets.keys import TicketKeys
from bridge.tickets.model import (
    FeedbackEntry,
    HistoryEntry,
    Hop,
    Ticket,
    TicketDraft,
    ticket_from_hash,
    to_hash_fields,
)
from bridge.tickets.scripts import CREATE_TICKETS, TRANSITION_TICKET
from routing.tickets import (
    HANDLED,
    DeadlinePolicy,
    IllegalTransition,
    Platform,
    TicketStatus,
    check_reason,
    deadline_rule,
    due_at,
    sources_of,
)

SEQUENCE_TTL = timedelta(days=3)  # a day's counter outlives the day by a margin for clock skew


_TICKET_FIELDS = set(Ticket.model_fields)
_UNSET_ON_CREATE: dict[str, Any] = {
    "accepted_by": None,
    "accepted_at": None,
    "closed_at": None,
}


class TicketNotFound(LookupError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"no linkage ticket {ticket_id!r}")
        self.ticket_id = ticket_id


class IdempotencyConflict(ValueError):
    """A request id was reused with a different draft: a client bug, never silently merged."""

    def __init__(self, request_id: str, ticket_id: str) -> None:
        super().__init__(
            f"request_id {request_id!r} already created ticket {ticket_id} from a different draft"
        )
        self.request_id = request_id
        self.ticket_id = ticket_id


class CreateResult:
    """What create() returns: the id at once, the full Ticket model when first asked for.

    Building the model costs as much client CPU as a fifth of a create, and a transfer needs
    only the id (for LINKAGE_TICKET), so it is built lazily.
    """

    def __init__(self, ticket_id: str, created: bool, build: Callable[[], Ticket]) -> None:
        self.ticket_id = ticket_id
        self.created = created  # False when a retried request id returned the first ticket
        self._build = build

    @cached_property
    def ticket(self) -> Ticket:
        return self._build()


@dataclass(frozen=True)
class _CreateCall:
    request: list[Any]  # one entry of CREATE_TICKETS' request array
    stored: dict[str, Any]
    fingerprint: str


_DISTRICT = re.compile(r"\d{6}")


@dataclass(frozen=True)
class TicketQuery:
    """Filters that combine with AND; time bounds are on creation time, both inclusive."""

    status: TicketStatus | None = None
    district: str | None = None
    platform: Platform | None = None
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool = False
    not_acted: bool = False  # 联而不动
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 10_000:
            raise ValueError(f"limit must be 1..10000, got {self.limit}")
        if self.offset < 0:
            raise ValueError(f"offset must be >= 0, got {self.offset}")
        if self.district is not None and not _DISTRICT.fullmatch(self.district):
            raise ValueError(f"district must be a 6-digit code, got {self.district!r}")
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} must carry a timezone")
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _ms(moment: datetime) -> int:
    """Whole milliseconds since the epoch, exact (no float rounding at the ms boundary)."""
    return (moment - _EPOCH) // _MILLISECOND


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}


def _now() -> datetime:
    return datetime.now(UTC)


class TicketStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        deadlines: DeadlinePolicy,
        *,
        keys: TicketKeys | None = None,
        timezone: str = "Asia/Shanghai",
        link_ttl: timedelta = timedelta(hours=4),
        request_ttl: timedelta = timedelta(days=2),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        for name, ttl in (("link_ttl", link_ttl), ("request_ttl", request_ttl)):
            if ttl < timedelta(seconds=1):
                raise ValueError(f"{name} must be at least one second, got {ttl}")
        self.redis = redis
        self.deadlines = deadlines
        self.keys = keys or TicketKeys()
        self.zone = ZoneInfo(timezone)
        self.link_ttl_s = int(link_ttl.total_seconds())
        self.request_ttl_s = int(request_ttl.total_seconds())
        self.clock = clock
        self._creates = ScriptBatcher(
            redis,
            CREATE_TICKETS,
            [
                self.keys.ticket_template,
                self.keys.history_template,
                self.request_ttl_s,
                int(SEQUENCE_TTL.total_seconds()),
                self.link_ttl_s,
                self.keys.by_time,
                self.keys.by_status(TicketStatus.CREATED),
                self.keys.due,
            ],
        )
        self._transition = redis.register_script(TRANSITION_TICKET)

    async def create(self, draft: TicketDraft, *, request_id: str, by: str) -> CreateResult:
        """Create a ticket in one round trip; a retry with the same request id returns it."""
        call = self._prepare_create(draft, request_id, by)
        reply = await self._creates.run(call.request)
        ticket_id = _text(reply[1])
        if reply[0] == 1:
            return CreateResult(ticket_id, True, lambda: _new_ticket(draft, ticket_id, call))
        if _text(reply[2]) != call.fingerprint:
            raise IdempotencyConflict(request_id, ticket_id)
        stored = _pairs(reply[3])
        return CreateResult(ticket_id, False, lambda: ticket_from_hash(stored))

    def _prepare_create(self, draft: TicketDraft, request_id: str, by: str) -> _CreateCall:
        # This runs once per ticket on the client, which is the bottleneck: keep it lean.
        _check_word("request_id", request_id)
        _check_word("by", by)
        rule = deadline_rule(self.deadlines, draft.kind, draft.urgency)
        now = self.clock()
        due = due_at(now, rule)
        now_text, now_ms, due_ms = now.isoformat(), str(_ms(now)), str(_ms(due))
        act_ms = int(rule.act_within.total_seconds() * 1000)
        stored: dict[str, Any] = {
            "request_id": request_id,
            "status": TicketStatus.CREATED,
            "created_at": now,
            "updated_at": now,
            "due_at": due,
            "act_within_s": max(1, act_ms // 1000),
        }
        flat = [item for pair in to_hash_fields(draft).items() for item in pair]
        # The fingerprint covers the draft only, so a retry made later still matches.
        fingerprint = hashlib.sha1("\x1f".join(flat).encode()).hexdigest()
        flat += [
            "request_id",
            request_id,
            "status",
            TicketStatus.CREATED.value,
            "created_at",
            now_text,
            "updated_at",
            now_text,
            "due_at",
            due.isoformat(),
            "act_within_s",
            str(stored["act_within_s"]),
            # Index scores the script reads without parsing ISO dates in Lua.
            "_created_ms",
            now_ms,
            "_due_ms",
            due_ms,
            "_act_within_ms",
            str(act_ms),
        ]
        local = now.astimezone(self.zone)
        day = f"{local.year:04d}{local.month:02d}{local.day:02d}"  # strftime costs twice this
        k = self.keys
        # by-time, by-status:created and due are the script's fixed arguments.
        scored = [
            k.by_district(draft.district_code),
            k.by_platform(draft.origin_platform),
            k.by_platform(draft.target_platform),
        ]
        links = []
        if draft.channel:
            links.append(k.channel_link(draft.channel))
        if draft.uniqueid:
            links.append(k.call_link(draft.uniqueid))
        request = [
            k.request(request_id),
            k.sequence(day),
            day,
            fingerprint,
            now_ms,
            due_ms,
            by,
            now_text,
            scored,
            links,
            flat,
        ]
        return _CreateCall(request, stored, fingerprint)

    async def get(self, ticket_id: str) -> Ticket:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.ticket(ticket_id))
        if not raw:
            raise TicketNotFound(ticket_id)
        return ticket_from_hash(raw)

    async def transition(
        self,
        ticket_id: str,
        target: TicketStatus,
        *,
        by: str,
        note: str = "",
        feedback: str | None = None,
        hop: Hop | None = None,
        only_from: frozenset[TicketStatus] | None = None,
    ) -> Ticket:
        """Move a ticket to `target` atomically, recording who, when, from, to and the note.

        An illegal move raises IllegalTransition and writes nothing. Accepting records `by` as
        accepted_by; `feedback` appends a feedback entry; `hop` appends a route leg.
        `only_from` narrows the legal sources further (checked in the same atomic step): a
        writer that may have been overtaken by a later state says where it expects the ticket.
        """
        _check_word("by", by)
        check_reason(target, note)
        if len(note) > 4000:
            raise ValueError("note is longer than 4000 characters")
        now = self.clock()
        appends: list[str] = []
        if feedback is not None:
            entry = FeedbackEntry(by=by, at=now, text=feedback)
            appends += ["feedback", entry.model_dump_json()]
        if hop is not None:
            appends += ["hops", hop.model_dump_json()]
        fields = {"updated_at": now.isoformat()}
        if target is TicketStatus.ACCEPTED:
            fields.update(accepted_by=by, accepted_at=now.isoformat())
        if target is TicketStatus.CLOSED:
            fields["closed_at"] = now.isoformat()
        legal = sources_of(target) if only_from is None else sources_of(target) & only_from
        sources = " " + " ".join(sorted(legal)) + " "
        args: list[str | int] = [
            target.value,
            sources,
            by,
            now.isoformat(),
            note,
            self.keys.status_template,
            _ms(now),
            "1" if target in HANDLED else "0",
            "1" if target is TicketStatus.ACCEPTED else "0",
            len(appends) // 2,
            *appends,
        ]
        for name, value in fields.items():
            args += [name, value]
        keys = [
            self.keys.ticket(ticket_id),
            self.keys.history(ticket_id),
            self.keys.due,
            self.keys.act_due,
        ]
        reply = await self._transition(keys=keys, args=args)
        if reply[0] == 1:
            return ticket_from_hash(_pairs(reply[1]))
        if _text(reply[1]) == "missing":
            raise TicketNotFound(ticket_id)
        raise IllegalTransition(TicketStatus(_text(reply[2])), target)

    async def history(self, ticket_id: str) -> list[HistoryEntry]:
        entries = await self.redis.xrange(self.keys.history(ticket_id)) or []
        if not entries:
            raise TicketNotFound(ticket_id)
        history = []
        for entry_id, raw in entries:
            data = {_text(k): _text(v) for k, v in (raw or {}).items()}
            history.append(
                HistoryEntry(
                    entry_id=_text(entry_id),
                    event=data["event"],
                    by=data["by"],
                    at=datetime.fromisoformat(data["at"]),
                    from_status=TicketStatus(data["from"]) if data.get("from") else None,
                    to_status=TicketStatus(data["to"]) if data.get("to") else None,
                    note=data.get("note", ""),
                )
            )
        return history

    async def link_channel(self, channel: str, ticket_id: str) -> None:
        """Tie an Asterisk channel to a ticket; the link expires after the link TTL."""
        await self._link(self.keys.channel_link(channel), "channel", channel, ticket_id)

    async def link_call(self, uniqueid: str, ticket_id: str) -> None:
        """Tie an Asterisk call (Uniqueid) to a ticket; the link expires after the link TTL."""
        await self._link(self.keys.call_link(uniqueid), "uniqueid", uniqueid, ticket_id)

    async def _link(self, key: str, what: str, name: str, ticket_id: str) -> None:
        _check_word(what, name)
        if not await self.redis.exists(self.keys.ticket(ticket_id)):
            raise TicketNotFound(ticket_id)
        await self.redis.set(key, ticket_id, ex=self.link_ttl_s)

    async def ticket_for_channel(self, channel: str) -> str | None:
        value = await self.redis.get(self.keys.channel_link(channel))
        return None if value is None else _text(value)

    async def ticket_for_call(self, uniqueid: str) -> str | None:
        value = await self.redis.get(self.keys.call_link(uniqueid))
        return None if value is None else _text(value)

    async def search(self, query: TicketQuery) -> list[Ticket]:
        ids = await self._search_ids(query)
        return await self._fetch(ids[query.offset : query.offset + query.limit])

    async def export_jsonl(self, query: TicketQuery) -> AsyncIterator[str]:
        """Every matching ticket as one JSON line (limit/offset ignored), in creation order."""
        ids = await self._search_ids(query)
        for start in range(0, len(ids), 500):
            for ticket in await self._fetch(ids[start : start + 500]):
                yield ticket.model_dump_json() + "\n"

    async def _search_ids(self, query: TicketQuery) -> list[str]:
        k = self.keys
        indexes = [k.by_time]
        if query.status is not None:
            indexes = [k.by_status(query.status)]
        if query.district is not None:
            indexes.append(k.by_district(query.district))
        if query.platform is not None:
            indexes.append(k.by_platform(query.platform))
        low = _ms(query.since) if query.since else "-inf"
        high = _ms(query.until) if query.until else "+inf"
        scored = await self._in_range(indexes, low, high)
        now_ms = _ms(self.clock())
        if query.overdue:
            late: list[Any] = await self.redis.zrange(k.due, "-inf", now_ms - 1, byscore=True)
            keep = {_text(i) for i in late}
            scored = [(i, s) for i, s in scored if i in keep]
        if query.not_acted:
            idle: list[Any] = await self.redis.zrange(k.act_due, "-inf", now_ms - 1, byscore=True)
            keep = {_text(i) for i in idle}
            scored = [(i, s) for i, s in scored if i in keep]
        return [ticket_id for ticket_id, _ in scored]

    async def _in_range(
        self, indexes: list[str], low: int | str, high: int | str
    ) -> list[tuple[str, float]]:
        """Ids (with created ms) in every index and within [low, high], oldest first.

        All indexes share the created-ms score, so: count each one's range, scan the smallest,
        and check membership in the others with ZMSCORE. The cost follows the smallest range,
        not the size of the whole indexes.
        """
        smallest = indexes[0]
        if len(indexes) > 1:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in indexes:
                    pipe.zcount(key, low, high)
                sizes: list[int] = await pipe.execute()
            smallest = indexes[sizes.index(min(sizes))]
        rows: list[Any] = await self.redis.zrange(
            smallest, low, high, byscore=True, withscores=True
        )
        scored = [(_text(i), float(s)) for i, s in rows]
        others = [key for key in indexes if key != smallest]
        if not scored or not others:
            return scored
        ids = [ticket_id for ticket_id, _ in scored]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in others:
                pipe.zmscore(key, ids)
            memberships: list[list[float | None]] = await pipe.execute()
        return [
            row
            for n, row in enumerate(scored)
            if all(found[n] is not None for found in memberships)
        ]

    async def _fetch(self, ids: Sequence[str]) -> list[Ticket]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for ticket_id in ids:
                pipe.hgetall(self.keys.ticket(ticket_id))
            rows: list[Any] = await pipe.execute()
        return [ticket_from_hash(raw) for raw in rows if raw]


_PLAIN_WORD = re.compile(r"\S{1,200}")


def _new_ticket(draft: TicketDraft, ticket_id: str, call: _CreateCall) -> Ticket:
    # Every field is already validated, so skip a second validation. Passing every field and
    # the fields-set halves model_construct's cost (no default look-ups).
    return Ticket.model_construct(
        _TICKET_FIELDS,
        **dict(draft),
        id=ticket_id,
        feedback=[],
        **_UNSET_ON_CREATE,
        **call.stored,
    )


def _check_word(name: str, value: str) -> None:
    """Ids and names go into key names and a space-separated value: keep them plain."""
    if not _PLAIN_WORD.fullmatch(value):
        raise ValueError(f"{name} must be 1-200 characters without whitespace, got {value!r}")
