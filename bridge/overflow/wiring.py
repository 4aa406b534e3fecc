"""Puts the overflow controller into the running service when `[overflow] enabled`: the
component (after Redis and the AMI sessions it uses) and its HTTP routes."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio as aioredis

from bridge.overflow.config import controller_settings, load_scenario, pbx_overflow_config
from bridge.overflow.controller import ControllerSettings, OverflowController
from bridge.overflow.routes import add_overflow_routes
from bridge.service import RedisComponent, Service
from telephony.ami.client import AMIClient


class OverflowSettingsError(ValueError):
    """The [overflow] section names something that is not there."""


def install_overflow(service: Service) -> OverflowController | None:
    settings = service.settings.overflow
    if not settings.enabled:
        return None
    if settings.pbx not in {p.name for p in service.settings.pbx}:
        raise OverflowSettingsError(f"[overflow] pbx {settings.pbx!r} is not a configured [[pbx]]")
    scenario = load_scenario(Path(settings.scenario))
    components = service.components
    ami_name = f"ami:{settings.pbx}"

    def redis() -> aioredis.Redis:
        found = components.get("redis")
        if not isinstance(found, RedisComponent):
            raise TypeError("the redis component is not a RedisComponent")
        return found.client

    def client() -> AMIClient | None:
        # bridge.commands.run.AmiComponent sets .client once logged in.
        try:
            found = components.get(ami_name)
        except KeyError:
            return None
        session: AMIClient | None = getattr(found, "client", None)
        return session

    base = controller_settings(scenario, settings.tick_seconds)
    controller = OverflowController(
        pbx_overflow_config(scenario),
        client,
        redis,
        ControllerSettings(
            tick_s=base.tick_s,
            rate_window_s=base.rate_window_s,
            sustained_window_s=base.sustained_window_s,
            release_hold_s=settings.release_hold_seconds,
            withdraw_waiting=settings.withdraw_waiting,
        ),
    )
    service.add(controller)
    add_overflow_routes(service.routes, controller)
    return controller
