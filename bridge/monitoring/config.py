"""What the queue monitor is told: thresholds, targets, retention (the settings file's
``[monitoring]`` section, `MonitoringConfig`), and which queue is whose."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.settings import Settings
from bridge.settings.models import MonitoringSettings as MonitoringConfig

__all__ = ["MonitoringConfig", "QueueDirectory", "QueueInfo", "monitoring_config"]


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
    """The ``[monitoring]`` section (its defaults when the file has none)."""
    return settings.monitoring
