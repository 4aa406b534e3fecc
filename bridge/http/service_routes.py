"""The routes every deployment has: health, metrics, OpenAPI, caller identity, configuration."""

from __future__ import annotations

from typing import Any

import prometheus_client
from aiohttp import web
from pydantic import BaseModel

from bridge.http.app import CONTROL, HEALTH, ROUTES
from bridge.http.auth import PRINCIPAL
from bridge.http.openapi import openapi_document
from bridge.http.routes import ALL_ROLES, RouteTable
from bridge.settings import Role

API_TITLE = "hotline-bridge"
API_VERSION = "0.1.0"


class HealthReport(BaseModel):
    status: str  # "ok" when every component is, else "degraded"
    components: dict[str, dict[str, Any]]


class Caller(BaseModel):
    name: str
    role: Role
    platform: str | None


class ConfigSummary(BaseModel):
    config_file: str
    city: str
    timezone: str
    platforms: list[str]
    queues: list[str]
    pbx: list[str]


class ReloadResult(BaseModel):
    reloaded: bool
    config_file: str
    error: str | None = None


async def health(request: web.Request) -> web.Response:
    components = await request.app[HEALTH]()
    healthy = all(c.get("status") == "ok" for c in components.values())
    report = HealthReport(status="ok" if healthy else "degraded", components=components)
    return web.json_response(report.model_dump(), status=200 if healthy else 503)


async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=prometheus_client.generate_latest())
    response.headers["Content-Type"] = prometheus_client.CONTENT_TYPE_LATEST
    return response


async def openapi(request: web.Request) -> web.Response:
    document = openapi_document(request.app[ROUTES], title=API_TITLE, version=API_VERSION)
    return web.json_response(document)


async def whoami(request: web.Request) -> web.Response:
    principal = request[PRINCIPAL]
    caller = Caller(name=principal.name, role=principal.role, platform=principal.platform)
    return web.json_response(caller.model_dump(mode="json"))


async def config_summary(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    settings = control.settings
    summary = ConfigSummary(
        config_file=control.config_file,
        city=f"{settings.city.code} {settings.city.name}",
        timezone=settings.timezone,
        platforms=[f"{p.id} {p.name}" for p in settings.platforms],
        queues=[q.name for p in settings.platforms for q in p.queues],
        pbx=[f"{p.name} {p.ami_host}:{p.ami_port}" for p in settings.pbx],
    )
    return web.json_response(summary.model_dump())


async def reload_config(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    error = await control.reload_config()
    result = ReloadResult(reloaded=error is None, config_file=control.config_file, error=error)
    return web.json_response(result.model_dump(), status=200 if error is None else 422)


def add_service_routes(routes: RouteTable) -> None:
    routes.add(
        "GET",
        "/health",
        health,
        summary="Status of every component (AMI, Redis, FastAGI, HTTP); 503 if any is not ok",
        roles=None,
        tags=["service"],
        response_model=HealthReport,
        responses={503: "a component is not ok (same body as 200)"},
    )
    routes.add(
        "GET", "/metrics", metrics, summary="Prometheus metrics", roles=None, tags=["service"]
    )
    routes.add(
        "GET",
        "/api/openapi.json",
        openapi,
        summary="This document",
        roles=ALL_ROLES,
        tags=["service"],
    )
    routes.add(
        "GET",
        "/api/whoami",
        whoami,
        summary="The caller's token name, role and platform",
        roles=ALL_ROLES,
        tags=["service"],
        response_model=Caller,
    )
    routes.add(
        "GET",
        "/api/config",
        config_summary,
        summary="The running configuration (no secrets)",
        roles={Role.SUPERVISOR, Role.ADMIN},
        tags=["service"],
        response_model=ConfigSummary,
    )
    routes.add(
        "POST",
        "/api/config/reload",
        reload_config,
        summary="Re-read the configuration file, as SIGHUP does; a bad file keeps the old one",
        roles={Role.ADMIN},
        tags=["service"],
        response_model=ReloadResult,
        responses={422: "the file is invalid; the running configuration is unchanged"},
    )
