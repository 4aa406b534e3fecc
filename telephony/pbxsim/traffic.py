"""Planned traffic for the emulated PBX: who calls which entry when, how long they wait and talk.

Pure and reproducible: the same profile and seed give the same plan, call for call. No
clock, no asyncio — times are seconds from the start of the plan; the runtime decides how
fast to play them (its time-scale factor), when a call is answered, and so on.

- Each `Entry` is a dialplan place callers arrive at (context + exten, e.g. `from-pstn`,
  `110370883`) with a base Poisson rate in calls per hour.
- `Surge` windows multiply an entry's rate (or every entry's) between two times, e.g. county
  370883 at 5× for 10 minutes: `Surge(5.0, start=600, duration=600, entry="q110-370883")`,
  or `parse_surge("q110-370883:5x@600+600")`. Overlapping surges multiply.
- Every call draws a patience (how long the caller waits in a queue before hanging up: an
  early release) and a handle time (how long the agent talks once answered) from the
  entry's `Distribution`s — exponential by default.
- `PressScript`s plan DTMF: a caller pressing `1` while waiting (measured from arrival), or a
  call-taker pressing a feature code such as `*8` some seconds after answering (measured from
  answer), each on a given fraction of calls.

Arrivals are exact for a piecewise-constant rate: within a constant-rate stretch the gaps are
exponential, and because a Poisson process is memoryless the draw restarts at each rate change.
Each entry has its own random streams, seeded from (seed, entry name, purpose): adding an
entry or changing a patience distribution does not move anyone else's arrival times.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

DistributionKind = Literal["exponential", "fixed", "uniform"]
Side = Literal["caller", "agent"]


class TrafficError(ValueError):
    """A traffic profile that cannot be planned; the message names the bad field."""


@dataclass(frozen=True)
class Distribution:
    """Seconds drawn per call: exponential(mean), fixed(mean) or uniform(low, high)."""

    kind: DistributionKind = "exponential"
    mean: float = 60.0
    low: float = 0.0
    high: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("exponential", "fixed", "uniform"):
            raise TrafficError(f"distribution kind {self.kind!r} is not exponential/fixed/uniform")
        if self.kind == "uniform":
            if not 0 <= self.low <= self.high:
                raise TrafficError(f"uniform distribution needs 0 <= low <= high: {self}")
        elif not (self.mean > 0 and math.isfinite(self.mean)):
            raise TrafficError(f"{self.kind} distribution needs a mean > 0 seconds: {self}")

    def sample(self, rng: random.Random) -> float:
        if self.kind == "exponential":
            return rng.expovariate(1.0 / self.mean)
        if self.kind == "fixed":
            return self.mean
        return rng.uniform(self.low, self.high)

    @property
    def expected(self) -> float:
        return (self.low + self.high) / 2 if self.kind == "uniform" else self.mean


def parse_distribution(text: str) -> Distribution:
    """`exp:60`, `fixed:30` or `uniform:10-50` (seconds)."""
    kind, colon, value = text.strip().partition(":")
    try:
        if kind in ("exp", "exponential") and colon:
            return Distribution("exponential", float(value))
        if kind == "fixed" and colon:
            return Distribution("fixed", float(value))
        if kind == "uniform" and colon:
            low, _, high = value.partition("-")
            return Distribution("uniform", low=float(low), high=float(high))
    except ValueError:
        pass
    raise TrafficError(f"distribution {text!r} is not exp:MEAN, fixed:SECONDS or uniform:LOW-HIGH")


@dataclass(frozen=True)
class PressScript:
    """DTMF that a fraction of an entry's calls press: `digits` on `side`, `delay` seconds in.

    A caller's delay counts from arrival (pressing while queued); an agent's from answer.
    """

    digits: str
    side: Side
    delay: float
    probability: float = 1.0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9*#A-D]+", self.digits):
            raise TrafficError(f"press digits {self.digits!r} are not DTMF (0-9 * # A-D)")
        if self.side not in ("caller", "agent"):
            raise TrafficError(f"press side {self.side!r} is not caller or agent")
        if self.delay < 0:
            raise TrafficError(f"press delay {self.delay} must be >= 0 seconds")
        if not 0 <= self.probability <= 1:
            raise TrafficError(f"press probability {self.probability} is not within 0..1")


@dataclass(frozen=True)
class Entry:
    name: str  # a label for reports and surges, e.g. the queue it feeds: "q110-370883"
    context: str  # where the call enters the dialplan
    exten: str
    calls_per_hour: float
    patience: Distribution = field(default_factory=lambda: Distribution("exponential", 90.0))
    handle_time: Distribution = field(default_factory=lambda: Distribution("exponential", 180.0))
    presses: tuple[PressScript, ...] = ()

    def __post_init__(self) -> None:
        if not self.name or not self.context or not self.exten:
            raise TrafficError(f"entry needs a name, context and exten: {self}")
        if not (self.calls_per_hour >= 0 and math.isfinite(self.calls_per_hour)):
            raise TrafficError(f"entry {self.name}: calls_per_hour must be >= 0")


@dataclass(frozen=True)
class Surge:
    factor: float
    start: float
    duration: float
    entry: str | None = None  # None: every entry

    def __post_init__(self) -> None:
        if not (self.factor >= 0 and math.isfinite(self.factor)):
            raise TrafficError(f"surge factor {self.factor} must be >= 0")
        if self.start < 0 or self.duration <= 0:
            raise TrafficError(f"surge needs start >= 0 and duration > 0: {self}")

    @property
    def end(self) -> float:
        return self.start + self.duration

    def applies_to(self, entry: str) -> bool:
        return self.entry is None or self.entry == entry


_SURGE = re.compile(
    r"(?:(?P<entry>[^:]+):)?(?P<factor>[0-9.]+)x@(?P<start>[0-9.]+)\+(?P<dur>[0-9.]+)"
)


def parse_surge(text: str) -> Surge:
    """`[ENTRY:]FACTORx@START+DURATION` in seconds, e.g. `q110-370883:5x@600+600`."""
    match = _SURGE.fullmatch(text.strip())
    if match is None:
        raise TrafficError(f"surge {text!r} is not [ENTRY:]FACTORx@START+DURATION")
    try:
        return Surge(
            float(match["factor"]), float(match["start"]), float(match["dur"]), match["entry"]
        )
    except ValueError:
        raise TrafficError(f"surge {text!r}: numbers do not parse") from None


@dataclass(frozen=True)
class TrafficProfile:
    entries: tuple[Entry, ...]
    duration: float  # seconds of traffic
    surges: tuple[Surge, ...] = ()

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise TrafficError(f"duration {self.duration} must be > 0 seconds")
        names = [entry.name for entry in self.entries]
        if len(set(names)) != len(names):
            raise TrafficError(f"entry names must be unique: {names}")
        for surge in self.surges:
            if surge.entry is not None and surge.entry not in names:
                raise TrafficError(f"surge names unknown entry {surge.entry!r} (known: {names})")

    def rate_at(self, entry: Entry, t: float) -> float:
        """Calls per hour for `entry` at time `t`."""
        rate = entry.calls_per_hour
        for surge in self.surges:
            if surge.applies_to(entry.name) and surge.start <= t < surge.end:
                rate *= surge.factor
        return rate

    def expected_calls(self, entry: Entry) -> float:
        """The mean number of calls `entry` gets over the whole plan."""
        total = 0.0
        for start, end in _segments(self, entry):
            total += self.rate_at(entry, start) * (end - start) / 3600.0
        return total


@dataclass(frozen=True)
class PlannedPress:
    digits: str
    side: Side
    delay: float  # seconds after arrival (caller) or after answer (agent)


@dataclass(frozen=True)
class PlannedCall:
    arrival: float  # seconds from the start of the plan
    entry: str
    context: str
    exten: str
    caller: str  # caller number (CALLERID(num))
    patience: float  # seconds the caller waits unanswered before hanging up
    handle_time: float  # seconds the agent talks once answered
    presses: tuple[PlannedPress, ...] = ()


def _segments(profile: TrafficProfile, entry: Entry) -> list[tuple[float, float]]:
    """Stretches of [0, duration) over which `entry`'s rate is constant."""
    cuts = {0.0, profile.duration}
    for surge in profile.surges:
        if surge.applies_to(entry.name):
            cuts.update(t for t in (surge.start, surge.end) if 0 < t < profile.duration)
    points = sorted(cuts)
    return list(itertools.pairwise(points))


