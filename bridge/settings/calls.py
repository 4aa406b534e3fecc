"""The [transfers] and [conferences] sections: one-key transfer and three-party call timing,
modes, prompts and the receiving platforms' deadlines (受理反馈, 跟踪督办)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from routing.tickets import DeadlinePolicy, Kind, Urgency, parse_deadline_policy

Mode = Literal["blind", "consult"]
RawDeadlines = dict[str, dict[str, dict[str, float]]]

# Receiving platform's deadlines (受理反馈, 跟踪督办) until the settings carry their own:
# act_within_s from acceptance to first action (联而不动 past it), close_within_s from
# creation to feedback (overdue past it). Police reports are urgent by nature.
_ACT_CLOSE_S = {
    Urgency.CRITICAL: (300.0, 4 * 3600.0),
    Urgency.URGENT: (1800.0, 24 * 3600.0),
    Urgency.NORMAL: (4 * 3600.0, 5 * 24 * 3600.0),
}
DEFAULT_DEADLINES: RawDeadlines = {
    kind.value: {
        urgency.value: {"act_within_s": act, "close_within_s": close}
        for urgency, (act, close) in _ACT_CLOSE_S.items()
    }
    for kind in Kind
}


class TransferSettings(BaseModel):
    """[transfers]: one-key transfer timing, mode, prompts, deadlines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # From Redirect until a target agent answers; past it the caller goes back (never dropped).
    answer_timeout_seconds: float = Field(default=90.0, gt=0, le=3600)
    default_mode: Mode = "blind"
    # A target queue seen by QueueStatus is trusted this long before it is asked again: a
    # queue disappears only with a PBX reload, and the check is on every key press's path.
    # 0 asks every time.
    target_check_ttl_seconds: float = Field(default=5.0, ge=0, le=300)
    # QUEUE_PRIO set on a caller sent back to the origin queue: it waits at the head.
    return_priority: int = Field(default=10, ge=1, le=1_000_000)
    # Three-party rooms (consult mode) use the dialplan's hb-conf context.
    conference_context: str = Field(default="hb-conf", pattern=r"^[A-Za-z0-9_.\-]+$")
    # Agent drafts (PUT /api/agents/{agent}/draft) expire after this long unused.
    draft_ttl_seconds: int = Field(default=4 * 3600, ge=60)
    # Prompts the agent hears after the key press (files on the PBX, no extension).
    prompt_started: str = "hotline-bridge/transfer-started"
    prompt_failed: str = "hotline-bridge/transfer-failed"
    deadlines: RawDeadlines = Field(default_factory=lambda: DEFAULT_DEADLINES)

    @field_validator("deadlines")
    @classmethod
    def _deadlines_parse(cls, value: RawDeadlines) -> RawDeadlines:
        parse_deadline_policy(value)  # raises ValueError naming the kind/urgency/field
        return value

    def deadline_policy(self) -> DeadlinePolicy:
        return parse_deadline_policy(self.deadlines)


CONTEXT = r"^[A-Za-z0-9_.\-]+$"


class ConferenceSettings(BaseModel):
    """[conferences]: three-party call ringing, hand-over and prompts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # From the Originate toward the other platform until one of its agents answers; past it
    # the leg is hung up and the caller stays with the first agent. Also the Originate's own
    # Timeout, so the PBX stops ringing even if the bridge is gone.
    ring_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # An agent leaving while caller and the other agent remain: False hands the caller to the
    # accepting platform's queue when the one remaining is not its agent; True keeps the two.
    keep_in_room_after_agent_leaves: bool = False
    # Rooms: [hb-conf] exten <room> runs ConfBridge with the hb_menu decision keys. The caller
    # enters through [hb-conf-caller], which plays the "connecting you, please hold" prompt
    # and then joins the same room (the caller hears a prompt, not silence, while rung).
    room_context: str = Field(default="hb-conf", pattern=CONTEXT)
    caller_context: str = Field(default="hb-conf-caller", pattern=CONTEXT)
    # QUEUE_PRIO of a caller handed to a queue at the end: it waits at the head.
    handover_priority: int = Field(default=10, ge=1, le=1_000_000)
    # Prompts the agent hears after a key (files on the PBX, no extension).
    prompt_failed: str = "hotline-bridge/threeparty-failed"
    prompt_decision: str = "hotline-bridge/decision-recorded"
    prompt_decision_failed: str = "hotline-bridge/decision-failed"
