"""What the queue monitor is told: thresholds, targets, retention, and which queue is whose.

The bridge's settings file has no ``[monitoring]`` section yet, so :func:`monitoring_config`
takes ``settings.monitoring`` when the settings model grows one (any model with these field
names, validated again here) and these defaults otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from bridge.settings import Settings
from routing.metrics import MetricsConfig


class MonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    short_abandon_seconds: float = Field(default=5.0, ge=0)
    service_level_seconds: float = Field(default=20.0, gt=0)
    # Wallboard and alert targets: a queue over either is shown red.
    early_release_target: float = Field(default=0.05, ge=0, le=1)
    service_level_target: float = Field(default=0.80, ge=0, le=1)
    # Days of per-minute history kept in Redis (EXPIRE on each day's hash).
    retention_days: int = Field(default=400, ge=1, le=3660)
    # How long an Abandon/Leave may wait for the event that tells its kind (Hangup, VarSet,
    # AgentConnect) before the default decision; keeps event -> metric under one second.
    decision_grace_seconds: float = Field(default=0.5, gt=0, le=0.9)
    summary_interval_seconds: float = Field(default=60.0, gt=0)
    # True: /wallboard/data answers without a token (a screen on a closed network).
    wallboard_open: bool = False
    # Where a call-back Originate sends the agent's leg: Exten=<number> in this context.
    callback_context: str = Field(default="hb-callback", pattern=r"^[A-Za-z0-9_.\-]+$")

    def metrics_config(self, timezone: str) -> MetricsConfig:
        return MetricsConfig(
            short_abandon_s=self.short_abandon_seconds,
            service_level_s=self.service_level_seconds,
            timezone=timezone,
        )


@dataclass(frozen=True)
class QueueInfo:
    queue: str
    platform: str  # platform id, e.g. "110-370800"
    platform_name: str
    district: str  # GB/T 2260 code of the platform's area
    pbx: str


class QueueDirectory:
    """Queue name -> platform, district and PBX, from the settings' platforms."""

    def __init__(self, queues: list[QueueInfo]) -> None:
        self._by_name = {info.queue: info for info in queues}

    @classmethod
    def from_settings(cls, settings: Settings) -> QueueDirectory:
        return cls(
            [
                QueueInfo(q.name, p.id, p.name, p.district_code, p.pbx)
                for p in settings.platforms
                for q in p.queues
            ]
        )

    def get(self, queue: str) -> QueueInfo:
        """The configured queue, or one with no platform for a queue the settings lack."""
        found = self._by_name.get(queue)
        return found if found is not None else QueueInfo(queue, "", "", "", "")

    def known(self, queue: str) -> bool:
        return queue in self._by_name

    @property
    def names(self) -> list[str]:
        return list(self._by_name)


def monitoring_config(settings: Settings) -> MonitoringConfig:
    """``settings.monitoring`` (a model or table with these fields) when there is one."""
    found = getattr(settings, "monitoring", None)
    if found is None:
        return MonitoringConfig()
    if isinstance(found, MonitoringConfig):
        return found
    data = found.model_dump() if isinstance(found, BaseModel) else found
    return MonitoringConfig.model_validate(data)
