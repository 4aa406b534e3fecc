"""Surge overflow policy for the 110 centres: queue states and configuration in, a plan out.

Pure and deterministic: no I/O, no clock, no asyncio. The caller (the bridge's overflow
controller, or the surge simulation) passes a snapshot of every centre's queue, the time, and the
state the previous plan returned; it applies the new plan's actions and keeps its state.

Mechanism — *mutual aid while a surge lasts* (docs/overflow.md has it in Asterisk terms):
- A centre whose callers wait with no own seat free, under real pressure, becomes *supported*
  at once; it stays supported until its pressure has stayed low for `hold_s` (hysteresis).
- While any centre is supported there is an aid group. Every centre that is not surging and has
  more free seats than it keeps back becomes a *donor*, and stays one while the group lasts.
- Each donor lends a fixed set of members (its last `max_lend` in queue order), at penalty 1
  (neighbour), 2 (the city centre) or 3 (any other): into a supported non-donor's aid queue
  (weight 0: donors' own callers first, then the surged ones), and into other donors' own queues
  (weight 10, like its own: mutual aid) — every donor's for the whole group with `mutual_aid`,
  otherwise only a donor's whose caller has waited with no own seat free (fewer AMI actions).
- A supported centre that is not a donor has its routing flag on: new calls for the district go to
  its aid queue, where the lent members are (StartSupport / StopSupport).
- Every donor keeps its own minimum of free seats (trunk reservation): while it has no more than
  `min_free_seats` seats free, its lent members are paused in the other centres' queues
  (PauseLoans), so they answer only their own centre until seats free up again.
- When calls outnumber the seats of every centre together (every county surging at once), a lent
  seat only moves the surge onto its donor: the group stands down at once, returning every loan,
  until the system load has stayed low for `stand_down_hold_s` (hysteresis).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

CentreLevel = Literal["city", "county"]

# Penalties of lent members: Asterisk rings lower penalties first, which is how "neighbouring
# districts first, then the city centre" reaches the PBX.
PENALTY_NEIGHBOUR = 1
PENALTY_CITY = 2
PENALTY_OTHER = 3

# A surging centre counts as calm again once its sustained load fits in its own seats.
_CALM_LOAD = 1.0


@dataclass(frozen=True)
class CentrePolicy:
    """What the operator configures per centre."""

    code: str
    level: CentreLevel
    neighbours: tuple[str, ...] = ()
    min_free_seats: int = 1  # free seats a donor keeps for its own callers before lending any
    max_lend: int = 4  # cap on members this centre lends at once
    queue: str = ""  # its own Asterisk queue; default q110-<code>
    aid_queue: str = ""  # the queue support members join for it; default q110-aid-<code>

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("centre code must not be empty")
        if self.level not in ("city", "county"):
            raise ValueError(
                f"centre {self.code}: level must be 'city' or 'county', got {self.level!r}"
            )
        if self.min_free_seats < 0:
            raise ValueError(
                f"centre {self.code}: min_free_seats must be >= 0, got {self.min_free_seats}"
            )
        if self.max_lend < 0:
            raise ValueError(f"centre {self.code}: max_lend must be >= 0, got {self.max_lend}")
        if self.code in self.neighbours:
            raise ValueError(f"centre {self.code}: lists itself as a neighbour")
        if not self.queue:
            object.__setattr__(self, "queue", f"q110-{self.code}")
        if not self.aid_queue:
            object.__setattr__(self, "aid_queue", f"q110-aid-{self.code}")


@dataclass(frozen=True)
class OverflowConfig:
    """Thresholds of the policy and the centres it may move seats between."""

    centres: tuple[CentrePolicy, ...]
    handle_time_s: float = 90.0  # mean handle time: turns an arrival rate into seats of work
    activate_pressure: float = 1.5  # pressure at which a waiting caller starts support
    activate_wait_s: float = 20.0  # a caller waiting this long starts support whatever the rate
    release_pressure: float = 0.8  # below this with nobody waiting counts as low
    hold_s: float = 180.0  # how long pressure must stay low before support is released
    surge_load: float = 1.5  # sustained load (share of own seats) at which a centre surges
    # System load = recent arrivals at every centre × handle time / every seat. At or above
    # `stand_down_load` there is no spare capacity anywhere to lend: the group stands down (all
    # loans returned) until the system load has stayed below `resume_load` for
    # `stand_down_hold_s`.
    stand_down_load: float = 1.5
    resume_load: float = 1.0
    stand_down_hold_s: float = 30.0
    # True: donors also lend into each other's own queues for as long as the group lasts (mutual
    # aid between donors). False: into supported centres' aid queues, and into a donor's own
    # queue only once one of its callers waits with no own seat free (same figures in the
    # Jining surge, about 40 % fewer AMI actions: docs/overflow.md).
    mutual_aid: bool = False

    def __post_init__(self) -> None:
        codes = [c.code for c in self.centres]
        if not codes:
            raise ValueError("the overflow configuration needs at least one centre")
        if len(set(codes)) != len(codes):
            raise ValueError(f"centre codes must be unique, got {codes}")
        for centre in self.centres:
            unknown = [n for n in centre.neighbours if n not in codes]
            if unknown:
                raise ValueError(f"centre {centre.code}: unknown neighbours {unknown}")
        for name in (
            "handle_time_s",
            "activate_pressure",
            "activate_wait_s",
            "hold_s",
            "surge_load",
            "stand_down_load",
            "resume_load",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not (self.stand_down_hold_s >= 0 and math.isfinite(self.stand_down_hold_s)):
            raise ValueError(f"stand_down_hold_s must be >= 0, got {self.stand_down_hold_s!r}")
        if self.resume_load >= self.stand_down_load:
            raise ValueError(
                "resume_load must be below stand_down_load (got "
                f"{self.resume_load} and {self.stand_down_load}): that gap is the hysteresis"
            )
        if not isinstance(self.mutual_aid, bool):
            raise ValueError(f"mutual_aid must be true or false, got {self.mutual_aid!r}")
        if self.surge_load <= _CALM_LOAD:
            raise ValueError(f"surge_load must be above {_CALM_LOAD}, got {self.surge_load!r}")
        if not 0 <= self.release_pressure < self.activate_pressure:
            raise ValueError(
                "release_pressure must be >= 0 and below activate_pressure (got "
                f"{self.release_pressure} and {self.activate_pressure}): that gap is the hysteresis"
            )

    @cached_property
    def by_code(self) -> dict[str, CentrePolicy]:
        return {c.code: c for c in self.centres}


@dataclass(frozen=True)
class CentreState:
    """One centre's queue as the live model sees it at one instant."""

    code: str
    members: tuple[str, ...]  # own logged-in members (interfaces), in queue order
    busy: int  # own members on a call (their own centre's or a lent one)
    waiting: int  # callers of this district waiting (own queue and aid queue)
    longest_wait_s: float  # 0 when nobody waits
    arrival_rate: float  # calls per second over the recent window (about a minute)
    sustained_arrival_rate: float  # calls per second over a longer window (about five minutes)

    def __post_init__(self) -> None:
        if not 0 <= self.busy <= len(self.members):
            raise ValueError(
                f"centre {self.code}: busy={self.busy} outside 0..{len(self.members)} members"
            )
        if (
            min(self.waiting, self.longest_wait_s, self.arrival_rate, self.sustained_arrival_rate)
            < 0
        ):
            raise ValueError(
                f"centre {self.code}: waiting, longest_wait_s, arrival_rate and "
                "sustained_arrival_rate must be >= 0"
            )

    @property
    def available(self) -> int:
        return len(self.members) - self.busy


