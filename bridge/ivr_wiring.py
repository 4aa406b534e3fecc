"""Puts the IVR flows and the classify API into the running service.

AGI routes: `entry-12345` (12345 menu), `divert-110` (leaving q110-city for 12345) and
`route-110` (110 queue choice). The flows open linkage tickets through `IvrTickets`, which
turns an `ivr.linkage.LinkageOpening` into a `TicketDraft` on the shared Redis. HTTP:
`POST /api/classify`, served by a classifier loaded on its first request.

The IVR configuration is `ivr.toml` beside the settings file (config/ivr.toml ships with the
defaults); when there is none the built-in defaults, which are the shipped file, apply.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import redis.asyncio as aioredis

from bridge.classify_api import ClassifyApi, LazyClassifier, add_classify_route
from bridge.service import RedisComponent, Service
from bridge.tickets import TicketDraft, TicketStore
from bridge.tickets.model import DIRECTION_PLATFORMS
from bridge.transfers.config import transfer_config
from ivr.divert_110 import add_divert_route
from ivr.entry_12345 import add_entry_route
from ivr.linkage import LinkageOpening
from ivr.prompts import IvrConfig, load_ivr_config
from ivr.route_110 import QueueChoice, add_route_110, own_queue
from routing.tickets import TicketStatus, Urgency
from telephony.agi.routes import AgiRoutes

IVR_CONFIG_NAME = "ivr.toml"
SCOPE_RULES = Path(__file__).resolve().parents[1] / "config" / "scope_rules.toml"
PHONE_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
IVR_AGENT = "ivr"


class IvrTickets:
    """Opens the linkage tickets the IVR flows ask for (ivr.linkage.LinkageTickets)."""

    def __init__(self, store: Callable[[], TicketStore], city_code: str) -> None:
        self._store = store
        self.city_code = city_code

    def draft_for(self, opening: LinkageOpening) -> TicketDraft:
        origin, origin_level, target, target_level = DIRECTION_PLATFORMS[opening.direction]
        number = opening.caller_number
        return TicketDraft(
            direction=opening.direction,
            origin_platform=origin,
            origin_level=origin_level,
            origin_district=self.city_code,
            caller_number=number if number and PHONE_NUMBER.fullmatch(number) else None,
            kind=opening.kind,
            summary=opening.summary,
            urgency=Urgency.URGENT if opening.urgent else Urgency.NORMAL,
            # The IVR does not know where the incident is: the city, until an agent says.
            district_code=self.city_code,
            originating_agent=f"{IVR_AGENT}-{opening.direction.value}",
            target_platform=target,
            target_level=target_level,
            target_district=self.city_code,
            channel=opening.channel or None,
            uniqueid=opening.uniqueid or None,
        )

    async def open(self, opening: LinkageOpening) -> str:
        store = self._store()
        call = opening.uniqueid or opening.channel
        # One ticket per call and direction, however often Asterisk retries the AGI.
        request_id = f"ivr:{opening.direction.value}:{call}"
        created = await store.create(self.draft_for(opening), request_id=request_id, by=IVR_AGENT)
        if created.created:
            # The caller is on the way to the other platform's queue right now: no orchestrated
            # transfer will move the ticket, so it is queued at once for the agent to accept.
            await store.transition(created.ticket_id, TicketStatus.QUEUED, by=IVR_AGENT)
        return created.ticket_id


def ivr_config_for(config_file: str) -> IvrConfig:
    path = Path(config_file).parent / IVR_CONFIG_NAME
    return load_ivr_config(path) if path.exists() else IvrConfig()


def install_ivr(
    service: Service,
    agi_routes: AgiRoutes,
    *,
    config: IvrConfig | None = None,
    choose_110_queue: QueueChoice = own_queue,
    rules_path: Path = SCOPE_RULES,
) -> IvrTickets:
    """Add the IVR AGI routes and `POST /api/classify`.

    Raises ivr.prompts.IvrConfigError when ivr.toml beside the settings file is bad.
    """
    settings = service.settings
    config = config or ivr_config_for(service.config_file)
    components = service.components
    stores: list[TicketStore] = []

    def redis() -> aioredis.Redis:
        found = components.get("redis")
        if not isinstance(found, RedisComponent):
            raise TypeError("the redis component is not a RedisComponent")
        return found.client

    def store() -> TicketStore:
        # Built on first use: the Redis client exists only once the service has started.
        if not stores:
            deadlines = transfer_config(settings).deadline_policy()
            stores.append(TicketStore(redis(), deadlines, timezone=settings.timezone))
        return stores[0]

    tickets = IvrTickets(store, settings.city.code)
    add_entry_route(agi_routes, config.entry, tickets)
    add_divert_route(agi_routes, config.divert, tickets)
    add_route_110(agi_routes, choose_110_queue)
    add_classify_route(service.routes, ClassifyApi(LazyClassifier(rules_path)))
    return tickets
