"""What the transfer service is told: timeouts, mode, prompts, and the platform table.

The bridge's settings file has no ``[transfers]`` section yet, so :func:`transfer_config`
takes ``settings.transfers`` when the settings model grows one and these defaults otherwise.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bridge.settings import Settings
from routing.tickets import DeadlinePolicy, Kind, Urgency, parse_deadline_policy
from routing.transfer_paths import PlatformEntry, QueueEntry, TrunkEntry

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


class TransferConfig(BaseModel):
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

    def deadline_policy(self) -> DeadlinePolicy:
        return parse_deadline_policy(self.deadlines)


def transfer_config(settings: Settings) -> TransferConfig:
    found = getattr(settings, "transfers", None)
    return found if isinstance(found, TransferConfig) else TransferConfig()


def platform_table(settings: Settings) -> list[PlatformEntry]:
    """The settings' platforms as the plain data routing.transfer_paths takes."""
    return [
        PlatformEntry(
            id=platform.id,
            kind=platform.kind.value,
            level=platform.level.value,
            district_code=platform.district_code,
            pbx=platform.pbx,
            queues=tuple(
                QueueEntry(
                    queue.name,
                    queue.context,
                    queue.extension,
                    tuple(TrunkEntry(t.from_pbx, t.context, t.extension) for t in queue.trunks),
                )
                for queue in platform.queues
            ),
        )
        for platform in settings.platforms
    ]


def zone_table(settings: Settings) -> dict[str, str]:
    return {zone.name: zone.attached_to for zone in settings.zones}
