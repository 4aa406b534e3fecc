"""`hotline-bridge config check [FILE]`: validate a configuration file before deploying it."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any

from bridge.ivr_wiring import ivr_config_for
from bridge.settings import (
    PlatformKind,
    PlatformLevel,
    Settings,
    SettingsError,
    config_path,
    environment_problems,
    load_settings,
)
from ivr.prompts import IvrConfigError

EXIT_BAD_CONFIG = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="work with the bridge's configuration file")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="validate a configuration file",
        description="Validate FILE (default: $HOTLINE_CONFIG, else config/jining.toml). "
        "Exit status 0 when usable, 2 when not.",
    )
    check.add_argument("file", nargs="?", help="the TOML file to check")
    check.set_defaults(func=check_command)


def check_command(args: argparse.Namespace) -> int:
    path = config_path(args.file)
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        # The IVR prompts and menu live in ivr.toml beside the settings file.
        ivr_config_for(str(path))
    except IvrConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    print(summary(settings, str(path)))
    for problem in environment_problems(settings, os.environ):
        print(f"warning: {path}: {problem}", file=sys.stderr)
    return 0


def summary(settings: Settings, source: str) -> str:
    kinds = Counter((p.kind, p.level) for p in settings.platforms)
    queues = sum(len(p.queues) for p in settings.platforms)
    return "\n".join(
        [
            f"{source}: OK",
            f"  city {settings.city.code} {settings.city.name}, "
            f"{len(settings.districts)} districts, {len(settings.zones)} functional zones",
            f"  platforms: {kinds[(PlatformKind.HOTLINE_12345, PlatformLevel.CITY)]} city 12345, "
            f"{kinds[(PlatformKind.POLICE_110, PlatformLevel.CITY)]} city 110, "
            f"{kinds[(PlatformKind.POLICE_110, PlatformLevel.COUNTY)]} county 110; "
            f"{queues} queues",
            f"  PBXs: {', '.join(f'{p.name} ({p.ami_host}:{p.ami_port})' for p in settings.pbx)}",
            f"  FastAGI {settings.fastagi.host}:{settings.fastagi.port}, "
            f"HTTP {settings.http.host}:{settings.http.port}, Redis {settings.redis.display_url}",
            f"  {len(settings.api_tokens)} API tokens, time zone {settings.timezone}",
        ]
    )
