"""Announcements of linked calls, fanned out to whoever listens (SSE streams, tests).

A listener gets its own bounded queue: a slow browser never stalls the transfer service; when
its queue is full the oldest announcement is dropped (the page re-reads the ticket anyway).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Stage = Literal["arrived", "answered", "failed"]
LISTENER_QUEUE_SIZE = 100


@dataclass(frozen=True)
class LinkedCall:
    """A call with a linkage ticket reached a stage at a queue (answered: at an agent)."""

    stage: Stage
    ticket_id: str
    pbx: str
    queue: str
    uniqueid: str  # the call as the receiving PBX knows it
    agent: str = ""  # agent id, once answered
    reason: str = ""  # why it failed
    at: float = field(default_factory=time.time)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class Listener:
    def __init__(self, queue: str | None, agent: str | None) -> None:
        self.queue = queue
        self.agent = agent
        self.inbox: asyncio.Queue[LinkedCall] = asyncio.Queue(LISTENER_QUEUE_SIZE)
        self.dropped = 0

    def wants(self, call: LinkedCall) -> bool:
        if self.agent is not None:
            return call.agent == self.agent
        return self.queue is None or call.queue == self.queue

    def offer(self, call: LinkedCall) -> None:
        if self.inbox.full():
            self.inbox.get_nowait()
            self.dropped += 1
        self.inbox.put_nowait(call)


class ScreenPopHub:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self.published = 0

    def listen(self, *, queue: str | None = None, agent: str | None = None) -> Listener:
        listener = Listener(queue, agent)
        self._listeners.add(listener)
        return listener

    def stop_listening(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def publish(self, call: LinkedCall) -> None:
        self.published += 1
        for listener in list(self._listeners):
            if listener.wants(call):
                listener.offer(call)

    @property
    def listeners(self) -> int:
        return len(self._listeners)
