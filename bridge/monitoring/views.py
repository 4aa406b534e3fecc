"""The JSON shapes the HTTP API and the wallboard answer with (see docs/monitoring.md)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from bridge.monitoring.monitor import QueueMonitor
from bridge.monitoring.windows import Window
from routing.metrics import MINUTE, Scope, WindowFigures, figures, local_midnight

SPARK_MINUTES = 60


def iso(seconds: float, monitor: QueueMonitor) -> str:
    return datetime.fromtimestamp(seconds, monitor.metrics.zone).isoformat(timespec="seconds")


def window_json(found: WindowFigures, monitor: QueueMonitor) -> dict[str, Any]:
    data = asdict(found)
    data["start"], data["end"] = iso(found.start, monitor), iso(found.end, monitor)
    return data


def queue_json(monitor: QueueMonitor, queue: str, now: float) -> dict[str, Any]:
    info = monitor.directory.get(queue)
    scope = Scope.queue(queue)
    start = local_midnight(now, monitor.metrics.zone)
    end = (int(now // MINUTE) + 1) * MINUTE
    today = figures(monitor.metrics.today_counts(queue, now), start, end)
    return {
        "queue": queue,
        "platform": info.platform,
        "platform_name": info.platform_name,
        "district": info.district,
        "live": asdict(monitor.live_figures(queue, now)),
        "windows": {
            "5m": window_json(monitor.metrics.last(scope, 5, now), monitor),
            "1h": window_json(monitor.metrics.last(scope, 60, now), monitor),
            "today": window_json(today, monitor),
        },
    }


def queues_json(monitor: QueueMonitor, now: float) -> dict[str, Any]:
    return {
        "generated_at": iso(now, monitor),
        "queues": [queue_json(monitor, queue, now) for queue in monitor.queue_names()],
    }


async def window_figures(monitor: QueueMonitor, queue: str, window: Window) -> WindowFigures:
    """A relative window from memory; an explicit range from the Redis history."""
    if window.from_history and monitor.history is not None:
        await monitor.flush()
        counts = await monitor.history.counts(queue, window.start, window.end)
        first = int(window.start // MINUTE) * MINUTE
        return figures(counts, first, -int(-window.end // MINUTE) * MINUTE)
    return monitor.metrics.window(Scope.queue(queue), window.start, window.end)


def wallboard_json(monitor: QueueMonitor, now: float) -> dict[str, Any]:
    config = monitor.config
    stop = (int(now // MINUTE) + 1) * MINUTE
    rows = []
    for queue in monitor.queue_names():
        info = monitor.directory.get(queue)
        scope = Scope.queue(queue)
        hour = monitor.metrics.last(scope, 60, now)
        today = figures(monitor.metrics.today_counts(queue, now), 0.0, 0.0)
        live = monitor.live_figures(queue, now)
        series = monitor.metrics.series(scope, stop - SPARK_MINUTES * MINUTE, stop, 1)
        rate = today.early_release_rate
        level = today.service_level
        rows.append(
            {
                "queue": queue,
                "name": info.platform_name or queue,
                "district": info.district,
                "waiting": live.callers_waiting,
                "longest_wait": round(live.longest_wait),
                "members_available": live.members_available,
                "members_logged_in": live.members_logged_in,
                "offered_today": today.offered,
                "answered_today": today.answered,
                "early_released_today": today.abandoned,
                "early_release_rate_today": rate,
                "early_release_rate_1h": hour.early_release_rate,
                "service_level_today": level,
                "service_level_1h": hour.service_level,
                "early_release_over_target": rate is not None
                and rate > config.early_release_target,
                "service_level_under_target": level is not None
                and level < config.service_level_target,
                "spark_offered": [f.offered for f in series],
                "spark_early_released": [f.abandoned for f in series],
            }
        )
    return {
        "generated_at": iso(now, monitor),
        "targets": {
            "early_release": config.early_release_target,
            "service_level": config.service_level_target,
            "service_level_seconds": config.service_level_seconds,
        },
        "callbacks_pending": monitor.callbacks_pending,
        "queues": rows,
    }
