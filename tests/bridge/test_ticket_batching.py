"""ScriptBatcher against a real redis-server: how concurrent requests are grouped into calls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from bridge.tickets.batching import ScriptBatcher

# Echoes each request back with the number of requests in its call.
ECHO = """
local requests = cjson.decode(ARGV[2])
local replies = {}
for r = 1, #requests do replies[r] = {ARGV[1], requests[r][1], #requests} end
return replies
"""


class CountingBatcher(ScriptBatcher):
    """Records the size of every script call it makes."""

    def __init__(self, redis: aioredis.Redis, **limits: int) -> None:
        super().__init__(redis, ECHO, ["echo"], **limits)
        self.calls: list[int] = []

    async def _call(self, requests: list[list[Any]]) -> list[Any]:
        self.calls.append(len(requests))
        return await super()._call(requests)


async def test_waiting_requests_are_shared_among_the_free_slots(
    redis_client: aioredis.Redis,
) -> None:
    batcher = CountingBatcher(redis_client, max_in_flight=2)
    replies = await asyncio.gather(*(batcher.run([n]) for n in range(50)))
    # Two calls of 25 (not one of 50): Redis runs one while the client handles the other.
    assert batcher.calls == [25, 25]
    assert [reply[1] for reply in replies] == list(range(50))
    assert {reply[2] for reply in replies} == {25}


async def test_a_lone_request_is_sent_at_once_in_its_own_call(
    redis_client: aioredis.Redis,
) -> None:
    batcher = CountingBatcher(redis_client, max_in_flight=2)
    assert (await batcher.run(["alone"]))[1] == b"alone"
    assert batcher.calls == [1]


async def test_requests_past_the_free_slots_wait_for_the_next_call(
    redis_client: aioredis.Redis,
) -> None:
    batcher = CountingBatcher(redis_client, max_batch=10, max_in_flight=2)
    replies = await asyncio.gather(*(batcher.run([n]) for n in range(45)))
    # 20 go at once (two full calls); the rest follow as slots free up, 25 in all.
    assert batcher.calls[:2] == [10, 10]
    assert sum(batcher.calls) == 45 and max(batcher.calls) <= 10
    assert [reply[1] for reply in replies] == list(range(45))


def test_limits_below_one_are_refused(redis_client: aioredis.Redis) -> None:
    with pytest.raises(ValueError, match="max_batch and max_in_flight"):
        ScriptBatcher(redis_client, ECHO, [], max_in_flight=0)
