"""Bodies of the transfer and ticket API (pydantic: a bad field is named in the 422)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bridge.call_requests import CallRequest, PlatformId, Word
from routing.tickets import Kind, TicketStatus, Urgency


class TransferRequest(CallRequest):
    """An agent desktop moves a caller: by channel name or uniqueid, on the PBX it is on."""


class InternetTicketRequest(BaseModel):
    """A request from the internet channel (no phone leg) for the other platform's list."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_id: Word
    target: Annotated[str, Field(pattern=r"^(110|12345)$")]
    source_platform: PlatformId | None = None
    kind: Kind
    summary: Annotated[str, Field(min_length=1, max_length=4000)]
    urgency: Urgency = Urgency.NORMAL
    district_code: Annotated[str, Field(pattern=r"^\d{6}$")]
    caller_number: Annotated[str, Field(pattern=r"^\+?[0-9*#]{1,32}$")] | None = None
    caller_name: Annotated[str, Field(max_length=64)] | None = None
    location: Annotated[str, Field(max_length=400)] | None = None
    officers_contact: Annotated[str, Field(max_length=200)] | None = None
    origin_ref: Annotated[str, Field(max_length=64)] | None = None
    originating_agent: Annotated[str, Field(min_length=1, max_length=200)]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Annotated[str, Field(min_length=1, max_length=4000)]


class StatusRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: TicketStatus
    note: Annotated[str, Field(max_length=4000)] = ""


class TransferAccepted(BaseModel):
    """What POST /api/transfers answers."""

    ticket_id: str
    status: TicketStatus
    mode: str
    target_platform: str
    target_queue: str
    entry: str  # context,extension@pbx the caller was sent to
    created: bool