@dataclass(frozen=True)
class Figures:
    """The numbers a decision was taken on; every action carries them so it can be explained."""

    code: str
    pressure: float  # (arrival_rate × handle time + waiting) / seats
    sustained_load: float  # sustained arrival rate × handle time / seats
    waiting: int
    longest_wait_s: float
    available: int
    seats: int
    arrival_rate: float

    def describe(self) -> str:
        return (
            f"{self.code}: pressure {self.pressure:.2f} "
            f"(sustained load {self.sustained_load:.2f}), "
            f"{self.waiting} waiting (longest {self.longest_wait_s:.0f} s), "
            f"{self.available}/{self.seats} seats free, {self.arrival_rate * 3600:.0f} calls/h"
        )


def sustained_load(state: CentreState, handle_time_s: float) -> float:
    """The share of its own seats the centre's sustained arrival rate keeps busy."""
    seats = len(state.members)
    demand = state.sustained_arrival_rate * handle_time_s
    if seats == 0:
        return math.inf if demand > 0 else 0.0
    return demand / seats


def system_load(states: Iterable[CentreState], handle_time_s: float) -> float:
    """The share of all seats that every centre's recent arrivals keep busy. Summed over a dozen
    centres it is steady enough to act on within a minute, where one 3-seat centre's rate is not
    (about one call a minute at base load)."""
    seats = 0
    demand = 0.0
    for state in states:
        seats += len(state.members)
        demand += state.arrival_rate * handle_time_s
    if seats == 0:
        return math.inf if demand > 0 else 0.0
    return demand / seats


