"""Transfers under way, in Redis, so a restarted bridge can finish or revert them.

Key: ``hb:transfer:<ticket id>`` (string, JSON of :class:`InFlight`, expires an hour after its
deadline), one SET: it is written on every key press's path, before the caller is moved, so
it is kept to one cheap command. Deleted once the outcome is on the ticket; a restarted
bridge finds the rest with SCAN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as aioredis

from bridge import redis_keys

KEEP_AFTER_DEADLINE_S = 3600


@dataclass(frozen=True)
class InFlight:
    ticket_id: str
    mode: str  # blind / consult
    source_pbx: str
    caller_channel: str
    caller_uniqueid: str
    agent_channel: str  # "" when the API moved a caller with no known agent leg
    origin_context: str  # where the caller goes back to (origin queue) on source_pbx
    origin_extension: str
    target_pbx: str
    target_queue: str
    deadline: float  # epoch seconds: no answer by then -> revert
    room: str = ""  # consult mode: the three-party room
    consult_channel: str = ""  # consult mode: the originated leg toward the target

    def to_json(self) -> str:
        # vars(), not dataclasses.asdict: every field is a str or float, and asdict's deep
        # copy cost more than the rest of the record's SET on the key press's path.
        return json.dumps(vars(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> InFlight:
        return cls(**json.loads(raw))


class InFlightStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    def key(self, ticket_id: str) -> str:
        return redis_keys.transfer(ticket_id)

    async def save(self, record: InFlight, now: float) -> None:
        ttl = max(1, int(record.deadline - now) + KEEP_AFTER_DEADLINE_S)
        await self.redis.set(self.key(record.ticket_id), record.to_json(), ex=ttl)

    async def delete(self, ticket_id: str) -> None:
        await self.redis.delete(self.key(ticket_id))

    async def all(self) -> list[InFlight]:
        keys = sorted([key async for key in self.redis.scan_iter(match=self.key("*"), count=500)])
        if not keys:
            return []
        values = await self.redis.mget(keys)
        return [InFlight.from_json(value) for value in values if value is not None]
