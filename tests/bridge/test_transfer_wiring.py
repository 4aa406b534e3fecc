"""install_transfers: the component attaches to logged-in AMI clients, recovers what a
previous run left in flight, serves the `onekey` AGI route and the ticket routes."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from bridge.service import RedisComponent, Service
from bridge.settings import RedisSettings
from bridge.tickets import TicketDraft, TicketStore
from bridge.transfers.config import TransferConfig
from bridge.transfers.inflight import InFlight, InFlightStore
from bridge.transfers.wiring import install_transfers
from routing.tickets import TicketStatus
from telephony.agi import AgiRoutes
from telephony.ami.client import AMIClient
from tests.bridge.test_transfer_orchestration import JINING, SETTINGS
from tests.bridge.test_transfer_peer import scripted
from tests.redis_server import RedisServer


class LoggedIn:
    """Stands in the place of run.AmiComponent: a name and the client it logged in."""

    def __init__(self, pbx: str, client: AMIClient) -> None:
        self.name = f"ami:{pbx}"
        self.client = client

    async def start(self) -> None:
        await self.client.connect()

    async def stop(self) -> None:
        await self.client.close()

    async def health(self) -> dict[str, Any]:
        return {"status": "ok"}


async def test_the_component_attaches_recovers_and_registers_routes(
    redis_server: RedisServer, redis_client: aioredis.Redis
) -> None:
    # Two transfers a previous run left in flight: one whose caller is gone from both PBXs,
    # one whose ticket hash is damaged (recovery must go on past it).
    store = TicketStore(redis_client, TransferConfig().deadline_policy())
    draft = TicketDraft.model_validate(
        {
            "direction": "12345->110",
            "origin_platform": "12345",
            "origin_level": "city",
            "origin_district": "370800",
            "kind": "报警",
            "district_code": "370800",
            "originating_agent": "12345-01",
            "target_platform": "110",
            "target_level": "city",
            "target_district": "370800",
        }
    )
    gone = (await store.create(draft, request_id="r1", by="12345-01")).ticket.id
    await store.transition(gone, TicketStatus.TRANSFERRING, by="12345-01")
    await redis_client.hset("hb:ticket:LK-20261129-999999", mapping={"status": "queued"})
    for ticket_id in (gone, "LK-20261129-999999"):
        record = InFlight(
            ticket_id=ticket_id,
            mode="blind",
            source_pbx="pbx-12345",
            caller_channel="PJSIP/gone",
            caller_uniqueid="gone",
            agent_channel="",
            origin_context="hb-queue",
            origin_extension="12345",
            target_pbx="pbx-110",
            target_queue="q110-city",
            deadline=0.0,
        )
        await InFlightStore(redis_client).save(record, 0.0)
    async with (
        scripted("pbx-12345", {"q12345"}) as (_, c1),
        scripted("pbx-110", {"q110-city"}) as (_, c2),
    ):
        service = Service(SETTINGS, JINING, environ={})
        service.add(RedisComponent(RedisSettings(url=redis_server.url)))
        service.add(LoggedIn("pbx-12345", c1))
        service.add(LoggedIn("pbx-110", c2))
        agi_routes = AgiRoutes()
        component = install_transfers(service, agi_routes)
        assert agi_routes.get("onekey") is not None
        paths = {spec.path for spec in service.routes.specs}
        assert {"/api/transfers", "/api/tickets", "/screenpop/{agent}"} <= paths
        await service.components.start_all()
        try:
            for _ in range(500):
                if component.recovered is not None:
                    break
                await asyncio.sleep(0.01)
            health = await component.health()
            assert (health["status"], health["attached"]) == ("ok", ["pbx-110", "pbx-12345"])
            assert component.recovered is not None
            assert component.recovered[gone] == "failed: caller gone"
            assert component.recovered["LK-20261129-999999"].startswith("skipped: ValidationError")
            assert (await store.get(gone)).status is TicketStatus.TRANSFER_FAILED
        finally:
            await service.components.stop_all(deadline_seconds=5)
