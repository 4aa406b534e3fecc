"""Queue metric definitions: early release (排队早释), service level, ASA, waiting callers.

Pure: the input is a stream of plain caller-outcome records (no AMI types); the output is
figures per queue, per platform, per district or for everything, over any window. See
docs/metrics.md for how and why each figure is computed.

Rules that shape everything here:
- A caller counts in the window in which it JOINED the queue, whenever its outcome arrives.
- Figures are kept in per-minute buckets keyed by join minute, so adding an outcome is O(1)
  and a window sums whole minutes (a range is widened to whole minutes).
- Early release = the caller hung up while queued. A withdrawal (QueueWithdrawCaller, which
  real Asterisk also reports as QueueCallerAbandon), leaving by key, timing out and being moved
  away are diversions counted apart, never early releases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, time
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

MINUTE = 60


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # early release: hung up while queued, before anyone answered
    TIMED_OUT = "timed_out"  # the queue's own timeout sent the caller on
    WITHDRAWN = "withdrawn"  # QueueWithdrawCaller (e.g. to county support seats)
    EXIT_KEY = "exit_key"  # left by pressing a key (queue context); Asterisk sets no QUEUESTATUS
    TRANSFERRED = "transferred"  # moved away (Redirect, overflow) before being answered


@dataclass(frozen=True, slots=True)
class CallerOutcome:
    """How one caller's stay in one queue ended.

    joined_at: UNIX seconds when the caller joined the queue; wait: seconds in the queue until
    the outcome (for ANSWERED the time to answer). platform/district may be "" when unknown.
    caller_id (e.g. the channel's Uniqueid), when given, makes a replayed outcome (after an AMI
    reconnect and resync) count once: the same queue, caller_id and join minute is ignored.
    """

    queue: str
    joined_at: float
    outcome: Outcome
    wait: float
    platform: str = ""
    district: str = ""
    caller_id: str = ""

    def __post_init__(self) -> None:
        if not self.queue:
            raise ValueError("caller outcome: queue is empty")
        if not self.wait >= 0:  # also refuses NaN
            raise ValueError(f"caller outcome: wait must be >= 0 seconds, got {self.wait!r}")
        if not self.joined_at >= 0:
            raise ValueError(
                f"caller outcome: joined_at must be UNIX seconds, got {self.joined_at!r}"
            )
        if not isinstance(self.outcome, Outcome):
            raise ValueError(f"caller outcome: outcome must be an Outcome, got {self.outcome!r}")


@dataclass(frozen=True)
class QueueStay:
    """Plain facts the queue monitor saw about one caller's stay in one queue.

    Decide when the stay ends (QueueCallerLeave), not at QueueCallerAbandon: for a withdrawn
    caller Asterisk 22 sends QueueCallerAbandon *before* QUEUE_WITHDRAW_INFO and QUEUESTATUS.
    """

    answered: bool = False  # AgentConnect for this caller in this queue
    abandon_event: bool = False  # QueueCallerAbandon seen
    withdrawn: bool = False  # QueueWithdrawCaller succeeded, or QUEUE_WITHDRAW_INFO was set
    queuestatus: str = ""  # QUEUESTATUS when Queue() returned; "" when none was set
    left_to_other_context: bool = False  # QueueCallerLeave's Context is not the joining one


def classify_exit(stay: QueueStay) -> Outcome:
    """Which outcome a stay had, with real Asterisk's quirks in the order of the checks."""
    if stay.answered:
        return Outcome.ANSWERED
    # Trace 11: a withdrawn caller also gets QueueCallerAbandon; it was not an early release.
    if stay.withdrawn or stay.queuestatus == "WITHDRAW":
        return Outcome.WITHDRAWN
    # Trace 10: leaving by key moves the caller to the queue's exit context; no QUEUESTATUS.
    if stay.left_to_other_context:
        return Outcome.EXIT_KEY
    if stay.queuestatus == "TIMEOUT":
        return Outcome.TIMED_OUT
    if stay.abandon_event:
        return Outcome.ABANDONED
    # Left unanswered with no hang-up: moved away (Redirect, LEAVEEMPTY, CONTINUE ...).
    return Outcome.TRANSFERRED


