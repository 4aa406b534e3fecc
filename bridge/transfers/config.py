"""What the transfer service is told: timeouts, mode, prompts, and the platform table.

The timing, mode and deadlines are the settings file's ``[transfers]`` section
(`bridge.settings.calls.TransferSettings`).
"""

from __future__ import annotations

from bridge.settings import Settings
from bridge.settings.calls import Mode, TransferSettings
from routing.transfer_paths import PlatformEntry, QueueEntry, TrunkEntry

TransferConfig = TransferSettings

__all__ = ["Mode", "TransferConfig", "platform_table", "transfer_config", "zone_table"]


def transfer_config(settings: Settings) -> TransferConfig:
    """The settings file's [transfers] section (its defaults when the file has none)."""
    return settings.transfers


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
