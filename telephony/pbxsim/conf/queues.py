"""`queues.conf` as typed queues with their static members.

Each option is either modelled (a field of QueueConfig the runtime acts on) or listed in
_ACCEPTED_WITHOUT_EFFECT because it only changes audio, logging or persistence, which the
emulator does not have. Any other option, strategy or member technology is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError, Where
from .reader import ConfItem, ConfSection
from .values import parse_bool, parse_choice, parse_int

STRATEGIES = frozenset({"ringall", "leastrecent", "fewestcalls", "random", "rrmemory", "linear"})
MEMBER_TECHNOLOGIES = ("Local/", "PJSIP/")

# [general] options the runtime acts on (QueuesConfig fields) ...
_GENERAL_MODELLED = frozenset({"autofill", "shared_lastcall"})
# ... and those that change nothing the emulator has.
_GENERAL_ACCEPTED = frozenset(
    {
        "persistentmembers",  # members added at run time are not saved: nothing is saved
        "log_membername_as_agent",  # queue_log is not written
        "monitor-type",
        "updatecdr",
    }
)

# Sound, music-on-hold and logging settings: the emulator plays no audio and keeps no log.
_ACCEPTED_WITHOUT_EFFECT = frozenset(
    {
        "musicclass",
        "announce",
        "announce-round-seconds",
        "queue-youarenext",
        "queue-thereare",
        "queue-callswaiting",
        "queue-holdtime",
        "queue-minutes",
        "queue-seconds",
        "queue-thankyou",
        "queue-reporthold",
        "periodic-announce",
        "reportholdtime",
        "setinterfacevar",
        "setqueuevar",
        "setqueueentryvar",
        "memberdelay",
        "timeoutpriority",
    }
)

_ANNOUNCE_POSITION = frozenset({"yes", "no", "more", "limit"})
_ANNOUNCE_HOLDTIME = frozenset({"yes", "no", "once"})


@dataclass(frozen=True)
class QueueMember:
    interface: str  # "Local/agent101@agents/n", "PJSIP/12345-01"
    penalty: int
    name: str  # MemberName (the interface when not given)
    state_interface: str
    where: Where


@dataclass
class QueueConfig:
    name: str
    where: Where
    strategy: str = "ringall"
    timeout: int = 15  # seconds a member rings
    retry: int = 5  # seconds before ringing the members again
    wrapuptime: int = 0  # seconds a member is not offered a call after one ends
    weight: int = 0  # a member shared with a higher-weight queue that is busy is not rung
    penaltymemberslimit: int = 0  # penalties count only in queues with more members
    autofill: bool | None = None  # None: [general] autofill
    maxlen: int = 0  # 0: no limit
    servicelevel: int = 0
    joinempty: bool = True
    leavewhenempty: bool = False
    ringinuse: bool = True
    timeoutrestart: bool = False
    autopause: bool = False
    context: str | None = None  # a waiting caller's key that exists here leaves the queue
    announce_frequency: int = 0
    periodic_announce_frequency: int = 0
    announce_position: str = "yes"
    announce_holdtime: str = "no"
    members: list[QueueMember] = field(default_factory=list)
    accepted_options: dict[str, str] = field(default_factory=dict)  # no effect, kept for show


@dataclass
class QueuesConfig:
    general: dict[str, str]
    queues: dict[str, QueueConfig]
    autofill: bool = True  # Asterisk's default since 1.6: several callers ring at once
    shared_lastcall: bool = False  # a member's last call counts in every queue it is in


def _parse_member(item: ConfItem) -> QueueMember:
    parts = [part.strip() for part in item.value.split(",")]
    interface = parts[0]
    if not interface.startswith(MEMBER_TECHNOLOGIES):
        raise ConfigError(
            item.where,
            f"member {interface!r}: only Local/ and PJSIP/ members are supported",
        )
    if len(parts) > 4:
        raise ConfigError(
            item.where,
            "member options after state_interface (ringinuse, wrapuptime) are not supported",
        )
    penalty = (
        parse_int(parts[1], "member penalty", item.where) if len(parts) > 1 and parts[1] else 0
    )
    name = parts[2] if len(parts) > 2 and parts[2] else interface
    state_interface = parts[3] if len(parts) > 3 and parts[3] else interface
    return QueueMember(interface, penalty, name, state_interface, item.where)


_INT_FIELDS = {
    "timeout": "timeout",
    "retry": "retry",
    "wrapuptime": "wrapuptime",
    "weight": "weight",
    "penaltymemberslimit": "penaltymemberslimit",
    "maxlen": "maxlen",
    "servicelevel": "servicelevel",
    "announce-frequency": "announce_frequency",
    "periodic-announce-frequency": "periodic_announce_frequency",
}
_BOOL_FIELDS = {
    "joinempty": "joinempty",
    "leavewhenempty": "leavewhenempty",
    "ringinuse": "ringinuse",
    "timeoutrestart": "timeoutrestart",
    "autopause": "autopause",
    "autofill": "autofill",
}


def _apply_option(queue: QueueConfig, item: ConfItem) -> None:
    key, value, where = item.key, item.value, item.where
    if key == "member":
        queue.members.append(_parse_member(item))
    elif key in _INT_FIELDS:
        setattr(queue, _INT_FIELDS[key], parse_int(value, key, where))
    elif key in _BOOL_FIELDS:
        # joinempty/leavewhenempty also take lists of member states in Asterisk: refused.
        setattr(queue, _BOOL_FIELDS[key], parse_bool(value, key, where))
    elif key == "strategy":
        queue.strategy = parse_choice(value, key, where, STRATEGIES)
    elif key == "context":
        queue.context = value or None
    elif key == "announce-position":
        queue.announce_position = parse_choice(value, key, where, _ANNOUNCE_POSITION)
    elif key == "announce-holdtime":
        queue.announce_holdtime = parse_choice(value, key, where, _ANNOUNCE_HOLDTIME)
    elif key in _ACCEPTED_WITHOUT_EFFECT:
        queue.accepted_options[key] = value
    else:
        raise ConfigError(where, f"queue option {key!r} is not supported by the emulator")


def queues_from_sections(sections: list[ConfSection]) -> QueuesConfig:
    general: dict[str, str] = {}
    queues: dict[str, QueueConfig] = {}
    config = QueuesConfig(general, queues)
    for section in sections:
        if section.name == "general":
            for item in section.items:
                if item.key in _GENERAL_MODELLED:
                    setattr(config, item.key, parse_bool(item.value, item.key, item.where))
                elif item.key not in _GENERAL_ACCEPTED:
                    raise ConfigError(item.where, f"[general] option {item.key!r} is not supported")
                general[item.key] = item.value
            continue
        if section.name in queues:
            first = queues[section.name].where
            raise ConfigError(
                section.where, f"queue [{section.name}] is already defined at {first}"
            )
        queue = QueueConfig(section.name, section.where)
        for item in section.items:
            _apply_option(queue, item)
        interfaces = [m.interface for m in queue.members]
        for member in queue.members:
            if interfaces.count(member.interface) > 1:
                raise ConfigError(member.where, f"member {member.interface} is listed twice")
        queues[section.name] = queue
    return config
