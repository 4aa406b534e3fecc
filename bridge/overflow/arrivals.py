"""Arrival rates per centre from AMI `QueueCallerJoin` events, over a recent and a sustained
window (the policy judges activation on the first and a lasting surge on the second)."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping


class ArrivalCounter:
    """Counts each call once per centre, although a withdrawn caller joins the aid queue too."""

    def __init__(self, queue_to_centre: Mapping[str, str], recent_s: float, sustained_s: float):
        if not 0 < recent_s <= sustained_s:
            raise ValueError(
                f"arrival windows must satisfy 0 < recent ({recent_s}) <= sustained ({sustained_s})"
            )
        self.queue_to_centre = dict(queue_to_centre)
        self.recent_s = recent_s
        self.sustained_s = sustained_s
        self._joins: dict[str, deque[float]] = {c: deque() for c in set(queue_to_centre.values())}
        self._seen: deque[tuple[float, str]] = deque()
        self._seen_ids: set[str] = set()

    def join(self, queue: str, uniqueid: str, now: float) -> None:
        centre = self.queue_to_centre.get(queue)
        if centre is None or uniqueid in self._seen_ids:
            return
        if uniqueid:
            self._seen_ids.add(uniqueid)
            self._seen.append((now, uniqueid))
        self._joins[centre].append(now)
        self._forget(now)

    def rates(self, now: float) -> dict[str, tuple[float, float]]:
        """Code → (recent, sustained) calls per second."""
        self._forget(now)
        found = {}
        for centre, times in self._joins.items():
            recent = sum(1 for t in reversed(times) if t > now - self.recent_s)
            found[centre] = (recent / self.recent_s, len(times) / self.sustained_s)
        return found

    def _forget(self, now: float) -> None:
        horizon = now - self.sustained_s
        for times in self._joins.values():
            while times and times[0] <= horizon:
                times.popleft()
        while self._seen and self._seen[0][0] <= horizon:
            self._seen_ids.discard(self._seen.popleft()[1])
