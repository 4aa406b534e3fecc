"""The running bridge: components started in order, stopped in reverse, signals, reload.

A component is anything with a `name`, async `start()`, `stop()` and `health() -> dict`
(`health()["status"]` is "ok" when it is working). Wrapping an object whose methods are named
otherwise is one `CallbackComponent(...)`. A component that also has `reload(settings)` gets
every new configuration accepted by a reload.

SIGTERM/SIGINT: stop taking new work and stop the components in reverse order (HTTP, added
last, closes first; Redis, added first, closes last) within `shutdown.deadline_seconds`.
SIGHUP: re-read and re-validate the configuration file; a bad file is logged and the running
configuration kept. Nothing is restarted, so no connection is dropped.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bridge.http.app import HttpServer, create_app
from bridge.http.auth import TokenBook
from bridge.http.routes import RouteTable
from bridge.http.service_routes import add_service_routes
from bridge.json_logging import set_level
from bridge.settings import (
    ApiToken,
    RedisSettings,
    Settings,
    SettingsError,
    load_settings,
    resolve_tokens,
)

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 2.0
# Even past the deadline each remaining component gets this long to close its sockets.
STOP_FLOOR_SECONDS = 0.1
# Sections read once at start-up: a reload that changes them says a restart is needed.
RESTART_SECTIONS = ("pbx", "http", "fastagi", "redis", "timezone")


# Young objects are collected after this many more allocations than frees (CPython: 700). A key
# press allocates a few thousand, so the default ran a collection in the middle of most presses
# and a gen-1 collection (about 1.5 ms here) every ten (docs/transfers.md, "Garbage collection").
GC_GEN0_THRESHOLD = 50_000


def settle_garbage_collector(gen0_threshold: int = GC_GEN0_THRESHOLD) -> None:
    """After start-up: collect once, then freeze what is left (modules, pydantic schemas, the
    configuration: objects that live as long as the process) so later collections never walk
    them again, and collect young objects less often."""
    if gen0_threshold < 1:
        raise ValueError(f"gen0_threshold must be >= 1, got {gen0_threshold}")
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


class Component(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def health(self) -> dict[str, Any]: ...


@runtime_checkable
class Reloadable(Protocol):
    async def reload(self, settings: Settings) -> None: ...


@dataclass
class CallbackComponent:
    """Adapts an object with differently named methods, e.g. an AMI client:
    `CallbackComponent("ami", client.connect, client.close, client.health_snapshot)`."""

    name: str
    on_start: Callable[[], Awaitable[None]]
    on_stop: Callable[[], Awaitable[None]]
    on_health: Callable[[], Awaitable[dict[str, Any]]]

    async def start(self) -> None:
        await self.on_start()

    async def stop(self) -> None:
        await self.on_stop()

    async def health(self) -> dict[str, Any]:
        return await self.on_health()


class RedisComponent:
    """The shared redis.asyncio client; health is the PING round trip."""

    name = "redis"

    def __init__(self, settings: RedisSettings) -> None:
        self._settings = settings
        self._client: aioredis.Redis | None = None

    @property
    def client(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("the Redis component is not started")
        return self._client

    async def start(self) -> None:
        # No socket_timeout: it would also cut blocking reads (XREAD BLOCK) of ticket streams.
        self._client = aioredis.Redis.from_url(
            self._settings.url,
            socket_connect_timeout=self._settings.connect_timeout_seconds,
            health_check_interval=30,
        )
        try:
            await self._client.ping()
            await self._check_persistence()
        except (RedisError, OSError) as exc:
            # Not fatal: redis-py reconnects on the next command, and calls still flow
            # through the dialplan's fallback meanwhile. /health shows it down.
            log.warning(
                "Redis unreachable at start-up",
                extra={"url": self._settings.display_url, "error": str(exc)},
            )

    async def _check_persistence(self) -> None:
        try:
            appendonly = await self.client.config_get("appendonly")
            appendfsync = await self.client.config_get("appendfsync")
        except ResponseError:
            log.info("Redis CONFIG is disabled: persistence not checked")
            return
        actual = (appendonly.get("appendonly"), appendfsync.get("appendfsync"))
        if actual != ("yes", self._settings.appendfsync):
            log.warning(
                "Redis persistence differs from the configuration: acknowledged tickets may "
                "be lost in a crash",
                extra={
                    "appendonly": actual[0],
                    "appendfsync": actual[1],
                    "expected_appendfsync": self._settings.appendfsync,
                },
            )

    async def stop(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def health(self) -> dict[str, Any]:
        if self._client is None:
            return {"status": "down", "error": "not started"}
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._client.ping(), self._settings.connect_timeout_seconds)
        except (RedisError, OSError, TimeoutError) as exc:
            return {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
        latency_ms = (time.perf_counter() - started) * 1000
        return {"status": "ok", "latency_ms": round(latency_ms, 3)}


class Components:
    """Components in start order."""

    def __init__(self) -> None:
        self._all: list[Component] = []
        self._started: list[Component] = []

    def add(self, component: Component) -> None:
        if any(c.name == component.name for c in self._all):
            raise ValueError(f"a component named {component.name!r} is already registered")
        self._all.append(component)

    def __iter__(self) -> Iterator[Component]:
        return iter(self._all)

    def get(self, name: str) -> Component:
        """The component registered as `name`, e.g. "redis" for the shared client."""
        for component in self._all:
            if component.name == name:
                return component
        known = ", ".join(c.name for c in self._all) or "none"
        raise KeyError(f"no component named {name!r} (registered: {known})")

    async def start_all(self) -> None:
        """Start in order; if one fails, stop those already started and raise."""
        for component in self._all:
            if component in self._started:
                continue
            log.info("starting component", extra={"component": component.name})
            try:
                await component.start()
            except BaseException:
                log.exception("component failed to start", extra={"component": component.name})
                await self.stop_all(deadline_seconds=5.0)
                raise
            self._started.append(component)

    async def stop_all(self, deadline_seconds: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline_seconds
        while self._started:
            component = self._started.pop()
            budget = max(end - loop.time(), STOP_FLOOR_SECONDS)
            try:
                await asyncio.wait_for(component.stop(), budget)
            except TimeoutError:
                log.error(
                    "component did not stop before the deadline",
                    extra={"component": component.name, "waited_s": round(budget, 3)},
                )
            except Exception:
                log.exception("component failed to stop", extra={"component": component.name})
            else:
                log.info("component stopped", extra={"component": component.name})

    async def health(self) -> dict[str, dict[str, Any]]:
        reports = await asyncio.gather(*(self._health_of(c) for c in self._all))
        return {c.name: report for c, report in zip(self._all, reports, strict=True)}

    @staticmethod
    async def _health_of(component: Component) -> dict[str, Any]:
        try:
            report = await asyncio.wait_for(component.health(), HEALTH_TIMEOUT_SECONDS)
        except TimeoutError:
            return {"status": "down", "error": f"no answer within {HEALTH_TIMEOUT_SECONDS} s"}
        except Exception as exc:
            return {"status": "down", "error": f"{type(exc).__name__}: {exc}"}
        return report


class Service:
    """The bridge process: `await Service(settings, path).run()` until SIGTERM or SIGINT."""

    def __init__(
        self,
        settings: Settings,
        config_file: str | Path,
        environ: Mapping[str, str] | None = None,
        *,
        settle_gc: bool = False,
    ) -> None:
        # settle_gc: the process is the bridge itself (`hotline-bridge run`), so it may tune
        # the garbage collector for the whole process once started (settle_garbage_collector).
        # Off by default: tests and the demo run services inside a process of their own.
        self._settle_gc = settle_gc
        self._settings = settings
        self._config_file = Path(config_file)
        self._environ = os.environ if environ is None else environ
        self.components = Components()
        self.routes = RouteTable()
        add_service_routes(self.routes)
        self.tokens = TokenBook(self._resolve_tokens(settings))
        self._stop_requested = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self.http: HttpServer | None = None

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def config_file(self) -> str:
        return str(self._config_file)

    def add(self, component: Component) -> None:
        self.components.add(component)

    def _resolve_tokens(self, settings: Settings) -> dict[str, ApiToken]:
        tokens, problems = resolve_tokens(settings, self._environ)
        for problem in problems:
            log.warning(
                "API token not usable", extra={"key": problem.path, "problem": problem.message}
            )
        return tokens

    async def start(self) -> None:
        app = create_app(
            routes=self.routes,
            tokens=self.tokens,
            health=self.components.health,
            control=self,
        )
        # Added last so it is stopped first: no new requests while the rest shuts down.
        self.http = HttpServer(app, self._settings.http, self._settings.shutdown.deadline_seconds)
        self.components.add(self.http)
        await self.components.start_all()
        if self._settle_gc:
            settle_garbage_collector()
        log.info("hotline-bridge started", extra={"config_file": self.config_file})

    async def stop(self) -> None:
        log.info("hotline-bridge stopping")
        await self.components.stop_all(self._settings.shutdown.deadline_seconds)
        for task in list(self._background):
            task.cancel()
        log.info("hotline-bridge stopped")

    def request_stop(self) -> None:
        self._stop_requested.set()

    def _on_sighup(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload_config())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def run(self) -> None:
        """Start, serve until SIGTERM/SIGINT (or `request_stop()`), then stop gracefully."""
        loop = asyncio.get_running_loop()
        handlers = {
            signal.SIGTERM: self.request_stop,
            signal.SIGINT: self.request_stop,
            signal.SIGHUP: self._on_sighup,
        }
        for signum, handler in handlers.items():
            loop.add_signal_handler(signum, handler)
        try:
            await self.start()
            await self._stop_requested.wait()
        finally:
            for signum in handlers:
                loop.remove_signal_handler(signum)
            await self.stop()

    async def reload_config(self) -> str | None:
        """Re-read the file; apply it if valid. Returns None, or why it was refused."""
        async with self._reload_lock:
            try:
                new = load_settings(self._config_file)
            except SettingsError as exc:
                log.error(
                    "configuration reload refused; keeping the running one",
                    extra={"error": str(exc)},
                )
                return str(exc)
            old, self._settings = self._settings, new
            self.tokens.replace(self._resolve_tokens(new))
            set_level(new.logging.level)
            needs_restart = [s for s in RESTART_SECTIONS if getattr(old, s) != getattr(new, s)]
            if needs_restart:
                log.warning(
                    "changed settings apply after a restart", extra={"sections": needs_restart}
                )
            for component in self.components:
                if isinstance(component, Reloadable):
                    try:
                        await component.reload(new)
                    except Exception:
                        log.exception(
                            "component failed to apply the new configuration",
                            extra={"component": component.name},
                        )
            log.info("configuration reloaded", extra={"config_file": self.config_file})
            return None
