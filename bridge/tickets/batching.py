"""Auto-batching of ticket creation: concurrent creates share one script call.

The Python client, not Redis, limits ticket creation: packing and sending a command costs
redis-py far more CPU than the script costs the server. So creates made while a call is on the
wire wait for the next one, and each call carries the whole batch as one JSON argument to one
EVALSHA. Every create is still atomic (the whole call is) and gets its own reply; a create made
alone costs one round trip, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError


class ScriptBatcher:
    def __init__(
        self,
        redis: aioredis.Redis,
        source: str,
        static_args: list[str | int],
        max_batch: int = 200,
    ) -> None:
        self.redis = redis
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()
        self.static_args = static_args
        self.max_batch = max_batch
        self._pending: list[tuple[list[Any], asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, request: list[Any]) -> Any:
        """Send one request (a JSON-able list) in the next batch; return its own reply."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            try:
                replies = await self._call([request for request, _ in batch])
            except Exception as error:  # a broken connection fails every create in the batch
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
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
