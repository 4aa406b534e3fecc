"""The AMI and FastAGI components of `hotline-bridge run`, against the emulated PBX."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.commands.run import AmiComponent, fastagi_component
from bridge.settings import PbxSettings, load_settings
from telephony.agi.diagnostic_routes import diagnostic_routes
from telephony.pbxsim import EmulatedPBX
from tests.redis_server import free_port

REPO = Path(__file__).resolve().parents[2]
PBX_12345 = REPO / "config" / "asterisk" / "pbx-12345"
SECRET_ENV = "HB_TEST_AMI_SECRET"


@pytest.fixture
async def pbx() -> AsyncIterator[EmulatedPBX]:
    emulated = EmulatedPBX.from_config_dir(PBX_12345, name="pbx-12345")
    await emulated.start()
    yield emulated
    await emulated.stop()


def pbx_settings(port: int) -> PbxSettings:
    return PbxSettings(
        name="pbx-12345",
        ami_host="127.0.0.1",
        ami_port=port,
        ami_username="hotline-bridge",
        secret_env=SECRET_ENV,
        ami_timeout_seconds=2.0,
    )


async def settle(component: Any, status: str) -> dict[str, Any]:
    """Health once the first login attempt is over (bounded polling, not a timing assertion)."""
    for _ in range(300):
        health: dict[str, Any] = await component.health()
        if health["status"] == status and health.get("error") != "connecting":
            return health
        await asyncio.sleep(0.01)
    raise AssertionError(f"{component.name} never reached {status}: {health}")


async def test_ami_component_logs_in(pbx: EmulatedPBX, monkeypatch: pytest.MonkeyPatch) -> None:
    # config/asterisk/pbx-12345/manager.conf: user hotline-bridge, secret change-me
    monkeypatch.setenv(SECRET_ENV, "change-me")
    component = AmiComponent(pbx_settings(pbx.ami_port))
    await component.start()
    try:
        health = await settle(component, "ok")
    finally:
        await component.stop()
    assert health["logins"] == 1
    assert component.name == "ami:pbx-12345"


async def test_ami_component_reports_a_missing_secret(
    pbx: EmulatedPBX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    component = AmiComponent(pbx_settings(pbx.ami_port))
    await component.start()
    try:
        health = await settle(component, "down")
    finally:
        await component.stop()
    assert f"environment variable {SECRET_ENV} is unset" in health["error"]


async def test_ami_component_reports_a_wrong_secret(
    pbx: EmulatedPBX, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "wrong")
    component = AmiComponent(pbx_settings(pbx.ami_port))
    await component.start()
    try:
        health = await settle(component, "down")
    finally:
        await component.stop()  # also cancels the background retry
    assert "Authentication failed" in health["error"]
    assert "wrong" not in health["error"]


async def test_fastagi_component_serves_the_ping_route(tmp_path: Path) -> None:
    settings = load_settings(REPO / "config" / "jining.toml")
    port = free_port()
    settings = settings.model_copy(
        update={"fastagi": settings.fastagi.model_copy(update={"host": "127.0.0.1", "port": port})}
    )
    component = fastagi_component(settings, diagnostic_routes())
    await component.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"agi_network: yes\nagi_network_script: ping\nagi_request: agi://127.0.0.1/ping\n"
            b"agi_channel: Local/caller@callers-00000001;2\n\n"
        )
        await writer.drain()
        verbose = await reader.readline()
        writer.write(b"200 result=1\n")
        await writer.drain()
        set_variable = await reader.readline()
        writer.write(b"200 result=1\n")
        await writer.drain()
        await reader.read()  # the server closes the session
        writer.close()
        health = await component.health()
    finally:
        await component.stop()
    assert verbose.startswith(b"VERBOSE ")
    assert set_variable == b'SET VARIABLE HOTLINE_BRIDGE "OK"\n'
    assert health["status"] == "ok" and health["sessions_started"] == 1
    assert (await component.health())["status"] == "down"
