"""Every Redis key the linkage-ticket store uses, in one place.

Layout (prefix `hb` by default; `<id>` is a ticket id such as `LK-20261129-000123`):

| key                               | type   | holds (lifetime)                                  |
|-----------------------------------|--------|---------------------------------------------------|
| hb:ticket:<id>                    | hash   | the ticket's fields, lists as JSON, plus          |
|                                   |        | `_created_ms` `_due_ms` `_act_within_ms` (kept)   |
| hb:ticket:<id>:history            | stream | event, by, at, from, to, note (append-only, kept) |
| hb:tickets:seq:<yyyymmdd>         | string | INCR counter of that Asia/Shanghai day (3 days)   |
| hb:tickets:request:<request id>   | string | "<ticket id> <draft fingerprint>" (request TTL)   |
| hb:tickets:by-time                | zset   | every id, score = created ms (kept)               |
| hb:tickets:by-status:<status>     | zset   | ids in that status, score = created ms            |
| hb:tickets:by-district:<code>     | zset   | ids of that incident district, created ms         |
| hb:tickets:by-platform:<platform> | zset   | ids whose origin or target is it, created ms      |
| hb:tickets:due                    | zset   | unhandled ids, score = feedback due ms            |
| hb:tickets:act-due                | zset   | accepted ids, score = accepted ms + act_within    |
| hb:link:channel:<channel>         | string | ticket id tied to an Asterisk channel (link TTL)  |
| hb:link:call:<uniqueid>           | string | ticket id tied to a call's Uniqueid (link TTL)    |

The create and transition scripts build the per-ticket and per-status keys from the templates
below (`<id>`, `<status>` placeholders) because the id is allocated inside the script. That is
fine on one Redis server (the product's set-up); Redis Cluster would need hash tags instead.
"""

from __future__ import annotations

from dataclasses import dataclass

ID_PLACEHOLDER = "<id>"
STATUS_PLACEHOLDER = "<status>"


@dataclass(frozen=True)
class TicketKeys:
    prefix: str = "hb"

    def __post_init__(self) -> None:
        if not self.prefix or any(c in self.prefix for c in " <>"):
            raise ValueError(f"key prefix {self.prefix!r} must be non-empty, no spaces or <>")

    @property
    def ticket_template(self) -> str:
        return f"{self.prefix}:ticket:{ID_PLACEHOLDER}"

    @property
    def history_template(self) -> str:
        return f"{self.prefix}:ticket:{ID_PLACEHOLDER}:history"

    @property
    def status_template(self) -> str:
        return f"{self.prefix}:tickets:by-status:{STATUS_PLACEHOLDER}"

    def ticket(self, ticket_id: str) -> str:
        return self.ticket_template.replace(ID_PLACEHOLDER, ticket_id)

    def history(self, ticket_id: str) -> str:
        return self.history_template.replace(ID_PLACEHOLDER, ticket_id)

    def sequence(self, day: str) -> str:
        return f"{self.prefix}:tickets:seq:{day}"

    def request(self, request_id: str) -> str:
        return f"{self.prefix}:tickets:request:{request_id}"

    @property
    def by_time(self) -> str:
        return f"{self.prefix}:tickets:by-time"

    def by_status(self, status: str) -> str:
        return self.status_template.replace(STATUS_PLACEHOLDER, status)

    def by_district(self, district_code: str) -> str:
        return f"{self.prefix}:tickets:by-district:{district_code}"

    def by_platform(self, platform: str) -> str:
        return f"{self.prefix}:tickets:by-platform:{platform}"

    @property
    def due(self) -> str:
        return f"{self.prefix}:tickets:due"

    @property
    def act_due(self) -> str:
        return f"{self.prefix}:tickets:act-due"

    def channel_link(self, channel: str) -> str:
        return f"{self.prefix}:link:channel:{channel}"

    def call_link(self, uniqueid: str) -> str:
        return f"{self.prefix}:link:call:{uniqueid}"
