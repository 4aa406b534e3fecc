"""Every Redis key the bridge writes, in one place (all under the `hb:` namespace).

Linkage tickets have their own layout table and templates in `bridge.tickets.keys` (the
create/transition scripts build per-ticket keys inside Lua). Everything else is here:

| key                                   | type   | holds (lifetime)                          |
|---------------------------------------|--------|-------------------------------------------|
| hb:ticket:…, hb:tickets:…, hb:link:…  | —      | linkage tickets: see `bridge.tickets.keys`|
| hb:draft:<agent>                      | string | the agent's ticket draft, JSON (its TTL)  |
| hb:transfer:<ticket id>               | string | one-key transfer in flight (deadline+1 h) |
| hb:conferences:active                 | set    | rooms of three-party calls still running  |
| hb:conferences:seq                    | string | INCR counter for room numbers             |
| hb:conference:<room>                  | string | a three-party call's state, JSON (1 day)  |
| hb:conference-ticket:<ticket id>      | string | the room of a ticket's call (1 day)       |
| hb:monitor:minutes:<queue>:<yyyymmdd> | hash   | per-minute queue counts of a local day    |
|                                       |        | (EXPIRE: [monitoring] retention_days)     |
| hb:callbacks:next                     | string | INCR counter for call-back ids            |
| hb:callbacks:<id>                     | hash   | one early-released caller to call back    |
| hb:callbacks:pending, hb:callbacks:all| zset   | call-back ids waiting / all, score = time |
| hb:overflow:audit                     | stream | every surge-overflow action (append-only) |
| hb:overflow:routing                   | hash   | district -> aid queue while supported     |
"""

from __future__ import annotations

NAMESPACE = "hb"


def draft(agent: str) -> str:
    return f"{NAMESPACE}:draft:{agent}"


def transfer(ticket_id: str) -> str:
    return f"{NAMESPACE}:transfer:{ticket_id}"


CONFERENCES_ACTIVE = f"{NAMESPACE}:conferences:active"
CONFERENCES_SEQUENCE = f"{NAMESPACE}:conferences:seq"


def conference(room: str) -> str:
    return f"{NAMESPACE}:conference:{room}"


def conference_of_ticket(ticket_id: str) -> str:
    return f"{NAMESPACE}:conference-ticket:{ticket_id}"


MONITOR_MINUTES = f"{NAMESPACE}:monitor:minutes"
CALLBACKS = f"{NAMESPACE}:callbacks"
OVERFLOW_AUDIT = f"{NAMESPACE}:overflow:audit"
OVERFLOW_ROUTING = f"{NAMESPACE}:overflow:routing"
