"""Linkage tickets created per second against a real redis-server this benchmark starts itself.

    python -m benchmarks tickets [--count N] [--in-flight 50] [--fsync everysec,always]

For each AOF fsync mode it starts redis-server on 127.0.0.1 (its own temp dir, AOF on), then
measures, in the same run and on the same server:
  store     TicketStore.create: one Lua script per ticket (id + hash + stream + indexes +
            idempotency key + links, atomically); creates made concurrently share one EVALSHA;
  baseline  a plain MULTI pipeline: HSET of 15 fields + XADD + ZADD (what the issue measured),
each one at a time and with N in flight. Every figure line names its fsync mode; the load
average is printed because this machine's 2 cores are shared, and "redis CPU" (from INFO
commandstats) shows how much of a ticket's time the server itself spent.
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


async def server_us_per_ticket(client: aioredis.Redis, count: int) -> float:
    """Redis's own time in the commands that made the tickets (INFO commandstats)."""
    stats: dict[str, Any] = await client.info("commandstats")
    names = ("cmdstat_evalsha", "cmdstat_multi", "cmdstat_exec")
    return sum(stats[name]["usec"] for name in names if name in stats) / count


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run_mode(fsync: str, count: int, workers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as data_dir:
        server = start_redis(Path(data_dir), appendfsync=fsync)
        client = aioredis.Redis.from_url(server.url, max_connections=workers + 4)
        try:
            store = TicketStore(client, POLICY)
            await store.create(DRAFT, request_id="warm-up", by="agent101")  # loads the script
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            print(f"appendfsync={fsync}: {count} tickets per figure, load average {load}")
            for name, operation_for in (
                ("store   ", lambda tag: through_store(store, tag)),
                ("baseline", lambda tag: baseline(client)),
            ):
                await client.config_resetstat()
                rate, latencies = await one_at_a_time(operation_for("seq"), count)
                p50 = statistics.median(latencies) * 1000
                p99 = percentile(latencies, 0.99) * 1000
                server_us = await server_us_per_ticket(client, count)
                print(
                    f"appendfsync={fsync:8} {name} one at a time: {rate:7.0f} tickets/s"
                    f"  p50 {p50:.2f} ms  p99 {p99:.2f} ms  redis CPU {server_us:.0f} us/ticket"
                )
                await client.flushdb()
                await client.config_resetstat()
                rate = await in_flight(operation_for("par"), count, workers)
                server_us = await server_us_per_ticket(client, count)
                print(
                    f"appendfsync={fsync:8} {name} {workers} in flight:  {rate:7.0f} tickets/s"
                    f"  redis CPU {server_us:.0f} us/ticket"
                )
                await client.flushdb()
        finally:
            await client.aclose()
            server.stop()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks tickets", description=__doc__)
    parser.add_argument("--count", type=int, default=5000, help="tickets per measurement")
    parser.add_argument("--in-flight", type=int, default=50, help="concurrent creators")
    parser.add_argument("--fsync", default="everysec,always", help="AOF appendfsync modes")
    args = parser.parse_args(argv)
    modes = [mode.strip() for mode in args.fsync.split(",") if mode.strip()]
    bad = [mode for mode in modes if mode not in ("everysec", "always", "no")]
    if bad or args.count < 1 or args.in_flight < 1:
        parser.error(f"--fsync takes everysec/always/no (got {bad}); counts must be >= 1")
    for mode in modes:
        asyncio.run(run_mode(mode, args.count, args.in_flight))
    return 0
