"""Dry-run a folder of Asterisk `.conf` files: `python -m telephony.pbxsim.conf DIR [DIR...]`.

Prints what the emulator would run and every warning; exits 1 on the first refused construct
(with its file:line), 0 when every folder loads.
"""

from __future__ import annotations

import sys

from .errors import ConfigError
from .pbx import PbxConfig, load_pbx_config


def summary(config: PbxConfig) -> str:
    priorities = sum(1 for _ in config.dialplan.all_priorities())
    return (
        f"{config.folder}: {len(config.dialplan.contexts)} contexts, {priorities} priorities, "
        f"{len(config.queues.queues)} queues, {len(config.features.applicationmap)} features, "
        f"{len(config.manager.users)} manager users, {len(config.confbridge.menus)} menus, "
        f"{len(config.iax.peers)} IAX2 peers, AMI port {config.manager.port}"
    )


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m telephony.pbxsim.conf DIR [DIR...]", file=sys.stderr)
        return 2
    for folder in argv:
        try:
            config = load_pbx_config(folder)
        except ConfigError as error:
            print(f"refused: {error}", file=sys.stderr)
            return 1
        print(summary(config))
        for warning in config.warnings:
            print(f"warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