@dataclass(frozen=True)
class MetricsConfig:
    short_abandon_s: float = 5.0  # an early release within this many seconds is "short"
    service_level_s: float = 20.0  # answered within this many seconds meets the service level
    timezone: str = "Asia/Shanghai"  # whose midnight starts "today"
    retention_minutes: int = 2 * 24 * 60  # buckets kept in memory: today and yesterday

    def __post_init__(self) -> None:
        if not self.short_abandon_s >= 0:
            raise ValueError(f"short_abandon_s must be >= 0, got {self.short_abandon_s!r}")
        if not self.service_level_s > 0:
            raise ValueError(f"service_level_s must be > 0, got {self.service_level_s!r}")
        if self.retention_minutes < 24 * 60:
            raise ValueError(
                f"retention_minutes must cover a day (>= 1440), got {self.retention_minutes}"
            )
        ZoneInfo(self.timezone)  # raises ZoneInfoNotFoundError naming a bad zone


@dataclass(slots=True)
class Counts:
    """One bucket's tallies; also the sum over a window."""

    offered: int = 0
    answered: int = 0
    answered_in_service_level: int = 0
    answer_wait_total: float = 0.0
    abandoned: int = 0
    abandoned_short: int = 0
    abandon_wait_total: float = 0.0
    timed_out: int = 0
    withdrawn: int = 0
    exit_key: int = 0
    transferred: int = 0

    def add(self, other: Counts) -> None:
        for name in _COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNT_FIELDS = tuple(f.name for f in fields(Counts))


class Scope(NamedTuple):
    """What figures are about: one queue, one platform, one district, or everything.

    A NamedTuple so that hashing it (four dict look-ups per outcome) stays in C.
    """

    kind: str  # "queue" | "platform" | "district" | "all"
    name: str = ""

    @staticmethod
    def queue(name: str) -> Scope:
        return Scope("queue", name)

    @staticmethod
    def platform(name: str) -> Scope:
        return Scope("platform", name)

    @staticmethod
    def district(code: str) -> Scope:
        return Scope("district", code)


ALL = Scope("all")


@dataclass(frozen=True)
class WindowFigures:
    """Figures for callers who joined in [start, end) (UNIX seconds, whole minutes)."""

    start: float
    end: float
    offered: int
    answered: int
    abandoned: int  # early releases (排队早释), short ones included
    abandoned_short: int
    timed_out: int
    withdrawn: int
    exit_key: int
    transferred: int
    early_release_rate: float | None  # abandoned / offered — the headline 排队早释率
    early_release_rate_excl_short: float | None  # without short ones, top and bottom
    service_level: float | None  # answered within T / answered
    asa: float | None  # average speed of answer, seconds
    average_abandon_wait: float | None


def figures(counts: Counts, start: float, end: float) -> WindowFigures:
    """Turn tallies into rates. A rate with nothing to divide by is None, not 0."""
    short = counts.abandoned_short
    return WindowFigures(
        start=start,
        end=end,
        offered=counts.offered,
        answered=counts.answered,
        abandoned=counts.abandoned,
        abandoned_short=counts.abandoned_short,
        timed_out=counts.timed_out,
        withdrawn=counts.withdrawn,
        exit_key=counts.exit_key,
        transferred=counts.transferred,
        early_release_rate=_ratio(counts.abandoned, counts.offered),
        early_release_rate_excl_short=_ratio(counts.abandoned - short, counts.offered - short),
        service_level=_ratio(counts.answered_in_service_level, counts.answered),
        asa=_ratio(counts.answer_wait_total, counts.answered),
        average_abandon_wait=_ratio(counts.abandon_wait_total, counts.abandoned),
    )


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


