"""The queue monitor component: AMI events in; figures, history, call-backs and logs out.

Wiring: :meth:`QueueMonitor.attach` puts the tracker and a live model on an AMI client as
inline handlers (never dropped, applied in the reader) with a QueueStatus resync after every
login. An outcome updates the in-memory figures at once; Redis writes (history, call-backs)
are batched by a tick every ``TICK_SECONDS``, which also takes the tracker's default decisions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from prometheus_client.registry import Collector, CollectorRegistry
from redis.exceptions import RedisError

from bridge.monitoring.callbacks import CallbackEntry, CallbackList
from bridge.monitoring.config import MonitoringConfig, QueueDirectory
from bridge.monitoring.figures import MonitorMetrics
from bridge.monitoring.history import MetricsHistory
from bridge.monitoring.tracker import EVENT_NAMES, ClosedCaller, QueueTracker
from routing.metrics import (
    CallerOutcome,
    LiveFigures,
    LiveQueue,
    MemberState,
    Outcome,
    Scope,
    live_figures,
)
from telephony.ami.client import ActionResult, AMIClient
from telephony.ami.events import QueueParams
from telephony.live import LiveModel

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
HEALTH_REFRESH_SECONDS = 5.0
UNAVAILABLE_DEVICE_STATES = frozenset({4, 5})  # invalid, unavailable: not logged in
HealthProbe = Callable[[], Awaitable[dict[str, dict[str, Any]]]]
ClientSource = Callable[[], Mapping[str, AMIClient | None]]


@dataclass
class MonitorHealth:
    """The bridge's own figures for /metrics, refreshed from the components' health."""

    ami_connected: dict[str, bool] = field(default_factory=dict)
    fastagi_sessions: int | None = None
    redis_latency_s: float | None = None
    event_lag_s: float = 0.0  # worst event -> metric delay since the last scrape
    redis_errors: int = 0
    written: int = 0


class QueueMonitor:
    name = "monitor"

    def __init__(
        self,
        directory: QueueDirectory,
        config: MonitoringConfig,
        *,
        timezone: str = "Asia/Shanghai",
        redis: Callable[[], aioredis.Redis] | None = None,
        clients: ClientSource | None = None,
        health_probe: HealthProbe | None = None,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.directory = directory
        self.config = config
        self.clock = clock
        self.metrics = MonitorMetrics(config.metrics_config(timezone))
        self.tracker = QueueTracker(
            directory, self._on_closed, clock, config.decision_grace_seconds
        )
        self.live: dict[str, LiveModel] = {}  # by PBX name
        self.clients: dict[str, AMIClient] = {}
        self.health_figures = MonitorHealth()
        self._redis_source = redis
        self._client_source = clients
        self._health_probe = health_probe
        self._registry = registry  # where /metrics finds our collector while we run
        self._collector: Collector | None = None
        self.history: MetricsHistory | None = None
        self.callbacks: CallbackList | None = None
        self._unwritten: list[CallerOutcome] = []
        self._new_callbacks: list[CallbackEntry] = []
        self._task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._flush_lock = asyncio.Lock()
        self._next_summary = 0.0
        self._next_health = 0.0
        self.callbacks_pending = 0

    # --- wiring -------------------------------------------------------------------------

    def attach(self, pbx: str, client: AMIClient) -> None:
        """Follow ``client``'s events; resync from QueueStatus after every login."""
        if pbx in self.clients:
            raise ValueError(f"AMI client of PBX {pbx!r} is already attached")
        live = self.live[pbx] = LiveModel(self.clock)
        self.clients[pbx] = client
        live.attach(client)
        client.add_inline_handler(self.tracker.apply, EVENT_NAMES)
        client.add_resync_hook(self.resync)

    async def resync(self, client: AMIClient) -> None:
        def reconcile(result: ActionResult) -> None:
            queues = {item.queue for item in result.events if isinstance(item, QueueParams)}
            self.tracker.resync(result.events, queues)

        await client.list_action("QueueStatus", on_complete=reconcile)

    def _attach_new_clients(self) -> None:
        if self._client_source is None:
            return
        for pbx, client in self._client_source().items():
            if client is not None and pbx not in self.clients:
                self.attach(pbx, client)
                # Its first login (and resync) happened before we were on it: catch up now.
                if client.connected:
                    task = asyncio.get_running_loop().create_task(self._catch_up(pbx, client))
                    self._background.add(task)
                    task.add_done_callback(self._background.discard)

    async def _catch_up(self, pbx: str, client: AMIClient) -> None:
        try:
            await self.live[pbx].resync(client)
            await self.resync(client)
        except Exception:
            log.exception("queue monitor: first resync failed", extra={"pbx": pbx})

    # --- component ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._redis_source is not None:
            redis = self._redis_source()
            retention = self.config.retention_days
            self.history = MetricsHistory(redis, self.metrics.config, retention)
            self.callbacks = CallbackList(redis, self.history.retention_seconds)
            try:
                await self.load_history()
                self.callbacks_pending = await self.callbacks.pending_count()
            except (RedisError, OSError) as error:
                log.warning("queue history not loaded", extra={"error": str(error)})
        self._next_summary = self.clock() + self.config.summary_interval_seconds
        if self._registry is not None:
            from bridge.monitoring.collector import MonitorCollector  # it imports this module

            self._collector = MonitorCollector(self)
            self._registry.register(self._collector)
        self._task = asyncio.get_running_loop().create_task(self._ticks())

    async def load_history(self) -> int:
        """Merge today's and yesterday's buckets from Redis into memory (the 1h window spans
        midnight); returns how many minute buckets were loaded."""
        if self.history is None:
            return 0
        now = self.clock()
        today = self.history.local_day(now)
        loaded = 0
        for queue in self.directory.names:
            info = self.directory.get(queue)
            for day in (self.history.local_day(now - 86400), today):
                for minute, counts in (await self.history.day(queue, day)).items():
                    self.metrics.restore(queue, info.platform, info.district, minute, counts)
                    loaded += 1
        return loaded

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.tracker.expire(self.clock() + self.config.decision_grace_seconds)
        await self.flush()
        if self._registry is not None and self._collector is not None:
            self._registry.unregister(self._collector)
            self._collector = None

    async def health(self) -> dict[str, Any]:
        return {
            "status": "ok" if self._task is not None else "down",
            "callers_waiting": len(self.tracker.waiting()),
            "undecided": self.tracker.undecided,
            "closed": dict(self.tracker.stats.closed),
            "unwritten": len(self._unwritten),
            "redis_errors": self.health_figures.redis_errors,
        }

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.tick()
            except Exception:
                log.exception("queue monitor tick failed")

    async def tick(self) -> None:
        now = self.clock()
        self._attach_new_clients()
        self.tracker.expire(now)
        await self.flush()
        if now >= self._next_summary:
            self._next_summary = now + self.config.summary_interval_seconds
            self.log_summary(now)
        if self._health_probe is not None and now >= self._next_health:
            self._next_health = now + HEALTH_REFRESH_SECONDS
            await self.refresh_health()

    # --- outcomes -----------------------------------------------------------------------

    def _on_closed(self, closed: ClosedCaller) -> None:
        record = closed.record
        self.metrics.add(record)
        self._unwritten.append(record)
        self.health_figures.event_lag_s = max(self.health_figures.event_lag_s, closed.lag)
        if record.outcome is not Outcome.ABANDONED:
            return
        log.info(
            "early release",
            extra={
                "queue": record.queue,
                "position": closed.position,
                "original_position": closed.original_position,
                "wait": record.wait,
                "caller": "" if closed.withheld else closed.number,
                "district": record.district,
                "platform": record.platform,
                "short": record.wait <= self.metrics.config.short_abandon_s,
            },
        )
        if not closed.withheld:
            self._new_callbacks.append(
                CallbackEntry(
                    id=0,
                    number=closed.number,
                    name=closed.name,
                    queue=record.queue,
                    platform=record.platform,
                    district=record.district,
                    wait=record.wait,
                    joined_at=record.joined_at,
                    released_at=closed.closed_at,
                )
            )
            self.callbacks_pending += 1

    async def flush(self) -> None:
        """Write buffered outcomes and call-backs to Redis; kept for the next tick on error."""
        if self.history is None or self.callbacks is None:
            self._unwritten.clear()
            return
        async with self._flush_lock:
            records, self._unwritten = self._unwritten, []
            entries, self._new_callbacks = self._new_callbacks, []
            try:
                self.health_figures.written += await self.history.write(records)
                records = []
                await self.callbacks.add_many(entries)
            except (RedisError, OSError) as error:
                self.health_figures.redis_errors += 1
                self._unwritten[:0] = records
                self._new_callbacks[:0] = entries
                log.warning("queue history write failed; retrying", extra={"error": str(error)})

    # --- figures ------------------------------------------------------------------------

    def live_figures(self, queue: str, now: float) -> LiveFigures:
        for live in self.live.values():
            found = live.queues.get(queue)
            if found is not None:
                members = [
                    MemberState(
                        name=m.name or m.interface,
                        logged_in=m.status not in UNAVAILABLE_DEVICE_STATES,
                        paused=m.paused,
                        in_call=m.in_call or m.agent_leg is not None,
                    )
                    for m in found.members.values()
                ]
                waiting = [c.joined_at for c in found.waiting()]
                return live_figures(LiveQueue(queue, waiting, members), now)
        waiting = [c.joined_at for c in self.tracker.waiting(queue)]
        return live_figures(LiveQueue(queue, waiting), now)

    def queue_names(self) -> list[str]:
        seen = dict.fromkeys(self.directory.names)
        seen.update(dict.fromkeys(self.metrics.queues()))
        for live in self.live.values():
            seen.update(dict.fromkeys(live.queues))
        return list(seen)

    def log_summary(self, now: float) -> None:
        queues = {}
        for queue in self.queue_names():
            hour = self.metrics.last(Scope.queue(queue), 60, now)
            live = self.live_figures(queue, now)
            queues[queue] = {
                "waiting": live.callers_waiting,
                "longest_wait": round(live.longest_wait, 1),
                "offered_1h": hour.offered,
                "early_released_1h": hour.abandoned,
                "early_release_rate_1h": hour.early_release_rate,
                "service_level_1h": hour.service_level,
            }
        log.info(
            "queue summary",
            extra={"queues": queues, "callbacks_pending": self.callbacks_pending},
        )

    async def refresh_health(self) -> None:
        if self._health_probe is None:
            return
        reports = await self._health_probe()
        figures = self.health_figures
        figures.ami_connected = {
            name.removeprefix("ami:"): report.get("status") == "ok"
            for name, report in reports.items()
            if name.startswith("ami:")
        }
        fastagi = reports.get("fastagi", {})
        figures.fastagi_sessions = fastagi.get("active_sessions")
        latency_ms = reports.get("redis", {}).get("latency_ms")
        figures.redis_latency_s = None if latency_ms is None else latency_ms / 1000
