"""The overflow audit trail: every step the controller takes (or fails to take) is one JSON log
line and one entry of an append-only Redis stream, so an operator can read what was borrowed,
why, and what came back — and a restarted bridge can tell which members it had lent.

Redis keys (namespace `hb:overflow:`):
- `hb:overflow:audit` — stream, one entry per step, trimmed to about `max_entries`.
- `hb:overflow:routing` — hash district code → hb-queue extension of its aid queue, while the
  routing flag is on (what the route-110 AGI step reads; survives a bridge restart).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bridge import redis_keys

AUDIT_STREAM = redis_keys.OVERFLOW_AUDIT
ROUTING_HASH = redis_keys.OVERFLOW_ROUTING

log = logging.getLogger("bridge.overflow")


@dataclass(frozen=True)
class AuditEntry:
    """One step. `kind`: lend, return, pause, resume, route_on, route_off, withdraw, release,
    override, recover. `outcome`: done, already (the PBX already had it), failed."""

    kind: str
    outcome: str
    detail: dict[str, str] = field(default_factory=dict)
    explain: str = ""
    error: str = ""
    t: float = 0.0  # the controller's clock (emulated seconds on a time-scaled PBX)

    def fields(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "outcome": self.outcome,
            "detail": json.dumps(self.detail, ensure_ascii=False, sort_keys=True),
            "explain": self.explain,
            "error": self.error,
            "t": repr(self.t),
            "wall": repr(time.time()),
        }

    @classmethod
    def from_fields(cls, raw: dict[str, str]) -> AuditEntry:
        return cls(
            kind=raw.get("kind", ""),
            outcome=raw.get("outcome", ""),
            detail=json.loads(raw.get("detail") or "{}"),
            explain=raw.get("explain", ""),
            error=raw.get("error", ""),
            t=float(raw.get("t") or 0.0),
        )


class AuditLog:
    def __init__(self, redis: aioredis.Redis, max_entries: int = 100_000) -> None:
        self.redis = redis
        self.max_entries = max_entries
        self.write_failures = 0

    async def record(self, entry: AuditEntry) -> None:
        """Log the step, then append it to the stream; a Redis outage is logged, never raised:
        the PBX must not be left half-changed because the audit could not be written."""
        level = logging.WARNING if entry.outcome == "failed" else logging.INFO
        log.log(
            level,
            f"overflow {entry.kind} {entry.outcome}",
            extra={
                "overflow": {**entry.detail, "kind": entry.kind, "outcome": entry.outcome},
                "explain": entry.explain,
                "error": entry.error,
                "t": entry.t,
            },
        )
        try:
            await self.redis.xadd(
                AUDIT_STREAM,
                entry.fields(),  # type: ignore[arg-type]
                maxlen=self.max_entries,
                approximate=True,
            )
        except RedisError as error:
            self.write_failures += 1
            log.error("overflow audit not written to Redis", extra={"error": str(error)})

    async def recent(self, count: int = 50) -> list[dict[str, Any]]:
        """The newest `count` entries, newest first, with their stream ids."""
        raw = await self.redis.xrevrange(AUDIT_STREAM, count=count)
        return [
            {"id": entry_id, **vars(AuditEntry.from_fields(fields))}
            for entry_id, fields in _entries(raw)
        ]

    async def ledger(self) -> dict[str, str]:
        """Interface → donor of every member the audit says was lent (and not necessarily
        returned): lets recovery name the donor of a member no longer in its own queue."""
        donors: dict[str, str] = {}
        async for fields in self._all():
            if fields.get("kind") == "lend":
                detail = json.loads(fields.get("detail") or "{}")
                if detail.get("member") and detail.get("donor"):
                    donors[detail["member"]] = detail["donor"]
        return donors

    async def _all(self) -> Any:
        last = "-"
        while True:
            batch = _entries(await self.redis.xrange(AUDIT_STREAM, min=last, count=1000))
            for entry_id, fields in batch:
                if entry_id != last:
                    yield fields
            if len(batch) < 1000:
                return
            last = batch[-1][0]

    async def set_routing(self, centre: str, exten: str | None) -> None:
        if exten is None:
            await self.redis.hdel(ROUTING_HASH, centre)
        else:
            await self.redis.hset(ROUTING_HASH, centre, exten)

    async def routing(self) -> dict[str, str]:
        raw = await self.redis.hgetall(ROUTING_HASH)
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entries(raw: Any) -> list[tuple[str, dict[str, str]]]:
    """Stream entries as text, whether the client decodes responses or not."""
    return [
        (_text(entry_id), {_text(k): _text(v) for k, v in (fields or {}).items()})
        for entry_id, fields in raw or []
    ]
