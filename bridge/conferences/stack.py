"""The three-party call pieces built on the transfer stack, and attached to each PBX's AMI."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.conferences.config import ConferenceConfig
from bridge.conferences.orchestrator import ConferenceService, DangerCheck
from bridge.conferences.rooms import WATCHED_EVENTS, RoomKeeper
from bridge.conferences.store import ConferenceStore
from bridge.transfers.stack import TransferStack
from telephony.ami.client import AMIClient
from telephony.ami.events import Event


@dataclass
class ConferenceStack:
    rooms: RoomKeeper
    service: ConferenceService

    @classmethod
    def build(
        cls,
        transfers: TransferStack,
        config: ConferenceConfig,
        danger_check: DangerCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ConferenceStack:
        store = ConferenceStore(transfers.store.redis)
        rooms = RoomKeeper(store, transfers.store, transfers.links, transfers.hub, config, clock)
        return cls(rooms, ConferenceService(transfers.service, rooms, danger_check, clock))

    def attach(self, name: str, client: AMIClient) -> None:
        """Feed the rooms from PBX `name` (the live model is fed by the transfer stack)."""
        rooms = self.rooms

        async def on_event(event: Event) -> None:
            await rooms.on_event(name, event)

        client.subscribe(on_event, WATCHED_EVENTS)

    async def recover(self) -> dict[str, str]:
        return await self.rooms.recover()

    def close(self) -> None:
        self.rooms.stop_timers()
