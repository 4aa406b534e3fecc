"""Linkage tickets created per second against a real redis-server this benchmark starts itself.

    python -m benchmarks tickets [--count N] [--in-flight 50] [--fsync everysec,always]
                                 [--loop uvloop|asyncio]

For each AOF fsync mode it starts redis-server on 127.0.0.1 (its own temp dir, AOF on), then
measures, in the same run and on the same server:
  store     TicketStore.create: one Lua script per ticket (id + hash + stream + indexes +
            idempotency key + links, atomically); creates made concurrently share one EVALSHA;
  baseline  a plain MULTI pipeline: HSET of 15 fields + XADD + ZADD (what the issue measured),
each one at a time and with N in flight. Every figure line names its fsync mode; the load
average is printed because this machine's 2 cores are shared, and the CPU each side spent per
ticket (client: this process; redis: INFO cpu) shows the cost without the waiting. The client
runs on uvloop, as the service does (`hotline-bridge run`); `--loop asyncio` for the stdlib loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import uvloop
from redis.utils import HIREDIS_AVAILABLE

from bridge.tickets import TicketDraft, TicketStore
from routing.tickets import DeadlineRule, Kind, Urgency

# The benchmark borrows the test suite's redis-server launcher (same flags as the tests use).
from tests.redis_server import start_redis

RULE = DeadlineRule(act_within=timedelta(minutes=30), close_within=timedelta(hours=24))
POLICY = {(kind, urgency): RULE for kind in Kind for urgency in Urgency}
DRAFT = TicketDraft(
    direction="12345->110",
    origin_platform="12345",
    origin_level="city",
    origin_district="370800",
    origin_ref="GD-2026-0001",
    caller_number="13800000000",
    caller_name="张三",
    kind="报警",
    summary="邻居家传出打斗声，请民警到场",
    urgency="urgent",
    district_code="370811",
    location="任城区某小区3号楼",
    originating_agent="agent101",
    target_platform="110",
    target_level="city",
    target_district="370800",
    channel="Local/caller@callers-00000001;1",
    uniqueid="1764400000.12",
)

Operation = Callable[[int], Awaitable[object]]


async def one_at_a_time(operation: Operation, count: int) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for n in range(count):
        began = time.perf_counter()
        await operation(n)
        latencies.append(time.perf_counter() - began)
    return count / (time.perf_counter() - start), latencies


async def in_flight(operation: Operation, count: int, workers: int) -> float:
    counter = iter(range(count))

    async def worker() -> None:
        for n in counter:
            await operation(n)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return count / (time.perf_counter() - start)


def baseline(client: aioredis.Redis) -> Operation:
    fields: dict[Any, Any] = {f"field{i}": f"value {i} 联动" for i in range(15)}

    async def create(n: int) -> object:
        async with client.pipeline(transaction=True) as pipe:
            pipe.hset(f"bench:ticket:{n}", mapping=fields)
            pipe.xadd(f"bench:ticket:{n}:history", {"event": "created", "by": "agent101"})
            pipe.zadd("bench:tickets:by-time", {str(n): n})
            return await pipe.execute()

    return create


def through_store(store: TicketStore, tag: str) -> Operation:
    async def create(n: int) -> object:
        return await store.create(DRAFT, request_id=f"{tag}-{n}", by="agent101")

    return create


async def redis_cpu_seconds(client: aioredis.Redis) -> float:
    """CPU time redis-server has used (user + system): unlike wall time it does not grow when
    other processes take the cores away."""
    cpu: dict[str, Any] = await client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(
    client: aioredis.Redis, label: str, operation: Operation, count: int, workers: int
) -> None:
    redis_before, client_before = await redis_cpu_seconds(client), time.process_time()
    if workers == 1:
        rate, latencies = await one_at_a_time(operation, count)
        p50 = statistics.median(latencies) * 1000
        p99 = percentile(latencies, 0.99) * 1000
        shape = f"one at a time: {rate:7.0f} tickets/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
    else:
        rate = await in_flight(operation, count, workers)
        shape = f"{workers} in flight:  {rate:7.0f} tickets/s" + " " * 26
    client_us = (time.process_time() - client_before) / count * 1e6
    redis_us = (await redis_cpu_seconds(client) - redis_before) / count * 1e6
    print(f"{label} {shape}  CPU/ticket: client {client_us:4.0f} us, redis {redis_us:4.0f} us")
    await client.flushdb()


async def run_mode(fsync: str, count: int, workers: int, loop: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as data_dir:
        server = start_redis(Path(data_dir), appendfsync=fsync)
        client = aioredis.Redis.from_url(server.url, max_connections=workers + 4)
        try:
            store = TicketStore(client, POLICY)
            await store.create(DRAFT, request_id="warm-up", by="agent101")  # loads the script
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(
                f"appendfsync={fsync}: {count} tickets per figure, client on {loop}, "
                f"hiredis {'on' if HIREDIS_AVAILABLE else 'off'}, load average {load}"
            )
            for name, operation_for in (
                ("store   ", lambda tag: through_store(store, tag)),
                ("baseline", lambda tag: baseline(client)),
            ):
                label = f"appendfsync={fsync:8} {name}"
                await measure(client, label, operation_for("seq"), count, 1)
                await measure(client, label, operation_for("par"), count, workers)
        finally:
            await client.aclose()
            server.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks tickets", description=__doc__)
    parser.add_argument("--count", type=int, default=5000, help="tickets per measurement")
    parser.add_argument("--in-flight", type=int, default=50, help="concurrent creators")
    parser.add_argument("--fsync", default="everysec,always", help="AOF appendfsync modes")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.fsync.split(",") if mode.strip()]
    bad = [mode for mode in modes if mode not in ("everysec", "always", "no")]
    if bad or args.count < 1 or args.in_flight < 1:
        parser.error(f"--fsync takes everysec/always/no (got {bad}); counts must be >= 1")
    loop_factory = uvloop.new_event_loop if args.loop == "uvloop" else None
    for mode in modes:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run_mode(mode, args.count, args.in_flight, args.loop))
    return 0
