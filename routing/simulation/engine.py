"""Discrete-event simulation of the 110 centres' queues under one overflow policy.

A hand-written event heap rather than SimPy: every waiting caller needs a patience timer that is
mostly *cancelled* (the caller gets answered), and the benchmark runs 10,000 replications × 3
policies. Here a cancelled timer is one flag check when it pops; see docs/overflow.md.

How seats pick callers models what Asterisk will do with the plan (docs/overflow.md):
- a caller first rings an idle member of its own centre (members in queue order: strategy
  `linear`, so the members not lent are tried first), then an idle member lent to its centre
  whose donor's loans are not paused, lowest penalty first;
- a member who becomes free answers its own centre's longest waiter first; then the longest
  waiter among the donors' own queues it was added to (weight 10, like its own queue); then the
  longest waiter among the aid queues it was added to (weight 0).
"pooled" is the bound: every seat answers the longest waiter anywhere.

What a PBX adds to every answered call is a scenario setting, the same under every policy (0 by
default: the seat connects the instant it takes a caller): the member's phone rings
`answer_delay_s`, a queued caller first waits for app_queue's next turn check (every
`turn_check_s` from when it joined), and after the call the seat rests `wrapup_s`. A caller whose
patience ends before connecting is an early release (app_queue's abandon) and frees the seat then.
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from routing.overflow import (
    CentreState,
    LendMember,
    OverflowState,
    PauseLoans,
    Plan,
    ReturnMember,
    StartSupport,
    decide,
    holds_steady,
)
from routing.simulation.scenario import Scenario

PolicyName = Literal["isolated", "bridge", "pooled"]
POLICIES: tuple[PolicyName, ...] = ("isolated", "bridge", "pooled")

_ARRIVAL, _END, _ABANDON, _TICK = 0, 1, 2, 3


class _Call:
    __slots__ = ("arrival", "centre", "done", "patience", "service", "window")

    def __init__(self, centre: int, arrival: float, service: float, patience: float, window: bool):
        self.centre = centre
        self.arrival = arrival
        self.service = service
        self.patience = patience
        self.window = window  # arrived inside the measured window
        self.done = False  # answered or hung up


@dataclass
class Outcome:
    """Counts for calls that arrived in the window, per centre in scenario order."""

    offered: list[int]
    early_released: list[int]
    support_starts: int = 0  # StartSupport actions in the window (bridge policy only)
    # AMI actions the plans cost over the whole replication (bridge policy only): QueueAdd,
    # QueueRemove (including those still owed for loans held when the run stops), QueuePause per
    # loan, and QueueWithdrawCaller per caller moved to an aid queue.
    queue_adds: int = 0
    ami_actions: int = 0
    stand_downs: int = 0  # times the group stood down in the window


class _ArrivalStream:
    """One centre's callers: Poisson arrivals at a piecewise-constant rate, with each caller's
    handle time and patience drawn from the same seeded stream, so every policy sees the very
    same callers (common random numbers make the comparison sharper)."""

    def __init__(
        self,
        rng: random.Random,
        base_rate: float,
        surges: list[tuple[float, float, float]],
        handle_s: float,
        patience_s: float,
    ):
        self.rng = rng
        self.base_rate = base_rate
        self.surges = surges  # (start, end, rate) in absolute simulated seconds
        self.handle_rate = 1 / handle_s
        self.patience_rate = 1 / patience_s

    def rate_at(self, t: float) -> tuple[float, float]:
        """Rate in force at t and when it next changes."""
        next_change = float("inf")
        for start, end, rate in self.surges:
            if start <= t < end:
                return rate, end
            if start > t:
                next_change = min(next_change, start)
        return self.base_rate, next_change

    def next_arrival(self, t: float) -> float:
        # Exponential gaps are memoryless: at a rate change, draw afresh from the boundary.
        while True:
            rate, change = self.rate_at(t)
            candidate = t + self.rng.expovariate(rate)
            if candidate < change:
                return candidate
            t = change

    def caller_times(self) -> tuple[float, float]:
        return self.rng.expovariate(self.handle_rate), self.rng.expovariate(self.patience_rate)


class _Simulation:
    def __init__(self, scenario: Scenario, policy: PolicyName, seed: int, replication: int):
        self.scenario = scenario
        self.policy = policy
        self.window_start = scenario.warmup_s
        self.window_end = scenario.warmup_s + scenario.window_s
        centres = scenario.centres
        self.codes = [c.code for c in centres]
        self.index = {c.code: i for i, c in enumerate(centres)}
        self.streams = [self._stream(seed, replication, i) for i in range(len(centres))]
        # Seats: a flat list; own_seats[c] lists centre c's seats in queue order.
        self.seat_home: list[int] = []
        self.seat_name: list[str] = []
        self.own_seats: list[list[int]] = []
        for i, centre in enumerate(centres):
            ids = []
            for k in range(centre.seats):
                ids.append(len(self.seat_home))
                self.seat_home.append(i)
                self.seat_name.append(f"Local/{centre.code}-{k + 1}@agents/n")
            self.own_seats.append(ids)
        self.seat_by_name = {name: s for s, name in enumerate(self.seat_name)}
        self.members = [tuple(self.seat_name[s] for s in seats) for seats in self.own_seats]
        self.seat_busy = [False] * len(self.seat_home)
        self.own_busy = [0] * len(centres)  # busy seats per home centre, kept for the snapshot
        # Where each seat is lent: centres whose own queue (weight 10) it joined, and centres
        # whose aid queue (weight 0) it joined; and per centre the seats lent to it.
        self.seat_lent_own: list[set[int]] = [set() for _ in self.seat_home]
        self.seat_lent_aid: list[set[int]] = [set() for _ in self.seat_home]
        self.lent_to: list[list[tuple[int, int]]] = [[] for _ in centres]  # (penalty, seat)
        self.own_queue = {c.code: c.policy.queue for c in centres}
        self.loans_paused = [False] * len(centres)  # per donor: its minimum of free seats reached
        self.queues: list[deque[_Call]] = [deque() for _ in centres]
        self.waiting = [0] * len(centres)
        self.recent: list[deque[float]] = [deque() for _ in centres]
        self.recent_counts = [0] * len(centres)
        self.sustained: list[deque[float]] = [deque() for _ in centres]
        self.sustained_counts = [0] * len(centres)
        self.last_states: list[CentreState | None] = [None] * len(centres)
        self.state = OverflowState()
        self.outcome = Outcome([0] * len(centres), [0] * len(centres))
        self.unresolved = 0  # window callers not yet answered or gone
        self.events: list[tuple[float, int, int, object]] = []
        self.changed = True  # a caller or seat changed since the policy last ran
        self.sequence = 0

    def _stream(self, seed: int, replication: int, i: int) -> _ArrivalStream:
        sc = self.scenario
        centre = sc.centres[i]
        base = sc.base_rate(centre)
        surges = [
            (
                self.window_start + s.start_s,
                self.window_start + s.start_s + s.duration_s,
                base * s.factor,
            )
            for s in sc.surges
            if s.code == centre.code
        ]
        rng = random.Random(f"{seed}/{replication}/{centre.code}")
        return _ArrivalStream(rng, base, surges, sc.handle_time_s, sc.patience_s)

    # --- event plumbing ---------------------------------------------------------------------

    def push(self, t: float, kind: int, payload: object) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (t, self.sequence, kind, payload))

    def run(self) -> Outcome:
        for i, stream in enumerate(self.streams):
            self.push(stream.next_arrival(0.0), _ARRIVAL, i)
        if self.policy == "bridge":
            self.push(self.scenario.tick_s, _TICK, None)
        handlers: dict[int, Callable[[float, object], None]] = {
            _ARRIVAL: self.on_arrival,
            _END: self.on_end,
            _ABANDON: self.on_abandon,
            _TICK: self.on_tick,
        }
        while self.events:
            t, _, kind, payload = heapq.heappop(self.events)
            if t >= self.window_end and self.unresolved == 0:
                break
            handlers[kind](t, payload)
        # Loans still held will each need a QueueRemove when the hold time runs out.
        self.outcome.ami_actions += len(self.state.loans)
        return self.outcome

    # --- callers ----------------------------------------------------------------------------

    def on_arrival(self, t: float, payload: object) -> None:
        c = payload
        assert isinstance(c, int)
        self.changed = True
        stream = self.streams[c]
        self.push(stream.next_arrival(t), _ARRIVAL, c)
        service, patience = stream.caller_times()
        in_window = self.window_start <= t < self.window_end
        call = _Call(c, t, service, patience, in_window)
        if in_window:
            self.outcome.offered[c] += 1
            self.unresolved += 1
        self.recent[c].append(t)
        self.sustained[c].append(t)
        seat = self.idle_seat_for(call)
        if seat is None:
            self.queues[c].append(call)
            self.waiting[c] += 1
            self.push(t + patience, _ABANDON, call)
        else:
            self.answer(t, seat, call, queued=False)

    def idle_seat_for(self, call: _Call) -> int | None:
        for seat in self.own_seats[call.centre]:
            if not self.seat_busy[seat]:
                return seat
        if self.policy == "pooled":
            for seat, busy in enumerate(self.seat_busy):
                if not busy:
                    return seat
        else:
            for _, seat in self.lent_to[call.centre]:
                if not self.seat_busy[seat] and not self.loans_paused[self.seat_home[seat]]:
                    return seat
        return None

    def answer(self, t: float, seat: int, call: _Call, queued: bool) -> None:
        """`seat` takes `call` at t. With the scenario's PBX overheads the member's phone rings
        first (plus, for a queued caller, the wait for app_queue's next turn check): a caller
        whose patience ends meanwhile hangs up (app_queue counts an abandon, an early release)
        and frees the seat then; otherwise the seat is busy until connect + service + wrap-up."""
        call.done = True
        if call.window:
            self.unresolved -= 1
        self.seat_busy[seat] = True
        self.changed = True
        self.own_busy[self.seat_home[seat]] += 1
        connects = t + self.scenario.answer_delay_s
        if queued:
            connects += self.next_turn_check(t, call)
        gives_up = call.arrival + call.patience
        if gives_up < connects:
            if call.window:
                self.outcome.early_released[call.centre] += 1
            self.push(gives_up, _END, seat)  # no wrap-up after a call never connected
        else:
            self.push(connects + call.service + self.scenario.wrapup_s, _END, seat)

    def next_turn_check(self, t: float, call: _Call) -> float:
        """Seconds until a queued caller's next turn check: app_queue polls each waiting
        caller every `turn_check_s` from when it joined, so a seat freed between two checks
        waits for the next one (0.5 s on average with the 1 s poll)."""
        period = self.scenario.turn_check_s
        if period <= 0:
            return 0.0
        return period - (t - call.arrival) % period

    def on_abandon(self, t: float, payload: object) -> None:
        call = payload
        assert isinstance(call, _Call)
        if call.done:
            return  # answered before its patience ran out: a cancelled timer
        call.done = True
        self.changed = True
        self.waiting[call.centre] -= 1
        if call.window:
            self.outcome.early_released[call.centre] += 1
            self.unresolved -= 1

    # --- seats ------------------------------------------------------------------------------

    def on_end(self, t: float, payload: object) -> None:
        seat = payload
        assert isinstance(seat, int)
        self.seat_busy[seat] = False
        self.changed = True
        self.own_busy[self.seat_home[seat]] -= 1
        self.pull(t, seat)

    def head(self, c: int) -> _Call | None:
        queue = self.queues[c]
        while queue and queue[0].done:
            queue.popleft()
        return queue[0] if queue else None

    def pull(self, t: float, seat: int) -> None:
        """A free seat takes the next caller it may answer, if any."""
        chosen = self.head(self.seat_home[seat])
        if self.policy == "pooled":
            for c in range(len(self.queues)):
                call = self.head(c)
                if call is not None and (chosen is None or call.arrival < chosen.arrival):
                    chosen = call
        elif chosen is None and not self.loans_paused[self.seat_home[seat]]:
            chosen = self.longest_waiter(self.seat_lent_own[seat])
            if chosen is None:
                chosen = self.longest_waiter(self.seat_lent_aid[seat])
        if chosen is not None:
            self.queues[chosen.centre].popleft()
            self.waiting[chosen.centre] -= 1
            self.answer(t, seat, chosen, queued=True)

    def longest_waiter(self, centres: set[int]) -> _Call | None:
        chosen = None
        for c in centres:
            call = self.head(c)
            if call is not None and (chosen is None or call.arrival < chosen.arrival):
                chosen = call
        return chosen

    # --- the bridge policy --------------------------------------------------------------------

    def on_tick(self, t: float, payload: object) -> None:
        self.push(t + self.scenario.tick_s, _TICK, None)
        # Support can only start with someone waiting: with no waiter and no support the policy
        # would return an empty plan, so skip the call (the result is identical, only faster).
        if not self.state.supported and not any(self.waiting):
            self.changed = True
            return
        states = self.snapshot(t)
        if not self.changed and holds_steady(self.scenario.overflow, states, self.state, t):
            # Same inputs as the last call: decide() would return this state unchanged.
            self.state = replace(self.state, now=t)
            return
        self.changed = False
        self.apply(t, decide(self.scenario.overflow, states, self.state, t))

    def snapshot(self, t: float) -> list[CentreState]:
        horizon = t - self.scenario.rate_window_s
        long_horizon = t - self.scenario.sustained_window_s
        states = self.last_states
        for c, code in enumerate(self.codes):
            recent = self.recent[c]
            while recent and recent[0] <= horizon:
                recent.popleft()
                self.changed = True  # an arrival left the window: the rate the policy sees moved
            sustained = self.sustained[c]
            while sustained and sustained[0] <= long_horizon:
                sustained.popleft()
                self.changed = True
            waiting = self.waiting[c]
            previous = states[c]
            # Most centres are unchanged from one second to the next: reuse their state object
            # (the profile showed building them was the biggest cost of a tick).
            if (
                previous is not None
                and not waiting
                and not previous.waiting
                and previous.busy == self.own_busy[c]
                and self.recent_counts[c] == len(recent)
                and self.sustained_counts[c] == len(sustained)
            ):
                continue
            head = self.head(c) if waiting else None
            self.recent_counts[c] = len(recent)
            self.sustained_counts[c] = len(sustained)
            states[c] = CentreState(
                code=code,
                members=self.members[c],
                busy=self.own_busy[c],
                waiting=waiting,
                longest_wait_s=t - head.arrival if head else 0.0,
                arrival_rate=len(recent) / self.scenario.rate_window_s,
                sustained_arrival_rate=len(sustained) / self.scenario.sustained_window_s,
            )
        return [s for s in states if s is not None]

    def apply(self, t: float, plan: Plan) -> None:
        outcome = self.outcome
        for action in plan.actions:
            if isinstance(action, StartSupport):
                # The bridge withdraws every caller waiting in the own queue to the aid queue.
                outcome.ami_actions += self.waiting[self.index[action.centre]]
                if self.window_start <= t < self.window_end:
                    outcome.support_starts += 1
            elif isinstance(action, PauseLoans):
                outcome.ami_actions += len(action.loans)
                self.loans_paused[self.index[action.donor]] = action.paused
            elif isinstance(action, LendMember | ReturnMember):
                outcome.ami_actions += 1
                outcome.queue_adds += isinstance(action, LendMember)
                loan = action.loan
                seat = self.seat_by_name[loan.member]
                c = self.index[loan.recipient]
                into = (
                    self.seat_lent_own
                    if loan.queue == self.own_queue[loan.recipient]
                    else self.seat_lent_aid
                )
                if isinstance(action, LendMember):
                    self.loans_paused[self.seat_home[seat]] = action.paused
                    into[seat].add(c)
                    self.lent_to[c].append((loan.penalty, seat))
                    self.lent_to[c].sort()
                else:
                    into[seat].discard(c)
                    self.lent_to[c].remove((loan.penalty, seat))
        if plan.state.standing_down and not self.state.standing_down:
            outcome.stand_downs += self.window_start <= t < self.window_end
        self.state = plan.state
        if any(self.waiting):
            # Newly lent members who are idle ring a waiting caller straight away.
            for seat, busy in enumerate(self.seat_busy):
                if not busy and (self.seat_lent_own[seat] or self.seat_lent_aid[seat]):
                    self.pull(t, seat)


def simulate(scenario: Scenario, policy: PolicyName, seed: int, replication: int) -> Outcome:
    """One replication of `scenario` under `policy`; the same (seed, replication) gives the same
    callers under every policy and the same outcome on every run."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    return _Simulation(scenario, policy, seed, replication).run()
