"""Monitoring pieces on their own: windows, Redis history keys and retention, the collector's
names against the sample alert rules, the tick's default decision, the summary line."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest

from bridge.monitoring.collector import MonitorCollector
from bridge.monitoring.config import (
    MonitoringConfig,
    QueueDirectory,
    QueueInfo,
    monitoring_config,
)
from bridge.monitoring.history import KEY_PREFIX, MetricsHistory, counts_from_hash
from bridge.monitoring.monitor import QueueMonitor
from bridge.monitoring.windows import WindowError, parse_window
from bridge.settings import SettingsError, load_settings
from routing.metrics import CallerOutcome, MetricsConfig, Outcome
from telephony.ami.events import to_event
from telephony.ami.parser import AMIParser
from tests.bridge.test_monitoring_traffic import Caller

REPO = Path(__file__).resolve().parents[2]
ZONE = ZoneInfo("Asia/Shanghai")
NOW = 1_795_945_563.0  # 2026-11-29 12:26:03 +08:00
DIRECTORY = QueueDirectory([QueueInfo("q110-city", "110-370800", "济宁市110", "370800", "pbx")])


def test_windows() -> None:
    five = parse_window("5m", NOW, ZONE)
    assert (five.end - five.start, five.end % 60, five.from_history) == (300, 0, False)
    today = parse_window("today", NOW, ZONE)
    assert today.start == 1_795_881_600.0  # 2026-11-29 00:00 +08:00
    ranged = parse_window("2026-11-29T08:00..2026-11-29T09:30", NOW, ZONE)
    assert (ranged.end - ranged.start, ranged.from_history) == (5400, True)
    utc = parse_window("2026-11-29T00:00Z..1795946000", NOW, ZONE)
    assert utc.start == 1_795_910_400.0
    for bad, words in [
        ("3days", "use 5m, 1h, today"),
        ("72h", "at most 48h"),
        ("yesterday..today", "not ISO 8601"),
        ("2026-11-29T09:00..2026-11-29T08:00", "end must be after"),
    ]:
        with pytest.raises(WindowError, match=words) as caught:
            parse_window(bad, NOW, ZONE)
        assert "window" in str(caught.value) or bad == "yesterday..today"


async def test_history_keys_are_per_queue_and_day_with_retention(
    redis_client: aioredis.Redis,
) -> None:
    history = MetricsHistory(redis_client, MetricsConfig(), retention_days=7)
    records = [
        CallerOutcome("q110-city", NOW, Outcome.ANSWERED, 12.5, "110-370800", "370800"),
        CallerOutcome("q110-city", NOW + 1, Outcome.ABANDONED, 4, "110-370800", "370800"),
        CallerOutcome("q110-city", NOW - 86400, Outcome.WITHDRAWN, 9, "110-370800", "370800"),
    ]
    assert await history.write(records) == 3
    found = await redis_client.keys(f"{KEY_PREFIX}:*")
    keys = sorted(k.decode() if isinstance(k, bytes) else k for k in found)
    assert keys == [f"{KEY_PREFIX}:q110-city:20261128", f"{KEY_PREFIX}:q110-city:20261129"]
    ttl = await redis_client.ttl(keys[1])
    assert 7 * 86400 < ttl <= 8 * 86400
    minute = int(NOW // 60)
    day = await history.day("q110-city", history.local_day(NOW))
    assert list(day) == [minute]
    counts = day[minute]
    assert (counts.offered, counts.answered, counts.abandoned, counts.abandoned_short) == (
        2,
        1,
        1,
        1,
    )
    assert counts.answer_wait_total == 12.5
    ranged = await history.counts("q110-city", NOW - 2 * 86400, NOW + 60)
    assert (ranged.offered, ranged.withdrawn) == (3, 1)


def test_history_refuses_a_foreign_field() -> None:
    with pytest.raises(ValueError, match="'29932425:bogus' is not <minute>:<tally>"):
        counts_from_hash({b"29932425:bogus": b"1"})


def feed(monitor: QueueMonitor, data: bytes) -> None:
    parser = AMIParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    for parsed in parser.feed(data):
        monitor.tracker.apply(to_event(parsed))


async def monitor_with_traffic(registry: CollectorRegistry | None = None) -> QueueMonitor:
    async def probe() -> dict[str, dict[str, object]]:
        return {
            "redis": {"status": "ok", "latency_ms": 0.4},
            "fastagi": {"status": "ok", "active_sessions": 3},
            "ami:pbx-110": {"status": "down"},
        }

    monitor = QueueMonitor(DIRECTORY, MonitoringConfig(), health_probe=probe, registry=registry)
    answered, released = Caller("c1", "q110-city"), Caller("c2", "q110-city", "13900000002")
    feed(monitor, answered.join() + answered.answered(4) + released.join(2, 2))
    feed(monitor, released.early_release(9, position=1, original=2))
    await monitor.refresh_health()
    return monitor


async def test_alert_rules_name_only_metrics_the_bridge_exports() -> None:
    registry = CollectorRegistry(auto_describe=False)
    monitor = await monitor_with_traffic()
    registry.register(MonitorCollector(monitor))
    exposition = generate_latest(registry).decode()
    exported = set(re.findall(r"^(hotline_[a-z_]+)", exposition, re.MULTILINE))
    rules = (REPO / "config" / "alerts" / "hotline-bridge.rules.yml").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(hotline_[a-z_]+)", rules))
    assert named and named <= exported, named - exported
    assert rules.count("- alert:") == rules.count("expr:") == 10
    assert "hotline_fastagi_active_sessions 3.0" in exposition
    assert 'hotline_ami_connected{pbx="pbx-110"} 0.0' in exposition
    assert "hotline_redis_latency_seconds 0.0004" in exposition


def summaries_after_release(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    messages = [r.getMessage() for r in records]
    if "early release" not in messages:
        return []
    later = records[messages.index("early release") :]
    return [r for r in later if r.getMessage() == "queue summary"]


async def test_the_tick_decides_within_a_second_and_logs_a_summary(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.monitoring.monitor")
    config = MonitoringConfig(summary_interval_seconds=0.2)
    monitor = QueueMonitor(DIRECTORY, config)
    caller = Caller("u1", "q110-city")
    feed(monitor, caller.join() + caller.abandon_event(6))  # no Hangup follows
    await monitor.start()
    try:
        for _ in range(200):  # bounded polling; the default comes after the 0.5 s grace
            if monitor.tracker.undecided == 0:
                break
            await asyncio.sleep(0.02)
        summaries = []
        for _ in range(200):
            summaries = summaries_after_release(caplog.records)
            if summaries:
                break
            await asyncio.sleep(0.02)
    finally:
        await monitor.stop()
    released = [r for r in caplog.records if r.getMessage() == "early release"]
    assert len(released) == 1 and released[0].__dict__["wait"] == 6
    queues = summaries[0].__dict__["queues"]
    assert queues["q110-city"]["early_released_1h"] == 1
    assert queues["q110-city"]["early_release_rate_1h"] == 1.0


async def test_collector_is_registered_only_while_running() -> None:
    registry = CollectorRegistry()
    monitor = await monitor_with_traffic(registry)
    await monitor.start()
    try:
        running = generate_latest(registry).decode()
    finally:
        await monitor.stop()
    assert 'hotline_queue_callers_early_released_total{district="370800"' in running
    assert "hotline_queue" not in generate_latest(registry).decode()


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="early_release_target"):
        MonitoringConfig(early_release_target=5)
    with pytest.raises(ValueError, match="decision_grace_seconds"):
        MonitoringConfig(decision_grace_seconds=2)


def test_monitoring_section_is_read_from_the_settings_file(tmp_path: Path) -> None:
    settings = load_settings(REPO / "config" / "jining.toml")
    assert monitoring_config(settings) == MonitoringConfig()

    text = (REPO / "config" / "jining.toml").read_text(encoding="utf-8")
    custom = tmp_path / "custom.toml"
    text = text.replace("early_release_target = 0.05", "early_release_target = 0.1")
    custom.write_text(text.replace("retention_days = 400", "retention_days = 30"))
    chosen = monitoring_config(load_settings(custom))
    assert (chosen.early_release_target, chosen.retention_days) == (0.1, 30)


def test_a_bad_monitoring_value_names_its_key(tmp_path: Path) -> None:
    text = (REPO / "config" / "jining.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("early_release_target = 0.05", "early_release_target = 5"))
    with pytest.raises(SettingsError, match=r"monitoring\.early_release_target"):
        load_settings(bad)