def pressure_of(state: CentreState, handle_time_s: float) -> float:
    """The work asked of a centre, in seats — arrivals turned into busy seats plus the callers
    already queued — per own seat. At 1 the centre only just keeps up."""
    seats = len(state.members)
    demand = state.arrival_rate * handle_time_s + state.waiting
    if seats == 0:
        return math.inf if demand > 0 else 0.0
    return demand / seats


# --- actions: each is one direct AMI/AGI step for the bridge ------------------------------------


@dataclass(frozen=True)
class StartSupport:
    """Routing flag on: the AGI route sends new calls for the district to `aid_queue` (district kept
    on the call), and callers waiting in `queue` are withdrawn there (QueueWithdrawCaller)."""

    centre: str
    queue: str
    aid_queue: str
    reason: str
    figures: Figures

    def explain(self) -> str:
        return (
            f"start support for {self.centre}: new calls to {self.aid_queue}, waiting callers "
            f"withdrawn from {self.queue}; because {self.reason}; {self.figures.describe()}"
        )


@dataclass(frozen=True)
class StopSupport:
    """Routing flag off: new calls for the district go to its own queue again."""

    centre: str
    reason: str
    figures: Figures

    def explain(self) -> str:
        return f"stop support for {self.centre}: {self.reason}; {self.figures.describe()}"


@dataclass(frozen=True)
class Loan:
    """Member `member` of centre `donor` sits in `queue` (serving `recipient`) at `penalty`."""

    member: str
    donor: str
    recipient: str
    queue: str
    penalty: int


@dataclass(frozen=True)
class LendMember:
    """AMI QueueAdd Queue=loan.queue Interface=loan.member Penalty=loan.penalty Paused=paused."""

    loan: Loan
    paused: bool
    donor_figures: Figures
    recipient_figures: Figures

    def explain(self) -> str:
        return (
            f"lend {self.loan.member} of {self.loan.donor} to {self.loan.queue} at penalty "
            f"{self.loan.penalty}; donor {self.donor_figures.describe()}; recipient "
            f"{self.recipient_figures.describe()}"
        )


@dataclass(frozen=True)
class ReturnMember:
    """AMI QueueRemove Queue=loan.queue Interface=loan.member (a call in progress goes on)."""

    loan: Loan
    reason: str

    def explain(self) -> str:
        return (
            f"return {self.loan.member} from {self.loan.queue} to {self.loan.donor}: {self.reason}"
        )


@dataclass(frozen=True)
class PauseLoans:
    """AMI QueuePause Queue=loan.queue Interface=loan.member Paused=`paused` for each loan: the
    donor's lent members stop (or resume) answering other centres' callers; their own queue is
    untouched."""

    donor: str
    paused: bool
    loans: tuple[Loan, ...]
    figures: Figures

    def explain(self) -> str:
        verb = "pause" if self.paused else "resume"
        why = (
            "it is down to its minimum of free seats"
            if self.paused
            else "it has more free seats than its minimum again"
        )
        return f"{verb} {len(self.loans)} loans of {self.donor}: {why}; {self.figures.describe()}"


Action = StartSupport | StopSupport | LendMember | ReturnMember | PauseLoans


@dataclass(frozen=True)
class Support:
    """A supported centre with its hysteresis clock."""

    since: float
    low_since: float | None = None  # first tick of the current low stretch


@dataclass(frozen=True)
class OverflowState:
    """What the policy remembers between ticks; start with `OverflowState()`."""

    now: float | None = None  # time of the tick that produced this state
    supported: Mapping[str, Support] = field(default_factory=dict)
    surging: frozenset[str] = frozenset()  # over their own capacity for minutes: lend nothing
    donors: frozenset[str] = frozenset()
    routed: frozenset[str] = frozenset()  # routing flag on (supported and not donors)
    lent: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # donor → members lent
    loans: frozenset[Loan] = frozenset()
    paused: frozenset[str] = frozenset()  # donors at their minimum of free seats
    standing_down: bool = False  # the system load leaves nothing to lend: no loans at all
    calm_since: float | None = None  # standing down: first tick of the current calm stretch


