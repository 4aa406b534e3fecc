"""Queue state (members, waiting callers, statistics) and the AMI views of it."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telephony.pbxsim.amiwire import Headers
from telephony.pbxsim.pbxconfig import MemberConfig, QueueConfig

if TYPE_CHECKING:
    from telephony.pbxsim.channels import Channel

# Asterisk keeps queues in an ao2 hash container of 53 buckets and lists them bucket by
# bucket, so QueueStatus order is this hash's order, not the order of queues.conf.
_QUEUE_BUCKETS = 53

DEVICE_UNKNOWN = 0
DEVICE_NOT_INUSE = 1
DEVICE_INUSE = 2
DEVICE_INVALID = 4
DEVICE_UNAVAILABLE = 5
DEVICE_RINGING = 6
_FREE_STATES = (DEVICE_UNKNOWN, DEVICE_NOT_INUSE)  # app_queue's member_status_available()


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
    ringing: bool = False  # being rung by a caller of this queue right now
    last_queue: str = ""  # the queue of the member's last call: its wrapuptime applies

    @functools.cached_property
    def device(self) -> str:
        """The device whose state drives this member: the state interface without options
        (`Local/agent101@agents/n` -> `Local/agent101@agents`)."""
        tech, _, resource = self.state_interface.partition("/")
        return f"{tech}/{resource.split('/', 1)[0]}"

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
    priority: int = 0  # QUEUE_PRIO: a caller joins ahead of those with a lower one
    pending: bool = False  # ringing a member: callers behind it need not wait for it


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

    def join(self, channel: Channel, now: float, priority: int = 0) -> QueueEntry:
        """app_queue's join_queue: behind every caller of the same or a higher priority."""
        index = next(
            (i for i, other in enumerate(self.entries) if priority > other.priority),
            len(self.entries),
        )
        entry = QueueEntry(channel, now, index + 1, index + 1, priority=priority)
        self.entries.insert(index, entry)
        for position, other in enumerate(self.entries, start=1):
            other.position = position
        return entry

    def leave(self, entry: QueueEntry) -> int:
        """Remove a caller; the callers behind move up. Returns the position it had."""
        position = entry.position
        if entry in self.entries:
            self.entries.remove(entry)
        for index, other in enumerate(self.entries, start=1):
            other.position = index
        return position

    # -- member selection, as app_queue.c does it --------------------------------------------
    def member_available(self, member: Member, now: float) -> bool:
        """`is_member_available`: counts toward the callers that may ring at once."""
        if member.status in (DEVICE_INVALID, DEVICE_UNAVAILABLE) or member.paused:
            return False
        if member.status not in _FREE_STATES and not self.config.ringinuse:
            return False
        wrapup = self.config.wrapuptime
        if wrapup and member.in_call:
            return False
        return not (member.last_call and wrapup and int(now) - wrapup < member.last_call)

    def available_count(self, now: float) -> int:
        """`num_available_members`: without autofill (or with ringall) only the head caller
        is served, so one available member is as good as many."""
        count = 0
        for member in self.members:
            count += self.member_available(member, now)
            if count and (not self.config.autofill or self.config.strategy == "ringall"):
                break
        return count

    def is_turn(self, entry: QueueEntry, now: float) -> bool:
        """`is_our_turn`: a caller may ring members when fewer callers ahead of it (those
        not already ringing someone) than there are available members."""
        available = self.available_count(now)
        ahead = 0
        for other in self.entries:
            if other is entry:
                return ahead < available and (self.config.autofill or entry.position == 1)
            if ahead >= available:
                return False
            ahead += not other.pending
        return False

    def can_ring(self, member: Member, now: float, queues: Iterable[Queue]) -> bool:
        """`can_ring_entry`: paused, in use (ringinuse=no), wrap-up after the member's last
        call (that call's queue decides how long), a busier queue of higher weight sharing
        the member, or the member already being rung from another queue."""
        if member.paused:
            return False
        ringinuse = self.config.ringinuse
        if not ringinuse and member.status not in _FREE_STATES:
            return False
        queues = list(queues)
        last = next((q for q in queues if q.name == member.last_queue), None)
        wrapup = last.config.wrapuptime if last is not None else self.config.wrapuptime
        if member.in_call and last is not None and wrapup:
            return False
        if wrapup and int(now) - member.last_call < wrapup:
            return False
        if self._outweighed(member, now, queues):
            return False
        return ringinuse or not any(m.ringing for m in copies_of(queues, member.interface))

    def _outweighed(self, member: Member, now: float, queues: list[Queue]) -> bool:
        """`compare_weight`: another queue holding this member has a higher weight and at
        least as many callers waiting as it has members available."""
        for other in queues:
            if other is self or not other.entries or other.config.weight <= self.config.weight:
                continue
            if other.find_member(member.interface) is None:
                continue
            if len(other.entries) >= other.available_count(now):
                return True
        return False

    def next_member(self, now: float, queues: Iterable[Queue] = ()) -> Member | None:
        """The member the strategy rings next, among those `can_ring` allows; penalties
        order them unless the queue has no more than `penaltymemberslimit` members."""
        queues = list(queues) or [self]
        free = [m for m in self.members if self.can_ring(m, now, queues)]
        if not free:
            return None
        if len(self.members) > self.config.penaltymemberslimit:
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


def copies_of(queues: Iterable[Queue], interface: str) -> list[Member]:
    """The member `interface` in every queue that has it."""
    found = (queue.find_member(interface) for queue in queues)
    return [member for member in found if member is not None]


def call_started(queues: Iterable[Queue], queue: Queue, member: Member) -> None:
    """A call connected: the member is in a call in its queues (all of them with
    shared_lastcall, as app_queue marks `in_call`)."""
    shared = queue.config.shared_lastcall
    for copy in copies_of(queues, member.interface) if shared else [member]:
        copy.in_call = True


def call_ended(queues: Iterable[Queue], queue: Queue, member: Member, now: float) -> None:
    """`update_queue`: the member's last call, its count and the queue whose wrapuptime now
    applies — in every queue it is in with shared_lastcall, else in this one."""
    shared = queue.config.shared_lastcall
    for copy in copies_of(queues, member.interface) if shared else [member]:
        copy.last_call = int(now)
        copy.calls_taken += 1
        copy.last_queue = queue.name
        copy.in_call = False


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
