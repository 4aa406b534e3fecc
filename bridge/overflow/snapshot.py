"""What the 110 PBX's queues hold right now, read from one AMI `QueueStatus`, and the policy's
view of it: one `CentreState` per centre, plus the members that are on loan.

A member's *home* centre is the one whose own queue lists it at penalty 0; the policy lends
only at penalties 1-3 (routing.overflow), so a member at penalty >= 1 in some other centre's
queue whose home is elsewhere is a loan — whoever added it (this bridge, a bridge before a
restart, or an operator by hand).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from routing.overflow import CentreState, Loan, OverflowConfig
from telephony.ami.events import Event, QueueEntry, QueueMember, QueueParams

# ast_device_state codes (QueueMember `Status`) in which a member cannot take a call.
BUSY_STATUSES = frozenset({2, 3, 6, 7, 8})  # INUSE, BUSY, RINGING, RINGINUSE, ONHOLD
LOGGED_OUT_STATUSES = frozenset({4, 5})  # INVALID, UNAVAILABLE


@dataclass(frozen=True)
class MemberView:
    queue: str
    interface: str
    name: str
    state_interface: str
    penalty: int
    dynamic: bool
    paused: bool
    in_call: bool
    status: int

    @property
    def logged_in(self) -> bool:
        return self.status not in LOGGED_OUT_STATUSES

    @property
    def busy(self) -> bool:
        # A paused member cannot take a call either: for the policy it is a seat not free.
        return self.in_call or self.paused or self.status in BUSY_STATUSES


@dataclass(frozen=True)
class CallerView:
    queue: str
    channel: str
    uniqueid: str
    wait_s: float


@dataclass(frozen=True)
class QueueView:
    """Members and waiting callers of every queue, as one QueueStatus listed them."""

    members: tuple[MemberView, ...]
    callers: tuple[CallerView, ...]
    queues: frozenset[str]

    @classmethod
    def from_events(cls, events: list[Event]) -> QueueView:
        members = []
        callers = []
        queues = set()
        for event in events:
            if isinstance(event, QueueMember):
                queues.add(event.queue)
                members.append(
                    MemberView(
                        queue=event.queue,
                        interface=event.location,
                        name=event.member_name or event.location,
                        state_interface=event.state_interface or event.location,
                        penalty=event.penalty,
                        dynamic=event.membership == "dynamic",
                        paused=event.paused,
                        in_call=event.in_call,
                        status=event.status,
                    )
                )
            elif isinstance(event, QueueEntry):
                queues.add(event.queue)
                callers.append(CallerView(event.queue, event.channel, event.uniqueid, event.wait))
            elif isinstance(event, QueueParams):
                queues.add(event.queue)
        return cls(tuple(members), tuple(callers), frozenset(queues))

    def in_queue(self, queue: str) -> list[MemberView]:
        return [m for m in self.members if m.queue == queue]

    def callers_in(self, queue: str) -> list[CallerView]:
        return [c for c in self.callers if c.queue == queue]

    def member(self, queue: str, interface: str) -> MemberView | None:
        for m in self.members:
            if m.queue == queue and m.interface == interface:
                return m
        return None


def home_members(config: OverflowConfig, view: QueueView) -> dict[str, tuple[MemberView, ...]]:
    """Each centre's own members (penalty 0 in its own queue), in queue order."""
    return {
        c.code: tuple(m for m in view.in_queue(c.queue) if m.penalty == 0) for c in config.centres
    }


def home_of(config: OverflowConfig, view: QueueView) -> dict[str, str]:
    """Interface → the code of the centre it belongs to."""
    return {m.interface: code for code, ms in home_members(config, view).items() for m in ms}


def loans_on_pbx(
    config: OverflowConfig, view: QueueView, ledger: Mapping[str, str] | None = None
) -> frozenset[Loan]:
    """Every loan the PBX shows: a dynamic member at penalty >= 1 in a centre's own or aid
    queue whose home is another centre. `ledger` (interface → donor, from the audit stream)
    names the donor of a member that is no longer in its own queue."""
    homes = {**(ledger or {}), **home_of(config, view)}
    loans = set()
    for centre in config.centres:
        for queue in (centre.queue, centre.aid_queue):
            for m in view.in_queue(queue):
                donor = homes.get(m.interface)
                if m.dynamic and m.penalty >= 1 and donor and donor != centre.code:
                    loans.add(Loan(m.interface, donor, centre.code, queue, m.penalty))
    return frozenset(loans)


def centre_states(
    config: OverflowConfig,
    view: QueueView,
    rates: Mapping[str, tuple[float, float]],
) -> list[CentreState]:
    """The policy's input. `rates`: code → (recent, sustained) arrivals per second."""
    homes = home_members(config, view)
    # A member on a call in any queue is busy everywhere: look at every appearance of it.
    busy_anywhere = {m.interface for m in view.members if m.in_call or m.status in BUSY_STATUSES}
    states = []
    for centre in config.centres:
        own = [m for m in homes[centre.code] if m.logged_in]
        busy = sum(1 for m in own if m.busy or m.interface in busy_anywhere)
        waiting = view.callers_in(centre.queue) + view.callers_in(centre.aid_queue)
        recent, sustained = rates.get(centre.code, (0.0, 0.0))
        states.append(
            CentreState(
                code=centre.code,
                members=tuple(m.interface for m in own),
                busy=busy,
                waiting=len(waiting),
                longest_wait_s=float(max((c.wait_s for c in waiting), default=0)),
                arrival_rate=recent,
                sustained_arrival_rate=sustained,
            )
        )
    return states
