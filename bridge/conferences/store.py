"""Three-party calls in Redis, so a restarted bridge finds the rooms it was running.

Keys: ``hb:conference:<room>`` (string, JSON of :class:`Conference`, expires a day after its
last write), ``hb:conferences:active`` (set of rooms not ended), ``hb:conferences:seq``
(INCR: room numbers unique across bridge instances), ``hb:conference-ticket:<ticket>``
(room of a ticket's latest conference, so a retried request finds it).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from bridge import redis_keys
from bridge.conferences.model import Conference

KEEP_S = 24 * 3600
ACTIVE = redis_keys.CONFERENCES_ACTIVE
SEQUENCE = redis_keys.CONFERENCES_SEQUENCE
# Rooms are 9 + six digits: apart from the consult transfers' rooms (ticket digits).
ROOM_PREFIX = "9"


def _key(room: str) -> str:
    return redis_keys.conference(room)


def _ticket_key(ticket_id: str) -> str:
    return redis_keys.conference_of_ticket(ticket_id)


class ConferenceStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def next_room(self) -> str:
        number = int(await self.redis.incr(SEQUENCE))
        return f"{ROOM_PREFIX}{number:06d}"

    async def save(self, conference: Conference) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(_key(conference.id), conference.model_dump_json(), ex=KEEP_S)
        pipe.set(_ticket_key(conference.ticket_id), conference.id, ex=KEEP_S)
        if conference.state == "ended":
            pipe.srem(ACTIVE, conference.id)
        else:
            pipe.sadd(ACTIVE, conference.id)
        await pipe.execute()

    async def get(self, room: str) -> Conference | None:
        raw = await self.redis.get(_key(room))
        return None if raw is None else Conference.model_validate_json(raw)

    async def room_of_ticket(self, ticket_id: str) -> str | None:
        raw = await self.redis.get(_ticket_key(ticket_id))
        return None if raw is None else raw.decode() if isinstance(raw, bytes) else str(raw)

    async def active(self) -> list[Conference]:
        rooms = sorted(
            r.decode() if isinstance(r, bytes) else str(r)
            for r in await self.redis.smembers(ACTIVE)
        )
        found = [await self.get(room) for room in rooms]
        gone = [room for room, c in zip(rooms, found, strict=True) if c is None]
        if gone:
            await self.redis.srem(ACTIVE, *gone)  # expired records: nothing left to recover
        return [c for c in found if c is not None]
