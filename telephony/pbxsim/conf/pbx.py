"""One emulated PBX's configuration: a folder of Asterisk `.conf` files, loaded and checked.

`load_pbx_config(folder)` reads `extensions.conf` and `manager.conf` (required) and
`queues.conf`, `features.conf`, `confbridge.conf`, `iax.conf` (optional: empty when absent).
Any other `.conf` in the folder that none of these includes is refused: an administrator's
`pjsip.conf` would otherwise be silently ignored. Then the dialplan is checked against the
rest (checks.py): unsupported constructs are refused, dangling references become `warnings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .checks import check_dialplan
from .confbridge import ConfBridgeConfig, confbridge_from_sections
from .dialplan import Dialplan, dialplan_from_sections
from .errors import ConfigError
from .features import Features, features_from_sections
from .iax import IaxConfig, iax_from_sections
from .manager import ManagerConfig, manager_from_sections
from .queues import QueuesConfig, queues_from_sections
from .reader import ConfSection, read_conf

REQUIRED_FILES = ("extensions.conf", "manager.conf")
OPTIONAL_FILES = ("queues.conf", "features.conf", "confbridge.conf", "iax.conf")


@dataclass
class PbxConfig:
    folder: Path
    dialplan: Dialplan
    manager: ManagerConfig
    queues: QueuesConfig
    features: Features
    confbridge: ConfBridgeConfig
    iax: IaxConfig
    warnings: list[str]  # file:line references to things that do not exist (see checks.py)


def load_pbx_config(folder: Path | str) -> PbxConfig:
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(None, f"{root} is not a folder of Asterisk .conf files")
    sections: dict[str, list[ConfSection]] = {}
    files_read: set[Path] = set()
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        path = root / name
        if not path.exists():
            if name in REQUIRED_FILES:
                raise ConfigError(None, f"{path}: required file is missing")
            sections[name] = []
            continue
        conf = read_conf(path)
        sections[name] = conf.sections
        files_read.update(p.resolve() for p in conf.files_read)
    for path in sorted(root.glob("*.conf")):
        if path.resolve() not in files_read:
            raise ConfigError(
                None, f"{path}: this file is not supported by the emulator (it would be ignored)"
            )
    dialplan = dialplan_from_sections(sections["extensions.conf"], (root / "extensions.conf",))
    config = PbxConfig(
        folder=root,
        dialplan=dialplan,
        manager=manager_from_sections(sections["manager.conf"]),
        queues=queues_from_sections(sections["queues.conf"]),
        features=features_from_sections(sections["features.conf"]),
        confbridge=confbridge_from_sections(sections["confbridge.conf"]),
        iax=iax_from_sections(sections["iax.conf"]),
        warnings=[],
    )
    config.warnings = check_dialplan(config)
    return config
