"""Screen-pop over HTTP: SSE streams per queue and per agent, and the agent's page.

``GET /api/screenpop/queues/{queue}/events`` and ``GET /api/screenpop/agents/{agent}/events``
answer ``text/event-stream``: one ``event: arrived|answered|failed`` with a JSON ``data`` line
per linked call, and a comment line every 15 s so proxies keep the stream open. They need a
bearer token like all of /api, so the page reads them with ``fetch`` (EventSource cannot send
a header). ``GET /screenpop/{agent}`` is the page itself: static, it holds no data.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from bridge.http.auth import PRINCIPAL
from bridge.http.routes import RouteTable
from bridge.screenpop.hub import Listener, ScreenPopHub
from bridge.settings import Role

KEEPALIVE_SECONDS = 15.0
# How often an idle stream looks whether its browser is still there, so a closed page frees
# its listener (and lets the HTTP server stop) within a second.
POLL_SECONDS = 1.0
ROLES = {Role.AGENT_12345, Role.AGENT_110, Role.SUPERVISOR, Role.ADMIN}
AGENT_ID = re.compile(r"^[A-Za-z0-9@._:\-]{1,80}$")
PAGE = Path(__file__).with_name("page.html")


def _gone(request: web.Request) -> bool:
    """The browser closed the stream (aiohttp does not cancel the handler when it does)."""
    transport = request.transport
    return transport is None or transport.is_closing()


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


class ScreenPopRoutes:
    def __init__(self, hub: ScreenPopHub, queue_platforms: Mapping[str, str]) -> None:
        self.hub = hub
        self.queue_platforms = dict(queue_platforms)  # queue name -> platform id
        self._page = PAGE.read_text(encoding="utf-8")

    async def queue_events(self, request: web.Request) -> web.StreamResponse:
        queue = request.match_info["queue"]
        if queue not in self.queue_platforms:
            return _error(404, "not_found", f"no queue named {queue!r}")
        principal = request[PRINCIPAL]
        own = principal.platform
        if (
            principal.role not in (Role.SUPERVISOR, Role.ADMIN)
            and own != self.queue_platforms[queue]
        ):
            return _error(403, "forbidden", f"queue {queue} is not platform {own}'s")
        return await self._stream(request, self.hub.listen(queue=queue))

    async def agent_events(self, request: web.Request) -> web.StreamResponse:
        agent = request.match_info["agent"]
        if not AGENT_ID.fullmatch(agent):
            return _error(
                400, "bad_request", f"agent must be 1-80 of A-Z a-z 0-9 @._:- , got {agent!r}"
            )
        return await self._stream(request, self.hub.listen(agent=agent))

    async def _stream(self, request: web.Request, listener: Listener) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        try:
            await response.prepare(request)
            await response.write(b": connected\n\n")
            quiet = 0.0
            while not _gone(request):
                try:
                    call = await asyncio.wait_for(listener.inbox.get(), POLL_SECONDS)
                except TimeoutError:
                    quiet += POLL_SECONDS
                    if quiet >= KEEPALIVE_SECONDS:
                        quiet = 0.0
                        await response.write(b": keep-alive\n\n")
                    continue
                quiet = 0.0
                data = json.dumps(call.as_json(), ensure_ascii=False)
                await response.write(f"event: {call.stage}\ndata: {data}\n\n".encode())
        except (ConnectionResetError, ConnectionError):
            pass  # the browser went away
        finally:
            self.hub.stop_listening(listener)
        return response

    async def page(self, request: web.Request) -> web.StreamResponse:
        agent = request.match_info["agent"]
        if not AGENT_ID.fullmatch(agent):
            return _error(
                400, "bad_request", f"agent must be 1-80 of A-Z a-z 0-9 @._:- , got {agent!r}"
            )
        return web.Response(text=self._page, content_type="text/html", charset="utf-8")


def add_screenpop_routes(table: RouteTable, routes: ScreenPopRoutes) -> None:
    table.add(
        "GET",
        "/api/screenpop/queues/{queue}/events",
        routes.queue_events,
        summary="SSE: linked calls arriving at / answered from a queue",
        roles=ROLES,
        tags=("screenpop",),
        responses={404: "no such queue"},
    )
    table.add(
        "GET",
        "/api/screenpop/agents/{agent}/events",
        routes.agent_events,
        summary="SSE: linked calls answered by an agent",
        roles=ROLES,
        tags=("screenpop",),
        responses={400: "bad agent id"},
    )
    table.add(
        "GET",
        "/screenpop/{agent}",
        routes.page,
        summary="minimal screen-pop page for an agent with no desktop integration",
        roles=None,
        tags=("screenpop",),
    )
