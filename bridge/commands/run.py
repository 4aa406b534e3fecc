"""`hotline-bridge run [--config FILE]`: run the bridge until SIGTERM or SIGINT.

Components start in this order and stop in reverse: Redis, one AMI session per PBX, the
FastAGI server, HTTP (added by the service, last). So on SIGTERM the bridge first stops taking
HTTP requests and AGI sessions, lets running sessions finish, then closes AMI and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import random
import sys
from typing import Any

import uvloop

from bridge.conferences.wiring import install_conferences
from bridge.ivr_wiring import SCOPE_RULES, install_ivr
from bridge.json_logging import configure_logging
from bridge.monitoring.wiring import install_monitor
from bridge.overflow.wiring import install_overflow
from bridge.service import CallbackComponent, RedisComponent, Service
from bridge.settings import (
    MissingSecretError,
    PbxSettings,
    Settings,
    SettingsError,
    config_path,
    load_settings,
    pbx_secret,
)
from bridge.transfers.wiring import install_transfers
from ivr.prompts import IvrConfigError
from telephony.agi.diagnostic_routes import diagnostic_routes
from telephony.agi.routes import AgiRoutes
from telephony.agi.server import FastAgiServer
from telephony.ami.client import AMIClient, backoff_delay
from telephony.ami.errors import AMIError

EXIT_BAD_CONFIG = 2
log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the bridge (HTTP API, Redis, AMI, FastAGI)",
        description="Run until SIGTERM or SIGINT; SIGHUP reloads the configuration.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="default: $HOTLINE_CONFIG, else config/jining.toml"
    )
    parser.set_defaults(func=run_command)


class AmiComponent:
    """One AMI session to a configured PBX.

    A PBX that is down, or whose secret variable is unset, does not stop the bridge: the error
    is logged and shown on /health, and the session is retried in the background (other PBXs,
    FastAGI and the dialplan's fallbacks keep working meanwhile).
    """

    def __init__(self, pbx: PbxSettings) -> None:
        self.name = f"ami:{pbx.name}"
        self.pbx = pbx
        self.client: AMIClient | None = None
        self._problem = "connecting"
        self._retry: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._retry = asyncio.get_running_loop().create_task(self._connect_until_up())

    async def _connect_until_up(self) -> None:
        rng = random.Random()
        for attempt in itertools.count():
            try:
                await self._connect_once()
                return
            except (MissingSecretError, AMIError, OSError) as exc:
                self._problem = str(exc) or type(exc).__name__
                log.error("AMI login failed", extra={"pbx": self.pbx.name, "error": self._problem})
            await asyncio.sleep(backoff_delay(attempt, base=1.0, cap=60.0, rng=rng))

    async def _connect_once(self) -> None:
        client = AMIClient(
            self.pbx.ami_host,
            self.pbx.ami_port,
            self.pbx.ami_username,
            pbx_secret(self.pbx),
            action_timeout=self.pbx.ami_timeout_seconds,
            connect_timeout=self.pbx.ami_timeout_seconds,
        )
        await client.connect()
        self.client = client
        log.info("AMI connected", extra={"pbx": self.pbx.name})

    async def stop(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        if self.client is not None:
            await self.client.close()

    async def health(self) -> dict[str, Any]:
        where = f"{self.pbx.ami_host}:{self.pbx.ami_port}"
        if self.client is None:
            return {"status": "down", "pbx": where, "error": self._problem}
        stats = self.client.stats
        return {
            "status": "ok" if self.client.connected else "down",
            "pbx": where,
            "logins": stats.connects,
            "events": stats.events,
        }


def fastagi_component(settings: Settings, routes: AgiRoutes) -> CallbackComponent:
    server = FastAgiServer(routes)

    async def health() -> dict[str, Any]:
        status = server.status()
        return {
            "status": "ok" if status.listening else "down",
            "active_sessions": status.active_sessions,
            "sessions_started": status.sessions_started,
            "sessions_failed": status.sessions_failed,
        }

    return CallbackComponent(
        "fastagi",
        on_start=lambda: server.start(settings.fastagi.host, settings.fastagi.port),
        on_stop=lambda: server.stop(deadline=settings.shutdown.deadline_seconds),
        on_health=health,
    )


def build_service(settings: Settings, config_file: str, *, settle_gc: bool = False) -> Service:
    """The service with every component this build has, in start order; `settle_gc` when it
    is the whole process (`hotline-bridge run`), not a guest in a test or the demo."""
    service = Service(settings, config_file, settle_gc=settle_gc)
    service.add(RedisComponent(settings.redis))
    for pbx in settings.pbx:
        service.add(AmiComponent(pbx))
    # Call flows (ivr/) add their AGI routes here as they land; `ping` and `echo` prove the path.
    # Only when [overflow] enabled; its routing flag decides route-110's queue during a surge.
    overflow = install_overflow(service)
    agi_routes = diagnostic_routes()
    if overflow is None:
        install_ivr(service, agi_routes)
    else:
        install_ivr(service, agi_routes, choose_110_queue=overflow.aid_target)
    transfers = install_transfers(service, agi_routes)
    install_conferences(service, agi_routes, transfers, SCOPE_RULES)
    service.add(fastagi_component(settings, agi_routes))
    install_monitor(service)
    return service


def run_command(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    configure_logging(settings.logging.level, timezone=settings.timezone)
    try:
        service = build_service(settings, str(path), settle_gc=True)
    except IvrConfigError as exc:  # ivr.toml beside the settings file
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        # uvloop halves the server CPU per FastAGI session (docs/agi.md).
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(service.run())
    except OSError as exc:
        # Typically a port already taken: one clear line rather than a traceback.
        log.error("hotline-bridge could not start", extra={"error": str(exc)})
        return 1
    return 0
