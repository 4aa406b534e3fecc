"""`hotline-bridge demo`: see the product work with no PBX of your own (docs/demo.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from bridge.demo.logs import install_log_counter
from bridge.demo.phones import DemoConfigError
from bridge.demo.session import DemoOptions, run_demo
from bridge.demo.stack import DemoStartError
from bridge.local_redis import RedisStartError
from bridge.settings import SettingsError, config_path
from telephony.ami.errors import AMIError
from telephony.pbxsim.traffic import Surge, TrafficError, parse_surge

DEFAULT_DURATION_S = 75.0
DEFAULT_TIME_SCALE = 16.0  # 75 s of wall time = 20 minutes of traffic
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
log = logging.getLogger(__name__)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _surge(text: str) -> Surge:
    try:
        return parse_surge(text)
    except TrafficError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run two emulated PBXs, Redis, the bridge and traffic, shown live",
        description="Two emulated PBXs from config/asterisk/, a local Redis if none answers, "
        "the bridge, and planned traffic (queues, early releases, one-key transfers, a surge "
        "at 邹城 370883 met by the overflow controller, three-party calls), shown in a live "
        "terminal view. Ctrl-C stops everything.",
    )
    parser.add_argument(
        "--duration",
        type=_positive,
        default=DEFAULT_DURATION_S,
        metavar="SECONDS",
        help=f"wall-clock seconds (default {DEFAULT_DURATION_S:g})",
    )
    parser.add_argument(
        "--time-scale",
        type=_positive,
        default=DEFAULT_TIME_SCALE,
        metavar="X",
        help=f"emulated seconds per real second (default {DEFAULT_TIME_SCALE:g})",
    )
    parser.add_argument("--seed", type=int, default=12345, help="traffic seed (default 12345)")
    parser.add_argument(
        "--json", action="store_true", help="print only one JSON summary object at the end"
    )
    parser.add_argument(
        "--surge",
        type=_surge,
        action="append",
        metavar="[QUEUE:]FACTORx@START+SECONDS",
        help="replace the default surge (q110-370883 at 5x through the middle half), in "
        "emulated seconds, e.g. q110-370883:5x@300+600; repeat for several",
    )
    parser.add_argument(
        "--no-overflow",
        action="store_true",
        help="leave the surge-overflow controller off (compare 370883's early releases)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also print the bridge's log lines (JSON, INFO and up) to stderr",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="bridge config (default: $HOTLINE_CONFIG, else config/jining.toml)",
    )
    parser.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    log_counter = install_log_counter(args.verbose)
    options = DemoOptions(
        config_file=config_path(args.config),
        duration_s=args.duration,
        time_scale=args.time_scale,
        seed=args.seed,
        json=args.json,
        live=sys.stdout.isatty() and not args.json,
        surges=None if args.surge is None else tuple(args.surge),
        overflow=not args.no_overflow,
    )
    try:
        summary = asyncio.run(run_demo(options, log_counter=log_counter))
    except (SettingsError, DemoConfigError, TrafficError) as exc:
        # The bridge config, a PBX config folder or the traffic they imply.
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (DemoStartError, RedisStartError, AMIError, OSError) as exc:
        # A piece that could not start, e.g. a port taken.
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    return 0
