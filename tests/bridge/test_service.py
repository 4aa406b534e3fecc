"""Service: component order, stop deadline, Redis component, SIGHUP reload, SIGTERM stop."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from bridge.service import CallbackComponent, Components, RedisComponent, Service
from bridge.settings import RedisSettings, Role, Settings, load_settings
from tests.redis_server import RedisServer, free_port

REPO = Path(__file__).resolve().parents[2]
JINING = REPO / "config" / "jining.toml"
ADMIN_TOKEN = "admin-token-0123456789abcd"
MONITOR_TOKEN = "monitor-token-0123456789ab"
TOKEN_ENV = {"HOTLINE_TOKEN_ADMIN": ADMIN_TOKEN, "HOTLINE_TOKEN_MONITOR": MONITOR_TOKEN}


@pytest.fixture(autouse=True)
def keep_root_log_level() -> Iterator[None]:
    """A reload sets the root logger's level; put it back for the other tests."""
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


class RecordingComponent:
    """A component that writes what happens to it into a shared journal."""

    def __init__(self, name: str, journal: list[str], *, fail_start: bool = False) -> None:
        self.name = name
        self.journal = journal
        self.fail_start = fail_start
        self.hang_on_stop = False

    async def start(self) -> None:
        if self.fail_start:
            raise OSError(f"{self.name} cannot bind")
        self.journal.append(f"start {self.name}")

    async def stop(self) -> None:
        if self.hang_on_stop:
            await asyncio.Event().wait()  # never set: a component stuck on shutdown
        self.journal.append(f"stop {self.name}")

    async def health(self) -> dict[str, Any]:
        return {"status": "ok"}


def deployment(tmp_path: Path, redis_url: str, **replace: str) -> Path:
    """The Jining file with local ports and Redis; `replace` swaps further text."""
    text = JINING.read_text(encoding="utf-8")
    text = text.replace('url = "redis://127.0.0.1:6379/0"', f'url = "{redis_url}"')
    text = text.replace("port = 8080", f"port = {free_port()}")
    text = text.replace("port = 4573", f"port = {free_port()}")
    text = text.replace("deadline_seconds = 15.0", "deadline_seconds = 5.0")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "deploy.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_components_start_in_order_and_stop_in_reverse() -> None:
    journal: list[str] = []
    components = Components()
    for name in ("redis", "ami", "fastagi", "http"):
        components.add(RecordingComponent(name, journal))
    await components.start_all()
    await components.stop_all(deadline_seconds=5)
    assert journal == [
        "start redis",
        "start ami",
        "start fastagi",
        "start http",
        "stop http",
        "stop fastagi",
        "stop ami",
        "stop redis",
    ]


async def test_failed_start_stops_what_was_started() -> None:
    journal: list[str] = []
    components = Components()
    components.add(RecordingComponent("redis", journal))
    components.add(RecordingComponent("ami", journal))
    components.add(RecordingComponent("fastagi", journal, fail_start=True))
    with pytest.raises(OSError, match="fastagi cannot bind"):
        await components.start_all()
    assert journal == ["start redis", "start ami", "stop ami", "stop redis"]


def test_component_names_are_unique_and_looked_up_by_name() -> None:
    components = Components()
    ami = RecordingComponent("ami", [])
    components.add(ami)
    with pytest.raises(ValueError, match="'ami' is already registered"):
        components.add(RecordingComponent("ami", []))
    assert components.get("ami") is ami
    with pytest.raises(KeyError, match=r"no component named 'redis' \(registered: ami\)"):
        components.get("redis")


async def test_a_stuck_component_does_not_block_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal: list[str] = []
    components = Components()
    components.add(RecordingComponent("redis", journal))
    stuck = RecordingComponent("fastagi", journal)
    components.add(stuck)
    await components.start_all()
    stuck.hang_on_stop = True
    await components.stop_all(deadline_seconds=0.2)
    assert journal[-1] == "stop redis"
    assert "stop fastagi" not in journal
    assert any(
        r.getMessage() == "component did not stop before the deadline"
        and getattr(r, "component", None) == "fastagi"
        for r in caplog.records
    )


