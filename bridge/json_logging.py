"""Structured logs: one JSON object per line with ts, level, logger, msg and any extra fields.

`log.info("transfer started", extra={"ticket": "LK-1"})` becomes
`{"ts": "...", "level": "INFO", "logger": "...", "msg": "transfer started", "ticket": "LK-1"}`.
Extra fields whose name suggests a credential are masked, so a token or secret passed by
mistake still never reaches a log line.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import datetime, tzinfo
from typing import Any, TextIO
from zoneinfo import ZoneInfo

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_SECRET_WORDS = ("token", "secret", "password", "authorization")
MASK = "***"


def _masked(key: str, value: Any) -> Any:
    return MASK if any(word in key.lower() for word in _SECRET_WORDS) else value


class JsonFormatter(logging.Formatter):
    def __init__(self, timezone: tzinfo | None = None) -> None:
        super().__init__()
        self.timezone = timezone or ZoneInfo("UTC")

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, self.timezone).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_FIELDS and key not in line:
                line[key] = _masked(key, value)
        if record.exc_info and record.exc_info[0] is not None:
            line["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(
    level: str = "INFO", stream: TextIO | None = None, timezone: str = "UTC"
) -> logging.Handler:
    """Send every log record to `stream` (stderr) as JSON lines; replaces earlier handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(ZoneInfo(timezone)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def set_level(level: str) -> None:
    logging.getLogger().setLevel(level)
