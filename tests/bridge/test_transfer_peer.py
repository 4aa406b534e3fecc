"""A scripted AMI peer over a real socket for the transfer tests, and its own checks.

It logs anyone in, answers ``QueueStatus`` from the queues it is told exist (a missing queue
lists nothing, as trace 15 shows), ``CoreShowChannels`` with nothing, fails the actions it is
told to fail with Asterisk's ``Response: Error``, stays silent for actions told to hang, and
records every action. Tests push events to every connected client with :meth:`push`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from telephony.ami.client import AMIClient
from telephony.ami.errors import AMIError, AMITimeout


def _message(fields: list[tuple[str, str]]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode()


class ScriptedPBX:
    def __init__(self, name: str, queues: set[str]) -> None:
        self.name = name
        self.queues = set(queues)
        self.errors: dict[str, str] = {}  # action name -> Asterisk's Message
        self.silent: set[str] = set()  # actions never answered (timeouts)
        self.actions: list[dict[str, str]] = []
        # Extra QueueStatus items (QueueMember/QueueEntry) and CoreShowChannel items.
        self.queue_items: list[list[tuple[str, str]]] = []
        self.channel_items: list[list[tuple[str, str]]] = []
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._changed = asyncio.Event()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_connections(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()

    async def push(self, event: str, **fields: str) -> None:
        data = _message([("Event", event), *[(k.replace("_", ""), v) for k, v in fields.items()]])
        for writer in list(self._writers):
            writer.write(data)
            await writer.drain()

    async def push_raw(self, fields: list[tuple[str, str]]) -> None:
        for writer in list(self._writers):
            writer.write(_message(fields))
            await writer.drain()

    def named(self, action: str) -> list[dict[str, str]]:
        return [a for a in self.actions if a["Action"].lower() == action.lower()]

    async def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                action = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                self.actions.append(action)
                self._changed.set()
                for reply in self._reply(action):
                    writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)

    def _reply(self, action: dict[str, str]) -> list[bytes]:
        name, action_id = action["Action"], action.get("ActionID", "")
        if name in self.silent:
            return []
        if name in self.errors:
            return [
                _message(
                    [("Response", "Error"), ("ActionID", action_id), ("Message", self.errors[name])]
                )
            ]
        if name == "QueueStatus":
            wanted = action.get("Queue")
            names = sorted(q for q in self.queues if wanted in (None, q))
            items = [[("Event", "QueueParams"), ("Queue", q)] for q in names]
            items += [i for i in self.queue_items if wanted in (None, dict(i).get("Queue"))]
            return self._list(action_id, "QueueStatusComplete", items)
        if name == "CoreShowChannels":
            return self._list(action_id, "CoreShowChannelsComplete", self.channel_items)
        return [
            _message(
                [("Response", "Success"), ("ActionID", action_id), ("Message", f"{name} done")]
            )
        ]

    @staticmethod
    def _list(action_id: str, complete: str, items: list[list[tuple[str, str]]]) -> list[bytes]:
        out = [
            _message(
                [
                    ("Response", "Success"),
                    ("ActionID", action_id),
                    ("EventList", "start"),
                    ("Message", "follows"),
                ]
            )
        ]
        out += [_message([*item, ("ActionID", action_id)]) for item in items]
        out.append(
            _message(
                [
                    ("Event", complete),
                    ("ActionID", action_id),
                    ("EventList", "Complete"),
                    ("ListItems", str(len(items))),
                ]
            )
        )
        return out


@contextlib.asynccontextmanager
async def scripted(name: str, queues: set[str]) -> AsyncIterator[tuple[ScriptedPBX, AMIClient]]:
    pbx = ScriptedPBX(name, queues)
    port = await pbx.start()
    client = AMIClient("127.0.0.1", port, "bridge", "secret", action_timeout=0.5)
    try:
        yield pbx, client
    finally:
        await client.close()
        await pbx.stop()


async def test_the_peer_answers_lists_errors_and_records() -> None:
    async with scripted("pbx", {"q1"}) as (pbx, client):
        await client.connect()
        found = await client.list_action("QueueStatus", Queue="q1")
        assert [getattr(e, "queue", "") for e in found.events] == ["q1"]
        missing = await client.list_action("QueueStatus", Queue="nope")
        assert missing.events == []
        pbx.errors["Redirect"] = "No such channel"
        with pytest.raises(AMIError, match="No such channel"):
            await client.action("Redirect", Channel="x")
        pbx.silent.add("Setvar")
        with pytest.raises(AMITimeout):
            await client.action("Setvar", Channel="x", time_limit=0.05)
        assert [a["Action"] for a in pbx.actions][-2:] == ["Redirect", "Setvar"]
