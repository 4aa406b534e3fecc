"""`hotline-bridge pbxsim --config DIR [--ami-port N]`: run one emulated Asterisk PBX."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.conf import ConfigError

EXIT_BAD_CONFIG = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "pbxsim",
        help="run an emulated Asterisk PBX from a folder of .conf files",
        description="Serve AMI like Asterisk 22 from DIR (manager.conf, queues.conf, "
        "extensions.conf, ...). Stops on Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--config", required=True, metavar="DIR", help="folder of .conf files")
    parser.add_argument(
        "--ami-port", type=int, metavar="N", help="AMI port (default: manager.conf's port)"
    )
    parser.add_argument("--ami-host", metavar="ADDR", help="default: manager.conf's bindaddr")
    parser.add_argument("--name", default="asterisk", help="SystemName in events")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="run waits this many times faster"
    )
    parser.add_argument(
        "--sounds",
        metavar="DIR",
        help="folder of installed prompts (e.g. config/asterisk/sounds); without it every "
        "Playback/STREAM FILE finds no file, as on a PBX with no sounds installed",
    )
    parser.set_defaults(func=pbxsim_command)


def pbxsim_command(args: argparse.Namespace) -> int:
    try:
        pbx = EmulatedPBX.from_config_dir(
            Path(args.config),
            name=args.name,
            time_scale=args.time_scale,
            sounds=Path(args.sounds) if args.sounds else None,
        )
    except (ConfigError, ValueError) as error:
        print(f"pbxsim: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    for warning in pbx.config.warnings:
        print(f"pbxsim: warning: {warning}", file=sys.stderr)
    pbx.ami_host = args.ami_host or pbx.config.ami_bindaddr
    port = args.ami_port if args.ami_port is not None else pbx.config.ami_port
    return asyncio.run(_serve(pbx, port))


async def _serve(pbx: EmulatedPBX, port: int) -> int:
    pbx.set_ami_port(port)
    try:
        await pbx.start()
    except OSError as error:
        print(f"pbxsim: cannot listen on {pbx.ami_host}:{port}: {error}", file=sys.stderr)
        return 1
    print(f"pbxsim: {pbx.name} AMI on {pbx.ami_host}:{pbx.ami_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await pbx.stop()
    return 0
