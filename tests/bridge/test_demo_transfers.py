"""The demo with one-key transfer wired into the bridge: call-takers' presses (after their
desktop posted a draft) become linkage tickets the demo reads back from the bridge's API,
and a city 110 caller moved to the county centre (属地) shows as a transfer."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import bridge.demo.stack as demo_stack
from bridge.commands import run
from bridge.demo.session import DemoOptions, run_demo
from bridge.monitoring.wiring import install_monitor
from bridge.service import Service
from bridge.settings import Settings
from bridge.transfers.wiring import install_transfers
from telephony.agi.diagnostic_routes import diagnostic_routes

ROOT = Path(__file__).resolve().parents[2]


def _with_transfers(settings: Settings, config_file: str) -> Service:
    """build_service, plus the transfer component where this build does not add it yet."""
    service = run.build_service(settings, config_file)
    if any(component.name == "transfers" for component in service.components):
        return service
    service = Service(settings, config_file)
    service.add(run.RedisComponent(settings.redis))
    for pbx in settings.pbx:
        service.add(run.AmiComponent(pbx))
    routes = diagnostic_routes()
    service.add(run.fastagi_component(settings, routes))
    install_monitor(service)
    install_transfers(service, routes)
    return service


async def test_presses_become_tickets_and_a_county_transfer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(demo_stack, "build_service", _with_transfers)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    options = DemoOptions(
        config_file=ROOT / "config" / "jining.toml",
        duration_s=20.0,
        time_scale=30.0,
        seed=5,
        json=True,
        live=False,
    )
    summary = await run_demo(options, io.StringIO())
    assert summary["agent_key_presses"] > 0
    ends = {(t["from"], t["to"]) for t in summary["tickets"]}
    # City 110's desk drafts alternate: county 370883 (属地) first.
    assert ("110 city 370800", "110 county 370883") in ends, summary["tickets"]
    assert all(t["kind"] in ("报警", "求助", "咨询") for t in summary["tickets"])
    ticket_ids = {t["id"] for t in summary["tickets"]}
    county = [
        t for t in summary["transfers"] if (t["from"], t["to"]) == ("q110-city", "q110-370883")
    ]
    assert county, summary["transfers"]
    # Each such transfer is tied to one of the bridge's tickets.
    assert all(t["ticket"] in ticket_ids for t in county), county
