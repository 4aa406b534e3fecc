"""One demo run: start the stack, play the traffic, show it live, summarise, stop everything.

Stops at the end of `--duration`, or at SIGINT/SIGTERM, and always tears down what it
started (driver, AMI sessions, bridge, PBXs, the Redis it started, its temp dir).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from bridge.demo.bridge_api import BridgeApi, ticket_summary
from bridge.demo.desk import AgentDesks
from bridge.demo.driver import TrafficDriver
from bridge.demo.logs import LogCounter
from bridge.demo.overflow_watch import OverflowWatch
from bridge.demo.profile import SURGED_QUEUE, demo_profile
from bridge.demo.stack import DemoStack
from bridge.demo.tally import DemoTally
from bridge.demo.threeparty import RoomWatch
from bridge.demo.view import CLEAR_SCREEN, event_lines, screen
from telephony.pbxsim.traffic import Surge, TrafficProfile, iter_calls

REFRESH_S = 1.0
PLAIN_TABLE_EVERY_S = 15.0
BRIDGE_POLL_S = 2.0
BRIDGE_SETTLE_S = 1.0
ROOM_POLL_S = 0.5  # the desk follows three-party rooms closely: a decision waits for it


@dataclass(frozen=True)
class DemoOptions:
    config_file: Path
    duration_s: float  # wall-clock seconds of traffic
    time_scale: float  # emulated seconds per wall-clock second
    seed: int
    json: bool
    live: bool  # redraw the screen (a terminal) rather than print line by line
    surges: tuple[Surge, ...] | None = None  # None: the demo's default surge at 370883
    overflow: bool = True  # the surge-overflow controller on (off: --no-overflow)

    @property
    def traffic_s(self) -> float:
        return self.duration_s * self.time_scale


@dataclass
class DemoRun:
    options: DemoOptions
    out: TextIO
    stack: DemoStack = field(init=False)
    tally: DemoTally = field(default_factory=DemoTally)
    bridge: BridgeApi = field(init=False)
    log_counter: LogCounter = field(default_factory=LogCounter)
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    overflow: OverflowWatch = field(default_factory=OverflowWatch)
    rooms: RoomWatch = field(init=False)
    _said_no_tickets: bool = False

    def __post_init__(self) -> None:
        options = self.options
        self.stack = DemoStack(options.config_file, options.time_scale, overflow=options.overflow)
        self.bridge = BridgeApi("", "", "")

    async def run(self) -> dict[str, Any]:
        """The whole run; the `--json` summary."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop_requested.set)
        try:
            self._say("hotline-bridge demo: starting Redis, two emulated PBXs and the bridge...")
            await self.stack.start()
            stack = self.stack
            self.bridge = BridgeApi(stack.http_base, stack.monitor_token, stack.supervisor_token)
            return await self._play()
        finally:
            await self.stack.stop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)

    async def _play(self) -> dict[str, Any]:
        assert self.stack.settings is not None
        codes = self.stack.settings.feature_codes
        profile = demo_profile(
            self.stack.queues,
            self.options.traffic_s,
            codes.one_key_transfer,
            self.options.surges,
            codes.three_party_call,
        )
        pbx_of_queue = {queue.name: queue.pbx for queue in self.stack.queues}
        desks = AgentDesks(self.stack.http_base, self.stack.desk_tokens, codes.three_party_call)
        driver = TrafficDriver(
            self.stack.clients, pbx_of_queue, self.options.time_scale, self.tally, desks
        )
        self.rooms = RoomWatch(self.bridge, partial(self._note_now, driver), driver.press_key)
        driver.rooms = self.rooms
        self._say(self._intro())
        self._announce_surges(profile, driver)
        tasks = [
            asyncio.create_task(driver.play(iter_calls(profile, self.options.seed))),
            asyncio.create_task(self._poll_bridge(driver)),
            asyncio.create_task(self._poll_rooms()),
        ]
        try:
            await self._show(driver)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await driver.stop()
        # The bridge decides an early release within a second of the event (its grace for
        # late events): let the last ones land before the final figures.
        await asyncio.sleep(BRIDGE_SETTLE_S)
        await self._read_bridge(driver)
        await self.rooms.poll()
        self._say(("" if not self.options.live else CLEAR_SCREEN) + self._screen(driver))
        self._say(self._surged_line())
        self._say(self.log_counter.line())
        return self._summary(driver)

    def _summary(self, driver: TrafficDriver) -> dict[str, Any]:
        extra = {
            "time_scale": self.options.time_scale,
            "seed": self.options.seed,
            "interrupted": self.stop_requested.is_set(),
            "bridge_queues": self.bridge.queues or self.bridge.problem,
            "bridge_log": self.log_counter.summary(),
            "conferences": self.rooms.summary(),
            "overflow": self.overflow.summary() if self.options.overflow else None,
            "surged_centre": self._surged_centre(),
        }
        self.tally.link_tickets(
            {t["uniqueid"]: t["id"] for t in self.bridge.tickets.values() if t.get("uniqueid")}
        )
        summary = self.tally.summary(driver.now(), extra)
        if self.bridge.tickets:
            # The bridge's own list is the truth about tickets; the AMI view only sees ids.
            summary["tickets"] = [ticket_summary(t) for t in self.bridge.tickets.values()]
        return summary

    def _surged_centre(self) -> dict[str, Any]:
        """370883's callers wherever they queued: its own queue and, with overflow, its aid
        queue (where route-110 sends them while it is supported)."""
        code = SURGED_QUEUE.removeprefix("q110-")
        names = (SURGED_QUEUE, f"q110-aid-{code}")
        tallies = [self.tally.queues[name] for name in names if name in self.tally.queues]
        offered = sum(t.offered for t in tallies)
        released = sum(t.early_releases for t in tallies)
        return {
            "centre": code,
            "overflow": self.options.overflow,
            "offered": offered,
            "early_releases": released,
            "early_release_rate": round(released / offered, 4) if offered else 0.0,
        }

    def _surged_line(self) -> str:
        figures = self._surged_centre()
        mode = "with overflow" if figures["overflow"] else "without overflow (--no-overflow)"
        return (
            f"{figures['centre']} {mode}: {figures['early_releases']} early releases of "
            f"{figures['offered']} calls ({figures['early_release_rate']:.1%}, own and aid queue)"
        )

    def _announce_surges(self, profile: TrafficProfile, driver: TrafficDriver) -> None:
        """A line when each surge starts and ends (its effect shows in the table)."""
        loop = asyncio.get_running_loop()
        scale = self.options.time_scale
        for surge in profile.surges:
            where = surge.entry or "every queue"
            start = f"surge: {where} at {surge.factor:g}x its usual calls"
            end = f"surge over: {where} back to its usual calls"
            for at, text in ((surge.start, start), (surge.end, end)):
                if at < profile.duration:
                    loop.call_later(at / scale, self._note_now, driver, "surge", text)

    def _note_now(self, driver: TrafficDriver, kind: str, text: str) -> None:
        self.tally.note(driver.now(), kind, text)

    async def _show(self, driver: TrafficDriver) -> None:
        """Refresh the view once a second until the duration ends or a signal comes."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.options.duration_s
        next_table = loop.time() + PLAIN_TABLE_EVERY_S
        while not self.stop_requested.is_set() and loop.time() < end:
            with contextlib.suppress(TimeoutError):
                wait = min(REFRESH_S, max(0.0, end - loop.time()))
                await asyncio.wait_for(self.stop_requested.wait(), wait)
            new = self.tally.take_new()
            if self.options.json:
                continue
            if self.options.live:
                self.out.write(CLEAR_SCREEN + self._screen(driver) + "\n")
                self.out.flush()
                continue
            for line in event_lines(new):
                print(line, file=self.out)
            if loop.time() >= next_table:
                next_table += PLAIN_TABLE_EVERY_S
                self._say(self._screen(driver))

    def _screen(self, driver: TrafficDriver) -> str:
        names = self.stack.centre_names()
        rates = self.bridge.early_release_rates()
        return screen(self.tally, driver.now(), self.options.traffic_s, names, rates)

    def _say(self, text: str) -> None:
        if not self.options.json:
            print(text, file=self.out, flush=True)

    def _intro(self) -> str:
        stack, options = self.stack, self.options
        pbxs = ", ".join(f"{name} AMI 127.0.0.1:{pbx.ami_port}" for name, pbx in stack.pbxs.items())
        redis = "a private Redis" if stack.redis is not None else "the configured Redis"
        return (
            f"running: {pbxs}; {redis}; bridge {stack.http_base} "
            f"(wallboard: {stack.http_base}/wallboard?token={stack.monitor_token}).\n"
            f"{options.duration_s:g} s at {options.time_scale:g}x = "
            f"{options.traffic_s / 60:g} min of traffic, seed {options.seed}."
        )

    async def _poll_bridge(self, driver: TrafficDriver) -> None:
        while True:
            await self._read_bridge(driver)
            await asyncio.sleep(BRIDGE_POLL_S)

    async def _poll_rooms(self) -> None:
        while True:
            await self.rooms.poll()
            await asyncio.sleep(ROOM_POLL_S)

    async def _read_bridge(self, driver: TrafficDriver) -> None:
        await self.bridge.read_queues()
        if self.options.overflow:
            snapshot = await self.bridge.read_overflow()
            for line in self.overflow.update(snapshot) if snapshot is not None else ():
                self.tally.note(driver.now(), "overflow", line)
        new = await self.bridge.read_tickets()
        if self.bridge.tickets_missing and not self._said_no_tickets:
            self._said_no_tickets = True
            self.tally.note(
                driver.now(),
                "note",
                "this build of the bridge serves no ticket API (GET /api/tickets: 404): "
                "one-key presses reach no transfer service yet",
            )
        for ticket in new:
            shown = ticket_summary(ticket)
            self.tally.note(
                driver.now(),
                "ticket",
                f"{shown['id']} {shown['kind'] or ''} {shown['from']} -> {shown['to']} "
                f"({shown['status']})",
            )


async def run_demo(
    options: DemoOptions, out: TextIO | None = None, log_counter: LogCounter | None = None
) -> dict[str, Any]:
    """Run the demo, printing to `out` (stdout when None); the `--json` summary. Log records
    reach the summary when `log_counter` is installed on the root logger."""
    run = DemoRun(options, out or sys.stdout, log_counter=log_counter or LogCounter())
    return await run.run()
