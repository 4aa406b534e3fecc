"""The surge simulation at full size: `python -m benchmarks surge [--replications 10000]`.

Reproduces issue 7's reference figures (10,000 replications of the Jining surge) and reports how
long the simulation takes. Replications are split into chunks over worker processes; the result
does not depend on the number of workers (each replication has its own seeded streams).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bridge.commands.simulate import DEFAULT_SCENARIO, load
from routing.simulation.comparison import Comparison, compare, table
from routing.simulation.engine import POLICIES, PolicyName

CHUNK = 50  # replications per task: big enough to amortise process hand-offs


def _chunk(
    path: str, seed: int, start: int, stop: int, policies: tuple[PolicyName, ...]
) -> Comparison:
    return compare(load(Path(path)), seed, range(start, stop), policies)


def _timed(path: Path, seed: int, policy: PolicyName, replications: int) -> float:
    """Seconds per replication of one policy, single process."""
    scenario = load(path)
    began = time.perf_counter()
    compare(scenario, seed, range(replications), (policy,))
    return (time.perf_counter() - began) / replications


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks surge")
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--replications", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="also print the JSON object")
    args = parser.parse_args(argv)

    for policy in POLICIES:
        per = _timed(args.scenario, args.seed + 10_000, policy, 5)
        print(f"{policy:<9} {per * 1000:8.1f} ms per replication (single process, 5 replications)")

    began = time.perf_counter()
    result = Comparison(load(args.scenario))
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futures = [
            pool.submit(
                _chunk,
                str(args.scenario),
                args.seed,
                start,
                min(start + CHUNK, args.replications),
                POLICIES,
            )
            for start in range(0, args.replications, CHUNK)
        ]
        for done, future in enumerate(futures, start=1):
            result.merge(future.result())
            # Progress on stderr: a 10,000-replication run takes the better part of an hour.
            print(f"{min(done * CHUNK, args.replications)} replications done", file=sys.stderr)
    elapsed = time.perf_counter() - began
    print(table(result))
    print(
        f"{args.replications} replications x {len(POLICIES)} policies, seed {args.seed}, "
        f"{args.workers} workers: {elapsed:.0f} s wall"
    )
    if args.json:
        print(json.dumps(result.to_json(args.seed), ensure_ascii=False))
    return 0
