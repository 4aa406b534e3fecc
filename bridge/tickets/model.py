"""The linkage ticket (联动单) as pydantic models, and how one maps to a Redis hash.

`TicketDraft` is what a caller of the store supplies; `Ticket` is what the store keeps and
returns (the draft plus id, status, people, deadlines and timestamps). A validation error names
the field (pydantic's `loc`), e.g. `district_code: String should match pattern '^\\d{6}$'`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from routing.tickets import Direction, Kind, Level, Platform, TicketStatus, Urgency

DistrictCode = Annotated[str, Field(pattern=r"^\d{6}$", description="GB/T 2260 code")]
PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9*#]{1,32}$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
TICKET_ID_PATTERN = r"^LK-\d{8}-\d{6,}$"

# Which (origin, target) platform pair each direction means; a draft must agree with it.
DIRECTION_PLATFORMS: dict[Direction, tuple[Platform, Level, Platform, Level]] = {
    Direction.CITY_12345_TO_CITY_110: (
        Platform.HOTLINE_12345,
        Level.CITY,
        Platform.POLICE_110,
        Level.CITY,
    ),
    Direction.CITY_110_TO_CITY_12345: (
        Platform.POLICE_110,
        Level.CITY,
        Platform.HOTLINE_12345,
        Level.CITY,
    ),
    Direction.CITY_110_TO_COUNTY_110: (
        Platform.POLICE_110,
        Level.CITY,
        Platform.POLICE_110,
        Level.COUNTY,
    ),
    Direction.COUNTY_110_TO_CITY_12345: (
        Platform.POLICE_110,
        Level.COUNTY,
        Platform.HOTLINE_12345,
        Level.CITY,
    ),
}


class Hop(BaseModel):
    """One leg of the route: a county 110 → 12345 ticket has two (county → city 110 → 12345)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_platform: Platform
    from_level: Level
    from_district: DistrictCode
    to_platform: Platform
    to_level: Level
    to_district: DistrictCode


class FeedbackEntry(BaseModel):
    """The receiving platform's report on its handling (受理反馈)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: ShortText
    at: AwareDatetime
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class TicketDraft(BaseModel):
    """What the originating side knows when it presses the key or posts the form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    direction: Direction
    origin_platform: Platform
    origin_level: Level
    origin_district: DistrictCode
    origin_ref: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="the origin's work-order (工单) or police-ticket (警单) number"
    )
    caller_number: PhoneNumber | None = None
    caller_name: Annotated[str, Field(max_length=64)] | None = None
    kind: Kind
    summary: Annotated[str, Field(max_length=4000)] = ""
    urgency: Urgency = Urgency.NORMAL
    district_code: DistrictCode = Field(description="where the incident is (属地)")
    location: Annotated[str, Field(max_length=400)] | None = None
    originating_agent: ShortText
    officers_contact: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="attending officers' contact (daily linkage from 110)"
    )
    target_platform: Platform
    target_level: Level
    target_district: DistrictCode
    hops: list[Hop] = Field(default_factory=list)
    channel: Annotated[str, Field(max_length=200)] | None = None
    uniqueid: Annotated[str, Field(max_length=64)] | None = None

    @model_validator(mode="after")
    def _route_is_consistent(self) -> Self:
        origin, origin_level, target, target_level = DIRECTION_PLATFORMS[self.direction]
        expected = {
            "origin_platform": origin,
            "origin_level": origin_level,
            "target_platform": target,
            "target_level": target_level,
        }
        for name, value in expected.items():
            if getattr(self, name) != value:
                raise ValueError(
                    f"{name} is {getattr(self, name).value!r} but direction "
                    f"{self.direction.value!r} needs {value.value!r}"
                )
        self._check_hops()
        return self

    def _check_hops(self) -> None:
        for index, (left, right) in enumerate(zip(self.hops, self.hops[1:], strict=False)):
            if (left.to_platform, left.to_level, left.to_district) != (
                right.from_platform,
                right.from_level,
                right.from_district,
            ):
                raise ValueError(f"hops[{index + 1}] does not start where hops[{index}] ends")
        # Hops are the route travelled so far (appended as the ticket moves), so the last one
        # need not reach the target yet; the first must leave from the origin.
        if self.hops:
            first = self.hops[0]
            if (first.from_platform, first.from_level, first.from_district) != (
                self.origin_platform,
                self.origin_level,
                self.origin_district,
            ):
                raise ValueError("hops[0] must start at the origin platform, level and district")


class Ticket(TicketDraft):
    """A stored linkage ticket."""

    id: Annotated[str, Field(pattern=TICKET_ID_PATTERN)]
    request_id: ShortText
    status: TicketStatus
    accepted_by: str | None = None
    feedback: list[FeedbackEntry] = Field(default_factory=list)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    accepted_at: AwareDatetime | None = None
    closed_at: AwareDatetime | None = None
    due_at: AwareDatetime = Field(description="feedback due (督办 deadline)")
    act_within_s: int = Field(gt=0, description="accepted → first action allowed, seconds")


class HistoryEntry(BaseModel):
    """One line of a ticket's append-only history: who did what, when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry_id: str
    event: str
    by: str
    at: AwareDatetime
    from_status: TicketStatus | None = None
    to_status: TicketStatus | None = None
    note: str = ""


# Fields whose hash value is JSON (lists of models); every other field is stored as its text.
JSON_FIELDS = frozenset({"hops", "feedback"})
# Fields only the Redis scripts read (index scores), kept out of the model.
INTERNAL_PREFIX = "_"


def to_hash_fields(model: BaseModel) -> dict[str, str]:
    """Flatten a model into hash fields: absent for None, JSON for lists, text otherwise.

    Runs once per ticket created (the client's share of the cost), so it asks pydantic to
    drop the Nones and converts only what is not text already.
    """
    fields: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    for name, value in fields.items():
        if name in JSON_FIELDS:
            fields[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif not isinstance(value, str):
            fields[name] = str(value)
    return fields


def ticket_from_hash(raw: Mapping[Any, Any]) -> Ticket:
    """Rebuild a Ticket from HGETALL's reply (bytes or str, depending on the client)."""
    data: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.decode() if isinstance(key, bytes) else key
        text = value.decode() if isinstance(value, bytes) else value
        if name.startswith(INTERNAL_PREFIX):
            continue
        data[name] = json.loads(text) if name in JSON_FIELDS else text
    return Ticket.model_validate(data)
