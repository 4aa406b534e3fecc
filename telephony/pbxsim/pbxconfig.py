"""What the runtime needs from a folder of Asterisk `.conf` files: manager users, channelvars
and queues (the dialplan is read by `dialplan.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from telephony.pbxsim.conffiles import ConfError, Section, read_conf

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
            raise ConfError(f"{where}: unknown manager permission class {word!r}")
    return mask


@dataclass(frozen=True)
class ManagerUser:
    name: str
    secret: str
    read: int
    write: int


@dataclass(frozen=True)
class MemberConfig:
    interface: str
    penalty: int
    name: str
    state_interface: str
    wrapuptime: int | None = None


@dataclass
class QueueConfig:
    name: str
    strategy: str = "ringall"
    timeout: int = 15
    retry: int = 5
    wrapuptime: int = 0
    maxlen: int = 0
    servicelevel: int = 0
    weight: int = 0
    context: str = ""
    members: list[MemberConfig] = field(default_factory=list)


SUPPORTED_STRATEGIES = {"ringall", "rrmemory", "leastrecent"}
# queues.conf options the emulator reads; the others listed here are accepted because they
# change nothing the emulator shows (announcements, music, log formats).
_QUEUE_INT_OPTIONS = {"timeout", "retry", "wrapuptime", "maxlen", "servicelevel", "weight"}
_QUEUE_INERT_OPTIONS = {
    "joinempty",
    "leavewhenempty",
    "ringinuse",
    "announce-frequency",
    "periodic-announce-frequency",
    "announce-position",
    "announce-holdtime",
    "reportholdtime",
    "setinterfacevar",
    "setqueuevar",
    "setqueueentryvar",
    "musicclass",
    "autofill",
}


@dataclass
class PBXConfig:
    users: dict[str, ManagerUser]
    channelvars: list[str]
    queues: dict[str, QueueConfig]
    directory: Path
    ami_bindaddr: str = "127.0.0.1"  # manager.conf [general] bindaddr / port
    ami_port: int = 5038


def load_pbx_config(directory: Path) -> PBXConfig:
    manager = read_conf(directory / "manager.conf")
    users, channelvars = _manager(manager)
    queues = _queues(read_conf(directory / "queues.conf"))
    config = PBXConfig(users, channelvars, queues, directory)
    for section in manager:
        if section.name == "general":
            config.ami_bindaddr = section.get("bindaddr", config.ami_bindaddr) or "127.0.0.1"
            config.ami_port = _int(section.get("port", "5038") or "5038", section.where)
    return config


def _manager(sections: list[Section]) -> tuple[dict[str, ManagerUser], list[str]]:
    users: dict[str, ManagerUser] = {}
    channelvars: list[str] = []
    for section in sections:
        if section.name == "general":
            raw = section.get("channelvars", "") or ""
            channelvars = [v.strip() for v in raw.split(",") if v.strip()]
            continue
        secret = section.get("secret")
        if secret is None:
            raise ConfError(f"{section.where}: manager user [{section.name}] has no secret")
        read = parse_permissions(section.get("read", "") or "", section.where)
        write = parse_permissions(section.get("write", "") or "", section.where)
        users[section.name] = ManagerUser(section.name, secret, read, write)
    return users, channelvars


def _queues(sections: list[Section]) -> dict[str, QueueConfig]:
    queues: dict[str, QueueConfig] = {}
    for section in sections:
        if section.name == "general":
            continue
        queue = QueueConfig(section.name)
        for line in section.lines:
            if line.key == "member":
                queue.members.append(parse_member(line.value, line.where))
            elif line.key == "strategy":
                if line.value not in SUPPORTED_STRATEGIES:
                    raise ConfError(f"{line.where}: queue strategy {line.value!r} not emulated")
                queue.strategy = line.value
            elif line.key in _QUEUE_INT_OPTIONS:
                setattr(queue, line.key, _int(line.value, line.where))
            elif line.key == "context":
                queue.context = line.value
            elif line.key not in _QUEUE_INERT_OPTIONS:
                raise ConfError(f"{line.where}: queues.conf option {line.key!r} not emulated")
        queues[queue.name] = queue
    return queues


def parse_member(text: str, where: str) -> MemberConfig:
    parts = [p.strip() for p in text.split(",")]
    interface = parts[0]
    if "/" not in interface:
        raise ConfError(f"{where}: queue member {interface!r} is not Tech/resource")
    penalty = _int(parts[1], where) if len(parts) > 1 and parts[1] else 0
    name = parts[2] if len(parts) > 2 and parts[2] else interface
    state = parts[3] if len(parts) > 3 and parts[3] else interface
    wrapup = _int(parts[5], where) if len(parts) > 5 and parts[5] else None
    return MemberConfig(interface, penalty, name, state, wrapup)


def _int(text: str, where: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfError(f"{where}: expected a whole number, got {text!r}") from None
