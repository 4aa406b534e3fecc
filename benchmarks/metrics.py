"""Queue monitoring cost: per AMI event, and per /metrics scrape with a full day of history.

1. Event cost: typed AMI events (built once beforehand: parsing is the ami_ingest benchmark's
   business) for 13 queues go through the monitor as the AMI reader would deliver them: the
   tracker, the live model, the per-minute figures and the write buffer. Callers are answered
   (Join, Leave, AgentConnect) or released early (Join, Abandon, Leave, Hangup) at random.
   Reported: microseconds per event (median of --rounds).
2. Scrape: 13 queues with every minute of today and yesterday filled as if each queue saw
   --rate callers a minute (bucket contents do not change the cost, the bucket count does),
   plus live callers; the time of prometheus_client.generate_latest over our collector alone
   (median and p99 of --scrapes).

    python -m benchmarks metrics [--events 200000] [--rounds 5] [--scrapes 50] [--rate 10000]
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, generate_latest

from bridge.monitoring.collector import MonitorCollector
from bridge.monitoring.config import MonitoringConfig, QueueDirectory, QueueInfo
from bridge.monitoring.monitor import QueueMonitor
from routing.metrics import MINUTE, Counts
from telephony.ami.events import (
    AgentConnect,
    Event,
    Hangup,
    QueueCallerAbandon,
    QueueCallerJoin,
    QueueCallerLeave,
)
from telephony.live import LiveModel

QUEUES = ["q12345", "q110-city"] + [
    f"q110-{code}"
    for code in (
        "370811 370812 370826 370827 370828 370829 370830 370831 370832 370881 370883".split()
    )
]
DIRECTORY = QueueDirectory([QueueInfo(q, f"p-{q}", q, "370800", "pbx") for q in QUEUES])


def caller_events(index: int, rng: random.Random) -> list[Event]:
    queue = QUEUES[index % len(QUEUES)]
    uid = f"bench-{index}"
    base = {
        "Channel": f"PJSIP/trunk-{index:08x}",
        "Uniqueid": uid,
        "CallerIDNum": f"138{index:08d}",
        "Context": "inbound",
        "Exten": "110",
        "Queue": queue,
    }
    join = QueueCallerJoin.model_validate({**base, "Event": "QueueCallerJoin", "Position": 1})
    leave = QueueCallerLeave.model_validate({**base, "Event": "QueueCallerLeave"})
    wait = rng.randint(1, 60)
    if rng.random() < 0.8:
        connect = AgentConnect.model_validate(
            {**base, "Event": "AgentConnect", "HoldTime": wait, "Interface": "PJSIP/1001"}
        )
        return [join, leave, connect]
    abandon = QueueCallerAbandon.model_validate(
        {**base, "Event": "QueueCallerAbandon", "HoldTime": wait, "OriginalPosition": 1}
    )
    hangup = Hangup.model_validate({**base, "Event": "Hangup"})
    return [join, abandon, leave, hangup]


def event_cost(total: int, seed: int) -> tuple[float, float]:
    """Microseconds per event through tracker + live model + figures + write buffer:
    (CPU time of this process, wall clock). On a shared 2-core machine the CPU figure is the
    steadier one: wall time includes waiting for a core."""
    rng = random.Random(seed)
    events: list[Event] = []
    index = 0
    while len(events) < total:
        events.extend(caller_events(index, rng))
        index += 1
    monitor = QueueMonitor(DIRECTORY, MonitoringConfig())
    live = LiveModel(monitor.clock)
    apply_tracker, apply_live = monitor.tracker.apply, live.apply
    cpu, wall = time.process_time(), time.perf_counter()
    for event in events:
        apply_live(event)
        apply_tracker(event)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    closed = sum(monitor.tracker.stats.closed.values())
    assert closed == index, f"{closed} outcomes for {index} callers"
    return cpu / len(events) * 1e6, wall / len(events) * 1e6


def scrape_monitor(rate: int, live_callers: int) -> QueueMonitor:
    monitor = QueueMonitor(DIRECTORY, MonitoringConfig())
    now = time.time()
    last = int(now // MINUTE)
    answered = rate * 8 // 10
    for queue in QUEUES:
        info = DIRECTORY.get(queue)
        for minute in range(last - 2 * 24 * 60 + 1, last + 1):
            counts = Counts(
                offered=rate,
                answered=answered,
                answered_in_service_level=answered * 3 // 4,
                answer_wait_total=answered * 12.0,
                abandoned=rate - answered,
                abandoned_short=(rate - answered) // 3,
                abandon_wait_total=(rate - answered) * 20.0,
            )
            monitor.metrics.restore(queue, info.platform, info.district, minute, counts)
    rng = random.Random(1)
    for index in range(live_callers):
        monitor.tracker.apply(caller_events(index, rng)[0])
    return monitor


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        action()
        times.append(time.process_time() - started)
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks metrics")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--rate", type=int, default=10_000, help="callers per queue per minute")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # one JSON line per early release is not what we measure
    costs = [event_cost(args.events, seed) for seed in range(args.rounds)]
    cpu = sorted(c for c, _ in costs)
    wall = sorted(w for _, w in costs)
    print(
        f"event cost: {statistics.median(cpu):.2f} us CPU/event median of {args.rounds} rounds "
        f"(min {cpu[0]:.2f}, max {cpu[-1]:.2f}); wall {statistics.median(wall):.2f} us "
        f"(min {wall[0]:.2f}); {args.events} events, 13 queues; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    monitor = scrape_monitor(args.rate, live_callers=130)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(monitor))
    body = generate_latest(registry)
    times = sorted(timed(lambda: generate_latest(registry), args.scrapes))  # CPU time
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"scrape: {statistics.median(times) * 1000:.2f} ms CPU median, p99 {p99 * 1000:.2f} ms "
        f"({args.scrapes} scrapes, {len(body)} bytes, 13 queues x 2 days of minute buckets "
        f"at {args.rate} callers/min/queue, 130 callers waiting)"
    )
    return 0
