"""Queue state (members, waiting callers, statistics) and the AMI views of it."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.pbxconfig import MemberConfig, QueueConfig

if TYPE_CHECKING:
    from telephony.pbxsim.channels import Channel

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
    ringing: bool = False  # being rung by a caller of some queue right now

    @functools.cached_property
    def device(self) -> str:
        """The device whose state drives this member: the state interface without options
        (`Local/agent101@agents/n` -> `Local/agent101@agents`)."""
        tech, _, resource = self.state_interface.partition("/")
        return f"{tech}/{resource.split('/', 1)[0]}"

    def can_take_call(self) -> bool:
        return (
            not self.paused
            and not self.in_call
            and not self.ringing
            and self.status
            in (
                DEVICE_NOT_INUSE,
                0,
            )
        )

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
class QueueEntry:
    channel: Channel
    joined: float
    position: int
    original_position: int
    withdraw_info: str | None = None  # set by QueueWithdrawCaller, acted on at the next poll
    music: bool = True  # music on hold (not with Queue option r)


@dataclass
class Queue:
    config: QueueConfig
    members: list[Member] = field(default_factory=list)
    entries: list[QueueEntry] = field(default_factory=list)
    last_rung: int = -1  # rrmemory: index of the member rung last
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
        perf = self.service_level_perf()
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

    def join(self, channel: Channel, now: float) -> QueueEntry:
        position = len(self.entries) + 1
        entry = QueueEntry(channel, now, position, position)
        self.entries.append(entry)
        return entry

    def leave(self, entry: QueueEntry) -> int:
        """Remove a caller; the callers behind move up. Returns the position it had."""
        position = entry.position
        if entry in self.entries:
            self.entries.remove(entry)
        for index, other in enumerate(self.entries, start=1):
            other.position = index
        return position

    def next_member(self) -> Member | None:
        """The member the strategy rings next, among those free to take a call."""
        free = [m for m in self.members if m.can_take_call()]
        if not free:
            return None
        lowest = min(m.penalty for m in free)
        free = [m for m in free if m.penalty == lowest]
        if self.config.strategy == "leastrecent":
            return min(free, key=lambda m: m.last_call)
        if self.config.strategy == "rrmemory":
            count = len(self.members)
            for step in range(1, count + 1):
                candidate = self.members[(self.last_rung + step) % count]
                if candidate in free:
                    self.last_rung = self.members.index(candidate)
                    return candidate
        return free[0]

    def record_holdtime(self, seconds: int) -> None:
        # app_queue's running average: the first call sets it, later ones weigh in by 1/4.
        if self.completed + self.abandoned == 0:
            self.holdtime = seconds
        else:
            self.holdtime = (self.holdtime * 3 + seconds) // 4

    def record_completed(self, holdtime: int, talktime: int) -> None:
        if self.completed == 0:
            self.talktime = talktime
        else:
            self.talktime = (self.talktime * 3 + talktime) // 4
        self.completed += 1
        if holdtime <= self.config.servicelevel:
            self.completed_in_sl += 1

    def service_level_perf(self) -> float:
        return 0.0 if not self.completed else 100.0 * self.completed_in_sl / self.completed

    def find_entry(self, channel_name: str) -> QueueEntry | None:
        for entry in self.entries:
            if entry.channel.name == channel_name:
                return entry
        return None

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
