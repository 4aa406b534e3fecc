"""The HTML report: early-release rate and service level per queue and hour, from the Redis
history, with inline SVG charts (one self-contained file: no scripts, no external assets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from bridge.monitoring.config import QueueDirectory
from bridge.monitoring.history import MetricsHistory
from routing.metrics import MINUTE, Counts, WindowFigures, figures

HOUR = 60 * MINUTE
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 720, 180, 30


@dataclass(frozen=True)
class QueueReport:
    queue: str
    name: str
    district: str
    total: WindowFigures
    hours: list[WindowFigures]


async def build_report(
    history: MetricsHistory, directory: QueueDirectory, queues: list[str], start: float, end: float
) -> list[QueueReport]:
    """Hourly figures (by join hour) for each queue over [start, end), whole hours."""
    first = int(start // HOUR) * HOUR
    stop = -int(-end // HOUR) * HOUR
    reports = []
    for queue in queues:
        minutes = await history.minutes(queue, first, stop)
        hourly: dict[int, Counts] = {}
        total = Counts()
        for minute, counts in minutes.items():
            hourly.setdefault(minute * MINUTE // HOUR * HOUR, Counts()).add(counts)
            total.add(counts)
        hours = [
            figures(hourly.get(h, Counts()), float(h), float(h + HOUR))
            for h in range(first, stop, HOUR)
        ]
        info = directory.get(queue)
        reports.append(
            QueueReport(
                queue, info.platform_name, info.district, figures(total, first, stop), hours
            )
        )
    return reports


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _row(label: str, f: WindowFigures) -> str:
    cells = [
        escape(label),
        str(f.offered),
        str(f.answered),
        str(f.abandoned),
        str(f.abandoned_short),
        _pct(f.early_release_rate),
        _pct(f.early_release_rate_excl_short),
        _pct(f.service_level),
        _seconds(f.asa),
        str(f.withdrawn + f.exit_key + f.timed_out + f.transferred),
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


TABLE_HEAD = (
    "<tr><th></th><th>进线 offered</th><th>接听 answered</th><th>早释 early released</th>"
    "<th>短早释 short</th><th>早释率 rate</th><th>早释率(不含短) excl. short</th>"
    "<th>服务水平 service level</th><th>平均应答(秒) ASA</th><th>分流 diverted</th></tr>"
)


def chart(hours: list[WindowFigures], zone: ZoneInfo, target: float) -> str:
    """Bars: early-release rate per hour (red over target); line: service level per hour."""
    inner_w, inner_h = CHART_WIDTH - 2 * CHART_PAD, CHART_HEIGHT - 2 * CHART_PAD
    step = inner_w / max(len(hours), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_WIDTH}" height="{CHART_HEIGHT}" '
        f'viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" aria-label="hourly chart">',
        f'<rect x="{CHART_PAD}" y="{CHART_PAD}" width="{inner_w}" height="{inner_h}" '
        'fill="#fafafa" stroke="#ccc"/>',
    ]
    for ratio in (0.0, 0.5, 1.0):
        y = CHART_PAD + inner_h * (1 - ratio)
        parts.append(
            f'<text x="{CHART_PAD - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{int(ratio * 100)}%</text>"
        )
    points = []
    for index, hour in enumerate(hours):
        x = CHART_PAD + index * step
        rate = hour.early_release_rate
        if rate is not None:
            height = inner_h * min(rate, 1.0)
            colour = "#d9363e" if rate > target else "#f0a0a3"
            top = CHART_PAD + inner_h - height
            parts.append(
                f'<rect class="early" x="{x + step * 0.15:.1f}" y="{top:.1f}" '
                f'width="{step * 0.7:.1f}" height="{height:.1f}" fill="{colour}"/>'
            )
        if hour.service_level is not None:
            y = CHART_PAD + inner_h * (1 - hour.service_level)
            points.append(f"{x + step / 2:.1f},{y:.1f}")
        if len(hours) <= 48 or index % 6 == 0:
            label = datetime.fromtimestamp(hour.start, zone).strftime("%H")
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{CHART_HEIGHT - CHART_PAD + 12}" font-size="9" '
                f'text-anchor="middle">{label}</text>'
            )
    if points:
        parts.append(
            f'<polyline class="service-level" points="{" ".join(points)}" fill="none" '
            'stroke="#1f6feb" stroke-width="2"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_report(
    reports: list[QueueReport], start: float, end: float, zone: ZoneInfo, target: float
) -> str:
    def when(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M")

    title = f"排队早释与服务水平报告 {when(start)} – {when(end)}"
    summary = "".join(_row(f"{r.queue} {r.name}", r.total) for r in reports)
    sections = []
    for report in reports:
        if report.total.offered == 0:
            continue
        rows = "".join(
            _row(datetime.fromtimestamp(h.start, zone).strftime("%m-%d %H:00"), h)
            for h in report.hours
            if h.offered
        )
        sections.append(
            f'<section id="{escape(report.queue)}"><h2>{escape(report.queue)} '
            f"{escape(report.name)}</h2>"
            f"<p>红柱: 每小时早释率 (深红 = 超过目标 {target * 100:.0f}%); 蓝线: 服务水平</p>"
            f"{chart(report.hours, zone, target)}"
            f"<table>{TABLE_HEAD}{rows}</table></section>"
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
        "td:first-child{text-align:left}th{background:#f0f0f0}"
        f"</style></head><body><h1>{escape(title)}</h1>"
        "<p>按进入队列的时间统计 (a caller counts in the hour it joined). "
        "早释率 = 早释 / 进线; 服务水平 = 阈值内接听 / 接听.</p>"
        f'<h2>汇总 Summary</h2><table id="summary">{TABLE_HEAD}{summary}</table>'
        + "".join(sections)
        + "</body></html>"
    )
