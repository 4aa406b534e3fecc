"""Reads the real Asterisk 22 conversations in ../shared/asterisk-traces.

A trace file holds records: a header line ``<dir> +<seconds> len=<n>`` ending in LF, exactly
``n`` raw bytes, then one LF. ``#`` lines at the top are notes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

TRACES_DIR = Path(
    os.environ.get(
        "HOTLINE_TRACES",
        Path(__file__).resolve().parents[1].parent / "shared" / "asterisk-traces",
    )
)
LAB_CONFIG = TRACES_DIR / "lab-config"

_HEADER = re.compile(rb"^(?P<dir>.+?) \+(?P<t>[0-9.]+) len=(?P<n>\d+)$")


@dataclass(frozen=True)
class Record:
    direction: (
        str  # "C->S", "S->C", "AST->AGI", "AGI->AST" or a marker like "CONNECT 127.0.0.1:5038"
    )
    t: float  # seconds since the recording started
    data: bytes

    @property
    def is_marker(self) -> bool:
        return self.direction not in {"C->S", "S->C", "AST->AGI", "AGI->AST"}


def read_trace(path: Path) -> list[Record]:
    raw = path.read_bytes()
    records: list[Record] = []
    pos = 0
    while pos < len(raw):
        end = raw.index(b"\n", pos)
        line = raw[pos:end]
        pos = end + 1
        if line.startswith(b"#") or not line:
            continue
        match = _HEADER.match(line)
        if match is None:
            raise ValueError(f"{path.name}: bad record header {line!r}")
        size = int(match["n"])
        data = raw[pos : pos + size]
        pos += size + 1  # the payload, then its closing LF
        direction = match["dir"].decode().lstrip("<>- ").strip()
        records.append(Record(direction, float(match["t"]), data))
    return records


def trace_files(suffix: str) -> list[Path]:
    """All traces of one kind: suffix ".ami.txt" or ".agi.txt"."""
    return sorted(TRACES_DIR.glob(f"*{suffix}"))


def server_stream(records: list[Record], direction: str = "S->C") -> bytes:
    return b"".join(r.data for r in records if r.direction == direction)
