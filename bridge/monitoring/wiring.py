"""Puts the queue monitor into the running service: component, routes, /metrics collector."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis
from prometheus_client import REGISTRY

from bridge.monitoring.config import QueueDirectory, monitoring_config
from bridge.monitoring.monitor import QueueMonitor
from bridge.monitoring.routes import add_monitoring_routes
from bridge.overflow.controller import OverflowController
from bridge.service import RedisComponent, Service
from bridge.wallboard.routes import add_wallboard_routes
from telephony.ami.client import AMIClient


def install_monitor(service: Service) -> QueueMonitor:
    """Add the monitor after the Redis and AMI components (it reads both) and its routes."""
    settings = service.settings
    components = service.components

    def redis() -> aioredis.Redis:
        found = components.get("redis")
        if not isinstance(found, RedisComponent):
            raise TypeError("the redis component is not a RedisComponent")
        return found.client

    def clients() -> Mapping[str, AMIClient | None]:
        # AMI components (bridge.commands.run.AmiComponent) set .client once logged in.
        return {
            component.name.removeprefix("ami:"): getattr(component, "client", None)
            for component in components
            if component.name.startswith("ami:")
        }

    monitor = QueueMonitor(
        QueueDirectory.from_settings(settings),
        monitoring_config(settings),
        timezone=settings.timezone,
        redis=redis,
        clients=clients,
        health_probe=components.health,
        registry=REGISTRY,
    )
    service.add(monitor)
    add_monitoring_routes(service.routes, monitor)
    # The overflow controller, when [overflow] is on, is installed before the monitor: the
    # wallboard then shows which centres are supported and the last overflow actions.
    overflow = next((c for c in service.components if isinstance(c, OverflowController)), None)
    add_wallboard_routes(service.routes, monitor, overflow)
    return monitor
