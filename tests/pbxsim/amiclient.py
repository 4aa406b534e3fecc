"""A recording AMI client for the runtime tests, and the two lab PBXs joined by their IAX2
trunk (trace 16's set-up)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.trunk import IaxNetwork
from tests.pbxsim.fidelity import split_server_bytes
from tests.traces import LAB_CONFIG

POLL = 0.01


class Client:
    """A logged-in AMI session that keeps every byte the PBX sends."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None

    async def connect(self, port: int, username: str = "t", secret: str = "t") -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.send(f"Action: Login\nUsername: {username}\nSecret: {secret}\n")

        async def pump() -> None:
            while chunk := await reader.read(65536):
                self.data.extend(chunk)

        self.task = asyncio.create_task(pump())

    def send(self, text: str) -> None:
        assert self.writer is not None
        self.writer.write(text.replace("\n", "\r\n").encode() + b"\r\n")

    def messages(self) -> list[dict[str, str]]:
        return [dict(m.headers) for m in split_server_bytes(bytes(self.data))]

    def events(self, name: str) -> list[dict[str, str]]:
        return [m for m in self.messages() if m.get("Event") == name]

    def reply(self, action_id: str) -> dict[str, str]:
        replies = [m for m in self.messages() if m.get("ActionID") == action_id]
        assert replies, f"no reply to {action_id}"
        return replies[0]

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


async def until(condition: Callable[[], object], what: str, limit: float = 10.0) -> None:
    """Poll `condition` (an event has arrived) for at most `limit` seconds of real time."""
    for _ in range(int(limit / POLL)):
        if condition():
            return
        await asyncio.sleep(POLL)
    raise AssertionError(f"{what}: not within {limit} s")


@contextlib.asynccontextmanager
async def running_pbx(
    folder: Path, time_scale: float, username: str = "t", secret: str = "t"
) -> AsyncIterator[tuple[EmulatedPBX, Client]]:
    """The PBX of `folder`, started, with a client logged in as `username`."""
    pbx = EmulatedPBX.from_config_dir(folder, time_scale=time_scale)
    client = Client()
    try:
        await pbx.start()
        await client.connect(pbx.ami_port, username, secret)
        yield pbx, client
    finally:
        client.close()
        await pbx.stop()


@contextlib.asynccontextmanager
async def two_lab_pbxs(
    time_scale: float, near_config: Path = LAB_CONFIG / "pbx-1"
) -> AsyncIterator[tuple[Client, Client]]:
    """The 12345 PBX (`near_config`, lab pbx-1 by default) and the 110 PBX (lab pbx-2) on
    one IAX2 network, each with a client logged in as the lab's bridge user."""
    network = IaxNetwork()
    pbxs = [
        EmulatedPBX.from_config_dir(
            near_config, name="lab", time_scale=time_scale, iax_network=network
        ),
        EmulatedPBX.from_config_dir(
            LAB_CONFIG / "pbx-2", name="lab2", time_scale=time_scale, iax_network=network
        ),
    ]
    clients = [Client(), Client()]
    try:
        for pbx, client in zip(pbxs, clients, strict=True):
            await pbx.start()
            await client.connect(pbx.ami_port, "bridge", "bridgepass")
        yield clients[0], clients[1]
    finally:
        for client in clients:
            client.close()
        for pbx in pbxs:
            await pbx.stop()
