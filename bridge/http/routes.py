"""A small registry of HTTP routes with the metadata the auth middleware and OpenAPI need.

Later features add their endpoints here (`table.add(...)`) before the app is built; one entry
gives aiohttp its route, the middleware the roles allowed, and OpenAPI its operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from bridge.settings import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ALL_ROLES = frozenset(Role)
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def is_api_path(path: str) -> bool:
    """Everything under /api needs a token."""
    return path == "/api" or path.startswith("/api/")


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    # None: open to anyone (only outside /api). Otherwise the roles whose tokens may call it.
    roles: frozenset[Role] | None
    tags: tuple[str, ...] = ()
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    # Extra documented answers, e.g. {404: "no such ticket"}.
    responses: dict[int, str] = field(default_factory=dict)


class RouteTable:
    def __init__(self) -> None:
        self._specs: list[RouteSpec] = []
        self._by_route: dict[int, RouteSpec] = {}

    @property
    def specs(self) -> tuple[RouteSpec, ...]:
        return tuple(self._specs)

    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        summary: str,
        roles: Iterable[Role] | None,
        tags: Iterable[str] = (),
        request_model: type[BaseModel] | None = None,
        response_model: type[BaseModel] | None = None,
        responses: dict[int, str] | None = None,
    ) -> RouteSpec:
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"route {path!r}: unsupported HTTP method {method!r}")
        if not path.startswith("/"):
            raise ValueError(f"route {path!r}: a path starts with '/'")
        if roles is None and is_api_path(path):
            raise ValueError(f"route {path!r}: everything under /api needs roles")
        if any(s.method == method and s.path == path for s in self._specs):
            raise ValueError(f"route {method} {path} is already registered")
        spec = RouteSpec(
            method=method,
            path=path,
            handler=handler,
            summary=summary,
            roles=None if roles is None else frozenset(roles),
            tags=tuple(tags),
            request_model=request_model,
            response_model=response_model,
            responses=dict(responses or {}),
        )
        self._specs.append(spec)
        return spec

    def install(self, app: web.Application) -> None:
        for spec in self._specs:
            route = app.router.add_route(spec.method, spec.path, spec.handler)
            self._by_route[id(route)] = spec

    def spec_for(self, request: web.Request) -> RouteSpec | None:
        """The spec of the route that matched, or None (404, 405, HEAD of a GET, ...)."""
        return self._by_route.get(id(request.match_info.route))
