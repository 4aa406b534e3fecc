"""What an agent desktop asks of a call in progress over HTTP, and how the answer is given.

A one-key transfer (``POST /api/transfers``) and a three-party call (``POST /api/conferences``)
name the same things: the caller (by channel or uniqueid, on a PBX), the agent, the agent's
draft of the ticket, an optional idempotency key. :class:`CallRequest` is that body and
:meth:`CallRequest.order` the :class:`TransferOrder` both services start from.

Both APIs also answer the same way: a bad body is a 400/422 naming the field
(:func:`read_body`), a refusal an :class:`HttpProblem` turned into JSON
(:func:`problems_as_json`), a service not started yet a 503 (:func:`started`), and their routes
are declared as data (:class:`ApiRoute`, :func:`add_api_routes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError, model_validator
from redis.exceptions import RedisError

from bridge.http.routes import Handler, RouteTable
from bridge.settings import Role
from bridge.transfers.drafts import AgentDraft
from bridge.transfers.orchestrator import TransferOrder

Word = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]
PlatformId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")]
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class CallRequest(AgentDraft):
    """A call to act on: the caller by channel name or uniqueid on the PBX it is on, the agent,
    the agent's draft of the ticket."""

    pbx: Annotated[str, Field(min_length=1, max_length=80)]
    channel: Annotated[str, Field(max_length=200)] | None = None
    uniqueid: Annotated[str, Field(max_length=64)] | None = None
    agent: Annotated[str, Field(pattern=r"^[A-Za-z0-9@._:\-]{1,80}$")]
    agent_channel: Annotated[str, Field(max_length=200)] = ""
    # Supervisors and admins say which platform the call is on; an agent token's is its own.
    source_platform: PlatformId | None = None
    request_id: Word | None = None

    @model_validator(mode="after")
    def _one_leg(self) -> CallRequest:
        if not (self.channel or self.uniqueid):
            raise ValueError("give channel or uniqueid of the caller")
        return self

    def order(self, source_platform: str | None) -> TransferOrder:
        """What the transfer or conference service starts from: which call, who, the draft."""
        draft = AgentDraft.model_validate(self.model_dump(include=set(AgentDraft.model_fields)))
        return TransferOrder(
            pbx=self.pbx,
            caller_channel=self.channel or self.uniqueid or "",
            agent=self.agent,
            agent_channel=self.agent_channel,
            source_platform=source_platform,
            draft=draft,
            request_id=self.request_id,
        )


class HttpProblem(Exception):
    """A request refused: the status, a short error word and the detail (JSON)."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail

    def response(self) -> web.Response:
        return web.json_response({"error": self.error, "detail": self.detail}, status=self.status)


def field_errors(exc: ValidationError) -> str:
    """The first few field errors, each `where: what`."""
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


async def read_body(request: web.Request, model: type[M]) -> M:
    try:
        raw = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HttpProblem(400, "bad_request", "the body is not JSON") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise HttpProblem(422, "invalid", field_errors(exc)) from None


def started(found: T | None, what: str) -> T:
    """The service a route needs, or a 503 naming it when it is not started (yet)."""
    if found is None:
        raise HttpProblem(503, "unavailable", f"the {what} service is not started")
    return found


def problems_as_json(handler: Handler) -> Handler:
    """`handler` with its HttpProblems, and a ticket store out of reach, answered as JSON."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except HttpProblem as problem:
            return problem.response()
        except (RedisError, OSError) as exc:
            return HttpProblem(503, "unavailable", f"ticket store unreachable: {exc}").response()

    handle.__name__ = getattr(handler, "__name__", handle.__name__)
    return handle


@dataclass(frozen=True)
class ApiRoute:
    """One route as the API document shows it (bridge.http.routes.RouteTable.add)."""

    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...]
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    responses: dict[int, str] = field(default_factory=dict)


def add_api_routes(table: RouteTable, roles: Iterable[Role], routes: Iterable[ApiRoute]) -> None:
    """Register `routes` for `roles`, each answering its problems as JSON."""
    allowed = frozenset(roles)
    for route in routes:
        table.add(
            route.method,
            route.path,
            problems_as_json(route.handler),
            summary=route.summary,
            roles=allowed,
            tags=route.tags,
            request_model=route.request_model,
            response_model=route.response_model,
            responses=route.responses or None,
        )