@dataclass(frozen=True)
class Plan:
    now: float
    actions: tuple[Action, ...]
    state: OverflowState
    notes: tuple[str, ...] = ()

    def explain(self) -> list[str]:
        return [a.explain() for a in self.actions] + list(self.notes)


# --- the decision --------------------------------------------------------------------------------


def decide(
    config: OverflowConfig,
    centres: Iterable[CentreState],
    previous: OverflowState,
    now: float,
) -> Plan:
    """One tick of the policy: who is supported, who lends, which members sit in which queue."""
    states = {s.code: s for s in centres}
    missing = [c.code for c in config.centres if c.code not in states]
    unknown = [code for code in states if code not in config.by_code]
    if missing or unknown:
        raise ValueError(
            f"queue states must match the configured centres: missing {missing}, unknown {unknown}"
        )
    if previous.now is not None and now < previous.now:
        raise ValueError(f"time went backwards: {now} after {previous.now}")
    # Plain floats first; Figures objects are built only for centres an action names, because the
    # simulation calls this every simulated second.
    pressure = {code: pressure_of(s, config.handle_time_s) for code, s in states.items()}
    sustained = {code: sustained_load(s, config.handle_time_s) for code, s in states.items()}

    def figures(code: str) -> Figures:
        s = states[code]
        return Figures(
            code,
            pressure[code],
            sustained[code],
            s.waiting,
            s.longest_wait_s,
            s.available,
            len(s.members),
            s.arrival_rate,
        )

    # Without mutual aid a donor's own callers are helped only once it is supported, so a donor
    # is supported at its first caller waiting with no own seat free (its seats serve others).
    lending = frozenset() if config.mutual_aid else previous.donors
    supported, started, ended = _update_support(
        config, states, pressure, previous.supported, lending, now
    )
    surging = _surging(config, sustained, previous.surging) if supported else frozenset()
    load = system_load(states.values(), config.handle_time_s)
    standing_down, calm_since = (
        _stand_down(config, load, previous, now) if supported else (False, None)
    )
    donors = _choose_donors(config, states, supported, surging, previous.donors)
    # Routed centres (routing flag on) are helped through their aid queue. A supported centre
    # that has seats to spare lends instead (a donor), and is helped in its own queue.
    routed = frozenset(supported) - donors
    lent = (
        {}
        if standing_down
        else {
            d: _lent_members(config.by_code[d].max_lend, states[d].members) for d in sorted(donors)
        }
    )

    actions: list[Action] = []
    for code in sorted(routed - previous.routed):
        reason = started.get(code) or "it now has no seat to spare, so it stops lending"
        policy = config.by_code[code]
        actions.append(StartSupport(code, policy.queue, policy.aid_queue, reason, figures(code)))
    for code in sorted(previous.routed - routed):
        reason = ended.get(code) or "it has seats to spare again and lends them (mutual aid)"
        actions.append(StopSupport(code, reason, figures(code)))

    same_help = config.mutual_aid or supported.keys() == previous.supported.keys()
    if (
        donors == previous.donors
        and routed == previous.routed
        and lent == previous.lent
        and same_help
    ):
        wanted = previous.loans  # same group, same members: same loans, nothing to send
    else:
        helped = donors if config.mutual_aid else _helped_donors(donors, supported, previous)
        wanted = _loans(config, lent, routed | helped, donors)
        why_not = _stand_down_reason(config, load) if standing_down else ""
        for loan in sorted(previous.loans - wanted, key=_loan_key):
            reason = why_not or _return_reason(loan, supported, donors, surging)
            actions.append(ReturnMember(loan, reason))
    # With a minimum of 0 there is nothing to pause for: a lent member is idle only when its
    # centre has a free seat and nobody of its own waiting.
    paused = frozenset(
        d
        for d in donors
        if config.by_code[d].min_free_seats
        and states[d].available - states[d].waiting <= config.by_code[d].min_free_seats
    )
    if wanted is not previous.loans:
        for loan in sorted(wanted - previous.loans, key=_loan_key):
            actions.append(
                LendMember(loan, loan.donor in paused, figures(loan.donor), figures(loan.recipient))
            )
    # Loans that stay follow their donor's reservation; new ones were added in the right state.
    kept = previous.loans & wanted
    for donor in sorted((paused ^ previous.paused) & donors):
        loans = tuple(sorted((loan for loan in kept if loan.donor == donor), key=_loan_key))
        if loans:
            actions.append(PauseLoans(donor, donor in paused, loans, figures(donor)))

    state = OverflowState(
        now, supported, surging, donors, routed, lent, wanted, paused, standing_down, calm_since
    )
    return Plan(now=now, actions=tuple(actions), state=state, notes=_notes(config, state))


