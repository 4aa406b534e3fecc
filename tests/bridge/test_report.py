"""`hotline-bridge report`: hourly early-release rate and service level from the Redis history."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis.asyncio as aioredis

from bridge.cli import main
from bridge.monitoring.history import MetricsHistory
from routing.metrics import CallerOutcome, MetricsConfig, Outcome
from tests.redis_server import RedisServer

JINING = Path(__file__).resolve().parents[2] / "config" / "jining.toml"
ZONE = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int) -> float:
    return datetime(2026, 11, 28, hour, minute, tzinfo=ZONE).timestamp()


# q110-city 09:xx: answered at 5 and 30 s, early releases at 3 (short) and 10 s;
# 10:xx: answered at 5 and 8 s. q12345 09:xx: one answered.
TRAFFIC = [
    CallerOutcome("q110-city", at(9, 5), Outcome.ANSWERED, 5, "110-370800", "370800"),
    CallerOutcome("q110-city", at(9, 15), Outcome.ANSWERED, 30, "110-370800", "370800"),
    CallerOutcome("q110-city", at(9, 20), Outcome.ABANDONED, 3, "110-370800", "370800"),
    CallerOutcome("q110-city", at(9, 59), Outcome.ABANDONED, 10, "110-370800", "370800"),
    CallerOutcome("q110-city", at(10, 0), Outcome.ANSWERED, 5, "110-370800", "370800"),
    CallerOutcome("q110-city", at(10, 30), Outcome.ANSWERED, 8, "110-370800", "370800"),
    CallerOutcome("q12345", at(9, 30), Outcome.ANSWERED, 12, "12345-370800", "370800"),
    CallerOutcome("q110-city", at(11, 0), Outcome.ABANDONED, 50, "110-370800", "370800"),
]


def deployment(tmp_path: Path, redis_url: str) -> Path:
    text = JINING.read_text(encoding="utf-8")
    text = text.replace('url = "redis://127.0.0.1:6379/0"', f'url = "{redis_url}"')
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def fill(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.flushdb()
        await MetricsHistory(client, MetricsConfig(), retention_days=30).write(TRAFFIC)
    finally:
        await client.aclose()


def cells(html: str, label: str, section: str) -> list[str]:
    part = html.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    match = re.search(rf"<tr><td>{re.escape(label)}</td>(.*?)</tr>", part)
    assert match is not None, f"no row {label} in {section}"
    return re.findall(r"<td>(.*?)</td>", match[1])


def test_report_tables_and_charts(tmp_path: Path, redis_server: RedisServer) -> None:
    asyncio.run(fill(redis_server.url))
    out = tmp_path / "report.html"
    code = main(
        [
            "report",
            "--config",
            str(deployment(tmp_path, redis_server.url)),
            "--from",
            "2026-11-28T09:00",
            "--to",
            "2026-11-28T11:00",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    html = out.read_text(encoding="utf-8")
    # offered, answered, early, short, rate, rate excl. short, service level, ASA, diverted
    assert cells(html, "11-28 09:00", "q110-city") == [
        "4", "2", "2", "1", "50.0%", "33.3%", "50.0%", "17.5", "0",
    ]  # fmt: skip
    assert cells(html, "11-28 10:00", "q110-city") == [
        "2", "2", "0", "0", "0.0%", "0.0%", "100.0%", "6.5", "0",
    ]  # fmt: skip
    assert "<td>11-28 11:00</td>" not in html  # the 11:00 caller is outside --to
    summary = html.split('<table id="summary">', 1)[1].split("</table>", 1)[0]
    assert "<td>q110-city 济宁市公安局110报警服务台</td><td>6</td><td>4</td><td>2</td>" in summary
    assert '<section id="q12345">' in html
    assert '<section id="q110-370811">' not in html  # no traffic: summary row only
    city = html.split('<section id="q110-city">', 1)[1].split("</section>", 1)[0]
    assert city.count('<rect class="early"') == 2
    assert city.count('fill="#d9363e"') == 1  # 50 % is over the 5 % target
    assert '<polyline class="service-level"' in city


def test_report_refuses_bad_times(
    tmp_path: Path, redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(deployment(tmp_path, redis_server.url))
    assert main(["report", "--config", config, "--from", "yesterday", "--to", "0"]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["report", "--config", config, "--from", "100", "--to", "50"]) == 2
    assert "must be after" in capsys.readouterr().err
    assert main(["report", "--config", config, "--from", "0", "--to", "1", "--queue", "x"]) == 2
    assert "--queue" in capsys.readouterr().err
