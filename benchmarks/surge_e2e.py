"""The Jining surge end to end: the emulated 110 PBX (time-scaled) under planned traffic, with
the bridge's overflow controller acting over AMI, and the early-release rates it measures
beside the simulation's for the same scenario (issue 7, item 4).

    python -m benchmarks surge_e2e [--scenario FILE] [--seed N] [--time-scale X]
        [--warmup S] [--policy bridge|isolated|both] [--replications N] [--json]
        [--patience-from queue|arrival] [--events PREFIX]

Every centre's seats are the shipped config/asterisk/pbx-110 queues; the emulator rings only
Local/ members, so each `PJSIP/<seat>` becomes `Local/<seat>@hb-e2e-phones/n`, a phone that
rings for a second and answers. A citizen is `Originate Local/110<code>@from-pstn` holding a
Wait(); when their patience runs out unanswered they hang up (an early release, counted here by
the driver from the plan's own patience, which starts when they first join a queue, so a
caller withdrawn to an aid queue is one call); when the call-taker's handle time ends the
citizen hangs up. Rates: early releases / calls that arrived in the window (after the warm-up),
as in the simulation. The simulation runs twice: on the instant-answer scenario, and on
--pbx-scenario, the same surge with the per-call overheads a PBX adds (ring time, app_queue's
turn check, the queues' wrapuptime: docs/overflow.md, "How faithful"), which is the one the
emulated run should agree with; the ring time this run measured is printed beside the
scenario's answer_delay_s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import redis.asyncio as aioredis

from bridge.local_redis import free_port, start_redis
from bridge.overflow.audit import AuditLog
from bridge.overflow.config import (
    CITY_CODE,
    controller_settings,
    load_scenario,
    pbx_overflow_config,
)
from bridge.overflow.controller import OverflowController
from ivr.route_110 import add_route_110
from routing.simulation.comparison import compare
from routing.simulation.engine import PolicyName
from routing.simulation.scenario import Scenario
from telephony.agi.routes import AgiRoutes
from telephony.agi.server import FastAgiServer
from telephony.ami.client import AMIClient
from telephony.ami.errors import AMIError
from telephony.ami.events import (
    AgentCalled,
    AgentConnect,
    AgentRingNoAnswer,
    Event,
    GenericEvent,
    Newchannel,
    QueueCallerJoin,
    QueueMemberAdded,
    QueueMemberRemoved,
)
from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.pbxconfig import load_pbx_config
from telephony.pbxsim.traffic import (
    Distribution,
    Entry,
    PlannedCall,
    Surge,
    TrafficProfile,
    plan_calls,
)

ROOT = Path(__file__).resolve().parents[1]
PBX_110 = ROOT / "config" / "asterisk" / "pbx-110"
SCENARIO = ROOT / "config" / "scenarios" / "jining-surge.toml"
# The same surge with the PBX's per-call overheads, the simulation the emulated run should match.
PBX_SCENARIO = ROOT / "config" / "scenarios" / "jining-surge-pbx.toml"
PHONES = "hb-e2e-phones"
MANAGER_USER = "hotline-bridge"
_DRIVER_EVENTS = (
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "Newchannel",
    "QueueCallerJoin",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
)
# What --events records: enough to replay who waited, who rang whom, and which loans existed.
TRACED_EVENTS = (
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
)
TRACED_FIELDS = frozenset(
    {"Event", "Queue", "Interface", "CallerIDNum", "HoldTime", "RingTime", "Paused", "Penalty"}
)
_PJSIP_MEMBER = re.compile(r"^(\s*member\s*=>?\s*)PJSIP/([A-Za-z0-9_.\-]+)", re.MULTILINE)


def prepare_110(target: Path, agi_port: int = 4573) -> list[str]:
    """A copy of the shipped 110 config whose seats are emulated phones and whose dialplan
    reaches the bridge's FastAGI on `agi_port`; returns the seats."""
    shutil.copytree(PBX_110, target)
    extensions = target / "extensions.conf"
    extensions.write_text(
        re.sub(
            r"^BRIDGE_AGI = .*$",
            f"BRIDGE_AGI = 127.0.0.1:{agi_port}",
            extensions.read_text(encoding="utf-8"),
            flags=re.M,
        ),
        encoding="utf-8",
    )
    queues = target / "queues.conf"
    text = queues.read_text(encoding="utf-8")
    seats = list(dict.fromkeys(m.group(2) for m in _PJSIP_MEMBER.finditer(text)))
    queues.write_text(_PJSIP_MEMBER.sub(rf"\1Local/\2@{PHONES}/n", text), encoding="utf-8")
    lines = ["", f"[{PHONES}]"]
    lines += [f"exten => {seat},1,Goto({PHONES},answer,1)" for seat in seats]
    lines += [
        "exten => answer,1,Ringing()",
        " same => n,Wait(1)",
        " same => n,Answer()",
        " same => n,Wait(86400)",
        " same => n,Hangup()",
        "",
    ]
    with (target / "extensions.conf").open("a", encoding="utf-8") as dialplan:
        dialplan.write("\n".join(lines))
    return seats