def _notes(config: OverflowConfig, state: OverflowState) -> tuple[str, ...]:
    """Why nobody lends, when nobody does. Notes repeat every tick while they hold (the bridge
    audits each new one), so they carry no live figures."""
    if state.standing_down:
        return (
            "standing down: every centre together has more calls than seats, lending would only "
            f"spread the surge onto the donors; no loans until the system load stays under "
            f"{config.resume_load} for {config.stand_down_hold_s:.0f} s",
        )
    if state.supported and not any(state.lent.values()):
        return (
            "no centre has seats to spare: supported centres keep their own seats only "
            f"(supported: {', '.join(sorted(state.supported))}; "
            f"surging: {', '.join(sorted(state.surging)) or '-'})",
        )
    return ()


def holds_steady(
    config: OverflowConfig, centres: Iterable[CentreState], state: OverflowState, now: float
) -> bool:
    """Whether `decide(config, centres, state, now)` would send nothing and change nothing but
    `now`. Valid only when `centres` equal, longest waits aside, the queue states of the call that
    produced `state`: with the same inputs a plan's state is a fixed point of `decide`, and only
    the clock can move it — a caller's wait reaching `activate_wait_s`, or a low stretch reaching
    `hold_s`. A caller that knows nothing happened since the last tick may then skip the call
    (the simulation does; it is most of a replication's run time)."""
    for centre in centres:
        support = state.supported.get(centre.code)
        if support is None:
            if (
                centre.waiting
                and centre.busy == len(centre.members)
                and centre.longest_wait_s >= config.activate_wait_s
            ):
                return False
        elif support.low_since is not None and now - support.low_since >= config.hold_s:
            return False
    calm = state.calm_since
    return calm is None or now - calm < config.stand_down_hold_s


def _update_support(
    config: OverflowConfig,
    states: Mapping[str, CentreState],
    pressure: Mapping[str, float],
    previous: Mapping[str, Support],
    lending: frozenset[str],
    now: float,
) -> tuple[dict[str, Support], dict[str, str], dict[str, str]]:
    """Hysteresis per centre: on at the first tick that shows pressure, off only after `hold_s`
    of low pressure in a row. Returns the supported centres and why some started or ended."""
    supported: dict[str, Support] = {}
    started: dict[str, str] = {}
    ended: dict[str, str] = {}
    for code, state in states.items():
        current = previous.get(code)
        if current is None:
            reason = _activation_reason(config, state, pressure[code], code in lending)
            if reason:
                supported[code] = Support(since=now)
                started[code] = reason
        elif state.waiting or pressure[code] >= config.release_pressure:
            # Not low: the hold clock starts again from zero.
            supported[code] = current if current.low_since is None else Support(current.since)
        elif current.low_since is not None and now - current.low_since >= config.hold_s:
            ended[code] = (
                f"pressure low (< {config.release_pressure}, nobody waiting) for "
                f"{now - current.low_since:.0f} s"
            )
        elif current.low_since is None:
            supported[code] = Support(current.since, low_since=now)
        else:
            supported[code] = current
    return supported, started, ended


def _activation_reason(
    config: OverflowConfig, state: CentreState, pressure: float, lending: bool
) -> str:
    """Why support should start now, or '' if not. Someone must be waiting with no own seat free
    (what callers feel); the rate or the wait says it is more than a blip — unless the centre
    lends its seats to others: then the wait may be the others' doing, and it is helped at once."""
    if state.waiting == 0 or state.busy < len(state.members):
        return ""
    if lending:
        return f"{state.waiting} waiting with no seat free while it lends its seats"
    if pressure >= config.activate_pressure:
        return f"pressure {pressure:.2f} >= {config.activate_pressure} with no seat free"
    if state.longest_wait_s >= config.activate_wait_s:
        return f"a caller has waited {state.longest_wait_s:.0f} s >= {config.activate_wait_s:.0f} s"
    return ""


def _surging(
    config: OverflowConfig, sustained: Mapping[str, float], previous: frozenset[str]
) -> frozenset[str]:
    """Centres carrying more than their seats over minutes. Hysteresis: in at `surge_load`, out
    only once its own seats carry the load again. Judged on the sustained arrival rate: a 3-seat
    centre sees about one call a minute, so the recent rate alone is mostly noise."""
    return frozenset(
        code
        for code, load in sustained.items()
        if load >= config.surge_load or (code in previous and load >= _CALM_LOAD)
    )


