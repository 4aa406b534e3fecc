"""What the three-party call service is told (defaults until the settings grow a section)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bridge.settings import Settings

CONTEXT = r"^[A-Za-z0-9_.\-]+$"


class ConferenceConfig(BaseModel):
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


def conference_config(settings: Settings) -> ConferenceConfig:
    found = getattr(settings, "conferences", None)
    return found if isinstance(found, ConferenceConfig) else ConferenceConfig()
