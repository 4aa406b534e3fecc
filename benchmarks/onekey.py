"""One-key transfer: key press (FastAGI request in) to AMI Redirect sent, bridge side.

    python -m benchmarks onekey [--count 2000] [--in-flight 1,20] [--fsync everysec,always]
                                [--gen0 50000 | --gen0 0] [--loop uvloop|asyncio]

Two processes, so the measuring side does not share the bridge's event loop:
  asterisk  (child) two scripted AMI servers (pbx-12345, pbx-110) and a FastAGI client that
            plays Asterisk running ``AGI(agi://bridge/onekey?pbx=pbx-12345)`` on an agent's
            channel: it connects, sends the agi_* block, answers ``GET VARIABLE BRIDGEPEER``
            and notes when the ``Redirect`` for that caller reaches its AMI server;
  bridge    (this process) the real path: FastAGI server -> ivr.onekey -> PhoneTransfers ->
            TransferService (live-model caller lookup, ticket create script + QueueStatus check
            in parallel, ticket transition + in-flight record + Setvar in parallel, Redirect),
            against a redis-server this benchmark starts (AOF on, the fsync mode named).
Latency = Redirect received - AGI connect started, both on CLOCK_MONOTONIC (system-wide), so
it includes the loopback hops of AGI and AMI. The first 10 % of presses warm up and are not
counted. The load average is printed (this machine's 2 cores are shared), and so is the CPU
the bridge process and redis-server spent per press, which waiting does not inflate. The
target-queue check (QueueStatus) is cached for TransferConfig.target_check_ttl_seconds (5 s),
so after the first press it costs no round trip; every press still creates its ticket.
The bridge side runs as `hotline-bridge run` does: on uvloop (`--loop asyncio` for the stdlib
loop), with the garbage collector settled once set up (`bridge.service.
settle_garbage_collector`: gc.freeze and a gen-0 threshold of --gen0; --gen0 0 leaves
CPython's defaults). Each line also says how many
collections ran while the presses were measured and the longest one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import redis.asyncio as aioredis
import uvloop

from bridge.service import GC_GEN0_THRESHOLD, settle_garbage_collector
from bridge.settings import load_settings
from bridge.transfers.config import TransferConfig, platform_table, zone_table
from bridge.transfers.phone import PhoneTransfers
from bridge.transfers.stack import TransferStack
from ivr.onekey import Prompts, add_onekey_route
from telephony.agi import AgiRoutes, FastAgiServer
from telephony.ami.client import AMIClient
from tests.redis_server import start_redis

CONFIG = Path(__file__).resolve().parents[1] / "config" / "jining.toml"
QUEUES = {"pbx-12345": {"q12345"}, "pbx-110": {"q110-city"}}


def ami_message(fields: list[tuple[str, str]]) -> bytes:
    return ("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode()


class AmiPeer:
    """Answers the actions the bridge sends; notes when each caller's Redirect arrives."""

    def __init__(self, queues: set[str]) -> None:
        self.queues = queues
        self.writers: list[asyncio.StreamWriter] = []
        self.pressed: dict[str, asyncio.Future[float]] = {}  # caller -> when its move arrived
        self.logged_in = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                action = dict(
                    line.split(": ", 1) for line in raw.decode().split("\r\n") if ": " in line
                )
                found = self.pressed.get(self.moved_caller(action) or "")
                if found is not None and not found.done():
                    found.set_result(time.perf_counter())
                writer.write(self.reply(action))
                if action["Action"] == "CoreShowChannels":
                    self.logged_in.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass

    def moved_caller(self, action: dict[str, str]) -> str | None:
        """The caller whose press `action` completes: a one-key press ends with its Redirect."""
        return action["Channel"] if action["Action"] == "Redirect" else None

    def reply(self, action: dict[str, str]) -> bytes:
        name, action_id = action["Action"], action.get("ActionID", "")
        if name not in ("QueueStatus", "CoreShowChannels"):
            return ami_message([("Response", "Success"), ("ActionID", action_id)])
        start = ami_message(
            [("Response", "Success"), ("ActionID", action_id), ("EventList", "start")]
        )
        items = b""
        if name == "QueueStatus":
            wanted = action.get("Queue")
            for queue in sorted(q for q in self.queues if wanted in (None, q)):
                items += ami_message(
                    [("Event", "QueueParams"), ("Queue", queue), ("ActionID", action_id)]
                )
        count = items.count(b"Event:")
        done = ami_message(
            [
                ("Event", f"{name}Complete"),
                ("ActionID", action_id),
                ("EventList", "Complete"),
                ("ListItems", str(count)),
            ]
        )
        return start + items + done

    def push(self, fields: list[tuple[str, str]]) -> None:
        for writer in self.writers:
            writer.write(ami_message(fields))


