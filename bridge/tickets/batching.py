"""Auto-batching of ticket creation: concurrent creates share one script call.

The Python client, not Redis, limits ticket creation: packing and sending a command costs
redis-py far more CPU than the script costs the server. So creates made while a call is on the
wire wait for the next one, and each call carries the whole batch as one JSON argument to one
EVALSHA. Every create is still atomic (the whole call is) and gets its own reply; a create made
alone costs one round trip, as before.

If Redis fails the call (connection lost, or a script error such as a key of the wrong type
put there by someone else), every create in that batch gets the error, although the creates
before the failing one were written; the callers' retries with the same request ids return
those (idempotency). Only the create that hit the script error can be left half-written, and
only when something outside this store broke its keys. A batch of max_batch (200) creates
keeps Redis busy for a few milliseconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError


class ScriptBatcher:
    """Collects requests made in the same event-loop turn into one script call.

    Up to `max_in_flight` calls may be on the wire at once, so the client prepares the next
    batch while Redis runs the previous one (the two share this machine's cores). Creates
    waiting when slots free up are split evenly among the free slots (50 at once with two
    slots: two calls of 25), which keeps both sides busy.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        source: str,
        static_args: list[str | int],
        max_batch: int = 200,
        max_in_flight: int = 2,
    ) -> None:
        if max_batch < 1 or max_in_flight < 1:
            raise ValueError("max_batch and max_in_flight must be >= 1")
        self.redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.static_args = static_args
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self._pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self._dispatch_scheduled = False
        self._in_flight: set[asyncio.Task[None]] = set()

    async def run(self, request: list[Any]) -> Any:
        """Send one request (a JSON-able list) in the next batch; return its own reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((request, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        # call_soon runs after the callbacks already queued, so creates woken in the same turn
        # (e.g. by the previous batch's replies) all join this batch.
        if not self._dispatch_scheduled:
            self._dispatch_scheduled = True
            loop.call_soon(self._dispatch)

    def _dispatch(self) -> None:
        self._dispatch_scheduled = False
        while self._pending and len(self._in_flight) < self.max_in_flight:
            # Share what is waiting among the free slots rather than sending it all at once:
            # then Redis runs one batch while the client reads the other's replies and
            # prepares the next, instead of each side idling while the other works.
            free = self.max_in_flight - len(self._in_flight)
            size = min(self.max_batch, -(-len(self._pending) // free))
            batch = self._pending[:size]
            del self._pending[:size]
            task = asyncio.get_running_loop().create_task(self._settle(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if self._pending:
            self._schedule(asyncio.get_running_loop())

    async def _settle(self, batch: list[tuple[list[Any], asyncio.Future[Any]]]) -> None:
        try:
            replies = await self._call([request for request, _ in batch])
        except Exception as error:  # a broken connection fails every create in the batch
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), reply in zip(batch, replies, strict=True):
            if not future.done():  # done = the caller was cancelled meanwhile
                future.set_result(reply)

    async def _call(self, requests: list[list[Any]]) -> list[Any]:
        payload = json.dumps(requests, ensure_ascii=False, separators=(",", ":"))
        args = [*self.static_args, payload]
        try:
            replies: list[Any] = await self.redis.evalsha(self.sha, 0, *args)
        except NoScriptError:
            # Redis restarted or its script cache was flushed: nothing ran, so load and resend.
            await self.redis.script_load(self.source)
            replies = await self.redis.evalsha(self.sha, 0, *args)
        return replies