def manager_secret(pbx: EmulatedPBX) -> str:
    return pbx.config.users[MANAGER_USER].secret


def district_exten(code: str) -> str:
    """What a caller dials in [from-pstn]: 110 for the city, 110<district> for a county (whose
    calls pass the route-110 AGI step)."""
    return "110" if code == CITY_CODE else f"110{code}"


@dataclass
class Citizen:
    planned: PlannedCall
    code: str
    channel_id: str
    arrived: float  # emulated seconds since the driver started
    channel: str = ""  # the ;1 half (the citizen's phone)
    joined: float | None = None  # first QueueCallerJoin, emulated seconds
    ringing: bool = False  # a member is being rung for this citizen
    rung_at: float = 0.0  # when the member being rung was called
    answered: bool = False
    released: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)


@dataclass
class Outcomes:
    offered: dict[str, int] = field(default_factory=dict)
    released: dict[str, int] = field(default_factory=dict)
    # Where the window's early releases happened: "before_queue", "ringing", "waiting".
    released_where: dict[str, int] = field(default_factory=dict)
    to_queue_s: list[float] = field(default_factory=list)  # arrival -> first queue join
    ring_s: list[float] = field(default_factory=list)  # member called -> caller connected
    # Window callers answered by their own centre's seats or by lent ones, per centre.
    answered_by: dict[str, dict[str, int]] = field(default_factory=dict)
    first_loan_s: float | None = None  # surge onset -> first member added to a surged queue
    loans_at_onset: int | None = None  # members lent into the surged centres' queues then

    def latency(self) -> dict[str, float]:
        """Arrival to first queue join (the dialplan and the route-110 AGI step), emulated
        seconds: at time scale X a real millisecond shows as X."""
        ordered = sorted(self.to_queue_s)
        if not ordered:
            return {}
        return {
            "p50": _quantile(ordered, 0.5),
            "p90": _quantile(ordered, 0.9),
            "max": round(ordered[-1], 2),
        }

    def rates(self, codes: Iterable[str], surged: Iterable[str]) -> dict[str, Any]:
        codes = list(codes)
        surged = set(surged)
        offered = sum(self.offered.get(c, 0) for c in codes)
        released = sum(self.released.get(c, 0) for c in codes)
        centre_rates = {c: _rate(self.released.get(c, 0), self.offered.get(c, 0)) for c in codes}
        surged_offered = sum(self.offered.get(c, 0) for c in surged)
        return {
            "surged_rate": _rate(sum(self.released.get(c, 0) for c in surged), surged_offered),
            "overall_rate": _rate(released, offered),
            "worst_other_rate": max(
                (r for c, r in centre_rates.items() if c not in surged), default=0.0
            ),
            "centre_rates": centre_rates,
            "offered": offered,
            "early_released": released,
            "released_where": dict(sorted(self.released_where.items())),
            "to_queue_s": self.latency(),
            "ring_s": round(sum(self.ring_s) / len(self.ring_s), 2) if self.ring_s else 0.0,
            "surged_answered_by": {c: self.answered_by.get(c, {}) for c in sorted(surged)},
            "first_loan_s": self.first_loan_s,
            "loans_at_onset": self.loans_at_onset,
        }


