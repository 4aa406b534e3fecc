"""The aiohttp application factory and the component that serves it.

`create_app` wires the route table, the auth middleware and the service's health probe and
control into one `web.Application`. `HttpServer` is a service component: start listening,
stop (aiohttp closes the listener first, then lets running requests finish), health.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from bridge.http.access_log import JsonAccessLogger
from bridge.http.auth import TokenBook, auth_middleware
from bridge.http.routes import RouteTable
from bridge.settings import HttpSettings, Settings

log = logging.getLogger(__name__)

HealthProbe = Callable[[], Awaitable[dict[str, dict[str, Any]]]]


class ServiceControl(Protocol):
    """What the built-in routes need from the running service."""

    @property
    def settings(self) -> Settings: ...

    @property
    def config_file(self) -> str: ...

    async def reload_config(self) -> str | None:
        """Re-read the configuration; None when applied, else why it was refused."""
        ...


ROUTES = web.AppKey("routes", RouteTable)
TOKENS = web.AppKey("tokens", TokenBook)
HEALTH: web.AppKey[HealthProbe] = web.AppKey("health")
CONTROL = web.AppKey("control", ServiceControl)


def create_app(
    *, routes: RouteTable, tokens: TokenBook, health: HealthProbe, control: ServiceControl
) -> web.Application:
    app = web.Application(middlewares=[auth_middleware(tokens, routes)])
    app[ROUTES] = routes
    app[TOKENS] = tokens
    app[HEALTH] = health
    app[CONTROL] = control
    routes.install(app)
    return app


class HttpServer:
    """Serves an application on the configured address; a component of the service."""

    name = "http"

    def __init__(
        self, app: web.Application, settings: HttpSettings, shutdown_timeout: float = 10.0
    ) -> None:
        self._app = app
        self._settings = settings
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(
            self._app,
            access_log_class=JsonAccessLogger,
            shutdown_timeout=self._shutdown_timeout,
            handle_signals=False,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._settings.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("HTTP listening", extra={"host": self._settings.host, "port": self._settings.port})

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def health(self) -> dict[str, Any]:
        if self._runner is None:
            return {"status": "down", "error": "not listening"}
        return {"status": "ok", "listening": f"{self._settings.host}:{self._settings.port}"}
