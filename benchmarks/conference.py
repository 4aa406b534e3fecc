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
import time
from multiprocessing.connection import Connection
from pathlib import Path

import redis.asyncio as aioredis

from benchmarks.onekey import CONFIG, QUEUES, AmiPeer, _message, _redis_cpu, _seat, percentile
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
    """The onekey peer, answering as trace 13 does; notes when each caller's room is
    Originated into (the Redirect names caller and room, the Originate the room)."""

    def __init__(self, queues: set[str]) -> None:
        super().__init__(queues)
        self.room_callers: dict[str, str] = {}
        self.originated: dict[str, asyncio.Future[float]] = {}

    def reply(self, action: dict[str, str]) -> bytes:
        name = action["Action"]
        if name == "Redirect" and "ExtraChannel" in action:
            self.room_callers[action["Exten"]] = action["Channel"]
        elif name == "Originate":
            caller = self.room_callers.get(action.get("Exten", ""), "")
            found = self.originated.get(caller)
            if found is not None and not found.done():
                found.set_result(time.perf_counter())
        message = MESSAGES.get(name)
        if message is None:
            return super().reply(action)
        fields = [("Response", "Success"), ("ActionID", action.get("ActionID", ""))]
        return _message([*fields, ("Message", message)])


async def _press(agi_port: int, peer: ConferencePeer, n: int, caller: str) -> float:
    arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    peer.originated[caller] = arrived
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", agi_port)
    writer.write(
        (
            "agi_network: yes\nagi_network_script: threeparty\n"
            f"agi_channel: PJSIP/12345-{n:04d}-{n:08x}\nagi_uniqueid: a{n}\n"
            "agi_callerid: 12345\nagi_context: hb-threeparty\nagi_extension: s\n"
            "agi_priority: 2\n\n"
        ).encode()
    )
    while command := await reader.readline():
        if command.startswith(b"GET VARIABLE BRIDGEPEER"):
            writer.write(f"200 result=1 ({caller})\n".encode())
        else:
            writer.write(b"200 result=1\n")
    writer.close()
    return await arrived - started


async def _asterisk(conn: Connection, count: int, in_flight: int) -> None:
    peers = {name: ConferencePeer(queues) for name, queues in QUEUES.items()}
    servers = [await asyncio.start_server(peer.serve, "127.0.0.1", 0) for peer in peers.values()]
    conn.send({name: s.sockets[0].getsockname()[1] for name, s in zip(peers, servers, strict=True)})
    agi_port = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    for peer in peers.values():
        await peer.logged_in.wait()
    calls = [_seat(peers["pbx-12345"], n) for n in range(count)]
    conn.send("seated")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # bridge has them
    gate = asyncio.Semaphore(in_flight)

    async def one(n: int) -> float:
        async with gate:
            return await _press(agi_port, peers["pbx-12345"], n, calls[n])

    started = time.perf_counter()
    latencies = await asyncio.gather(*(one(n) for n in range(count)))
    conn.send((list(latencies), time.perf_counter() - started))
    # The bridge logs off first, so neither side sees the other vanish mid-session.
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    for found in servers:
        found.close()
        await found.wait_closed()


def asterisk_process(conn: Connection, count: int, in_flight: int) -> None:
    asyncio.run(_asterisk(conn, count, in_flight))


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
        redis_cpu = await _redis_cpu(redis)
        before = os.times()
        conn.send("go")
        latencies, elapsed = await loop.run_in_executor(None, conn.recv)
        after = os.times()
        cpu_ms = (
            (after.user - before.user) * 1000 / count,
            (after.system - before.system) * 1000 / count,
        )
        redis_ms = (await _redis_cpu(redis) - redis_cpu) * 1000 / count
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
    process = multiprocessing.Process(target=asterisk_process, args=(child, count, in_flight))
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