def seat_call(peer: AmiPeer, n: int) -> str:
    # One seat per call: a queue member talks to one caller at a time.
    caller, agent = f"PJSIP/citizen-{n:06d}", f"PJSIP/12345-{n:04d}-{n:08x}"
    who = [("CallerIDNum", f"138{n:08d}"), ("CallerIDName", "张三")]
    for channel, uniqueid in ((caller, f"c{n}"), (agent, f"a{n}")):
        peer.push([("Event", "Newchannel"), ("Channel", channel), ("Uniqueid", uniqueid), *who])
    for channel, uniqueid in ((caller, f"c{n}"), (agent, f"a{n}")):
        peer.push(
            [
                ("Event", "BridgeEnter"),
                ("Channel", channel),
                ("Uniqueid", uniqueid),
                ("BridgeUniqueid", f"b{n}"),
                *who,
            ]
        )
    peer.push(
        [
            ("Event", "AgentConnect"),
            ("Queue", "q12345"),
            ("Channel", caller),
            ("Uniqueid", f"c{n}"),
            ("DestChannel", agent),
            ("DestUniqueid", f"a{n}"),
            ("Interface", f"PJSIP/12345-{n:04d}"),
            *who,
        ]
    )
    return caller


@dataclass(frozen=True)
class Feature:
    """The AGI request an agent's key press makes: which route, from which context."""

    script: str
    context: str


ONEKEY = Feature("onekey?pbx=pbx-12345", "hb-onekey")


async def press(agi_port: int, peer: AmiPeer, feature: Feature, n: int, caller: str) -> float:
    """Seconds from the AGI connect to the action that completes the press reaching `peer`."""
    arrived: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    peer.pressed[caller] = arrived
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", agi_port)
    writer.write(
        (
            f"agi_network: yes\nagi_network_script: {feature.script}\n"
            f"agi_channel: PJSIP/12345-{n:04d}-{n:08x}\nagi_uniqueid: a{n}\n"
            f"agi_callerid: 12345\nagi_context: {feature.context}\nagi_extension: s\n"
            "agi_priority: 2\n\n"
        ).encode()
    )
    # GET VARIABLE BRIDGEPEER only if the bridge's live model cannot name the caller; then
    # whatever the route sends after the move; then the server closes.
    while command := await reader.readline():
        if command.startswith(b"GET VARIABLE BRIDGEPEER"):
            writer.write(f"200 result=1 ({caller})\n".encode())
        else:
            writer.write(b"200 result=1\n")
    writer.close()
    return await arrived - started


async def _asterisk(
    conn: Connection, count: int, in_flight: int, peer_type: type[AmiPeer], feature: Feature
) -> None:
    peers = {name: peer_type(queues) for name, queues in QUEUES.items()}
    servers = [await asyncio.start_server(peer.serve, "127.0.0.1", 0) for peer in peers.values()]
    conn.send({name: s.sockets[0].getsockname()[1] for name, s in zip(peers, servers, strict=True)})
    agi_port = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    for peer in peers.values():
        await peer.logged_in.wait()
    calls = [seat_call(peers["pbx-12345"], n) for n in range(count)]
    conn.send("seated")
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # bridge has them
    gate = asyncio.Semaphore(in_flight)

    async def one(n: int) -> float:
        async with gate:
            return await press(agi_port, peers["pbx-12345"], feature, n, calls[n])

    started = time.perf_counter()
    latencies = await asyncio.gather(*(one(n) for n in range(count)))
    conn.send((list(latencies), time.perf_counter() - started))
    # Stay up until the bridge has logged off: its AMI clients close first, so neither side
    # sees the other vanish (no reconnect attempts, no cancelled server tasks at exit).
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    for server in servers:
        server.close()
        await server.wait_closed()


def asterisk_process(
    conn: Connection,
    count: int,
    in_flight: int,
    peer_type: type[AmiPeer] = AmiPeer,
    feature: Feature = ONEKEY,
) -> None:
    """Asterisk's side in a process of its own: AMI peers, seated calls, the key presses."""
    asyncio.run(_asterisk(conn, count, in_flight, peer_type, feature))


