"""Reads the bridge's HTTP API the way a monitoring system and a supervisor's desk do:
`GET /api/queues` (the bridge's own queue metrics), `GET /api/tickets` (linkage tickets),
`GET /api/overflow` (the surge controller's loans) and `GET /api/conferences/{id}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

TICKETS_LISTED = 500  # newest first is not promised: ask for more than a demo makes


@dataclass
class BridgeApi:
    http_base: str
    monitor_token: str
    supervisor_token: str
    queues: dict[str, Any] | None = None  # the latest GET /api/queues body
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> ticket
    problem: str = "not read yet"
    tickets_missing: bool = False  # GET /api/tickets answered 404: no ticket API in this build
    overflow: dict[str, Any] | None = None  # the latest GET /api/overflow body

    def early_release_rates(self) -> dict[str, float]:
        """Queue -> today's early-release rate as the bridge computes it."""
        if self.queues is None:
            return {}
        return {
            row["queue"]: row["windows"]["today"]["early_release_rate"]
            for row in self.queues.get("queues", [])
        }

    async def read_queues(self) -> None:
        body = await self._get("/api/queues", self.monitor_token, {})
        if body is not None:
            self.queues = body

    async def read_tickets(self) -> list[dict[str, Any]]:
        """Reads the ticket list; returns the tickets not seen before."""
        body = await self._get(
            "/api/tickets", self.supervisor_token, {"limit": str(TICKETS_LISTED)}
        )
        self.tickets_missing = body is None and self.problem.endswith("answered 404")
        new = []
        for ticket in (body or {}).get("tickets", []):
            if ticket.get("id") not in self.tickets:
                new.append(ticket)
            self.tickets[ticket["id"]] = ticket
        return new

    async def read_overflow(self) -> dict[str, Any] | None:
        """The overflow controller's state and newest audit entries; None when off."""
        body = await self._get("/api/overflow", self.monitor_token, {})
        if body is not None:
            self.overflow = body
        return body

    async def read_conference(self, room: str) -> dict[str, Any] | None:
        return await self._get(f"/api/conferences/{room}", self.supervisor_token, {})

    async def _get(self, path: str, token: str, params: dict[str, str]) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(self.http_base + path, headers=headers, params=params) as response,
            ):
                if response.status != 200:
                    # 404: this build of the bridge has no such API yet.
                    self.problem = f"GET {path} answered {response.status}"
                    return None
                body: dict[str, Any] = await response.json()
                return body
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.problem = f"GET {path} failed: {type(exc).__name__}: {exc}"
            return None


def ticket_summary(ticket: dict[str, Any]) -> dict[str, Any]:
    """The fields of a ticket the demo's summary shows (no caller data)."""
    return {
        "id": ticket.get("id"),
        "status": ticket.get("status"),
        "kind": ticket.get("kind"),
        "from": _end(ticket, "origin"),
        "to": _end(ticket, "target"),
        "hops": len(ticket.get("hops") or []),
    }


def _end(ticket: dict[str, Any], side: str) -> str:
    parts = (ticket.get(f"{side}_{name}") for name in ("platform", "level", "district"))
    return " ".join(str(part) for part in parts if part)
