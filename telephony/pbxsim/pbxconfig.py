"""What the runtime needs from a folder of Asterisk `.conf` files — manager users as
permission masks, channelvars, queues — taken from the config loader in `conf/`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephony.pbxsim import conf
from telephony.pbxsim.conf import ConfigError

# manager.h EVENT_FLAG_* bits, in Asterisk's order (the order `Privilege:` lists them in).
PERMISSION_FLAGS: dict[str, int] = {
    "system": 1 << 0,
    "call": 1 << 1,
    "log": 1 << 2,
    "verbose": 1 << 3,
    "command": 1 << 4,
    "agent": 1 << 5,
    "user": 1 << 6,
    "config": 1 << 7,
    "dtmf": 1 << 8,
    "reporting": 1 << 9,
    "cdr": 1 << 10,
    "dialplan": 1 << 11,
    "originate": 1 << 12,
    "agi": 1 << 13,
    "cc": 1 << 14,
    "aoc": 1 << 15,
    "test": 1 << 16,
    "security": 1 << 17,
    "message": 1 << 18,
}
ALL_PERMISSIONS = sum(PERMISSION_FLAGS.values())


def parse_permissions(text: str, where: str) -> int:
    mask = 0
    for word in (w.strip().lower() for w in text.split(",")):
        if not word or word == "none":
            continue
        if word == "all":
            mask |= ALL_PERMISSIONS
        elif word in PERMISSION_FLAGS:
            mask |= PERMISSION_FLAGS[word]
        else:
            raise ConfigError(None, f"{where}: unknown manager permission class {word!r}")
    return mask


def _anyone(address: str) -> bool:
    return True


@dataclass(frozen=True)
class ManagerUser:
    name: str
    secret: str
    read: int
    write: int
    # manager.conf deny/permit: whether a client at this address may log in as the user.
    permits: Callable[[str], bool] = _anyone


@dataclass(frozen=True)
class MemberConfig:
    interface: str
    penalty: int
    name: str
    state_interface: str
    wrapuptime: int | None = None


@dataclass
class QueueConfig:
    """One queue as app_queue runs it (Asterisk's defaults). `shared_lastcall` is the
    [general] setting, kept on each queue so the runtime needs nothing else."""

    name: str
    strategy: str = "ringall"
    timeout: int = 15
    retry: int = 5
    wrapuptime: int = 0
    maxlen: int = 0
    servicelevel: int = 0
    weight: int = 0
    context: str = ""
    ringinuse: bool = True
    penaltymemberslimit: int = 0
    autofill: bool = True
    shared_lastcall: bool = False
    members: list[MemberConfig] = field(default_factory=list)


@dataclass
class PBXConfig:
    users: dict[str, ManagerUser]
    channelvars: list[str]
    queues: dict[str, QueueConfig]
    directory: Path
    ami_bindaddr: str = "127.0.0.1"  # manager.conf [general] bindaddr / port
    ami_port: int = 5038
    warnings: list[str] = field(default_factory=list)


def load_pbx_config(directory: Path) -> tuple[PBXConfig, conf.PbxConfig]:
    """Read the folder with the config loader in `telephony/pbxsim/conf/` (which refuses
    what the emulator cannot run, naming `file:line`) and keep what the runtime needs."""
    loaded = conf.load_pbx_config(directory)
    manager = loaded.manager
    users = {
        name: ManagerUser(
            name,
            user.secret,
            _mask(user.read, str(user.where)),
            _mask(user.write, str(user.where)),
            user.permits,
        )
        for name, user in manager.users.items()
    }
    queues = {name: _queue(queue, loaded.queues) for name, queue in loaded.queues.queues.items()}
    config = PBXConfig(
        users=users,
        channelvars=list(manager.channelvars),
        queues=queues,
        directory=directory,
        ami_bindaddr=manager.bindaddr,
        ami_port=manager.port,
        warnings=list(loaded.warnings),
    )
    return config, loaded


def _mask(classes: frozenset[str], where: str) -> int:
    return parse_permissions(",".join(sorted(classes)), where)


def _queue(queue: conf.QueueConfig, general: conf.QueuesConfig) -> QueueConfig:
    return QueueConfig(
        name=queue.name,
        strategy=queue.strategy,
        timeout=queue.timeout,
        retry=queue.retry,
        wrapuptime=queue.wrapuptime,
        maxlen=queue.maxlen,
        servicelevel=queue.servicelevel,
        weight=queue.weight,
        context=queue.context or "",
        ringinuse=queue.ringinuse,
        penaltymemberslimit=queue.penaltymemberslimit,
        autofill=general.autofill if queue.autofill is None else queue.autofill,
        shared_lastcall=general.shared_lastcall,
        members=[
            MemberConfig(m.interface, m.penalty, m.name, m.state_interface) for m in queue.members
        ],
    )
