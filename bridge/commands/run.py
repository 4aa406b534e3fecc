"""`hotline-bridge run [--config FILE]`: run the bridge until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from bridge.json_logging import configure_logging
from bridge.service import RedisComponent, Service
from bridge.settings import Settings, SettingsError, config_path, load_settings

EXIT_BAD_CONFIG = 2
log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the bridge (HTTP API, Redis, and the telephony components)",
        description="Run until SIGTERM or SIGINT; SIGHUP reloads the configuration.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="default: $HOTLINE_CONFIG, else config/jining.toml"
    )
    parser.set_defaults(func=run_command)


def build_service(settings: Settings, config_file: str) -> Service:
    """The service with every component this build has, in start order."""
    service = Service(settings, config_file)
    service.add(RedisComponent(settings.redis))
    # The AMI client (telephony/ami) and FastAGI server (telephony/agi) register here as they
    # land, after Redis so that they can use it, before HTTP which the service adds last.
    return service


def run_command(args: argparse.Namespace) -> int:
    path = config_path(args.config)
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    configure_logging(settings.logging.level, timezone=settings.timezone)
    service = build_service(settings, str(path))
    try:
        asyncio.run(service.run())
    except OSError as exc:
        # Typically the HTTP port is taken: one clear line rather than a traceback.
        log.error("hotline-bridge could not start", extra={"error": str(exc)})
        return 1
    return 0
