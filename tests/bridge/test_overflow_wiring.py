"""`[overflow]` settings: off by default; on, the service gets the controller and its routes;
a wrong PBX or scenario is refused with the setting named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.commands.run import build_service
from bridge.overflow.controller import OverflowController
from bridge.settings import Settings, load_settings
from bridge.settings.loading import parse_settings

JINING = Path(__file__).resolve().parents[2] / "config" / "jining.toml"


def with_overflow(**overflow: Any) -> Settings:
    data = load_settings(JINING).model_dump(mode="json")
    data["overflow"] = {**data["overflow"], **overflow}
    return parse_settings(data, str(JINING))


def test_off_by_default_in_the_shipped_file() -> None:
    service = build_service(load_settings(JINING), str(JINING))
    assert "overflow" not in [c.name for c in service.components]


def test_enabled_adds_the_controller_and_its_routes() -> None:
    service = build_service(with_overflow(enabled=True), str(JINING))
    controller = service.components.get("overflow")
    assert isinstance(controller, OverflowController)
    assert controller.config.by_code["370800"].queue == "q110-city"
    assert controller.config.by_code["370883"].aid_queue == "q110-aid-370883"
    paths = {(spec.method, spec.path) for spec in service.routes.specs}
    assert {("GET", "/api/overflow"), ("POST", "/api/overflow/release")} <= paths


def test_a_wrong_pbx_or_scenario_is_named() -> None:
    with pytest.raises(ValueError, match="pbx-999"):
        build_service(with_overflow(enabled=True, pbx="pbx-999"), str(JINING))
    with pytest.raises(ValueError, match=r"nowhere\.toml"):
        build_service(with_overflow(enabled=True, scenario="nowhere.toml"), str(JINING))
