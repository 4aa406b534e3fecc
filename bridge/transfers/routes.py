"""HTTP API of transfers and linkage tickets.

A token sees only tickets its platform is party to (origin, target or a hop on the way);
supervisor and admin tokens see all. Bad input is a 400/422 naming the field, checked before
anything is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bridge.call_requests import (
    ApiRoute,
    HttpProblem,
    add_api_routes,
    field_errors,
    read_body,
    started,
)
from bridge.http.auth import PRINCIPAL, Principal
from bridge.http.routes import RouteTable
from bridge.settings import Role
from bridge.tickets import (
    IdempotencyConflict,
    Ticket,
    TicketDraft,
    TicketNotFound,
    TicketQuery,
)
from bridge.transfers.drafts import AgentDraft, check_agent_id
from bridge.transfers.orchestrator import TransferError
from bridge.transfers.requests import (
    FeedbackRequest,
    InternetTicketRequest,
    StatusRequest,
    TransferAccepted,
    TransferRequest,
)
from bridge.transfers.stack import TransferStack
from routing.tickets import IllegalTransition, Level, Platform, TicketStatus
from routing.transfer_paths import NoTransferPath, PlatformEntry, plan_transfer

AGENTS = {Role.AGENT_12345, Role.AGENT_110}
TICKET_ROLES = AGENTS | {Role.SUPERVISOR, Role.ADMIN}
SEES_ALL = {Role.SUPERVISOR, Role.ADMIN}
QUERY_KEYS = {"status", "district", "platform", "since", "until", "overdue", "not_acted"}
QUERY_KEYS |= {"limit", "offset"}
M = TypeVar("M", bound=BaseModel)


def _by(principal: Principal) -> str:
    return re.sub(r"\s+", "_", principal.name)


def _ticket_json(ticket: Ticket) -> dict[str, Any]:
    data: dict[str, Any] = ticket.model_dump(mode="json")
    return data


class TicketRoutes:
    def __init__(
        self,
        stack: Callable[[], TransferStack | None],
        platforms: list[PlatformEntry],
        zones: dict[str, str],
    ) -> None:
        self._get_stack = stack
        self.platforms = platforms
        self.by_id = {p.id: p for p in platforms}
        self.zones = zones

    @property
    def stack(self) -> TransferStack:
        return started(self._get_stack(), "transfer")

    # --- who may see what ---------------------------------------------------------------

    def _own_platform(self, principal: Principal) -> PlatformEntry | None:
        """The platform an agent token acts for (None for supervisor/admin)."""
        if principal.role in SEES_ALL:
            return None
        found = self.by_id.get(principal.platform or "")
        if found is None:
            raise HttpProblem(403, "forbidden", f"token {principal.name} names no platform")
        return found

    def _check_party(
        self, principal: Principal, ticket: Ticket, *, receiving: bool = False
    ) -> None:
        mine = self._own_platform(principal)
        if mine is None:
            return
        me = (mine.kind, mine.level, mine.district_code)
        target = (ticket.target_platform.value, ticket.target_level.value, ticket.target_district)
        if receiving and me != target:
            raise HttpProblem(403, "forbidden", "only the receiving platform may do this")
        if not receiving and me not in _parties(ticket):
            raise HttpProblem(403, "forbidden", f"platform {mine.id} is not party to {ticket.id}")

    async def _ticket(
        self, request: web.Request, *, receiving: bool = False, ticket_id: str | None = None
    ) -> Ticket:
        ticket_id = ticket_id or request.match_info["ticket_id"]
        try:
            ticket = await self.stack.store.get(ticket_id)
        except TicketNotFound:
            raise HttpProblem(404, "not_found", f"no linkage ticket {ticket_id!r}") from None
        self._check_party(request[PRINCIPAL], ticket, receiving=receiving)
        return ticket

    # --- handlers -----------------------------------------------------------------------

    async def post_transfer(self, request: web.Request) -> web.StreamResponse:
        principal = request[PRINCIPAL]
        body = await read_body(request, TransferRequest)
        mine = self._own_platform(principal)
        source = _source(mine, body.source_platform)
        order = body.order(source)
        try:
            started = await self.stack.service.start(order)
        except TransferError as exc:
            detail = exc.reason + (f" (ticket {exc.ticket_id})" if exc.ticket_id else "")
            raise HttpProblem(exc.status, "transfer_failed", detail) from None
        entry = started.plan.entry
        answer = TransferAccepted(
            ticket_id=started.ticket.id,
            status=started.ticket.status,
            mode=started.mode,
            target_platform=started.plan.target.id,
            target_queue=started.plan.target_queue,
            entry=f"{entry.context},{entry.extension}@{entry.pbx}",
            created=started.created,
        )
        return web.json_response(answer.model_dump(mode="json"), status=202)

    async def post_ticket(self, request: web.Request) -> web.StreamResponse:
        principal = request[PRINCIPAL]
        body = await read_body(request, InternetTicketRequest)
        mine = self._own_platform(principal)
        source = _source(mine, body.source_platform)
        if source is None:
            raise HttpProblem(422, "invalid", "source_platform: required for this token's role")
        draft = self._internet_draft(body, source)
        try:
            result = await self.stack.store.create(
                draft, request_id=body.request_id, by=_by(principal)
            )
        except IdempotencyConflict as exc:
            raise HttpProblem(409, "conflict", str(exc)) from None
        if not result.created:
            return web.json_response(_ticket_json(result.ticket), status=200)
        target = f"{draft.target_platform.value} {draft.target_level.value} {draft.target_district}"
        ticket = await self.stack.store.transition(
            result.ticket.id,
            TicketStatus.QUEUED,
            by=_by(principal),
            note=f"internet channel: delivered to the {target} list",
        )
        return web.json_response(_ticket_json(ticket), status=201)

    def _internet_draft(self, body: InternetTicketRequest, source: str) -> TicketDraft:
        try:
            plan = plan_transfer(
                self.platforms, source, body.target, body.district_code, self.zones
            )
        except NoTransferPath as exc:
            raise HttpProblem(422, "invalid", f"target: {exc}") from None
        hops = [self.stack.service.hop(h.from_platform, h.to_platform) for h in plan.hops]
        fields = body.model_dump(exclude={"request_id", "target", "source_platform"})
        try:
            return TicketDraft(
                direction=plan.direction,
                origin_platform=Platform(plan.origin.kind),
                origin_level=Level(plan.origin.level),
                origin_district=plan.origin.district_code,
                target_platform=Platform(plan.target.kind),
                target_level=Level(plan.target.level),
                target_district=plan.target.district_code,
                hops=hops,
                **fields,
            )
        except ValidationError as exc:
            raise HttpProblem(422, "invalid", field_errors(exc)) from None

    async def list_tickets(self, request: web.Request) -> web.StreamResponse:
        query = _ticket_query(request.query)
        mine = self._own_platform(request[PRINCIPAL])
        if mine is None:
            tickets = await self.stack.store.search(query)
        else:
            # Narrow by platform kind in Redis, then keep what this platform is party to.
            wide = TicketQuery(
                **{**query.__dict__, "platform": Platform(mine.kind), "limit": 10_000, "offset": 0}
            )
            me = (mine.kind, mine.level, mine.district_code)
            party = [t for t in await self.stack.store.search(wide) if me in _parties(t)]
            tickets = party[query.offset : query.offset + query.limit]
        return web.json_response({"tickets": [_ticket_json(t) for t in tickets]})

    async def export_tickets(self, request: web.Request) -> web.StreamResponse:
        """Every matching ticket as JSON lines, streamed (limit/offset ignored)."""
        query = _ticket_query(request.query)
        mine = self._own_platform(request[PRINCIPAL])
        if mine is not None:
            query = TicketQuery(**{**query.__dict__, "platform": Platform(mine.kind)})
        me = None if mine is None else (mine.kind, mine.level, mine.district_code)
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        async for line in self.stack.store.export_jsonl(query):
            if me is None or me in _parties(Ticket.model_validate_json(line)):
                await response.write(line.encode())
        await response.write_eof()
        return response

    async def get_ticket(self, request: web.Request) -> web.StreamResponse:
        return await self._with_history(await self._ticket(request))

    async def _with_history(self, ticket: Ticket) -> web.StreamResponse:
        history = await self.stack.store.history(ticket.id)
        body = _ticket_json(ticket)
        body["history"] = [h.model_dump(mode="json") for h in history]
        return web.json_response(body)

    async def call_ticket(self, request: web.Request) -> web.StreamResponse:
        uniqueid = request.match_info["uniqueid"]
        ticket_id = await self.stack.store.ticket_for_call(uniqueid)
        if ticket_id is None:
            raise HttpProblem(404, "not_found", f"no linkage ticket on call {uniqueid!r}")
        return await self._with_history(await self._ticket(request, ticket_id=ticket_id))

    async def post_feedback(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request, FeedbackRequest)
        ticket = await self._ticket(request, receiving=True)
        return await self._move(request, ticket, TicketStatus.FEEDBACK_GIVEN, "", body.text)

    async def post_status(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request, StatusRequest)
        ticket = await self._ticket(request)
        return await self._move(request, ticket, body.status, body.note, None)

    async def _move(
        self,
        request: web.Request,
        ticket: Ticket,
        status: TicketStatus,
        note: str,
        feedback: str | None,
    ) -> web.StreamResponse:
        try:
            moved = await self.stack.store.transition(
                ticket.id, status, by=_by(request[PRINCIPAL]), note=note, feedback=feedback
            )
        except IllegalTransition as exc:
            raise HttpProblem(409, "illegal_transition", str(exc)) from None
        except ValueError as exc:
            raise HttpProblem(422, "invalid", str(exc)) from None
        return web.json_response(_ticket_json(moved))

    async def put_draft(self, request: web.Request) -> web.StreamResponse:
        try:
            agent = check_agent_id(request.match_info["agent"])
        except ValueError as exc:
            raise HttpProblem(400, "bad_request", str(exc)) from None
        draft = await read_body(request, AgentDraft)
        await self.stack.drafts.put(agent, draft)
        return web.json_response({"agent": agent, "draft": draft.model_dump(mode="json")})


def _source(mine: PlatformEntry | None, asked: str | None) -> str | None:
    """An agent token acts for its own platform only; others say which one."""
    if mine is None:
        return asked
    if asked is not None and asked != mine.id:
        raise HttpProblem(403, "forbidden", f"source_platform: this token acts for {mine.id}")
    return mine.id


def _parties(ticket: Ticket) -> set[tuple[str, str, str]]:
    ends = {
        (ticket.origin_platform.value, ticket.origin_level.value, ticket.origin_district),
        (ticket.target_platform.value, ticket.target_level.value, ticket.target_district),
    }
    for hop in ticket.hops:
        ends.add((hop.from_platform.value, hop.from_level.value, hop.from_district))
        ends.add((hop.to_platform.value, hop.to_level.value, hop.to_district))
    return ends


E = TypeVar("E", TicketStatus, Platform)


def _ticket_query(query: Any) -> TicketQuery:
    unknown = sorted(set(query) - QUERY_KEYS)
    if unknown:
        raise HttpProblem(400, "bad_request", f"unknown query parameter {unknown[0]!r}")
    try:
        return TicketQuery(
            status=_enum(TicketStatus, query, "status"),
            district=_district(query.get("district")),
            platform=_enum(Platform, query, "platform"),
            since=_moment(query, "since"),
            until=_moment(query, "until"),
            overdue=_flag(query, "overdue"),
            not_acted=_flag(query, "not_acted"),
            limit=_number(query, "limit", 100),
            offset=_number(query, "offset", 0),
        )
    except ValueError as exc:
        raise HttpProblem(400, "bad_request", str(exc)) from None


def _enum(kind: type[E], query: Any, name: str) -> E | None:
    if name not in query:
        return None
    try:
        return kind(query[name])
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValueError(f"{name} must be one of {choices}, got {query[name]!r}") from None


def _district(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{6}", value):
        raise ValueError(f"district must be a six-digit code, got {value!r}")
    return value


def _moment(query: Any, name: str) -> datetime | None:
    if name not in query:
        return None
    try:
        return datetime.fromisoformat(query[name])
    except ValueError:
        raise ValueError(f"{name} must be an ISO 8601 time, got {query[name]!r}") from None


def _flag(query: Any, name: str) -> bool:
    value = query.get(name, "false")
    if value not in ("true", "false"):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value == "true")


def _number(query: Any, name: str, default: int) -> int:
    text = query.get(name, str(default))
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number, got {text!r}")
    return int(text)


def add_ticket_routes(table: RouteTable, routes: TicketRoutes) -> None:
    tags = ("tickets",)
    add_api_routes(
        table,
        TICKET_ROLES,
        [
            ApiRoute(
                "POST",
                "/api/transfers",
                routes.post_transfer,
                "one-key transfer of a caller to the other platform, with a new linkage ticket",
                ("transfers",),
                TransferRequest,
                TransferAccepted,
                {
                    404: "no such PBX or caller",
                    409: "refused (ticket says why)",
                    422: "invalid field or no path",
                    502: "the PBX refused",
                    503: "unreachable",
                },
            ),
            ApiRoute(
                "POST",
                "/api/tickets",
                routes.post_ticket,
                "internet-channel request delivered to the other platform's list",
                tags,
                InternetTicketRequest,
                Ticket,
                {201: "created", 409: "request_id reused with another body", 422: "invalid"},
            ),
            ApiRoute(
                "GET",
                "/api/tickets",
                routes.list_tickets,
                "search tickets "
                "(status, district, platform, since, until, overdue, not_acted, limit, offset)",
                tags,
                responses={400: "bad query parameter"},
            ),
            ApiRoute(
                "GET",
                "/api/tickets/export",
                routes.export_tickets,
                "every matching ticket as JSON lines (same filters as the list, no paging)",
                tags,
                responses={400: "bad query parameter"},
            ),
            ApiRoute(
                "GET",
                "/api/tickets/{ticket_id}",
                routes.get_ticket,
                "a ticket with its history",
                tags,
                response_model=Ticket,
                responses={404: "no such ticket"},
            ),
            ApiRoute(
                "GET",
                "/api/calls/{uniqueid}/ticket",
                routes.call_ticket,
                "the ticket a call carries (screen-pop)",
                tags,
                response_model=Ticket,
                responses={404: "no ticket on that call"},
            ),
            ApiRoute(
                "POST",
                "/api/tickets/{ticket_id}/feedback",
                routes.post_feedback,
                "the receiving platform reports its handling (受理反馈)",
                tags,
                FeedbackRequest,
                Ticket,
                {409: "illegal in the ticket's state", 422: "invalid"},
            ),
            ApiRoute(
                "POST",
                "/api/tickets/{ticket_id}/status",
                routes.post_status,
                "move a ticket (accept, start, return, reject, close...)",
                tags,
                StatusRequest,
                Ticket,
                {409: "illegal transition", 422: "invalid or reason missing"},
            ),
            ApiRoute(
                "PUT",
                "/api/agents/{agent}/draft",
                routes.put_draft,
                "the agent's draft for the next key press",
                ("transfers",),
                AgentDraft,
                responses={400: "bad agent id", 422: "invalid"},
            ),
        ],
    )