class GcPauses:
    """The garbage collector's runs while the presses are measured: how many, the longest."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._began = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._began)


async def _bridge(
    conn: Connection, count: int, fsync: str, gen0: int, gc_pauses: GcPauses
) -> tuple[list[float], float, tuple[float, float], float]:
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_redis(Path(data_dir), appendfsync=fsync)
        redis = aioredis.Redis.from_url(server.url)
        settings = load_settings(CONFIG)
        stack = TransferStack.build(
            redis,
            platform_table(settings),
            zone_table(settings),
            TransferConfig(),
            list(QUEUES),
        )
        ports = await loop.run_in_executor(None, conn.recv)
        clients = []
        for name, port in ports.items():
            client = AMIClient("127.0.0.1", port, "bridge", "secret")
            stack.attach(name, client)
            await client.connect()
            clients.append(client)
        routes = AgiRoutes()
        add_onekey_route(routes, PhoneTransfers(stack), Prompts())
        agi = FastAgiServer(routes)
        await agi.start("127.0.0.1", 0)
        conn.send(agi.port)
        await loop.run_in_executor(None, conn.recv)  # "seated"
        live = stack.links["pbx-12345"].live
        for _ in range(1000):  # the seating events are in flight on the AMI socket
            if live.bridged_peer(f"c{count - 1}") is not None:
                break
            await asyncio.sleep(0.01)
        if gen0:
            settle_garbage_collector(gen0)  # as the service does once started
        with gc_pauses:
            latencies, elapsed, cpu_ms, redis_ms = await timed_presses(conn, redis, count)
        await agi.stop(deadline=1)
        await stack.close()
        for client in clients:
            await client.close()
        conn.send("closed")
        await redis.aclose()
        server.stop()
    return latencies, elapsed, cpu_ms, redis_ms


async def timed_presses(
    conn: Connection, redis: aioredis.Redis, count: int
) -> tuple[list[float], float, tuple[float, float], float]:
    """Tell Asterisk's side to press; its latencies and elapsed seconds, with the bridge's
    CPU ms per press (user, system) and Redis's CPU ms per press over the same span."""
    redis_cpu = await redis_cpu_seconds(redis)
    before = os.times()
    conn.send("go")
    latencies, elapsed = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    after = os.times()
    # user / system apart: on loaded cores loopback send() system time dominates.
    cpu_ms = (
        (after.user - before.user) * 1000 / count,
        (after.system - before.system) * 1000 / count,
    )
    redis_ms = (await redis_cpu_seconds(redis) - redis_cpu) * 1000 / count
    return latencies, elapsed, cpu_ms, redis_ms


async def redis_cpu_seconds(redis: aioredis.Redis) -> float:
    info = await redis.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(count: int, in_flight: int, fsync: str, gen0: int, loop: str) -> None:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=asterisk_process, args=(child, count, in_flight))
    process.start()
    defaults, gc_pauses = gc.get_threshold(), GcPauses()
    loop_factory = uvloop.new_event_loop if loop == "uvloop" else None
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            latencies, elapsed, cpu_ms, redis_ms = runner.run(
                _bridge(parent, count, fsync, gen0, gc_pauses)
            )
    finally:
        process.join(timeout=10)
        gc.unfreeze()  # the next figure starts from CPython's defaults again
        gc.set_threshold(*defaults)
    counted = [s * 1000 for s in latencies[count // 10 :]]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    longest = max(gc_pauses.pauses, default=0.0) * 1000
    print(
        f"appendfsync={fsync:8} in-flight={in_flight:<3} presses={count} "
        f"key press -> Redirect: p50 {statistics.median(counted):.2f} ms, "
        f"p99 {percentile(counted, 0.99):.2f} ms, max {max(counted):.2f} ms; "
        f"{count / elapsed:.0f} transfers (tickets)/s; CPU per press: bridge user "
        f"{cpu_ms[0]:.2f} ms + system {cpu_ms[1]:.2f} ms, redis {redis_ms:.2f} ms; "
        f"{loop}, gen0 {gen0 or 'default'}: {len(gc_pauses.pauses)} collections, "
        f"longest {longest:.2f} ms; load average {load}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks onekey", description=__doc__)
    parser.add_argument("--count", type=int, default=2000, help="key presses per figure")
    parser.add_argument("--in-flight", default="1,20", help="presses at once, comma-separated")
    parser.add_argument("--fsync", default="everysec,always", help="AOF appendfsync modes")
    parser.add_argument(
        "--gen0",
        type=int,
        default=GC_GEN0_THRESHOLD,
        help="gen-0 threshold after gc.freeze, as the service sets it; 0: CPython's defaults",
    )
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    if args.count < 10:
        parser.error("--count must be at least 10")
    if args.gen0 < 0:
        parser.error("--gen0 must be 0 (no tuning) or a positive threshold")
    for fsync in args.fsync.split(","):
        if fsync not in ("everysec", "always"):
            parser.error(f"--fsync: {fsync!r} is not everysec or always")
        for in_flight in (int(x) for x in args.in_flight.split(",")):
            run(args.count, in_flight, fsync, args.gen0, args.loop)
    return 0
