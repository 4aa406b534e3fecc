"""Bodies of the transfer and ticket API (pydantic: a bad field is named in the 422)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bridge.transfers.drafts import AgentDraft
from routing.tickets import Kind, TicketStatus, Urgency

Word = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]
PlatformId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.\-]+$")]


class TransferRequest(AgentDraft):
    """An agent desktop moves a caller: by channel name or uniqueid, on the PBX it is on."""

    pbx: Annotated[str, Field(min_length=1, max_length=80)]
    channel: Annotated[str, Field(max_length=200)] | None = None
    uniqueid: Annotated[str, Field(max_length=64)] | None = None
    agent: Annotated[str, Field(pattern=r"^[A-Za-z0-9@._:\-]{1,80}$")]
    agent_channel: Annotated[str, Field(max_length=200)] = ""
    # Supervisors and admins say which platform the call is on; an agent token's is its own.
    source_platform: PlatformId | None = None
    request_id: Word | None = None

    @model_validator(mode="after")
    def _one_leg(self) -> TransferRequest:
        if not (self.channel or self.uniqueid):
            raise ValueError("give channel or uniqueid of the caller")
        return self

    def order_fields(self, source_platform: str | None) -> dict[str, Any]:
        """The fields of a TransferOrder / ConferenceOrder: which call, who, the draft."""
        draft = AgentDraft.model_validate(self.model_dump(include=set(AgentDraft.model_fields)))
        return {
            "pbx": self.pbx,
            "caller_channel": self.channel or self.uniqueid or "",
            "agent": self.agent,
            "agent_channel": self.agent_channel,
            "source_platform": source_platform,
            "draft": draft,
            "request_id": self.request_id,
        }


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
