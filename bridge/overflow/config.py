"""The overflow policy's configuration for the live 110 PBX, from a surge scenario file
(config/scenarios/*.toml: centres, neighbours, lend caps, thresholds — the same file the
simulation runs, so what is simulated is what is applied)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bridge.overflow.controller import ControllerSettings
from routing.overflow import OverflowConfig
from routing.simulation.scenario import Scenario, scenario_from_toml

CITY_CODE = "370800"
# The shipped 110 dialplan names the city centre's queue q110-city (its aid queue follows the
# policy's default, q110-aid-370800).
CITY_QUEUE = "q110-city"


def pbx_overflow_config(scenario: Scenario, city_queue: str = CITY_QUEUE) -> OverflowConfig:
    """The scenario's policy with each city centre's own queue renamed to the PBX's."""
    centres = tuple(
        dataclasses.replace(c.policy, queue=city_queue) if c.policy.level == "city" else c.policy
        for c in scenario.centres
    )
    return dataclasses.replace(scenario.overflow, centres=centres)


def controller_settings(scenario: Scenario, tick_s: float) -> ControllerSettings:
    return ControllerSettings(
        tick_s=tick_s,
        rate_window_s=scenario.rate_window_s,
        sustained_window_s=scenario.sustained_window_s,
    )


def load_scenario(path: str | Path) -> Scenario:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"overflow scenario {file}: cannot read it: {error}") from error
    return scenario_from_toml(text, str(file))
