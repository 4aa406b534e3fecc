"""`hotline-bridge simulate`: the surge simulation, three overflow policies side by side."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from routing.simulation.comparison import compare, table
from routing.simulation.scenario import Scenario, ScenarioError, scenario_from_toml

DEFAULT_SCENARIO = (
    Path(__file__).resolve().parents[2] / "config" / "scenarios" / "jining-surge.toml"
)
DEFAULT_REPLICATIONS = 20  # about 20 s here; the 10,000-replication run is benchmarks/surge.py


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a surge on the 110 centres under three overflow policies",
        description=(
            "Discrete-event simulation of the 110 centres' queues: isolated centres, the bridge's "
            "overflow policy, and full pooling, over the same callers. Reports the early-release "
            "rate (callers hanging up while queued) of calls arriving in the scenario's window."
        ),
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        help=f"scenario TOML file (default: {DEFAULT_SCENARIO.name} in config/scenarios/)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--replications",
        type=_positive_int,
        default=DEFAULT_REPLICATIONS,
        help=f"independent replications per policy (default {DEFAULT_REPLICATIONS})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def load(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read scenario file: {exc.strerror}") from exc
    return scenario_from_toml(text, str(path))


def run(args: argparse.Namespace) -> int:
    try:
        scenario = load(args.scenario)
    except ScenarioError as exc:
        print(f"hotline-bridge simulate: {exc}", file=sys.stderr)
        return 2
    comparison = compare(scenario, args.seed, range(args.replications))
    if args.json:
        print(json.dumps(comparison.to_json(args.seed), ensure_ascii=False))
    else:
        print(table(comparison))
        print(f"seed {args.seed}, {args.replications} replications, scenario file {args.scenario}")
    return 0
