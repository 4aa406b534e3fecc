"""What the three-party call service is told: the settings file's [conferences] section."""

from __future__ import annotations

from bridge.settings import Settings
from bridge.settings.calls import ConferenceSettings

ConferenceConfig = ConferenceSettings


def conference_config(settings: Settings) -> ConferenceConfig:
    """The settings file's [conferences] section (its defaults when the file has none)."""
    return settings.conferences