def _stand_down(
    config: OverflowConfig, load: float, previous: OverflowState, now: float
) -> tuple[bool, float | None]:
    """Whether the group stands down, and since when it has been calm. When calls outnumber the
    seats of every centre together (every county surging at once), a lent seat only moves the
    surge onto its donor: the donors' own callers would wait for seats that serve others. On at
    the first tick the system load shows it; off only after `stand_down_hold_s` below
    `resume_load` in a row (hysteresis: a noisy minute cannot make loans come and go)."""
    if not previous.standing_down:
        return load >= config.stand_down_load, None
    if load >= config.resume_load:
        return True, None  # not calm: the hold clock starts again from zero
    since = now if previous.calm_since is None else previous.calm_since
    if now - since >= config.stand_down_hold_s:
        return False, None
    return True, since


def _stand_down_reason(config: OverflowConfig, load: float) -> str:
    return (
        f"standing down: system load {load:.2f} >= {config.stand_down_load} (every centre's recent "
        "calls x handle time / every seat); a lent seat would only move the surge onto its donor"
    )


def _choose_donors(
    config: OverflowConfig,
    states: Mapping[str, CentreState],
    supported: Mapping[str, Support],
    surging: frozenset[str],
    previous: frozenset[str],
) -> frozenset[str]:
    """Donors exist while any centre is supported. A centre that is not surging joins when it has
    more free seats than it keeps back, and stays while the group lasts or until it surges: its
    lent members answer its own callers first anyway, so they are not pulled back and forth as
    its seats fill and empty."""
    if not supported:
        return frozenset()
    donors = set()
    for centre in config.centres:
        code = centre.code
        if code in surging:
            continue
        state = states[code]
        if code in previous or state.available - state.waiting > centre.min_free_seats:
            donors.add(code)
    return frozenset(donors)


def _helped_donors(
    donors: frozenset[str], supported: Mapping[str, Support], previous: OverflowState
) -> frozenset[str]:
    """Without mutual aid, the donors helped in their own queue: those supported now, and those
    helped before while they still lend. Help stays once given (until the group ends or stands
    down): taking it back when the donor's support ends would only re-add it at its next busy
    minute, two QueueAdds per member for nothing."""
    before = {loan.recipient for loan in previous.loans if loan.recipient in previous.donors}
    return donors & (frozenset(supported) | before)


def _lent_members(max_lend: int, members: tuple[str, ...]) -> tuple[str, ...]:
    """The last `max_lend` members in queue order, always the same ones: with strategy `linear`
    own callers ring the first members first, which keeps the lent ones free for longer."""
    return members[max(0, len(members) - max_lend) :]


def _loans(
    config: OverflowConfig,
    lent: Mapping[str, tuple[str, ...]],
    group: frozenset[str],
    donors: frozenset[str],
) -> frozenset[Loan]:
    """Every donor's lent members join every other group centre: a donor's own queue (mutual aid
    between donors) or a supported centre's aid queue."""
    loans: set[Loan] = set()
    for donor, members in lent.items():
        for recipient in group - {donor}:
            policy = config.by_code[recipient]
            queue = policy.queue if recipient in donors else policy.aid_queue
            penalty = _penalty(config, donor, recipient)
            loans.update(Loan(m, donor, recipient, queue, penalty) for m in members)
    return frozenset(loans)


def _penalty(config: OverflowConfig, donor: str, recipient: str) -> int:
    donor_policy = config.by_code[donor]
    if recipient in donor_policy.neighbours or donor in config.by_code[recipient].neighbours:
        return PENALTY_NEIGHBOUR
    if donor_policy.level == "city":
        return PENALTY_CITY
    return PENALTY_OTHER


def _return_reason(
    loan: Loan,
    supported: Mapping[str, Support],
    donors: frozenset[str],
    surging: frozenset[str],
) -> str:
    if not supported:
        return "no centre needs support any more"
    if loan.donor in surging:
        return f"{loan.donor} is surging itself and keeps its seats"
    if loan.donor not in donors:
        return f"{loan.donor} no longer lends"
    if loan.recipient in supported or loan.recipient in donors:
        return f"{loan.recipient} changed role, the member moves to its other queue"
    return f"{loan.recipient} left the aid group"


def _loan_key(loan: Loan) -> tuple[str, str, str, str]:
    return (loan.recipient, loan.queue, loan.donor, loan.member)
