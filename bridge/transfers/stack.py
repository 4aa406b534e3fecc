"""The transfer pieces built together, and a PBX link attached to its AMI client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis.asyncio as aioredis

from bridge.screenpop.hub import ScreenPopHub
from bridge.tickets import TicketStore
from bridge.transfers.config import TransferConfig
from bridge.transfers.drafts import DraftStore
from bridge.transfers.inflight import InFlightStore
from bridge.transfers.orchestrator import TransferService
from bridge.transfers.outcomes import WATCHED_EVENTS, OutcomeWatcher, PbxLink
from bridge.transfers.recovery import recover
from routing.transfer_paths import PlatformEntry
from telephony.ami.client import AMIClient
from telephony.ami.events import Event
from telephony.live import LiveModel


@dataclass
class TransferStack:
    store: TicketStore
    drafts: DraftStore
    inflight: InFlightStore
    watcher: OutcomeWatcher
    service: TransferService
    links: dict[str, PbxLink]
    hub: ScreenPopHub

    @classmethod
    def build(
        cls,
        redis: aioredis.Redis,
        platforms: list[PlatformEntry],
        zones: dict[str, str],
        config: TransferConfig,
        pbx_names: Iterable[str],
        *,
        hub: ScreenPopHub | None = None,
        timezone: str = "Asia/Shanghai",
        clock: Callable[[], float] = time.time,
    ) -> TransferStack:
        hub = hub or ScreenPopHub()
        store = TicketStore(redis, config.deadline_policy(), timezone=timezone)
        inflight = InFlightStore(redis)
        links = {name: PbxLink(name, LiveModel()) for name in pbx_names}
        watcher = OutcomeWatcher(store, inflight, links, config, hub, clock, platforms)
        service = TransferService(store, inflight, watcher, links, platforms, zones, config, clock)
        drafts = DraftStore(redis, config.draft_ttl_seconds)
        return cls(store, drafts, inflight, watcher, service, links, hub)

    def attach(self, name: str, client: AMIClient) -> None:
        """Feed PBX `name`'s live model and the watcher from `client` (before or after login).

        The live model resyncs on every login; call :meth:`resync` when the client is already
        logged in.
        """
        link = self.links[name]
        link.client = client
        link.live.attach(client)
        watcher = self.watcher

        def outcome(event: Event) -> None:
            watcher.offer(name, event)

        client.subscribe(outcome, WATCHED_EVENTS)

    async def resync(self, name: str) -> None:
        link = self.links[name]
        if link.client is not None:
            await link.live.resync(link.client)

    async def recover(self) -> dict[str, str]:
        """Finish or revert the transfers a previous run left in flight."""
        return await recover(self.watcher, await self.inflight.all())

    async def close(self) -> None:
        await self.watcher.close()
