"""Queue state (members, waiting callers, statistics) and the AMI views of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.pbxconfig import MemberConfig, QueueConfig

# Asterisk keeps queues in an ao2 hash container of 53 buckets and lists them bucket by
# bucket, so QueueStatus order is this hash's order, not the order of queues.conf.
_QUEUE_BUCKETS = 53

DEVICE_NOT_INUSE = 1
DEVICE_INUSE = 2
DEVICE_RINGING = 6


def asterisk_case_hash(text: str) -> int:
    """`ast_str_case_hash`: djb2 over lower-cased bytes, masked to a positive int."""
    value = 5381
    for byte in text.lower().encode():
        value = ((value * 33) & 0xFFFFFFFF) ^ byte
    return value & 0x7FFFFFFF


def queue_order_key(name: str) -> int:
    return asterisk_case_hash(name) % _QUEUE_BUCKETS


@dataclass
class Member:
    interface: str
    name: str
    state_interface: str
    penalty: int
    dynamic: bool
    login_time: int
    paused: bool = False
    paused_reason: str = ""
    last_pause: int = 0
    calls_taken: int = 0
    last_call: int = 0
    in_call: bool = False
    status: int = DEVICE_NOT_INUSE
    wrapuptime: int = 0

    def headers(self, name_key: str = "Name", with_ringinuse: bool = False) -> Headers:
        headers: Headers = [
            (name_key, self.name),
            ("Location" if name_key == "Name" else "Interface", self.interface),
            ("StateInterface", self.state_interface),
            ("Membership", "dynamic" if self.dynamic else "static"),
            ("Penalty", str(self.penalty)),
            ("CallsTaken", str(self.calls_taken)),
            ("LastCall", str(self.last_call)),
            ("LastPause", str(self.last_pause)),
            ("LoginTime", str(self.login_time)),
            ("InCall", "1" if self.in_call else "0"),
            ("Status", str(self.status)),
            ("Paused", "1" if self.paused else "0"),
            ("PausedReason", self.paused_reason),
        ]
        if with_ringinuse:
            headers.append(("Ringinuse", "0"))
        headers.append(("Wrapuptime", str(self.wrapuptime)))
        return headers


@dataclass
class Queue:
    config: QueueConfig
    members: list[Member] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: int = 0  # Asterisk's running average, whole seconds
    talktime: int = 0
    completed_in_sl: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def from_config(cls, config: QueueConfig, login_time: int) -> Queue:
        queue = cls(config)
        for member in config.members:
            queue.members.append(make_member(member, dynamic=False, login_time=login_time))
        return queue

    def find_member(self, interface: str) -> Member | None:
        for member in self.members:
            if member.interface.lower() == interface.lower():
                return member
        return None

    def params_headers(self, calls: int) -> Headers:
        perf = 0.0 if not self.completed else 100.0 * self.completed_in_sl / self.completed
        answered_or_gone = self.completed + self.abandoned
        perf2 = 0.0 if not answered_or_gone else 100.0 * self.completed_in_sl / answered_or_gone
        return [
            ("Queue", self.name),
            ("Max", str(self.config.maxlen)),
            ("Strategy", self.config.strategy),
            ("Calls", str(calls)),
            ("Holdtime", str(self.holdtime)),
            ("TalkTime", str(self.talktime)),
            ("Completed", str(self.completed)),
            ("Abandoned", str(self.abandoned)),
            ("ServiceLevel", str(self.config.servicelevel)),
            ("ServicelevelPerf", f"{perf:.1f}"),
            ("ServicelevelPerf2", f"{perf2:.1f}"),
            ("Weight", str(self.config.weight)),
        ]

    def logged_in(self) -> int:
        return len(self.members)

    def available(self) -> int:
        return sum(1 for m in self.members if not m.paused and m.status == DEVICE_NOT_INUSE)


def make_member(config: MemberConfig, dynamic: bool, login_time: int) -> Member:
    return Member(
        interface=config.interface,
        name=config.name,
        state_interface=config.state_interface,
        penalty=config.penalty,
        dynamic=dynamic,
        login_time=login_time,
        wrapuptime=config.wrapuptime or 0,
    )
