"""Starts and stops everything the demo runs: config copies, Redis, two PBXs, the bridge.

Start order: temp dir → Redis (a private one unless the configured one answers) → the two
emulated PBXs → the bridge service (its AMI sessions log in to the PBXs) → the driver's own
AMI sessions. `stop()` undoes whatever was started, in reverse, and is safe to call twice.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bridge.commands.run import build_service
from bridge.demo.phones import prepare_pbx_dir
from bridge.demo.profile import DemoQueue, exten_for_queue
from bridge.local_redis import LocalRedis, free_port, redis_answers, start_redis
from bridge.overflow.controller import OverflowController
from bridge.service import Service
from bridge.settings import Settings, load_settings
from bridge.settings.loading import parse_settings
from telephony.ami.client import AMIClient
from telephony.pbxsim import EmulatedPBX

log = logging.getLogger(__name__)

# The shipped Asterisk configs, wherever the command is run from.
REPO_DIR = Path(__file__).resolve().parents[2]
ASTERISK_DIR = REPO_DIR / "config" / "asterisk"
MANAGER_USER = "hotline-bridge"
# Where the shipped dialplans reach the bridge ([globals] BRIDGE_AGI).
DIALPLAN_AGI = ("127.0.0.1", 4573)
READY_TIMEOUT_S = 15.0
# The overflow controller ticks once per emulated second, but not more often than this (wall
# seconds): at 16x a tick every 1/16 s cost about a quarter of a core over hundreds of loans;
# every 0.25 s (4 emulated s) the surge is still met (docs/demo.md).
OVERFLOW_MIN_TICK_S = 0.25


class DemoStartError(RuntimeError):
    """Something the demo needs did not start; the message says what."""


@dataclass
class DemoStack:
    config_file: Path
    time_scale: float
    overflow: bool = True  # turn the config's [overflow] controller on (issue 7)
    asterisk_dir: Path = ASTERISK_DIR
    environ: MutableMapping[str, str] = field(default_factory=lambda: os.environ)
    workdir: Path | None = None
    redis: LocalRedis | None = None
    redis_url: str = ""
    pbxs: dict[str, EmulatedPBX] = field(default_factory=dict)
    service: Service | None = None
    settings: Settings | None = None
    clients: dict[str, AMIClient] = field(default_factory=dict)
    queues: list[DemoQueue] = field(default_factory=list)
    monitor_token: str = ""
    supervisor_token: str = ""
    desk_tokens: dict[str, str] = field(default_factory=dict)  # queue -> its desk's token

    async def start(self) -> None:
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        base = load_settings(self.config_file)
        self.workdir = Path(tempfile.mkdtemp(prefix="hotline-demo-"))
        self.redis_url = self._redis_for(base)
        fastagi_port = free_port()
        for pbx in base.pbx:
            await self._start_pbx(pbx.name, fastagi_port)
        self.settings = self._demo_settings(base, fastagi_port)
        self._export_secrets(self.settings)
        self.service = build_service(self.settings, str(self.config_file))
        self._emulated_overflow_clock(self.service)
        await self.service.start()
        await self._wait_for_bridge()
        for name, emulated in self.pbxs.items():
            client = AMIClient("127.0.0.1", emulated.ami_port, MANAGER_USER, self._secret(name))
            await client.connect()
            self.clients[name] = client
        self.queues = self._queues()

    def _redis_for(self, base: Settings) -> str:
        parts = urlsplit(base.redis.url)
        if redis_answers(parts.hostname or "127.0.0.1", parts.port or 6379):
            return base.redis.url
        assert self.workdir is not None
        self.redis = start_redis(self.workdir / "redis")
        return self.redis.url

    async def _start_pbx(self, name: str, fastagi_port: int) -> None:
        assert self.workdir is not None
        source = self.asterisk_dir / name
        if not source.is_dir():
            raise DemoStartError(f"no Asterisk config folder {source} for PBX {name!r}")
        prepare_pbx_dir(source, self.workdir / name)
        sounds = self.asterisk_dir / "sounds"
        pbx = EmulatedPBX.from_config_dir(
            self.workdir / name,
            name=name,
            ami_port=0,
            time_scale=self.time_scale,
            agi_redirect={DIALPLAN_AGI: ("127.0.0.1", fastagi_port)},
            # The prompts an administrator installs (config/asterisk/sounds): the IVR is heard.
            sounds=sounds if sounds.is_dir() else None,
        )
        await pbx.start()
        self.pbxs[name] = pbx

    def _secret(self, pbx: str) -> str:
        user = self.pbxs[pbx].config.users.get(MANAGER_USER)
        if user is None:
            raise DemoStartError(f"{pbx}: manager.conf has no [{MANAGER_USER}] user")
        return user.secret

    def _demo_settings(self, base: Settings, fastagi_port: int) -> Settings:
        """The operator's config with every address pointed at what the demo started."""
        data: dict[str, Any] = base.model_dump(mode="json")
        for pbx in data["pbx"]:
            if pbx["name"] not in self.pbxs:
                raise DemoStartError(
                    f"config names PBX {pbx['name']!r}: no {self.asterisk_dir}/"
                    f"{pbx['name']} folder to emulate it from"
                )
            pbx["ami_host"], pbx["ami_port"] = "127.0.0.1", self.pbxs[pbx["name"]].ami_port
        data["redis"]["url"] = self.redis_url
        data["fastagi"] = {"host": "127.0.0.1", "port": fastagi_port}
        data["http"] = {"host": "127.0.0.1", "port": free_port()}
        data["logging"]["level"] = "ERROR"  # a quiet bridge: the terminal view is the output
        if self.overflow:
            data["overflow"] = self._overflow_section(data["overflow"])
        return parse_settings(data, str(self.config_file))

    def _overflow_section(self, section: dict[str, Any]) -> dict[str, Any]:
        """[overflow] on, its scenario found wherever the demo runs from, one tick per
        emulated second or OVERFLOW_MIN_TICK_S (the policy's windows are in emulated seconds,
        see below)."""
        scenario = Path(section["scenario"])
        if not scenario.is_absolute() and not scenario.exists():
            scenario = REPO_DIR / scenario
        tick = max(OVERFLOW_MIN_TICK_S, 1.0 / self.time_scale)
        return {**section, "enabled": True, "scenario": str(scenario), "tick_seconds": tick}

    def _emulated_overflow_clock(self, service: Service) -> None:
        """The controller's rate windows and hold times are the policy's seconds: on a
        time-scaled PBX they must run on the PBX's clock, as benchmarks/surge_e2e.py does."""
        if not self.overflow:
            return
        try:
            controller = service.components.get("overflow")
        except KeyError:
            controller = None
        if not isinstance(controller, OverflowController):
            raise DemoStartError("[overflow] is on but the service has no overflow controller")
        origin, scale = time.monotonic(), self.time_scale
        controller.clock = lambda: (time.monotonic() - origin) * scale

    def _export_secrets(self, settings: Settings) -> None:
        """AMI secrets from the emulators' manager.conf; API tokens made up for this run."""
        for pbx in settings.pbx:
            self.environ[pbx.secret_env] = self._secret(pbx.name)
        for token in settings.api_tokens:
            self.environ.setdefault(token.token_env, secrets.token_urlsafe(24))
            value = self.environ[token.token_env]
            if token.role == "monitor":
                self.monitor_token = value
            if token.role == "supervisor":
                self.supervisor_token = value
            if token.platform is not None:
                for queue in settings.platform(token.platform).queues:
                    self.desk_tokens[queue.name] = value

    async def _wait_for_bridge(self) -> None:
        """Until the bridge's AMI sessions are logged in: traffic before that goes unseen."""
        assert self.service is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        while loop.time() < deadline:
            health = await self.service.components.health()
            ami = {k: v for k, v in health.items() if k.startswith("ami:")}
            if ami and all(v.get("status") == "ok" for v in ami.values()):
                return
            await asyncio.sleep(0.1)
        raise DemoStartError(f"the bridge did not log in to the PBXs within {READY_TIMEOUT_S} s")

    def _queues(self) -> list[DemoQueue]:
        """The queues citizens dial (the config's platform queues), with their seats. Other
        queues on the PBXs (aid queues the bridge fills) get no traffic of their own."""
        assert self.settings is not None
        found = []
        for platform in self.settings.platforms:
            emulated = self.pbxs[platform.pbx]
            for queue in platform.queues:
                configured = emulated.config.queues.get(queue.name)
                if configured is None:
                    raise DemoStartError(
                        f"platform {platform.id}: queue {queue.name!r} is not in "
                        f"{self.asterisk_dir}/{platform.pbx}/queues.conf"
                    )
                seats = len(configured.members)
                found.append(
                    DemoQueue(queue.name, platform.pbx, exten_for_queue(queue.name), seats)
                )
        return found

    def centre_names(self) -> dict[str, str]:
        """Queue -> a short centre name for the view: the district's, or city + hotline."""
        settings = self.settings
        assert settings is not None
        districts = {d.code: d.name for d in settings.districts}
        names = {}
        for platform in settings.platforms:
            short = districts.get(platform.district_code, settings.city.name + platform.kind)
            for queue in platform.queues:
                names[queue.name] = short
        return names

    @property
    def http_base(self) -> str:
        assert self.settings is not None
        return f"http://{self.settings.http.host}:{self.settings.http.port}"

    async def stop(self) -> None:
        for client in self.clients.values():
            await _quietly(client.close())
        self.clients.clear()
        if self.service is not None:
            service, self.service = self.service, None
            await _quietly(service.stop())
        for pbx in self.pbxs.values():
            await _quietly(pbx.stop())
        self.pbxs.clear()
        if self.redis is not None:
            redis, self.redis = self.redis, None
            redis.stop()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


async def _quietly(awaitable: Any) -> None:
    # Stopping must go on to the next piece whatever this one says.
    try:
        await awaitable
    except Exception:
        log.exception("demo: a component failed to stop")
