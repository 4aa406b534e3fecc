"""Puts one-key transfer into the running service: component, HTTP routes, AGI route.

The component starts after Redis and the AMI sessions: it builds the transfer stack on the
shared Redis client, attaches each PBX's live model and the outcome watcher to its AMI client
as soon as that client is logged in, and once every PBX is attached finishes or reverts the
transfers a previous run left in flight (bridge.transfers.recovery).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis

from bridge.screenpop.hub import ScreenPopHub
from bridge.screenpop.routes import ScreenPopRoutes, add_screenpop_routes
from bridge.service import RedisComponent, Service
from bridge.settings import Settings
from bridge.transfers.config import platform_table, transfer_config, zone_table
from bridge.transfers.phone import PhoneTransfers
from bridge.transfers.routes import TicketRoutes, add_ticket_routes
from bridge.transfers.stack import TransferStack
from ivr.onekey import CallerLookup, KeyPress, OneKeyResult, Prompts, add_onekey_route
from telephony.agi.routes import AgiRoutes
from telephony.ami.client import AMIClient

log = logging.getLogger(__name__)
ATTACH_POLL_SECONDS = 0.5


class TransferComponent:
    name = "transfers"

    def __init__(
        self,
        settings: Settings,
        redis: Callable[[], aioredis.Redis],
        clients: Callable[[], Mapping[str, AMIClient | None]],
    ) -> None:
        self.settings = settings
        self.config = transfer_config(settings)
        self.platforms = platform_table(settings)
        self.zones = zone_table(settings)
        self.hub = ScreenPopHub()
        self.stack: TransferStack | None = None
        self.recovered: dict[str, str] | None = None
        self._redis = redis
        self._clients = clients
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.stack = TransferStack.build(
            self._redis(),
            self.platforms,
            self.zones,
            self.config,
            [pbx.name for pbx in self.settings.pbx],
            hub=self.hub,
            timezone=self.settings.timezone,
        )
        self._task = asyncio.get_running_loop().create_task(self._attach_when_up(self.stack))

    async def _attach_when_up(self, stack: TransferStack) -> None:
        pending = set(stack.links)
        while pending:
            clients = self._clients()
            for name in sorted(pending):
                client = clients.get(name)
                if client is not None and client.connected:
                    stack.attach(name, client)
                    await stack.resync(name)
                    pending.discard(name)
                    log.info("transfers attached to PBX", extra={"pbx": name})
            if pending:
                await asyncio.sleep(ATTACH_POLL_SECONDS)
        self.recovered = await stack.recover()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.stack is not None:
            await self.stack.close()

    async def health(self) -> dict[str, Any]:
        if self.stack is None:
            return {"status": "down", "error": "not started"}
        attached = sorted(n for n, link in self.stack.links.items() if link.client is not None)
        return {
            "status": "ok" if len(attached) == len(self.stack.links) else "down",
            "attached": attached,
            "watching": len(self.stack.watcher.watches),
            "screenpop_listeners": self.hub.listeners,
            "recovered": None if self.recovered is None else len(self.recovered),
        }

    async def one_key(self, press: KeyPress, find_caller: CallerLookup) -> OneKeyResult:
        """The AGI route's entry (ivr.onekey.OneKeyTransfers)."""
        if self.stack is None:
            return OneKeyResult(False, reason="the transfer service is not started")
        return await PhoneTransfers(self.stack).one_key(press, find_caller)


def install_transfers(service: Service, agi_routes: AgiRoutes) -> TransferComponent:
    """Add the transfer component (after Redis and AMI), its HTTP routes and the AGI route."""
    components = service.components

    def redis() -> aioredis.Redis:
        found = components.get("redis")
        if not isinstance(found, RedisComponent):
            raise TypeError("the redis component is not a RedisComponent")
        return found.client

    def clients() -> dict[str, AMIClient | None]:
        # AMI components (bridge.commands.run.AmiComponent) set .client once logged in.
        return {
            component.name.removeprefix("ami:"): getattr(component, "client", None)
            for component in components
            if component.name.startswith("ami:")
        }

    component = TransferComponent(service.settings, redis, clients)
    service.add(component)
    routes = TicketRoutes(lambda: component.stack, component.platforms, component.zones)
    add_ticket_routes(service.routes, routes)
    queue_platforms = {q.name: p.id for p in component.platforms for q in p.queues}
    add_screenpop_routes(service.routes, ScreenPopRoutes(component.hub, queue_platforms))
    config = component.config
    add_onekey_route(agi_routes, component, Prompts(config.prompt_started, config.prompt_failed))
    return component
