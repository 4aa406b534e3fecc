"""Per-minute history of caller outcomes in Redis, so windows and ranges survive a restart.

One hash per queue per local day: ``hb:monitor:minutes:<queue>:<YYYYMMDD>``, field
``<minute>:<tally>`` (minute = UNIX seconds // 60 of the JOIN minute, tally a field of
:class:`routing.metrics.Counts`), written with HINCRBY / HINCRBYFLOAT. Every write refreshes
the hash's EXPIRE to the retention, so keys are bounded: queues x retained days.
Only queue scope is stored; platform, district and city figures are sums of their queues.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import redis.asyncio as aioredis

from bridge import redis_keys
from routing.metrics import MINUTE, CallerOutcome, Counts, MetricsConfig, Outcome

KEY_PREFIX = redis_keys.MONITOR_MINUTES
COUNT_FIELDS = frozenset(f.name for f in fields(Counts))
FLOAT_FIELDS = frozenset({"answer_wait_total", "abandon_wait_total"})


def day_key(queue: str, day: date) -> str:
    return f"{KEY_PREFIX}:{queue}:{day:%Y%m%d}"


def tallies(record: CallerOutcome, config: MetricsConfig) -> dict[str, float]:
    """The non-zero Counts fields one outcome adds (the rules of routing.metrics)."""
    out: dict[str, float] = {"offered": 1}
    outcome = record.outcome
    if outcome is Outcome.ANSWERED:
        out["answered"] = 1
        out["answer_wait_total"] = record.wait
        if record.wait <= config.service_level_s:
            out["answered_in_service_level"] = 1
    elif outcome is Outcome.ABANDONED:
        out["abandoned"] = 1
        out["abandon_wait_total"] = record.wait
        if record.wait <= config.short_abandon_s:
            out["abandoned_short"] = 1
    else:
        out[outcome.value] = 1  # timed_out, withdrawn, exit_key, transferred
    return out


def counts_from_hash(raw: dict[bytes, bytes]) -> dict[int, Counts]:
    """A day hash -> minute -> Counts. Unknown fields are refused with their name."""
    by_minute: dict[int, Counts] = defaultdict(Counts)
    for key, value in raw.items():
        minute_text, _, name = key.decode().partition(":")
        if name not in COUNT_FIELDS or not minute_text.isdigit():
            raise ValueError(f"history hash field {key.decode()!r} is not <minute>:<tally>")
        counts = by_minute[int(minute_text)]
        number = float(value) if name in FLOAT_FIELDS else int(value)
        setattr(counts, name, getattr(counts, name) + number)
    return dict(by_minute)


class MetricsHistory:
    def __init__(self, redis: aioredis.Redis, config: MetricsConfig, retention_days: int) -> None:
        if retention_days < 1:
            raise ValueError(f"retention_days must be >= 1, got {retention_days}")
        self.redis = redis
        self.config = config
        self.zone = ZoneInfo(config.timezone)
        self.retention_seconds = (retention_days + 1) * 86400  # +1: the day still being written

    def local_day(self, seconds: float) -> date:
        return datetime.fromtimestamp(seconds, self.zone).date()

    async def write(self, records: Iterable[CallerOutcome]) -> int:
        """Add outcomes to their join minute's fields; one pipeline round trip."""
        pipe = self.redis.pipeline(transaction=False)
        keys: set[str] = set()
        written = 0
        for record in records:
            minute = int(record.joined_at // MINUTE)
            key = day_key(record.queue, self.local_day(record.joined_at))
            keys.add(key)
            for name, amount in tallies(record, self.config).items():
                if name in FLOAT_FIELDS:
                    pipe.hincrbyfloat(key, f"{minute}:{name}", amount)
                else:
                    pipe.hincrby(key, f"{minute}:{name}", int(amount))
            written += 1
        for key in keys:
            pipe.expire(key, self.retention_seconds)
        if written:
            await pipe.execute()
        return written

    async def day(self, queue: str, day: date) -> dict[int, Counts]:
        raw = await self.redis.hgetall(day_key(queue, day))
        return counts_from_hash(as_bytes(raw))

    async def minutes(self, queue: str, start: float, end: float) -> dict[int, Counts]:
        """Minute buckets of callers who joined ``queue`` in [start, end)."""
        if not end > start:
            raise ValueError(f"range end {end!r} must be after start {start!r}")
        first, stop = int(start // MINUTE), -int(-end // MINUTE)
        found: dict[int, Counts] = {}
        day, last = self.local_day(start), self.local_day(end - 1)
        while day <= last:
            for minute, counts in (await self.day(queue, day)).items():
                if first <= minute < stop:
                    found[minute] = counts
            day += timedelta(days=1)
        return found

    async def counts(self, queue: str, start: float, end: float) -> Counts:
        total = Counts()
        for counts in (await self.minutes(queue, start, end)).values():
            total.add(counts)
        return total


def as_bytes(raw: Mapping[bytes | str, bytes | str]) -> dict[bytes, bytes]:
    """The client may decode responses or not: work on bytes either way."""
    return {_b(k): _b(v) for k, v in raw.items()}


def _b(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()
