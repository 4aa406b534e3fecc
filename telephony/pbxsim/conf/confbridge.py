"""`confbridge.conf`: bridge profiles, user profiles and DTMF menus.

A section's `type` says what it is. Asterisk always has `default_bridge`, `default_user` and
`default_menu` (built in, the menu without keys, when not configured); here too, and
ConfBridge() without a menu argument applies `default_menu`. Menu keys are DTMF sequences
mapped to actions; the emulator runs `toggle_mute`, `leave_conference`, `no_op` and
`dialplan_exec(context,exten,priority)` (how an agent in a conference reaches the bridge by
a key: the channel leaves the room, runs that dialplan location, and comes back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .arguments import split_app_args
from .errors import ConfigError, Where
from .reader import ConfItem, ConfSection
from .values import parse_bool, parse_int

_BRIDGE_INT = frozenset({"max_members", "mixing_interval"})
_BRIDGE_BOOL = frozenset({"record_conference"})
_BRIDGE_OTHER = frozenset({"internal_sample_rate"})  # audio mixing: no effect here
_USER_BOOL = frozenset(
    {
        "quiet",
        "announce_user_count",
        "announce_only_user",
        "music_on_hold_when_empty",
        "dsp_drop_silence",
        "admin",
        "marked",
        "startmuted",
        "wait_marked",
        "end_marked",
        "announce_join_leave",
    }
)
_MENU_ACTIONS = frozenset({"toggle_mute", "leave_conference", "no_op"})
_DTMF = re.compile(r"[0-9*#A-Da-d]+")


@dataclass
class BridgeProfile:
    name: str
    where: Where | None
    max_members: int = 0  # 0: no limit
    mixing_interval: int = 20
    record_conference: bool = False
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class UserProfile:
    name: str
    where: Where | None
    options: dict[str, bool] = field(default_factory=dict)

    def flag(self, option: str) -> bool:
        return self.options.get(option, False)


@dataclass(frozen=True)
class MenuAction:
    action: str  # "toggle_mute", "leave_conference", "no_op", "dialplan_exec"
    context: str = ""
    exten: str = ""
    priority: int = 0
    where: Where | None = None


@dataclass
class Menu:
    name: str
    where: Where | None  # None: built in
    keys: dict[str, tuple[MenuAction, ...]] = field(default_factory=dict)


@dataclass
class ConfBridgeConfig:
    bridges: dict[str, BridgeProfile]
    users: dict[str, UserProfile]
    menus: dict[str, Menu]


def _menu_action(text: str, item: ConfItem) -> MenuAction:
    text = text.strip()
    if text in _MENU_ACTIONS:
        return MenuAction(text, where=item.where)
    name, paren, rest = text.partition("(")
    if name.strip() != "dialplan_exec" or not paren or not rest.endswith(")"):
        raise ConfigError(item.where, f"menu action {text!r} is not supported")
    parts = [part.strip() for part in rest[:-1].split(",")]
    if len(parts) != 3 or not parts[2].isdigit():
        raise ConfigError(item.where, f"{text!r}: expected dialplan_exec(context,exten,priority)")
    return MenuAction("dialplan_exec", parts[0], parts[1], int(parts[2]), item.where)


def _read_menu(section: ConfSection) -> Menu:
    menu = Menu(section.name, section.where)
    for item in section.items:
        if item.key == "type":
            continue
        if not _DTMF.fullmatch(item.key):
            raise ConfigError(item.where, f"menu key {item.key!r} is not a DTMF sequence")
        actions = split_app_args(item.value, remove_quotes=False)
        menu.keys[item.key] = tuple(_menu_action(action, item) for action in actions)
    return menu


def _read_bridge(section: ConfSection) -> BridgeProfile:
    profile = BridgeProfile(section.name, section.where)
    for item in section.items:
        if item.key == "type":
            continue
        if item.key == "max_members":
            profile.max_members = parse_int(item.value, item.key, item.where)
        elif item.key == "mixing_interval":
            profile.mixing_interval = parse_int(item.value, item.key, item.where)
        elif item.key in _BRIDGE_BOOL:
            if parse_bool(item.value, item.key, item.where):
                raise ConfigError(item.where, "record_conference = yes is not supported")
        elif item.key in _BRIDGE_OTHER:
            profile.options[item.key] = item.value
        else:
            raise ConfigError(item.where, f"bridge profile option {item.key!r} is not supported")
    return profile


def _read_user(section: ConfSection) -> UserProfile:
    profile = UserProfile(section.name, section.where)
    for item in section.items:
        if item.key == "type":
            continue
        if item.key not in _USER_BOOL:
            raise ConfigError(item.where, f"user profile option {item.key!r} is not supported")
        profile.options[item.key] = parse_bool(item.value, item.key, item.where)
    return profile


def confbridge_from_sections(sections: list[ConfSection]) -> ConfBridgeConfig:
    config = ConfBridgeConfig(
        bridges={"default_bridge": BridgeProfile("default_bridge", None)},
        users={"default_user": UserProfile("default_user", None)},
        menus={"default_menu": Menu("default_menu", None)},
    )
    seen: set[str] = set()
    for section in sections:
        if section.name == "general":
            if section.items:
                raise ConfigError(section.items[0].where, "[general] options are not supported")
            continue
        if section.name in seen:
            raise ConfigError(section.where, f"[{section.name}] is defined twice")
        seen.add(section.name)
        kind = section.get("type")
        if kind is None:
            raise ConfigError(section.where, f"[{section.name}] has no type = bridge|user|menu")
        if kind.value == "bridge":
            config.bridges[section.name] = _read_bridge(section)
        elif kind.value == "user":
            config.users[section.name] = _read_user(section)
        elif kind.value == "menu":
            config.menus[section.name] = _read_menu(section)
        else:
            raise ConfigError(kind.where, f"type = {kind.value!r} is not bridge, user or menu")
    return config
