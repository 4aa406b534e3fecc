"""HTTP API of three-party calls.

``POST /api/conferences`` starts one (the transfer request's fields: the caller by channel or
uniqueid on a PBX, the agent, the draft, ``target``); ``GET /api/conferences/{id}`` shows the
members and their roles (caller, origin agent, other agent), votes, the acceptance;
``DELETE /api/conferences/{id}/members/{member}`` removes one (by role or uniqueid);
``POST /api/conferences/{id}/decision`` records an agent's word. An agent token acts for its
own platform and sees only conferences its platform is in; supervisors and admins see all.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from bridge.call_requests import (
    ApiRoute,
    CallRequest,
    HttpProblem,
    PlatformId,
    add_api_routes,
    read_body,
    started,
)
from bridge.conferences.model import Conference
from bridge.conferences.orchestrator import ConferenceError
from bridge.conferences.stack import ConferenceStack
from bridge.http.auth import PRINCIPAL, Principal
from bridge.http.routes import RouteTable
from bridge.settings import Role

ROLES = frozenset({Role.AGENT_12345, Role.AGENT_110, Role.SUPERVISOR, Role.ADMIN})
SEES_ALL = frozenset({Role.SUPERVISOR, Role.ADMIN})
ROOM = re.compile(r"^\d{1,20}$")
T = TypeVar("T")


class ConferenceRequest(CallRequest):
    """Start a three-party call: the call (caller on `pbx`), the agent, the draft, `target`."""


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    platform: PlatformId  # the platform that should accept
    agent: Annotated[str, Field(pattern=r"^[A-Za-z0-9@._:\-]{1,80}$")]
    # Whose word it is: an agent token's own platform; supervisors and admins must say.
    voter_platform: PlatformId | None = None


class ConferenceView(BaseModel):
    """What the conference endpoints answer (documented shape; see model.Conference.view)."""

    id: str
    ticket_id: str
    pbx: str
    state: str
    answered: bool
    danger: str
    platforms: dict[str, str]
    members: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    acceptance: dict[str, str] | None
    notes: list[str]


class ConferenceRoutes:
    def __init__(self, stack: Callable[[], ConferenceStack | None]) -> None:
        self._get_stack = stack

    @property
    def stack(self) -> ConferenceStack:
        return started(self._get_stack(), "conference")

    async def post_conference(self, request: web.Request) -> web.StreamResponse:
        principal = request[PRINCIPAL]
        body = await read_body(request, ConferenceRequest)
        source = principal.platform if principal.role not in SEES_ALL else body.source_platform
        order = body.order(source)
        conference = await _guarded(self.stack.service.start(order))
        return web.json_response(conference.view(), status=201)

    async def get_conference(self, request: web.Request) -> web.StreamResponse:
        conference = await self._visible(request)
        return web.json_response(conference.view())

    async def delete_member(self, request: web.Request) -> web.StreamResponse:
        conference = await self._visible(request)
        who = request.match_info["member"]
        member = await _guarded(self.stack.service.remove(conference.id, who))
        return web.json_response(
            {"removed": member.model_dump(mode="json"), "conference": conference.id}, status=202
        )

    async def post_decision(self, request: web.Request) -> web.StreamResponse:
        principal = request[PRINCIPAL]
        conference = await self._visible(request)
        body = await read_body(request, DecisionRequest)
        voter = principal.platform if principal.role not in SEES_ALL else body.voter_platform
        if voter is None:
            raise HttpProblem(422, "invalid", "voter_platform: required for this token's role")
        service = self.stack.service
        now = await _guarded(service.decide(conference.id, voter, body.agent, body.platform))
        return web.json_response(
            {
                "conference": conference.id,
                "accepting_now": {
                    "platform": now.platform,
                    "rule": now.rule.value,
                    "by": now.by,
                    "reason": now.reason,
                },
            }
        )

    async def _visible(self, request: web.Request) -> Conference:
        room = request.match_info["conference_id"]
        if not ROOM.fullmatch(room):
            raise HttpProblem(422, "invalid", f"conference_id: digits only, got {room[:40]!r}")
        conference = await _guarded(self.stack.service.get(room))
        _check_party(request[PRINCIPAL], conference)
        return conference


def _check_party(principal: Principal, conference: Conference) -> None:
    if principal.role in SEES_ALL:
        return
    if principal.platform not in (conference.origin_platform, conference.other_platform):
        raise HttpProblem(
            403, "forbidden", f"platform {principal.platform} is not in conference {conference.id}"
        )


async def _guarded(work: Awaitable[T]) -> T:
    try:
        return await work
    except ConferenceError as exc:
        raise HttpProblem(exc.status, "conference_failed", exc.reason) from None


def add_conference_routes(table: RouteTable, routes: ConferenceRoutes) -> None:
    tags = ("conferences",)
    add_api_routes(
        table,
        ROLES,
        [
            ApiRoute(
                "POST",
                "/api/conferences",
                routes.post_conference,
                "three-party call: caller and agent into a room, the other platform called in",
                tags,
                ConferenceRequest,
                ConferenceView,
                {
                    201: "started",
                    404: "no such PBX, caller or agent leg",
                    409: "refused (target queue missing, ticket conflict)",
                    422: "invalid field or no path",
                    502: "the PBX refused",
                    503: "unreachable",
                },
            ),
            ApiRoute(
                "GET",
                "/api/conferences/{conference_id}",
                routes.get_conference,
                "a three-party call: members and roles, votes, acceptance",
                tags,
                response_model=ConferenceView,
                responses={403: "not your platform's", 404: "no such conference"},
            ),
            ApiRoute(
                "DELETE",
                "/api/conferences/{conference_id}/members/{member}",
                routes.delete_member,
                "remove a member (caller, origin_agent, other_agent or a uniqueid)",
                tags,
                responses={202: "kicked", 404: "no such member", 409: "conference ended"},
            ),
            ApiRoute(
                "POST",
                "/api/conferences/{conference_id}/decision",
                routes.post_decision,
                "record an agent's decision: which platform accepts",
                tags,
                DecisionRequest,
                responses={403: "not in this conference", 409: "conference ended", 422: "invalid"},
            ),
        ],
    )