class QueueMetrics:
    """Incremental per-minute aggregation of caller outcomes, queried over any window."""

    def __init__(self, config: MetricsConfig | None = None) -> None:
        self.config = config or MetricsConfig()
        self.zone = ZoneInfo(self.config.timezone)
        self._buckets: dict[Scope, dict[int, Counts]] = {}
        self._scope_cache: dict[tuple[str, str, str], tuple[Scope, ...]] = {}
        self._newest_minute = 0
        self._pruned_below = 0
        self.dropped_late = 0  # outcomes whose join minute was already pruned
        self.duplicates_ignored = 0  # outcomes seen before (same queue, caller_id, minute)
        self._seen: dict[int, set[tuple[str, str]]] = {}  # join minute -> (queue, caller_id)

    def add(self, record: CallerOutcome) -> None:
        """Count one outcome in the bucket of its join minute, for each scope it belongs to."""
        minute = int(record.joined_at // MINUTE)
        if minute < self._pruned_below:
            self.dropped_late += 1
            return
        if record.caller_id and self._seen_before(minute, record):
            self.duplicates_ignored += 1
            return
        key = (record.queue, record.platform, record.district)
        scopes = self._scope_cache.get(key)
        if scopes is None:
            scopes = self._scope_cache[key] = self._scopes_of(record)
        for scope in scopes:
            per_minute = self._buckets.get(scope)
            if per_minute is None:
                per_minute = self._buckets[scope] = {}
            counts = per_minute.get(minute)
            if counts is None:
                counts = per_minute[minute] = Counts()
            self._tally(counts, record)
        if minute > self._newest_minute:
            self._newest_minute = minute
            self._prune(minute - self.config.retention_minutes)

    @property
    def tracked_callers(self) -> int:
        """Caller ids remembered for de-duplication (bounded by the retention)."""
        return sum(len(seen) for seen in self._seen.values())

    def _seen_before(self, minute: int, record: CallerOutcome) -> bool:
        seen = self._seen.get(minute)
        if seen is None:
            seen = self._seen[minute] = set()
        key = (record.queue, record.caller_id)
        if key in seen:
            return True
        seen.add(key)
        return False

    def _scopes_of(self, record: CallerOutcome) -> tuple[Scope, ...]:
        scopes = [Scope("queue", record.queue), ALL]
        if record.platform:
            scopes.append(Scope("platform", record.platform))
        if record.district:
            scopes.append(Scope("district", record.district))
        return tuple(scopes)

    def _tally(self, counts: Counts, record: CallerOutcome) -> None:
        counts.offered += 1
        outcome = record.outcome
        if outcome is Outcome.ANSWERED:
            counts.answered += 1
            counts.answer_wait_total += record.wait
            if record.wait <= self.config.service_level_s:
                counts.answered_in_service_level += 1
        elif outcome is Outcome.ABANDONED:
            counts.abandoned += 1
            counts.abandon_wait_total += record.wait
            if record.wait <= self.config.short_abandon_s:
                counts.abandoned_short += 1
        elif outcome is Outcome.TIMED_OUT:
            counts.timed_out += 1
        elif outcome is Outcome.WITHDRAWN:
            counts.withdrawn += 1
        elif outcome is Outcome.EXIT_KEY:
            counts.exit_key += 1
        else:
            counts.transferred += 1

    def _prune(self, below: int) -> None:
        # Runs only when the newest minute moves on, so its cost is spread over a minute.
        if below <= self._pruned_below:
            return
        per_minute_maps: list[dict[int, Any]] = [*self._buckets.values(), self._seen]
        for per_minute in per_minute_maps:
            for minute in [m for m in per_minute if m < below]:
                del per_minute[minute]
        self._pruned_below = below

    def counts(self, scope: Scope, start: float, end: float) -> Counts:
        """Tallies for callers who joined in [start, end), widened to whole minutes."""
        if not end > start:
            raise ValueError(f"window end {end!r} must be after start {start!r}")
        first, stop = int(start // MINUTE), -int(-end // MINUTE)
        total = Counts()
        per_minute = self._buckets.get(scope, {})
        if stop - first <= len(per_minute):
            for minute in range(first, stop):
                bucket = per_minute.get(minute)
                if bucket is not None:
                    total.add(bucket)
        else:
            for minute, bucket in per_minute.items():
                if first <= minute < stop:
                    total.add(bucket)
        return total

    def window(self, scope: Scope, start: float, end: float) -> WindowFigures:
        first, stop = int(start // MINUTE) * MINUTE, -int(-end // MINUTE) * MINUTE
        return figures(self.counts(scope, start, end), first, stop)

    def last(self, scope: Scope, minutes: int, now: float) -> WindowFigures:
        """The current minute and the minutes-1 before it (last 5 min, last 60 min)."""
        if minutes < 1:
            raise ValueError(f"minutes must be >= 1, got {minutes}")
        stop = (int(now // MINUTE) + 1) * MINUTE
        return self.window(scope, stop - minutes * MINUTE, stop)

    def today(self, scope: Scope, now: float) -> WindowFigures:
        """From the configured timezone's last midnight up to the end of the current minute."""
        start = local_midnight(now, self.zone)
        return self.window(scope, start, (int(now // MINUTE) + 1) * MINUTE)

    def series(
        self, scope: Scope, start: float, end: float, step_minutes: int
    ) -> list[WindowFigures]:
        """Consecutive windows of step_minutes from start (floored to a minute) to end, e.g. a
        wallboard sparkline (last hour by 5 min) or a report's hours. The last may be shorter."""
        if step_minutes < 1:
            raise ValueError(f"step_minutes must be >= 1, got {step_minutes}")
        if not end > start:
            raise ValueError(f"series end {end!r} must be after start {start!r}")
        step = step_minutes * MINUTE
        first, stop = int(start // MINUTE) * MINUTE, -int(-end // MINUTE) * MINUTE
        return [self.window(scope, t, min(t + step, stop)) for t in range(first, stop, step)]

    def buckets(self, scope: Scope) -> dict[int, Counts]:
        """The per-minute buckets (minute = UNIX seconds // 60), e.g. to persist them."""
        return dict(self._buckets.get(scope, {}))

    def scopes(self) -> list[Scope]:
        return sorted(self._buckets)


def local_midnight(now: float, zone: ZoneInfo) -> float:
    """UNIX seconds of the start of `now`'s day in `zone`."""
    local_day = datetime.fromtimestamp(now, zone).date()
    return datetime.combine(local_day, time(0), zone).timestamp()


def sum_counts(buckets: Iterable[Counts]) -> Counts:
    total = Counts()
    for bucket in buckets:
        total.add(bucket)
    return total


@dataclass(frozen=True)
class MemberState:
    """A queue member as the live model sees it (plain values, no AMI types).

    logged_in: in the queue and its device reachable; in_call: talking to someone now.
    """

    name: str
    logged_in: bool = True
    paused: bool = False
    in_call: bool = False


@dataclass(frozen=True)
class LiveQueue:
    queue: str
    waiting_since: Sequence[float] = ()  # join time (UNIX seconds) of each caller now waiting
    members: Sequence[MemberState] = field(default_factory=tuple)


@dataclass(frozen=True)
class LiveFigures:
    callers_waiting: int
    longest_wait: float  # seconds; 0 when nobody waits
    members_logged_in: int
    members_available: int  # logged in, not paused, not in a call
    members_paused: int  # logged in and paused


def live_figures(live: LiveQueue, now: float) -> LiveFigures:
    waits = [max(0.0, now - joined) for joined in live.waiting_since]
    logged_in = [m for m in live.members if m.logged_in]
    return LiveFigures(
        callers_waiting=len(waits),
        longest_wait=max(waits, default=0.0),
        members_logged_in=len(logged_in),
        members_available=sum(1 for m in logged_in if not m.paused and not m.in_call),
        members_paused=sum(1 for m in logged_in if m.paused),
    )


def combine_live(parts: Iterable[LiveFigures]) -> LiveFigures:
    """Live figures of several queues together (a platform's or a district's)."""
    items = list(parts)
    return LiveFigures(
        callers_waiting=sum(p.callers_waiting for p in items),
        longest_wait=max((p.longest_wait for p in items), default=0.0),
        members_logged_in=sum(p.members_logged_in for p in items),
        members_available=sum(p.members_available for p in items),
        members_paused=sum(p.members_paused for p in items),
    )
