"""Operator endpoints of the overflow controller:

- `GET /api/overflow` — supported centres, donors, routing flags, loans, overrides, the last
  plan's notes and the newest audit entries (every role may read it: it is the wallboard's too);
- `POST /api/overflow/release` — give every loan back now (supervisor, admin);
- `POST /api/overflow/override` — `{"centre": "370883", "mode": "force" | "forbid" | "auto"}`
  (supervisor, admin).
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError
from redis.exceptions import RedisError

from bridge.http.auth import PRINCIPAL
from bridge.http.routes import ALL_ROLES, RouteTable
from bridge.overflow.controller import OverflowController
from bridge.settings import Role

OPERATOR_ROLES = {Role.SUPERVISOR, Role.ADMIN}
AUDIT_SHOWN = 50


class OverrideRequest(BaseModel):
    centre: str = Field(min_length=1, max_length=20)
    mode: Literal["auto", "force", "forbid"]


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


def _who(request: web.Request) -> str:
    principal = request.get(PRINCIPAL)
    return str(getattr(principal, "name", "") or "unknown")


class OverflowRoutes:
    def __init__(self, controller: OverflowController) -> None:
        self.controller = controller

    async def show(self, request: web.Request) -> web.Response:
        body = self.controller.snapshot()
        try:
            body["audit"] = await self.controller.audit.recent(AUDIT_SHOWN)
        except RedisError as error:
            body["audit"] = []
            body["audit_error"] = str(error)
        return web.json_response(body)

    async def release(self, request: web.Request) -> web.Response:
        outstanding = await self.controller.release(_who(request))
        body = self.controller.snapshot()
        body["released_loans"] = outstanding
        return web.json_response(body)

    async def override(self, request: web.Request) -> web.Response:
        try:
            order = OverrideRequest.model_validate(await request.json())
        except ValueError as error:  # bad JSON or a ValidationError
            detail = error.errors() if isinstance(error, ValidationError) else str(error)
            return _error(400, "bad_request", f"override body: {detail}")
        try:
            await self.controller.set_override(order.centre, order.mode, _who(request))
        except ValueError as error:
            return _error(404, "unknown_centre", str(error))
        return web.json_response(self.controller.snapshot())


def add_overflow_routes(routes: RouteTable, controller: OverflowController) -> None:
    handlers = OverflowRoutes(controller)
    routes.add(
        "GET",
        "/api/overflow",
        handlers.show,
        summary="Surge overflow: supported centres, loans, routing flags, recent audit",
        roles=ALL_ROLES,
        tags=["overflow"],
    )
    routes.add(
        "POST",
        "/api/overflow/release",
        handlers.release,
        summary="Give every lent member back and turn routing flags off now",
        roles=OPERATOR_ROLES,
        tags=["overflow"],
    )
    routes.add(
        "POST",
        "/api/overflow/override",
        handlers.override,
        summary="Force or forbid support for one centre (mode auto ends the override)",
        roles=OPERATOR_ROLES,
        tags=["overflow"],
        request_model=OverrideRequest,
        responses={400: "bad body", 404: "unknown centre"},
    )
