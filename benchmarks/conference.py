"""Three-party call start: key press (FastAGI request in) to the room's dual Redirect and the
other side's Originate sent, bridge side.

    python -m benchmarks conference [--count 1000] [--in-flight 1,20] [--fsync everysec,always]

Built like ``benchmarks onekey`` (its scripted AMI servers and seated calls, reused), two
processes so the measuring side does not share the bridge's event loop:
  asterisk  (child) two scripted AMI servers (pbx-12345, pbx-110) answering as trace 13 does
            (``Dual Redirect successful``, ``Originate successfully queued``, ``Variable Set``)
            and a FastAGI client that plays Asterisk running ``AGI(agi://bridge/threeparty)``
            on an agent's channel after *9: it connects, sends the agi_* block, answers
            ``GET VARIABLE BRIDGEPEER``, and notes when the room's ``Originate`` (after the one
            ``Redirect`` moving caller and agent, ExtraChannel) reaches its AMI server;
  bridge    (this process) the real path: FastAGI server -> ivr.threeparty -> PhoneConferences
            -> ConferenceService (live-model legs, plan, ticket create + target queue check in
            parallel, room number, conference saved, ticket transition + Setvar in parallel,
            dual Redirect, Originate), against a redis-server this benchmark starts (AOF on,
            the fsync mode named).
Latency = Originate received - AGI connect started (CLOCK_MONOTONIC, system-wide), so both
Redirect legs and the Originate are in it, and the loopback hops of AGI and AMI. The first
10 % of presses warm up and are not counted. The CPU the bridge process and redis-server spent
per start is printed (waiting does not inflate it), and the load average (2 shared cores).
The bridge side runs on the stdlib asyncio loop (telephony.ami.client wants an
asyncio.Transport, which uvloop's is not) with the garbage collector settled once set up
(bridge.service.settle_garbage_collector), as ``hotline-bridge run`` settles it.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path

import redis.asyncio as aioredis

from benchmarks.onekey import (
    CONFIG,
    QUEUES,
    AmiPeer,
    Feature,
    ami_message,
    asterisk_process,
    percentile,
    timed_presses,
)
from bridge.conferences.config import ConferenceConfig
from bridge.conferences.phone import PhoneConferences
from bridge.conferences.stack import ConferenceStack
from bridge.service import settle_garbage_collector
from bridge.settings import load_settings
from bridge.transfers.config import TransferConfig, platform_table, zone_table
from bridge.transfers.stack import TransferStack
from ivr.threeparty import add_threeparty_route
from telephony.agi import AgiRoutes, FastAgiServer
from telephony.ami.client import AMIClient
from tests.redis_server import start_redis

# What trace 13 (and 16a for Setvar) answers to the actions a three-party start sends.
MESSAGES = {
    "Redirect": "Dual Redirect successful",
    "Originate": "Originate successfully queued",
    "Setvar": "Variable Set",
}


class ConferencePeer(AmiPeer):
    """The onekey peer, answering as trace 13 does; a press is complete when the caller's
    room is Originated into (the Redirect names caller and room, the Originate the room)."""

    def __init__(self, queues: set[str]) -> None:
        super().__init__(queues)
        self.room_callers: dict[str, str] = {}

    def moved_caller(self, action: dict[str, str]) -> str | None:
        name = action["Action"]
        if name == "Redirect" and "ExtraChannel" in action:
            self.room_callers[action["Exten"]] = action["Channel"]
        elif name == "Originate":
            return self.room_callers.get(action.get("Exten", ""))
        return None

    def reply(self, action: dict[str, str]) -> bytes:
        message = MESSAGES.get(action["Action"])
        if message is None:
            return super().reply(action)
        fields = [("Response", "Success"), ("ActionID", action.get("ActionID", ""))]
        return ami_message([*fields, ("Message", message)])


THREEPARTY = Feature("threeparty", "hb-threeparty")


async def _bridge(
    conn: Connection, count: int, fsync: str
) -> tuple[list[float], float, tuple[float, float], float]:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_redis(Path(data_dir), appendfsync=fsync)
        redis = aioredis.Redis.from_url(server.url)
        settings = load_settings(CONFIG)
        transfers = TransferStack.build(
            redis, platform_table(settings), zone_table(settings), TransferConfig(), list(QUEUES)
        )
        conferences = ConferenceStack.build(transfers, ConferenceConfig())
        ports = await loop.run_in_executor(None, conn.recv)
        clients = []
        for name, port in ports.items():
            client = AMIClient("127.0.0.1", port, "bridge", "secret")
            transfers.attach(name, client)
            conferences.attach(name, client)
            await client.connect()
            clients.append(client)
        routes = AgiRoutes()
        phone = PhoneConferences(transfers, conferences.service)
        add_threeparty_route(routes, phone, "hotline-bridge/threeparty-failed")
        agi = FastAgiServer(routes)
        await agi.start("127.0.0.1", 0)
        conn.send(agi.port)
        await loop.run_in_executor(None, conn.recv)  # "seated"
        live = transfers.links["pbx-12345"].live
        for _ in range(1000):  # the seating events are in flight on the AMI socket
            if live.bridged_peer(f"c{count - 1}") is not None:
                break
            await asyncio.sleep(0.01)
        settle_garbage_collector()
        latencies, elapsed, cpu_ms, redis_ms = await timed_presses(conn, redis, count)
        await agi.stop(deadline=1)
        conferences.close()
        await transfers.close()
        for client in clients:
            await client.close()
        conn.send("closed")
        await redis.aclose()
        server.stop()
    return latencies, elapsed, cpu_ms, redis_ms


def run(count: int, in_flight: int, fsync: str) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(
        target=asterisk_process,
        args=(child, count, in_flight, ConferencePeer, THREEPARTY),
    )
    process.start()
    try:
        latencies, elapsed, cpu_ms, redis_ms = asyncio.run(_bridge(parent, count, fsync))
    finally:
        process.join(timeout=10)
    counted = [s * 1000 for s in latencies[count // 10 :]]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"appendfsync={fsync:8} in-flight={in_flight:<3} starts={count} "
        f"key press -> Redirect (caller + agent) + Originate: "
        f"p50 {statistics.median(counted):.2f} ms, p99 {percentile(counted, 0.99):.2f} ms, "
        f"max {max(counted):.2f} ms; {count / elapsed:.0f} rooms/s; CPU per start: bridge "
        f"user {cpu_ms[0]:.2f} ms + system {cpu_ms[1]:.2f} ms, redis {redis_ms:.2f} ms; "
        f"load average {load}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks conference", description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="three-party starts per figure")
    parser.add_argument("--in-flight", default="1,20", help="starts at once, comma-separated")
    parser.add_argument("--fsync", default="everysec", help="AOF appendfsync modes")
    args = parser.parse_args(argv)
    if args.count < 10:
        parser.error("--count must be at least 10")
    for fsync in args.fsync.split(","):
        if fsync not in ("everysec", "always"):
            parser.error(f"--fsync: {fsync!r} is not everysec or always")
        for in_flight in (int(x) for x in args.in_flight.split(",")):
            run(args.count, in_flight, fsync)
    return 0
