"""The in-memory figures: routing's QueueMetrics plus what a restart and a scrape need.

Two additions over :class:`routing.metrics.QueueMetrics` (whose definitions are used as they
are): ``restore`` merges whole per-minute buckets read back from Redis (replaying millions of
outcomes one by one would take a minute at start-up), and ``today_counts`` keeps each queue's
tallies since local midnight as a running total, so a scrape reads 13 totals instead of
summing 13 x 1440 minute buckets.
"""

from __future__ import annotations

from routing.metrics import (
    MINUTE,
    CallerOutcome,
    Counts,
    MetricsConfig,
    Outcome,
    QueueMetrics,
    local_midnight,
)

DAY = 24 * 60 * MINUTE


class MonitorMetrics(QueueMetrics):
    def __init__(self, config: MetricsConfig | None = None) -> None:
        super().__init__(config)
        self._day_start = 0.0
        self._day_end = 0.0
        self._today: dict[str, Counts] = {}

    def add(self, record: CallerOutcome) -> None:
        super().add(record)
        if self._day_start <= record.joined_at < self._day_end:
            counts = self._today.get(record.queue)
            if counts is None:
                counts = self._today[record.queue] = Counts()
            self._tally(counts, record)

    def restore(
        self, queue: str, platform: str, district: str, minute: int, counts: Counts
    ) -> None:
        """Merge one minute's tallies of one queue (from the Redis history)."""
        if minute < self._pruned_below:
            return
        probe = CallerOutcome(queue, minute * MINUTE, Outcome.ANSWERED, 0.0, platform, district)
        for scope in self._scopes_of(probe):
            per_minute = self._buckets.setdefault(scope, {})
            per_minute.setdefault(minute, Counts()).add(counts)
        self._day_end = 0.0  # today's totals are rebuilt on the next read

    def today_counts(self, queue: str, now: float) -> Counts:
        """Tallies of callers who joined ``queue`` since local midnight."""
        if not self._day_start <= now < self._day_end:
            self._start_day(now)
        return self._today.get(queue) or Counts()

    def _start_day(self, now: float) -> None:
        start = local_midnight(now, self.zone)
        self._day_start, self._day_end = start, local_midnight(start + DAY + 3600, self.zone)
        self._today = {}
        for scope in self.scopes():
            if scope.kind == "queue":
                self._today[scope.name] = self.counts(scope, start, self._day_end)

    def queues(self) -> list[str]:
        return [scope.name for scope in self.scopes() if scope.kind == "queue"]
