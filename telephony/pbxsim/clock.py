"""The emulator's clock: emulated time runs `time_scale` times faster than the wall clock.

Every wait the PBX makes (ring times, Wait(), a failed login's pause) is divided by the scale,
and every time it reports (Uptime, timestamps, HoldTime) is in emulated seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale!r}")
        self.time_scale = time_scale
        self._wall_start = time.time()
        self._mono_start = time.monotonic()

    def elapsed(self) -> float:
        """Emulated seconds since the PBX booted."""
        return (time.monotonic() - self._mono_start) * self.time_scale

    def now(self) -> float:
        """Emulated epoch seconds."""
        return self._wall_start + self.elapsed()

    def uptime(self) -> int:
        return int(self.elapsed())

    def event_tv(self) -> str:
        stamp = datetime.fromtimestamp(self.now(), tz=UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}+0000"

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.time_scale)

    def call_later(self, seconds: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(seconds / self.time_scale, callback)
