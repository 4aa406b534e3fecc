"""Prometheus: a custom collector that reads the monitor's in-memory figures at scrape time.

Counters ``hotline_queue_*_total`` count callers who joined today (local day of the configured
timezone) and so restart at midnight, which Prometheus' rate() treats as a counter reset; they
are loaded back from Redis after a bridge restart. Ratios with nothing to divide by are left
out rather than reported as 0.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bridge.monitoring.monitor import QueueMonitor
from routing.metrics import Counts, Scope, WindowFigures, figures

QUEUE_LABELS = ["queue", "platform", "district"]
WINDOW_LABELS = [*QUEUE_LABELS, "window"]
WINDOWS = (("5m", 5), ("1h", 60))
TOTALS = (
    ("offered", "callers who entered the queue", "offered"),
    ("answered", "callers answered by an agent", "answered"),
    ("early_released", "callers who hung up while queued (排队早释)", "abandoned"),
    ("early_released_short", "early releases within the short threshold", "abandoned_short"),
    ("timed_out", "callers the queue's timeout sent on", "timed_out"),
    ("withdrawn", "callers withdrawn (QueueWithdrawCaller)", "withdrawn"),
    ("exit_key", "callers who left by key", "exit_key"),
    ("transferred", "callers moved away before an answer", "transferred"),
)


class MonitorCollector(Collector):
    def __init__(self, monitor: QueueMonitor) -> None:
        self.monitor = monitor

    def collect(self) -> Iterator[Metric]:
        yield from self._queue_metrics()
        yield from self._health_metrics()

    def _queue_metrics(self) -> Iterator[Metric]:
        monitor = self.monitor
        now = monitor.clock()
        totals = {
            name: CounterMetricFamily(
                f"hotline_queue_callers_{name}", f"Callers today: {text}", labels=QUEUE_LABELS
            )
            for name, text, _ in TOTALS
        }
        ratios = {
            "early_release": GaugeMetricFamily(
                "hotline_queue_early_release_ratio",
                "Early-released / offered over the window (排队早释率)",
                labels=WINDOW_LABELS,
            ),
            "early_release_excl_short": GaugeMetricFamily(
                "hotline_queue_early_release_excl_short_ratio",
                "Early-release ratio without the short early releases",
                labels=WINDOW_LABELS,
            ),
            "service_level": GaugeMetricFamily(
                "hotline_queue_service_level_ratio",
                "Answered within the service-level time / answered",
                labels=WINDOW_LABELS,
            ),
            "asa": GaugeMetricFamily(
                "hotline_queue_answer_delay_average_seconds",
                "Average speed of answer",
                labels=WINDOW_LABELS,
            ),
        }
        live_gauges = {
            "callers_waiting": GaugeMetricFamily(
                "hotline_queue_callers_waiting", "Callers waiting now", labels=QUEUE_LABELS
            ),
            "longest_wait": GaugeMetricFamily(
                "hotline_queue_longest_wait_seconds",
                "Longest current wait",
                labels=QUEUE_LABELS,
            ),
            "members_logged_in": GaugeMetricFamily(
                "hotline_queue_members_logged_in", "Members logged in", labels=QUEUE_LABELS
            ),
            "members_available": GaugeMetricFamily(
                "hotline_queue_members_available",
                "Members logged in, not paused, not in a call",
                labels=QUEUE_LABELS,
            ),
            "members_paused": GaugeMetricFamily(
                "hotline_queue_members_paused", "Members paused", labels=QUEUE_LABELS
            ),
        }
        for queue in monitor.queue_names():
            info = monitor.directory.get(queue)
            labels = [queue, info.platform, info.district]
            today = monitor.metrics.today_counts(queue, now)
            for name, _, attribute in TOTALS:
                totals[name].add_metric(labels, getattr(today, attribute))
            scope = Scope.queue(queue)
            windows: list[tuple[str, WindowFigures]] = [
                (label, monitor.metrics.last(scope, minutes, now)) for label, minutes in WINDOWS
            ]
            windows.append(("today", _today_figures(today)))
            for label, found in windows:
                values = {
                    "early_release": found.early_release_rate,
                    "early_release_excl_short": found.early_release_rate_excl_short,
                    "service_level": found.service_level,
                    "asa": found.asa,
                }
                for key, value in values.items():
                    if value is not None:
                        ratios[key].add_metric([*labels, label], value)
            live = monitor.live_figures(queue, now)
            for key, gauge in live_gauges.items():
                gauge.add_metric(labels, float(getattr(live, key)))
        yield from totals.values()
        yield from ratios.values()
        yield from live_gauges.values()
        pending = GaugeMetricFamily(
            "hotline_callbacks_pending", "Early-released callers still to call back"
        )
        pending.add_metric([], monitor.callbacks_pending)
        yield pending

    def _health_metrics(self) -> Iterator[Metric]:
        monitor = self.monitor
        figures = monitor.health_figures
        connected = GaugeMetricFamily(
            "hotline_ami_connected", "1 when the AMI session to the PBX is up", labels=["pbx"]
        )
        states = dict(figures.ami_connected)
        states.update({pbx: client.connected for pbx, client in monitor.clients.items()})
        for pbx, up in sorted(states.items()):
            connected.add_metric([pbx], 1.0 if up else 0.0)
        yield connected
        lag = GaugeMetricFamily(
            "hotline_monitor_event_lag_seconds",
            "Worst delay from a deciding AMI event to its metric since the last scrape",
        )
        lag.add_metric([], figures.event_lag_s)
        figures.event_lag_s = 0.0
        yield lag
        undecided = GaugeMetricFamily(
            "hotline_monitor_callers_undecided", "Callers out of a queue awaiting their outcome"
        )
        undecided.add_metric([], monitor.tracker.undecided)
        yield undecided
        resync = CounterMetricFamily(
            "hotline_monitor_closed_on_resync",
            "Callers gone while AMI was down, closed as transferred after a resync",
        )
        resync.add_metric([], monitor.tracker.stats.closed_on_resync)
        yield resync
        errors = CounterMetricFamily(
            "hotline_monitor_redis_write_errors", "Failed history/call-back writes (retried)"
        )
        errors.add_metric([], figures.redis_errors)
        yield errors
        if figures.fastagi_sessions is not None:
            sessions = GaugeMetricFamily(
                "hotline_fastagi_active_sessions", "FastAGI sessions in progress"
            )
            sessions.add_metric([], figures.fastagi_sessions)
            yield sessions
        if figures.redis_latency_s is not None:
            latency = GaugeMetricFamily(
                "hotline_redis_latency_seconds", "Redis PING round trip at the last health check"
            )
            latency.add_metric([], figures.redis_latency_s)
            yield latency


def _today_figures(counts: Counts) -> WindowFigures:
    return figures(counts, 0.0, 0.0)
