"""`manager.conf`: the AMI listener and its users.

`[general]` gives the port, bind address and `channelvars` (the variables shown as
`ChanVariable` headers on channel events). Every other section is a user: `secret`, `read` and
`write` class lists, and `deny`/`permit` rules read as Asterisk's ACLs (each rule that matches
decides, the last one wins, no rule means allowed).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .errors import ConfigError, Where
from .reader import ConfItem, ConfSection
from .values import parse_bool, parse_int, parse_list

# Asterisk's manager permission classes in its EVENT_FLAG_* bit order (the order a
# `Privilege:` header lists them in); "all" and "none" are accepted as well.
CLASS_ORDER = (
    "system",
    "call",
    "log",
    "verbose",
    "command",
    "agent",
    "user",
    "config",
    "dtmf",
    "reporting",
    "cdr",
    "dialplan",
    "originate",
    "agi",
    "cc",
    "aoc",
    "test",
    "security",
    "message",
)
CLASSES = frozenset(CLASS_ORDER)

_GENERAL_INT = frozenset({"port", "authtimeout", "authlimit"})
_GENERAL_BOOL = frozenset(
    {"enabled", "webenabled", "displayconnects", "timestampevents", "allowmultiplelogin"}
)
_USER_KEYS = frozenset(
    {"secret", "read", "write", "deny", "permit", "writetimeout", "displayconnects"}
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AclRule:
    allow: bool
    network: Network


@dataclass
class ManagerUser:
    name: str
    where: Where
    secret: str = ""
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    acl: list[AclRule] = field(default_factory=list)
    writetimeout: int = 100  # milliseconds, Asterisk's default

    def may_read(self, event_class: str) -> bool:
        return event_class in self.read

    def may_write(self, action_class: str) -> bool:
        return action_class in self.write

    def permits(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        allowed = True
        for rule in self.acl:
            if ip.version == rule.network.version and ip in rule.network:
                allowed = rule.allow
        return allowed


@dataclass
class ManagerConfig:
    enabled: bool = False
    port: int = 5038
    bindaddr: str = "0.0.0.0"
    channelvars: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)
    users: dict[str, ManagerUser] = field(default_factory=dict)


def _classes(item: ConfItem) -> frozenset[str]:
    names = {name.lower() for name in parse_list(item.value)}
    unknown = names - CLASSES - {"all", "none"}
    if unknown:
        raise ConfigError(item.where, f"{item.key}: unknown class(es) {', '.join(sorted(unknown))}")
    if "all" in names:
        return CLASSES
    return frozenset(names - {"none"})


def _acl_rule(item: ConfItem) -> AclRule:
    try:
        network = ipaddress.ip_network(item.value.strip(), strict=False)
    except ValueError:
        raise ConfigError(item.where, f"{item.key} = {item.value!r} is not address/mask") from None
    return AclRule(item.key == "permit", network)


def _read_user(section: ConfSection) -> ManagerUser:
    user = ManagerUser(section.name, section.where)
    for item in section.items:
        if item.key not in _USER_KEYS:
            raise ConfigError(item.where, f"manager user option {item.key!r} is not supported")
        if item.key == "secret":
            user.secret = item.value
        elif item.key in ("read", "write"):
            setattr(user, item.key, _classes(item))
        elif item.key in ("deny", "permit"):
            user.acl.append(_acl_rule(item))
        elif item.key == "writetimeout":
            user.writetimeout = parse_int(item.value, item.key, item.where)
    if not user.secret:
        raise ConfigError(section.where, f"manager user [{section.name}] has no secret")
    return user


def _read_general(section: ConfSection, config: ManagerConfig) -> None:
    for item in section.items:
        key = item.key
        if key == "port":
            config.port = parse_int(item.value, key, item.where, minimum=1)
        elif key == "enabled":
            config.enabled = parse_bool(item.value, key, item.where)
        elif key == "bindaddr":
            config.bindaddr = item.value
        elif key == "channelvars":
            config.channelvars = parse_list(item.value)
        elif key in _GENERAL_INT:
            parse_int(item.value, key, item.where)
        elif key in _GENERAL_BOOL:
            parse_bool(item.value, key, item.where)
        else:
            raise ConfigError(item.where, f"[general] option {key!r} is not supported")
        config.options[key] = item.value


def manager_from_sections(sections: list[ConfSection]) -> ManagerConfig:
    config = ManagerConfig()
    for section in sections:
        if section.name == "general":
            _read_general(section, config)
        elif section.name in config.users:
            raise ConfigError(section.where, f"manager user [{section.name}] is defined twice")
        else:
            config.users[section.name] = _read_user(section)
    return config
