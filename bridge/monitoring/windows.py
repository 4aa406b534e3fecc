"""The ``window`` query parameter: ``5m``, ``1h``, ``today`` or ``<from>..<to>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from routing.metrics import MINUTE, local_midnight

RELATIVE = re.compile(r"^(?P<n>[1-9][0-9]{0,4})(?P<unit>[mh])$")
MAX_RELATIVE_MINUTES = 2 * 24 * 60  # what memory holds; longer spans use a from..to range


class WindowError(ValueError):
    """A bad window; the message names the parameter and what was wrong."""


@dataclass(frozen=True)
class Window:
    label: str
    start: float
    end: float
    from_history: bool  # True: read from Redis (an explicit range), else from memory


def parse_time(text: str, zone: ZoneInfo) -> float:
    """ISO 8601 (a naive time is in the configured zone) or UNIX seconds."""
    text = text.strip()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise WindowError(
            f"{text!r} is not ISO 8601 (2026-11-29T08:00) nor UNIX seconds"
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def parse_window(text: str, now: float, zone: ZoneInfo) -> Window:
    text = text.strip()
    if text == "today":
        return Window("today", local_midnight(now, zone), (int(now // MINUTE) + 1) * MINUTE, False)
    match = RELATIVE.fullmatch(text)
    if match:
        minutes = int(match["n"]) * (60 if match["unit"] == "h" else 1)
        if minutes > MAX_RELATIVE_MINUTES:
            raise WindowError(
                f"window={text}: at most {MAX_RELATIVE_MINUTES // 60}h; use <from>..<to>"
            )
        stop = (int(now // MINUTE) + 1) * MINUTE
        return Window(text, stop - minutes * MINUTE, stop, False)
    if ".." in text:
        left, _, right = text.partition("..")
        try:
            start, end = parse_time(left, zone), parse_time(right, zone)
        except WindowError as error:
            raise WindowError(f"window={text}: {error}") from None
        if not end > start:
            raise WindowError(f"window={text}: the end must be after the start")
        return Window(text, start, end, True)
    raise WindowError(f"window={text!r}: use 5m, 1h, today or <from>..<to> (ISO 8601)")