def _quantile(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _rate(released: int, offered: int) -> float:
    return released / offered if offered else 0.0


_SEAT = re.compile(r"110-(city|\d{6})-\d+@")
_QUEUE_CENTRE = re.compile(r"^q110-(?:aid-)?(city|\d{6})$")


def centre_of(name: str, pattern: re.Pattern[str]) -> str:
    """The district code in a seat's interface or a queue's name ("" if none)."""
    found = pattern.search(name)
    if found is None:
        return ""
    return CITY_CODE if found.group(1) == "city" else found.group(1)


class SurgeDriver:
    """Places the planned citizens' calls on time and plays patience and handle time."""

    def __init__(
        self,
        client: AMIClient,
        time_scale: float,
        window: tuple[float, float],
        events_log: TextIO | None = None,
        patience_from: str = "queue",
        surge_onsets: dict[str, float] | None = None,
    ):
        self.client = client
        self.patience_from = patience_from
        self.surge_onsets = surge_onsets or {}  # surged district -> onset, emulated seconds
        self._lent_in: set[tuple[str, str]] = set()  # (queue, member) lent into surged queues
        self._onset_timer: asyncio.TimerHandle | None = None
        self.time_scale = time_scale
        self.window = window
        self.outcomes = Outcomes()
        self.citizens: dict[str, Citizen] = {}  # by caller number
        self._by_id: dict[str, Citizen] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = 0.0
        client.add_inline_handler(self._on_event, _DRIVER_EVENTS)
        self.events_log = events_log
        if events_log is not None:
            client.add_inline_handler(self._log_event, TRACED_EVENTS)

    def now(self) -> float:
        return (time.monotonic() - self._started) * self.time_scale

    async def play(self, calls: list[PlannedCall], code_of: dict[str, str]) -> None:
        self._started = time.monotonic()
        if self.surge_onsets:
            onset = min(self.surge_onsets.values())
            loop = asyncio.get_running_loop()
            self._onset_timer = loop.call_later(onset / self.time_scale, self._surge_begins)
        for number, planned in enumerate(calls, start=1):
            delay = planned.arrival / self.time_scale - (time.monotonic() - self._started)
            if delay > 0:
                await asyncio.sleep(delay)
            citizen = Citizen(planned, code_of[planned.entry], f"e2e-{number}", planned.arrival)
            self.citizens[planned.caller] = citizen
            self._by_id[citizen.channel_id] = citizen
            if self.window[0] <= planned.arrival < self.window[1]:
                self.outcomes.offered[citizen.code] = self.outcomes.offered.get(citizen.code, 0) + 1
            if self.patience_from == "arrival":
                self._later(citizen, planned.patience, self._give_up)
            self._note("CitizenArrives", citizen)
            self._spawn(self._originate(citizen))

    async def settle(self, limit_s: float) -> None:
        """Until every citizen has been answered or has given up (bounded)."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if all(c.answered or c.released for c in self.citizens.values()):
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self._onset_timer is not None:
            self._onset_timer.cancel()
        for citizen in self.citizens.values():
            for timer in citizen.timers:
                timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later(
        self, citizen: Citizen, emulated_s: float, action: Callable[[Citizen], None]
    ) -> None:
        handle = asyncio.get_running_loop().call_later(
            emulated_s / self.time_scale, action, citizen
        )
        citizen.timers.append(handle)

    async def _originate(self, citizen: Citizen) -> None:
        planned = citizen.planned
        await self._act(
            "Originate",
            Channel=f"Local/{planned.exten}@{planned.context}",
            Application="Wait",
            Data="86400",
            CallerID=f'"{planned.caller}" <{planned.caller}>',
            Timeout=str(6 * 3600 * 1000),
            Async="true",
            ChannelId=citizen.channel_id,
            OtherChannelId=f"{citizen.channel_id}-2",
        )

    async def _act(self, action: str, **headers: Any) -> None:
        with contextlib.suppress(AMIError):  # e.g. the channel ended a moment before
            await self.client.action(action, **headers)

    def _note(self, what: str, citizen: Citizen) -> None:
        """The driver's own view of a citizen in the events log (arrival, giving up)."""
        if self.events_log is not None:
            record = {
                "t": round(self.now(), 2),
                "Event": what,
                "CallerIDNum": citizen.planned.caller,
            }
            self.events_log.write(json.dumps(record) + "\n")

    def _loaned(self, event: QueueMemberAdded | QueueMemberRemoved) -> None:
        """Members lent into a surged centre's queues: how many when its surge began (loans
        from earlier episodes may still stand) and when the first one came after that."""
        onset = self.surge_onsets.get(centre_of(event.queue, _QUEUE_CENTRE))
        if onset is None:
            return
        loan = (event.queue, event.interface)
        if isinstance(event, QueueMemberRemoved):
            self._lent_in.discard(loan)
            return
        self._lent_in.add(loan)
        if self.outcomes.first_loan_s is None and self.now() >= onset:
            self.outcomes.first_loan_s = round(self.now() - onset, 2)

    def _surge_begins(self) -> None:
        self.outcomes.loans_at_onset = len(self._lent_in)

    def _joined(self, citizen: Citizen | None) -> None:
        """A citizen's first queue: by default their patience runs from here, as early
        release counts callers who give up waiting in a queue (the simulation's callers
        arrive in the queue). Later joins (withdrawn to an aid queue) are the same call."""
        if citizen is None or citizen.joined is not None:
            return
        citizen.joined = self.now()
        if self.window[0] <= citizen.arrived < self.window[1]:
            self.outcomes.to_queue_s.append(citizen.joined - citizen.arrived)
        if self.patience_from == "queue" and not (citizen.answered or citizen.released):
            self._later(citizen, citizen.planned.patience, self._give_up)

    def _give_up(self, citizen: Citizen) -> None:
        if citizen.answered or citizen.released:
            return
        citizen.released = True
        self._note("CitizenGivesUp", citizen)
        if self.window[0] <= citizen.arrived < self.window[1]:
            code = citizen.code
            self.outcomes.released[code] = self.outcomes.released.get(code, 0) + 1
            where = self.outcomes.released_where
            place = (
                "ringing" if citizen.ringing else "waiting" if citizen.joined else "before_queue"
            )
            where[place] = where.get(place, 0) + 1
        if citizen.channel:
            # The queued (;2) half: the emulator does not pass a ringing ;1 hangup on.
            self._spawn(self._act("Hangup", Channel=citizen.channel.removesuffix(";1") + ";2"))

    def _hang_up(self, citizen: Citizen) -> None:
        if citizen.channel:
            self._spawn(self._act("Hangup", Channel=citizen.channel))

    def _log_event(self, event: Event) -> None:
        """One JSON line per queue event, stamped with the driver's emulated time."""
        assert self.events_log is not None
        fields = (
            dict(event.fields)
            if isinstance(event, GenericEvent)
            else event.model_dump(by_alias=True)
        )
        keep = {k: v for k, v in fields.items() if k in TRACED_FIELDS}
        self.events_log.write(json.dumps({"t": round(self.now(), 2), **keep}) + "\n")

    def _on_event(self, event: Event) -> None:
        if isinstance(event, QueueMemberAdded | QueueMemberRemoved):
            self._loaned(event)
        elif isinstance(event, Newchannel):
            citizen = self._by_id.get(event.uniqueid)
            if citizen is not None:
                citizen.channel = event.channel
        elif isinstance(event, QueueCallerJoin):
            self._joined(self.citizens.get(event.caller_id_num))
        elif isinstance(event, AgentCalled | AgentRingNoAnswer):
            citizen = self.citizens.get(event.caller_id_num)
            if citizen is not None:
                citizen.ringing = isinstance(event, AgentCalled)
                citizen.rung_at = self.now()
        elif isinstance(event, AgentConnect):
            citizen = self.citizens.get(event.caller_id_num)
            if citizen is None or citizen.answered or citizen.released:
                return
            citizen.answered = True
            self.outcomes.ring_s.append(self.now() - citizen.rung_at)
            if self.window[0] <= citizen.arrived < self.window[1]:
                whose = "own" if centre_of(event.interface, _SEAT) == citizen.code else "lent"
                counts = self.outcomes.answered_by.setdefault(citizen.code, {})
                counts[whose] = counts.get(whose, 0) + 1
            for timer in citizen.timers:
                timer.cancel()
            citizen.timers.clear()
            self._later(citizen, citizen.planned.handle_time, self._hang_up)


def pbx_overheads(pbx_scenario: Scenario, measured_ring_s: float) -> dict[str, float]:
    """The overheads the PBX scenario simulates, beside the ring time this run measured
    (ring_s/turn_s/wrapup_s are the keys earlier runs reported; the rest were added)."""
    return {
        "ring_s": measured_ring_s,
        "turn_s": pbx_scenario.turn_check_s / 2,  # mean wait for the next turn check
        "wrapup_s": pbx_scenario.wrapup_s,
        "answer_delay_s": pbx_scenario.answer_delay_s,
        "turn_check_s": pbx_scenario.turn_check_s,
        "shipped_wrapuptime_s": float(shipped_wrapuptime()),
    }


def shipped_wrapuptime() -> int:
    """wrapuptime of the shipped 110 queues (the hb-queue template gives all the same)."""
    config, _ = load_pbx_config(PBX_110)
    return max(q.wrapuptime for q in config.queues.values())


def traffic_plan(scenario: Scenario, warmup_s: float, seed: int) -> tuple[list[PlannedCall], dict]:
    """The scenario's callers: base load for every centre, its surges after the warm-up."""
    patience = Distribution("exponential", scenario.patience_s)
    handle = Distribution("exponential", scenario.handle_time_s)
    entries = tuple(
        Entry(
            name=c.code,
            context="from-pstn",
            exten=district_exten(c.code),
            calls_per_hour=scenario.base_rate(c) * 3600,
            patience=patience,
            handle_time=handle,
        )
        for c in scenario.centres
    )
    surges = tuple(
        Surge(s.factor, warmup_s + s.start_s, s.duration_s, entry=s.code) for s in scenario.surges
    )
    profile = TrafficProfile(entries, warmup_s + scenario.window_s, surges)
    return plan_calls(profile, seed), {c.code: c.code for c in scenario.centres}


async def run_once(
    scenario_path: Path,
    seed: int,
    time_scale: float,
    warmup_s: float,
    with_bridge: bool,
    events_path: Path | None = None,
    patience_from: str = "queue",
) -> dict[str, Any]:
    """One emulated run. The PBX and the controller each run in their own process, as on a
    real site: in one event loop a long tick would stall the emulated PBX, and a stall is
    `time_scale` times longer in emulated seconds."""
    scenario = load_scenario(scenario_path)
    workdir = Path(tempfile.mkdtemp(prefix="hb-surge-e2e-"))
    agi_port = free_port()
    prepare_110(workdir / "pbx-110", agi_port)
    secret = manager_secret(EmulatedPBX.from_config_dir(workdir / "pbx-110"))
    port = free_port()
    redis_server = start_redis(workdir / "redis") if with_bridge else None
    children: list[subprocess.Popen[bytes]] = []
    driver_client = AMIClient("127.0.0.1", port, MANAGER_USER, secret)
    started = time.monotonic()
    try:
        children.append(_spawn_pbx(workdir / "pbx-110", port, time_scale))
        await _until_listening(port)
        await driver_client.connect()
        if redis_server is not None:
            children.append(
                _spawn_controller(
                    scenario_path, port, agi_port, secret, redis_server.url, time_scale
                )
            )
        await asyncio.sleep(1.0)  # the controller logs in and takes its first look
        calls, code_of = traffic_plan(scenario, warmup_s, seed)
        window = (warmup_s, warmup_s + scenario.window_s)
        events_log = events_path.open("w", encoding="utf-8") if events_path else None
        onsets = {s.code: warmup_s + s.start_s for s in scenario.surges}
        driver = SurgeDriver(driver_client, time_scale, window, events_log, patience_from, onsets)
        await driver.play(calls, code_of)
        await driver.settle(limit_s=600 / time_scale)
        await driver.stop()
        if events_log is not None:
            events_log.close()
        audit: dict[str, int] = {}
        if redis_server is not None:
            redis = aioredis.Redis.from_url(redis_server.url)
            audit = await _audit_counts(redis)
            await redis.aclose()
    finally:
        await driver_client.close()
        for child in reversed(children):
            child.terminate()
            child.wait(timeout=30)
        if redis_server is not None:
            redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    codes = [c.code for c in scenario.centres]
    figures = driver.outcomes.rates(codes, scenario.surged_codes)
    figures["wall_s"] = round(time.monotonic() - started, 1)
    figures["audit"] = audit
    return figures


def _spawn_pbx(config: Path, port: int, time_scale: float) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bridge.cli", "pbxsim", "--config", str(config)]
    command += ["--ami-port", str(port), "--time-scale", str(time_scale), "--name", "pbx-110"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)


def _spawn_controller(
    scenario: Path, port: int, agi_port: int, secret: str, redis_url: str, time_scale: float
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "benchmarks", "surge_e2e", "--serve-controller"]
    command += ["--scenario", str(scenario), "--time-scale", str(time_scale)]
    command += ["--ami-port", str(port), "--agi-port", str(agi_port), "--redis-url", redis_url]
    env = {**os.environ, "HB_E2E_AMI_SECRET": secret}
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def _until_listening(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise RuntimeError(f"the emulated PBX never listened on port {port}")


async def serve_controller(
    scenario_path: Path, port: int, agi_port: int, redis_url: str, time_scale: float
) -> None:
    """The bridge's overflow controller and the route-110 AGI step it steers (as
    bridge.commands.run wires them), until SIGTERM; its clock runs at the PBX's time scale so
    rates and hold times are in emulated seconds."""
    scenario = load_scenario(scenario_path)
    client = AMIClient("127.0.0.1", port, MANAGER_USER, os.environ["HB_E2E_AMI_SECRET"])
    redis = aioredis.Redis.from_url(redis_url)
    origin = time.monotonic()
    controller = OverflowController(
        pbx_overflow_config(scenario),
        lambda: client,
        lambda: redis,
        controller_settings(scenario, tick_s=scenario.tick_s / time_scale),
        clock=lambda: (time.monotonic() - origin) * time_scale,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    routes = AgiRoutes()
    add_route_110(routes, controller.aid_target)
    agi = FastAgiServer(routes)
    await agi.start("127.0.0.1", agi_port)
    await client.connect()
    await controller.start()
    await stop.wait()
    await controller.stop()
    await agi.stop(deadline=1.0)
    await client.close()
    await redis.aclose()


async def _audit_counts(redis: aioredis.Redis) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in await AuditLog(redis).recent(count=1_000_000):
        key = f"{entry['kind']}:{entry['outcome']}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks surge_e2e", description=__doc__)
    parser.add_argument("--scenario", default=str(SCENARIO))
    parser.add_argument(
        "--pbx-scenario",
        default=str(PBX_SCENARIO),
        help="the surge with the PBX's per-call overheads, simulated beside the emulated run",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=300.0, help="emulated seconds")
    parser.add_argument("--policy", choices=["bridge", "isolated", "both"], default="both")
    parser.add_argument("--replications", type=int, default=50, help="of the simulation")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--patience-from",
        choices=["queue", "arrival"],
        default="queue",
        help="start each caller's patience at their first queue (default) or when they dial",
    )
    parser.add_argument(
        "--events",
        metavar="PREFIX",
        help="write each emulated run's queue events as JSON lines to PREFIX-<policy>.jsonl",
    )
    # Internal: the controller's own process (started by a run with the bridge).
    parser.add_argument("--serve-controller", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ami-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--agi-port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_controller:
        asyncio.run(
            serve_controller(
                Path(args.scenario), args.ami_port, args.agi_port, args.redis_url, args.time_scale
            )
        )
        return 0
    try:
        scenario = load_scenario(args.scenario)
        pbx_scenario = load_scenario(args.pbx_scenario)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if scenario.centres and CITY_CODE not in {c.code for c in scenario.centres}:
        print(f"error: the scenario has no city centre {CITY_CODE}", file=sys.stderr)
        return 2
    chosen: list[PolicyName] = ["isolated", "bridge"] if args.policy == "both" else [args.policy]
    emulated = {}
    for policy in chosen:
        print(f"emulating {policy} at {args.time_scale}x ...", file=sys.stderr, flush=True)
        emulated[policy] = asyncio.run(
            run_once(
                Path(args.scenario),
                args.seed,
                args.time_scale,
                args.warmup,
                policy == "bridge",
                Path(f"{args.events}-{policy}.jsonl") if args.events else None,
                args.patience_from,
            )
        )
    print(f"simulating {args.replications} replications ...", file=sys.stderr, flush=True)
    simulated = compare(scenario, args.seed, range(args.replications), chosen)
    measured_ring = [emulated[p]["ring_s"] for p in chosen if emulated[p]["ring_s"]]
    overheads = pbx_overheads(pbx_scenario, max(measured_ring, default=0.0))
    print(f"simulating {pbx_scenario.name} {overheads} ...", file=sys.stderr, flush=True)
    with_pbx = compare(pbx_scenario, args.seed, range(args.replications), chosen)
    with_overheads = {p: with_pbx.figures(p) for p in chosen}
    result = {
        "scenario": scenario.name,
        "window_s": scenario.window_s,
        "seed": args.seed,
        "time_scale": args.time_scale,
        "emulated": emulated,
        "simulated": {p: simulated.figures(p) for p in chosen},
        "simulated_replications": args.replications,
        "simulated_with_pbx_overheads": with_overheads,
        "pbx_overheads": overheads,
        "pbx_scenario": pbx_scenario.name,
        "patience_from": args.patience_from,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return 0
    print(
        f"{scenario.name}: window {scenario.window_s:.0f} s, seed {args.seed}, "
        f"time scale {args.time_scale}x, simulation {args.replications} replications, "
        f"patience from {args.patience_from}, load average {result['load_average']}"
    )
    print(
        f"{'policy':<9} {'source':<10} {'surged':>8} {'all':>8} {'worst other':>12} "
        f"{'offered':>8} {'released':>9}"
    )
    sources = (
        ("emulated", emulated),
        ("simulated", result["simulated"]),
        ("sim+PBX", with_overheads),
    )
    for p in chosen:
        for source, by_policy in sources:
            f = by_policy[p]
            print(
                f"{p:<9} {source:<10} {f['surged_rate']:>8.1%} {f['overall_rate']:>8.1%} "
                f"{f['worst_other_rate']:>12.1%} {f['offered']:>8} {f['early_released']:>9}"
            )
        print(
            f"  {p} emulated: released {emulated[p]['released_where']}, arrival to queue "
            f"(emulated s) {emulated[p]['to_queue_s']}, ring {emulated[p]['ring_s']} s, "
            f"surged callers answered by {emulated[p]['surged_answered_by']}, "
            f"{emulated[p]['loans_at_onset']} members lent to them when the surge began, "
            f"the next {emulated[p]['first_loan_s']} s later"
        )
    return 0
