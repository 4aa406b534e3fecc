"""`hotline-bridge report --from T --to T [--out FILE]`: the HTML report from the Redis history."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bridge.monitoring.config import QueueDirectory, monitoring_config
from bridge.monitoring.history import MetricsHistory
from bridge.monitoring.report import build_report, render_report
from bridge.monitoring.windows import WindowError, parse_time
from bridge.settings import Settings, SettingsError, config_path, load_settings

EXIT_BAD_INPUT = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an HTML report of early-release rate and service level per queue and hour",
        description="Times are ISO 8601 (naive = the configured timezone) or UNIX seconds.",
    )
    parser.add_argument("--from", dest="start", required=True, metavar="TIME")
    parser.add_argument("--to", dest="end", required=True, metavar="TIME")
    parser.add_argument("--out", metavar="FILE", help="default: standard output")
    parser.add_argument("--queue", action="append", help="only this queue (repeatable)")
    parser.add_argument(
        "--config", metavar="FILE", help="default: $HOTLINE_CONFIG, else config/jining.toml"
    )
    parser.set_defaults(func=report_command)


def report_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(config_path(args.config))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    zone = ZoneInfo(settings.timezone)
    times = []
    for option, text in (("--from", args.start), ("--to", args.end)):
        try:
            times.append(parse_time(text, zone))
        except WindowError as error:
            print(f"error: {option}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    start, end = times
    if not end > start:
        print(f"error: --to ({args.end}) must be after --from ({args.start})", file=sys.stderr)
        return EXIT_BAD_INPUT
    directory = QueueDirectory.from_settings(settings)
    queues = args.queue or directory.names
    unknown = [q for q in queues if not directory.known(q)]
    if unknown:
        print(f"error: --queue: not in the configuration: {', '.join(unknown)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        html = asyncio.run(_report(settings, directory, queues, start, end))
    except (RedisError, OSError) as error:
        print(f"error: Redis at {settings.redis.display_url}: {error}", file=sys.stderr)
        return 1
    if args.out:
        Path(args.out).write_text(html, encoding="utf-8")
    else:
        sys.stdout.write(html)
    return 0


async def _report(
    settings: Settings, directory: QueueDirectory, queues: list[str], start: float, end: float
) -> str:
    config = monitoring_config(settings)
    client = aioredis.Redis.from_url(
        settings.redis.url, socket_connect_timeout=settings.redis.connect_timeout_seconds
    )
    try:
        history = MetricsHistory(
            client, config.metrics_config(settings.timezone), config.retention_days
        )
        reports = await build_report(history, directory, queues, start, end)
    finally:
        await client.aclose()
    return render_report(
        reports, start, end, ZoneInfo(settings.timezone), config.early_release_target
    )
