"""Transfers under way, in Redis, so a restarted bridge can finish or revert them.

Keys: ``hb:transfer:<ticket id>`` (hash of :class:`InFlight`, expires an hour after its
deadline) and ``hb:transfers:active`` (set of ticket ids). Written before the caller is moved,
deleted once the outcome is recorded on the ticket.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import redis.asyncio as aioredis

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

    @classmethod
    def from_hash(cls, raw: dict[Any, Any]) -> InFlight:
        data = {_text(k): _text(v) for k, v in raw.items()}
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        values["deadline"] = float(values["deadline"])
        return cls(**values)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class InFlightStore:
    def __init__(self, redis: aioredis.Redis, prefix: str = "hb") -> None:
        self.redis = redis
        self.prefix = prefix
        self.active_key = f"{prefix}:transfers:active"

    def key(self, ticket_id: str) -> str:
        return f"{self.prefix}:transfer:{ticket_id}"

    async def save(self, record: InFlight, now: float) -> None:
        key = self.key(record.ticket_id)
        ttl = max(1, int(record.deadline - now) + KEEP_AFTER_DEADLINE_S)
        mapping: dict[str | bytes, str] = {k: str(v) for k, v in asdict(record).items()}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
            pipe.expire(key, ttl)
            pipe.sadd(self.active_key, record.ticket_id)
            await pipe.execute()

    async def delete(self, ticket_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key(ticket_id))
            pipe.srem(self.active_key, ticket_id)
            await pipe.execute()

    async def all(self) -> list[InFlight]:
        ids = sorted(_text(i) for i in await self.redis.smembers(self.active_key))
        records = []
        for ticket_id in ids:
            raw = await self.redis.hgetall(self.key(ticket_id))
            if raw:
                records.append(InFlight.from_hash(raw))
            else:  # expired long after its deadline: nothing left to finish
                await self.redis.srem(self.active_key, ticket_id)
        return records