def _caller_number(rng: random.Random) -> str:
    # A mainland mobile number shape: 1, a second digit 3-9, nine more digits.
    return "1" + str(rng.randint(3, 9)) + f"{rng.randrange(10**9):09d}"


def _entry_calls(profile: TrafficProfile, entry: Entry, seed: int) -> Iterator[PlannedCall]:
    arrivals = random.Random(f"{seed}:{entry.name}:arrivals")
    details = random.Random(f"{seed}:{entry.name}:details")
    for start, end in _segments(profile, entry):
        per_second = profile.rate_at(entry, start) / 3600.0
        if per_second <= 0:
            continue
        t = start
        while True:
            t += arrivals.expovariate(per_second)
            if t >= end:
                break  # memoryless: the next stretch draws afresh from its own start
            yield PlannedCall(
                arrival=t,
                entry=entry.name,
                context=entry.context,
                exten=entry.exten,
                caller=_caller_number(details),
                patience=entry.patience.sample(details),
                handle_time=entry.handle_time.sample(details),
                presses=tuple(
                    PlannedPress(script.digits, script.side, script.delay)
                    for script in entry.presses
                    if details.random() < script.probability
                ),
            )


def iter_calls(profile: TrafficProfile, seed: int) -> Iterator[PlannedCall]:
    """The plan's calls in arrival order, produced lazily (an hour of 13 queues is cheap)."""
    streams = [_entry_calls(profile, entry, seed) for entry in profile.entries]
    return heapq.merge(*streams, key=lambda call: (call.arrival, call.entry))


def plan_calls(profile: TrafficProfile, seed: int) -> list[PlannedCall]:
    """Every call of the plan, in arrival order."""
    return list(iter_calls(profile, seed))
