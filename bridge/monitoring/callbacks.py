"""The call-back list (回拨): early-released callers whose number is not withheld.

Redis: ``hb:callbacks:next`` (INCR for ids), one hash per entry
``hb:callbacks:<id>`` and a sorted set ``hb:callbacks:pending`` (score = time) of
the entries still to call. Entries expire with the history retention. Every call-back made is
appended to the entry's ``attempts`` (JSON) with its result.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from bridge import redis_keys
from bridge.monitoring.history import as_bytes

PREFIX = redis_keys.CALLBACKS
NEXT_ID = f"{PREFIX}:next"
PENDING = f"{PREFIX}:pending"
ALL = f"{PREFIX}:all"


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    UNREACHABLE = "unreachable"


class CallbackAttempt(BaseModel):
    at: float
    by: str
    result: str  # "originated", "failed: <why>", "recorded" (no AMI session to originate)


class CallbackEntry(BaseModel):
    id: int
    number: str
    name: str = ""
    queue: str
    platform: str = ""
    district: str = ""
    wait: float
    joined_at: float
    released_at: float
    status: CallbackStatus = CallbackStatus.PENDING
    updated_by: str = ""
    note: str = ""
    attempts: list[CallbackAttempt] = Field(default_factory=list)


def entry_key(entry_id: int) -> str:
    return f"{PREFIX}:{entry_id}"


def _to_hash(entry: CallbackEntry) -> dict[str, str]:
    data = entry.model_dump(mode="json")
    data["attempts"] = json.dumps(data["attempts"], ensure_ascii=False)
    return {key: str(value) for key, value in data.items()}


def _from_hash(raw: dict[bytes, bytes]) -> CallbackEntry:
    data: dict[str, Any] = {k.decode(): v.decode() for k, v in raw.items()}
    data["attempts"] = json.loads(data.get("attempts") or "[]")
    return CallbackEntry.model_validate(data)


class CallbackList:
    def __init__(self, redis: aioredis.Redis, retention_seconds: int) -> None:
        self.redis = redis
        self.retention_seconds = retention_seconds

    async def add_many(self, entries: list[CallbackEntry]) -> list[int]:
        """Store new entries (their ``id`` is assigned here); returns the ids."""
        if not entries:
            return []
        last = int(await self.redis.incrby(NEXT_ID, len(entries)))
        ids = list(range(last - len(entries) + 1, last + 1))
        pipe = self.redis.pipeline(transaction=True)
        for entry_id, entry in zip(ids, entries, strict=True):
            entry.id = entry_id
            key = entry_key(entry_id)
            pipe.hset(key, mapping=_to_hash(entry))  # type: ignore[arg-type]
            pipe.expire(key, self.retention_seconds)
            pipe.zadd(PENDING, {str(entry_id): entry.released_at})
            pipe.zadd(ALL, {str(entry_id): entry.released_at})
        await pipe.execute()
        await self._trim(entries[-1].released_at)
        return ids

    async def _trim(self, now: float) -> None:
        # Index members whose hash has expired would list nothing: drop them with the retention.
        cutoff = now - self.retention_seconds
        await self.redis.zremrangebyscore(PENDING, "-inf", cutoff)
        await self.redis.zremrangebyscore(ALL, "-inf", cutoff)

    async def get(self, entry_id: int) -> CallbackEntry | None:
        raw = await self.redis.hgetall(entry_key(entry_id))
        return _from_hash(as_bytes(raw)) if raw else None

    async def entries(self, status: CallbackStatus | None, limit: int = 500) -> list[CallbackEntry]:
        """Entries oldest first: the pending ones, or every retained one when status is None."""
        index = PENDING if status is CallbackStatus.PENDING else ALL
        ids = await self.redis.zrange(index, 0, limit - 1)
        found = [await self.get(int(_text(raw))) for raw in ids]
        return [e for e in found if e is not None and (status is None or e.status == status)]

    async def pending_count(self) -> int:
        return int(await self.redis.zcard(PENDING))

    async def set_status(
        self, entry_id: int, status: CallbackStatus, by: str, note: str = ""
    ) -> CallbackEntry | None:
        entry = await self.get(entry_id)
        if entry is None:
            return None
        entry.status, entry.updated_by, entry.note = status, by, note or entry.note
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(entry_key(entry_id), mapping=_to_hash(entry))  # type: ignore[arg-type]
        if status is CallbackStatus.PENDING:
            pipe.zadd(PENDING, {str(entry_id): entry.released_at})
        else:
            pipe.zrem(PENDING, str(entry_id))
        await pipe.execute()
        return entry

    async def record_attempt(self, entry_id: int, attempt: CallbackAttempt) -> CallbackEntry | None:
        entry = await self.get(entry_id)
        if entry is None:
            return None
        entry.attempts.append(attempt)
        await self.redis.hset(entry_key(entry_id), "attempts", _to_hash(entry)["attempts"])
        return entry


def _text(raw: object) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