async def test_health_of_a_failing_component_says_why() -> None:
    async def nothing() -> None:
        return None

    async def broken() -> dict[str, Any]:
        raise ConnectionResetError("AMI socket closed")

    components = Components()
    components.add(CallbackComponent("ami", nothing, nothing, broken))
    report = await components.health()
    assert report == {"ami": {"status": "down", "error": "ConnectionResetError: AMI socket closed"}}


async def test_redis_component_pings_and_checks_persistence(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    component = RedisComponent(RedisSettings(url=redis_server.url, appendfsync="everysec"))
    await component.start()
    try:
        health = await component.health()
        assert await component.client.set("hb:test", "1")
    finally:
        await component.stop()
    assert health["status"] == "ok" and health["latency_ms"] >= 0
    assert not any("persistence differs" in r.getMessage() for r in caplog.records)
    assert (await component.health())["status"] == "down"


async def test_redis_component_warns_when_fsync_differs(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    component = RedisComponent(RedisSettings(url=redis_server.url, appendfsync="always"))
    await component.start()
    await component.stop()
    warnings = [r for r in caplog.records if "persistence differs" in r.getMessage()]
    assert len(warnings) == 1
    assert getattr(warnings[0], "appendfsync", None) == "everysec"


async def _wait_for(predicate: Any, what: str) -> None:
    """Poll the event loop until `predicate()` holds (bounded, not a timing assertion)."""
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_sighup_reloads_a_good_file_and_keeps_the_old_on_a_bad_one(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    path = deployment(tmp_path, redis_server.url)
    settings = load_settings(path)
    service = Service(settings, path, environ=TOKEN_ENV)
    service.add(RedisComponent(settings.redis))
    runner = asyncio.create_task(service.run())
    await _wait_for(lambda: service.http is not None and service.components.health, "start")
    base = f"http://127.0.0.1:{settings.http.port}"
    async with aiohttp.ClientSession() as session:
        await _wait_for_http(session, f"{base}/health")
        headers = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
        http_before = service.http

        # Good file: the monitor token becomes a supervisor token, without a restart.
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace('role = "monitor"', 'role = "supervisor"'), "utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await _wait_for(
            lambda: service.settings.api_tokens[4].role is Role.SUPERVISOR, "good reload"
        )
        async with session.get(f"{base}/api/config", headers=headers) as response:
            assert response.status == 200
        assert service.http is http_before

        # Bad file: logged, the running configuration stays.
        path.write_text(text.replace('role = "monitor"', 'role = "root"'), "utf-8")
        os.kill(os.getpid(), signal.SIGHUP)
        await _wait_for(
            lambda: any("reload refused" in r.getMessage() for r in caplog.records), "refusal"
        )
        assert service.settings.api_tokens[4].role is Role.SUPERVISOR
        async with session.get(f"{base}/api/config", headers=headers) as response:
            assert response.status == 200
    refused = next(r for r in caplog.records if "reload refused" in r.getMessage())
    assert "api_tokens[4].role" in getattr(refused, "error", "")
    service.request_stop()
    await runner


async def _wait_for_http(session: aiohttp.ClientSession, url: str) -> None:
    for _ in range(500):
        try:
            async with session.get(url) as response:
                if response.status in (200, 503):
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.01)
    raise AssertionError(f"{url} never answered")


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def _get_json(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:
        body = json.load(exc)
    return body


def test_run_command_stops_gracefully_on_sigterm(tmp_path: Path, redis_server: RedisServer) -> None:
    path = deployment(tmp_path, redis_server.url)
    port = load_settings(path).http.port
    env = {**os.environ, **TOKEN_ENV, "PYTHONPATH": str(REPO)}
    env.pop("HOTLINE_AMI_SECRET_PBX110", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(path)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1000):
            try:
                if _get(f"http://127.0.0.1:{port}/health") in (200, 503):
                    break
            except OSError:
                pass
            assert process.poll() is None, process.communicate()[1]
            subprocess.run(["sleep", "0.02"], check=True)
        else:
            raise AssertionError("the service never became healthy")
        health = _get_json(f"http://127.0.0.1:{port}/health")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    records = [json.loads(line) for line in stderr.splitlines()]
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    stopped = [r["component"] for r in records if r["msg"] == "component stopped"]
    assert stopped == [
        "http",
        "monitor",
        "fastagi",
        "conferences",
        "transfers",
        "ami:pbx-110",
        "ami:pbx-12345",
        "redis",
    ]
    assert records[-1]["msg"] == "hotline-bridge stopped"
    # The PBXs of the default file are not reachable here: that is reported, not fatal.
    errors = {r["msg"] for r in records if r["level"] == "ERROR"}
    assert errors <= {"AMI login failed"}
    components = health["components"]
    assert components["redis"]["status"] == "ok"
    assert components["fastagi"]["status"] == "ok"
    assert components["http"]["status"] == "ok"
    assert components["ami:pbx-110"]["status"] == "down"
    assert "HOTLINE_AMI_SECRET_PBX110" in components["ami:pbx-110"]["error"]
    with pytest.raises(OSError):
        _get(f"http://127.0.0.1:{port}/health")


def test_run_command_refuses_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[http]\nport = 'x'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "run", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: ")
    assert "Traceback" not in result.stderr


def test_logging_is_quiet_about_secrets_in_extra_fields() -> None:
    from bridge.json_logging import JsonFormatter

    record = logging.LogRecord("t", logging.INFO, __file__, 1, "login %s", ("pbx-110",), None)
    record.secret = "hunter2"
    record.auth_token = ADMIN_TOKEN
    record.ticket = "LK-1"
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "login pbx-110"
    assert line["ticket"] == "LK-1"
    assert line["secret"] == "***" and line["auth_token"] == "***"


async def test_stop_refuses_new_requests_and_finishes_running_ones(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    path = deployment(tmp_path, redis_server.url)
    settings = load_settings(path)
    service = Service(settings, path, environ=TOKEN_ENV)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.json_response({"done": True})

    service.routes.add("GET", "/api/slow", slow, summary="waits", roles={Role.ADMIN})
    runner = asyncio.create_task(service.run())
    base = f"http://127.0.0.1:{settings.http.port}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession() as first, aiohttp.ClientSession() as second:
        await _wait_for_http(first, f"{base}/health")
        in_flight = asyncio.create_task(first.get(f"{base}/api/slow", headers=headers))
        await entered.wait()
        service.request_stop()
        await _wait_for(lambda: not _accepts(settings.http.port), "listener closed")
        release.set()
        response = await in_flight
        assert response.status == 200
        assert await response.json() == {"done": True}
        with pytest.raises(aiohttp.ClientConnectionError):
            await second.get(f"{base}/health")
    await runner


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def test_log_lines_carry_timezone_and_exception() -> None:
    from bridge.json_logging import JsonFormatter

    try:
        raise ValueError("bad ticket")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    record.created = 0.0
    line = json.loads(JsonFormatter(ZoneInfo("Asia/Shanghai")).format(record))
    assert line["ts"] == "1970-01-01T08:00:00.000+08:00"
    assert line["level"] == "ERROR" and line["logger"] == "t"
    assert "ValueError: bad ticket" in line["exc"]


class ReloadingComponent(RecordingComponent):
    def __init__(self, name: str, journal: list[str], *, fail: bool = False) -> None:
        super().__init__(name, journal)
        self.fail = fail

    async def reload(self, settings: Settings) -> None:
        if self.fail:
            raise RuntimeError("cannot apply")
        self.journal.append(f"reload {self.name} {settings.logging.level}")


async def test_reload_reaches_reloadable_components_and_survives_one_failing(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    path = deployment(tmp_path, redis_server.url)
    service = Service(load_settings(path), path, environ=TOKEN_ENV)
    journal: list[str] = []
    service.add(ReloadingComponent("broken", journal, fail=True))
    service.add(RecordingComponent("plain", journal))
    service.add(ReloadingComponent("ivr", journal))
    path.write_text(
        path.read_text(encoding="utf-8").replace('level = "INFO"', 'level = "WARNING"'), "utf-8"
    )
    assert await service.reload_config() is None
    assert logging.getLogger().level == logging.WARNING
    assert journal == ["reload ivr WARNING"]
    assert any(
        r.getMessage() == "component failed to apply the new configuration"
        and getattr(r, "component", None) == "broken"
        for r in caplog.records
    )


async def test_reload_over_http_reports_a_bad_file(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    path = deployment(tmp_path, redis_server.url)
    settings = load_settings(path)
    service = Service(settings, path, environ=TOKEN_ENV)
    await service.start()
    try:
        path.write_text("[http]\nport = 0\n", "utf-8")
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"http://127.0.0.1:{settings.http.port}/api/config/reload",
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            ) as response:
                status, body = response.status, await response.json()
    finally:
        await service.stop()
    assert status == 422
    assert body["reloaded"] is False
    assert body["error"].startswith(f"{path}: ")
    assert service.settings is settings


def _start_pbxsim(folder: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "bridge.cli", "pbxsim", "--config", str(REPO / folder)),
            *("--ami-host", "127.0.0.1", "--ami-port", str(port)),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    for _ in range(1000):
        assert process.poll() is None, process.communicate()[1]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        subprocess.run(["sleep", "0.02"], check=True)
    raise AssertionError(f"nothing listens on {port}")


def test_run_command_logs_in_to_both_pbxs(tmp_path: Path, redis_server: RedisServer) -> None:
    """`hotline-bridge run` as an administrator starts it (uvloop and all), against the two
    emulated PBXs of the shipped Asterisk configs: both AMI sessions come up."""
    ports = {"pbx-12345": free_port(), "pbx-110": free_port()}
    pbxs = [_start_pbxsim(f"config/asterisk/{name}", port) for name, port in ports.items()]
    replace = {
        f'ami_host = "{name}.hotline.internal"\nami_port = 5038': (
            f'ami_host = "127.0.0.1"\nami_port = {port}'
        )
        for name, port in ports.items()
    }
    path = deployment(tmp_path, redis_server.url, **replace)
    http_port = load_settings(path).http.port
    secrets = {"HOTLINE_AMI_SECRET_PBX12345": "change-me", "HOTLINE_AMI_SECRET_PBX110": "change-me"}
    env = {**os.environ, **TOKEN_ENV, **secrets, "PYTHONPATH": str(REPO)}
    bridge = None
    try:
        for process, port in zip(pbxs, ports.values(), strict=True):
            _wait_for_port(port, process)
        bridge = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "run", "--config", str(path)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        components: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert bridge.poll() is None, bridge.communicate()[1]
            try:
                components = _get_json(f"http://127.0.0.1:{http_port}/health")["components"]
            except OSError:
                components = {}
            if all(components.get(f"ami:{name}", {}).get("status") == "ok" for name in ports):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        else:
            raise AssertionError(f"AMI never came up: {components}")
        bridge.send_signal(signal.SIGTERM)
        _, stderr = bridge.communicate(timeout=30)
        assert bridge.returncode == 0, stderr
        assert "AMI login failed" not in stderr
    finally:
        for process in [*pbxs, *([bridge] if bridge else [])]:
            if process.poll() is None:
                process.kill()
            process.communicate()
