"""The `threeparty` AGI route over a real FastAGI socket, served by the real conference
service on the emulated PBX: a press that cannot start a room tells the agent so (distinct
prompt, HB_THREEPARTY=failed) and moves nobody."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as aioredis

from bridge.conferences.config import ConferenceConfig
from tests.bridge.test_conference_emulated import answered_12345_call, emulated
from tests.ivr.test_threeparty_emulated import GUARD, Bridge, agi_server

__all__ = ["agi_server"]  # the fixture, shared with the end-to-end test

FAILED_PROMPT = "beep"  # Bridge.serve's failure prompt


async def press(port: int, channel: str, uniqueid: str, peer: str) -> list[str]:
    """Gosub(hb-threeparty) -> AGI(.../threeparty) on the agent's leg; BRIDGEPEER is `peer`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "agi_network: yes\nagi_network_script: threeparty\n"
            "agi_request: agi://127.0.0.1:4573/threeparty\n"
            f"agi_channel: {channel}\nagi_uniqueid: {uniqueid}\n"
            "agi_context: hb-threeparty\nagi_extension: s\nagi_priority: 2\n\n"
        ).encode()
    )
    await writer.drain()
    commands = []
    async with asyncio.timeout(GUARD):
        while line := await reader.readline():
            command = line.decode().strip()
            commands.append(command)
            value = f" ({peer})" if command == "GET VARIABLE BRIDGEPEER" and peer else ""
            writer.write(f"200 result={1 if value else 0}{value}\n".encode())
            await writer.drain()
    writer.close()
    return commands


async def test_a_press_with_nobody_bridged_fails_audibly(
    redis_client: aioredis.Redis, tmp_path: Path, agi_server: Bridge
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig(), agi_server.port) as world:
        agi_server.serve(world)
        said = await press(agi_server.port, "Local/agent101@agents-00000009;1", "u9", "")
        assert said == [
            "GET VARIABLE BRIDGEPEER",
            'SET VARIABLE HB_THREEPARTY "failed"',
            f'STREAM FILE {FAILED_PROMPT} ""',
        ]
        assert not world.conferences.rooms.rooms


async def test_a_press_for_a_caller_the_pbx_does_not_have_moves_nobody(
    redis_client: aioredis.Redis, tmp_path: Path, agi_server: Bridge
) -> None:
    async with emulated(redis_client, tmp_path, ConferenceConfig(), agi_server.port) as world:
        agi_server.serve(world)
        caller = await answered_12345_call(world)
        agent = world.live.bridged_peer(caller)
        assert agent is not None
        said = await press(agi_server.port, agent.name, agent.uniqueid, "Local/ghost@x-1;1")
        assert said[1:] == [
            'SET VARIABLE HB_THREEPARTY "failed"',
            f'STREAM FILE {FAILED_PROMPT} ""',
        ]
        assert not world.conferences.rooms.rooms
        # Caller and agent are still talking, untouched.
        assert world.live.bridged_peer(caller) == agent
