"""The bridge's log lines during a demo, counted instead of printed.

A live terminal view and a `--json` summary cannot share the screen with JSON log lines, and
on the emulated PBX some lines repeat on every call (no sound files: a prompt "cannot be
played"). So the demo counts WARNING and ERROR records per message and reports the most
frequent at the end; `--verbose` also prints every record to stderr.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from bridge.json_logging import configure_logging

MOST_FREQUENT_SHOWN = 5


class LogCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[(record.levelname, record.name, record.getMessage())] += 1

    def summary(self) -> dict[str, Any]:
        by_level: Counter[str] = Counter()
        for (level, _, _), count in self.counts.items():
            by_level[level] += count
        return {
            "warnings": by_level["WARNING"],
            "errors": by_level["ERROR"] + by_level["CRITICAL"],
            "most_frequent": [
                {"level": level, "logger": name, "msg": msg, "count": count}
                for (level, name, msg), count in self.counts.most_common(MOST_FREQUENT_SHOWN)
            ],
        }

    def line(self) -> str:
        """One line for the terminal view."""
        summary = self.summary()
        text = f"bridge log: {summary['errors']} errors, {summary['warnings']} warnings"
        top = summary["most_frequent"]
        if top:
            text += f"; most frequent ({top[0]['count']}x): {top[0]['msg']}"
        return text


def install_log_counter(verbose: bool) -> LogCounter:
    """Replace the root handlers: the counter, and with `verbose` JSON lines on stderr."""
    root = logging.getLogger()
    if verbose:
        configure_logging("INFO")
    else:
        for old in list(root.handlers):
            root.removeHandler(old)
        root.setLevel(logging.WARNING)
    counter = LogCounter()
    root.addHandler(counter)
    return counter
