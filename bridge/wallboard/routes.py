"""Routes of the wallboard: the page and its assets are open; the figures need a token.

A wall screen opens ``/wallboard?token=<monitor token>``: the page sends that token as a
bearer token to ``/api/wallboard`` (a long-lived read-only link; a monitor token can read
nothing else of consequence). With ``wallboard_open`` in the monitoring config the page reads
``/wallboard/data`` instead, which needs no token. When the surge-overflow controller is
installed the figures carry an ``overflow`` part (bridge.wallboard.overflow_summary).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bridge.http.routes import RouteTable
from bridge.monitoring.monitor import QueueMonitor
from bridge.monitoring.views import wallboard_json
from bridge.overflow.controller import OverflowController
from bridge.settings import Role
from bridge.wallboard.overflow_summary import OverflowFeed

ASSETS = Path(__file__).resolve().parent  # shipped as package data (pyproject)
CONTENT_TYPES = {
    "index.html": "text/html",
    "wallboard.js": "text/javascript",
    "wallboard.css": "text/css",
}
WALLBOARD_ROLES = {Role.MONITOR, Role.SUPERVISOR, Role.ADMIN}


def _asset(name: str) -> web.Response:
    body = (ASSETS / name).read_bytes()
    response = web.Response(body=body, content_type=CONTENT_TYPES[name], charset="utf-8")
    response.headers["Cache-Control"] = "no-cache"
    return response


async def page(request: web.Request) -> web.Response:
    return _asset("index.html")


async def script(request: web.Request) -> web.Response:
    return _asset("wallboard.js")


async def style(request: web.Request) -> web.Response:
    return _asset("wallboard.css")


# "任城区110指挥中心" → "任城区": the place is what a wall screen has room for.
PLATFORM_SUFFIXES = ("公安局110报警服务台", "110指挥中心", "110报警服务台")


def short_name(platform_name: str) -> str:
    for suffix in PLATFORM_SUFFIXES:
        if platform_name.endswith(suffix) and len(platform_name) > len(suffix):
            return platform_name.removesuffix(suffix)
    return platform_name


def centre_names(monitor: QueueMonitor, controller: OverflowController) -> dict[str, str]:
    """Centre code → the short name of its 110 platform, from the queue directory."""
    return {
        c.code: short_name(monitor.directory.get(c.queue).platform_name)
        for c in controller.config.centres
    }


def add_wallboard_routes(
    routes: RouteTable, monitor: QueueMonitor, overflow: OverflowController | None = None
) -> None:
    feed = None
    if overflow is not None:
        feed = OverflowFeed(overflow, centre_names(monitor, overflow), monitor.metrics.zone)

    async def data(request: web.Request) -> web.Response:
        body = wallboard_json(monitor, monitor.clock())
        if feed is not None:
            body["overflow"] = await feed.summary()
        return web.json_response(body)

    tags = ["wallboard"]
    routes.add("GET", "/wallboard", page, summary="Wallboard page", roles=None, tags=tags)
    routes.add("GET", "/wallboard/wallboard.js", script, summary="Script", roles=None, tags=tags)
    routes.add("GET", "/wallboard/wallboard.css", style, summary="Style", roles=None, tags=tags)
    routes.add(
        "GET",
        "/api/wallboard",
        data,
        summary="Wallboard figures: every queue's waiting, longest wait, rates, sparkline",
        roles=WALLBOARD_ROLES,
        tags=tags,
    )
    if monitor.config.wallboard_open:
        routes.add(
            "GET",
            "/wallboard/data",
            data,
            summary="Wallboard figures without a token (monitoring wallboard_open = true)",
            roles=None,
            tags=tags,
        )
