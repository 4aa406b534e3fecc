"""The two emulated PBXs of the shipped configs under 300 concurrent callers (issue 3 item 5).

    python -m benchmarks pbxsim_load [--callers 300] [--duration 30] [--time-scale 1]
                                     [--ramp 5] [--talk 120] [--patience 75] [--seed 1]

The 12345 and 110 PBXs run from `config/asterisk/pbx-12345` and `pbx-110` (13 citizen
queues: q12345, q110-city and the 11 county queues), in their own process so the driver's
work does not show up as the emulator's lag. Their PJSIP seats become emulated phones with
the demo's own `prepare_pbx_dir`; the dialplans' AGI steps point at a closed port, so every
call takes the bridge-down path (trace 12: AGISTATUS=FAILURE, straight to the queue).

The driver keeps `--callers` citizens live: each is `Originate Local/<exten>@from-pstn` (as
`bridge/demo/driver.py` places them), hangs up `--talk` emulated seconds (exponential mean)
after a call-taker answers, or gives up after `--patience` seconds (exponential mean) still
queued; each call that ends is replaced at once by a new one on the next queue.

Figures: the PBX loop's clock lag (a probe timer due every 50 ms of emulated time, how late it
fires in real ms: p50/p99/max; aim p99 <= 100 ms), the AMI events per second the PBXs sent
to one session each reading every event class (a manager user added to the copied
manager.conf) and, beside it, to the bridge's own user (read = call,agent,user,dtmf), and the
PBX process's CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bridge.demo.phones import prepare_pbx_dir
from bridge.demo.profile import exten_for_queue
from bridge.local_redis import free_port
from telephony.ami.client import AMIClient
from telephony.ami.errors import AMIError
from telephony.ami.events import AgentConnect, Event, Hangup, Newchannel
from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.clock import Clock

ASTERISK_DIR = Path(__file__).resolve().parents[1] / "config" / "asterisk"
PBX_NAMES = ("pbx-12345", "pbx-110")
# The bridge's manager user in the shipped manager.conf files: the events it may read are the
# events the bridge would have to take.
MANAGER_USER = "hotline-bridge"
# Added to the copied manager.conf: a reader of every event class, whose session counts what
# the PBXs emit in all (the bridge's own user reads call,agent,user,dtmf only).
COUNTER_USER = "hb-load-counter"
COUNTER_SECRET = "hb-load-counter"
# Citizens hold (Wait) until the driver hangs them up, and Originate waits as long as a 110
# caller may stay queued unanswered (as bridge/demo/driver.py places them).
CITIZEN_HOLD_S = "86400"
ORIGINATE_TIMEOUT_MS = 6 * 3600 * 1000
PROBE_EMULATED_S = 0.05
AIM_P99_MS = 100.0
# Queues citizens dial: every queue of the configs except the aid queues the bridge fills.
AID_PREFIX = "q110-aid-"


# -- the PBX process --------------------------------------------------------------------------
@dataclass(frozen=True)
class PbxInfo:
    name: str
    port: int
    secret: str
    extens: tuple[str, ...]  # the [from-pstn] numbers of its citizen queues


async def probe_lag(clock: Clock, samples: list[float], stop: asyncio.Event) -> None:
    """How late a timer due every 50 emulated ms fires on this loop, in real seconds."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        fired: asyncio.Future[None] = loop.create_future()
        handle = clock.call_later(PROBE_EMULATED_S, partial(fired.set_result, None))
        await fired
        samples.append(loop.time() - handle.when())


async def start_pbx(name: str, folder: Path, time_scale: float, agi_port: int) -> EmulatedPBX:
    prepare_pbx_dir(ASTERISK_DIR / name, folder)
    with (folder / "manager.conf").open("a", encoding="utf-8") as manager:
        manager.write(
            f"\n[{COUNTER_USER}]\nsecret = {COUNTER_SECRET}\nread = all\nwrite = system\n"
        )
    pbx = EmulatedPBX.from_config_dir(folder, name=name, ami_port=0, time_scale=time_scale)
    # Wherever the dialplan's [globals] BRIDGE_AGI points, the AGI steps go to agi_port.
    bridge_agi = pbx.global_vars.get("BRIDGE_AGI", "")
    host, _, port = bridge_agi.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(
            f"{folder}/extensions.conf: [globals] BRIDGE_AGI {bridge_agi!r} is not host:port"
        )
    pbx.agi_redirect[(host, int(port))] = ("127.0.0.1", agi_port)
    await pbx.start()
    return pbx


def pbx_info(pbx: EmulatedPBX) -> PbxInfo:
    user = pbx.config.users.get(MANAGER_USER)
    if user is None:
        raise SystemExit(f"{pbx.name}: manager.conf has no [{MANAGER_USER}] user")
    queues = [q for q in pbx.config.queues if not q.startswith(AID_PREFIX)]
    return PbxInfo(pbx.name, pbx.ami_port, user.secret, tuple(map(exten_for_queue, queues)))


async def serve_pbxs(conn: Connection, time_scale: float) -> None:
    """Run both PBXs until the driver says stop; send back lag samples and CPU time."""
    with tempfile.TemporaryDirectory(prefix="pbxsim-load-") as tmp:
        agi_port = free_port()  # nobody listens there: the dialplans' bridge-down path
        pbxs = [await start_pbx(n, Path(tmp) / n, time_scale, agi_port) for n in PBX_NAMES]
        conn.send([pbx_info(pbx) for pbx in pbxs])
        samples: list[float] = []
        stop = asyncio.Event()
        await asyncio.to_thread(conn.recv)  # "measure": the driver's sessions are in
        probing = asyncio.create_task(probe_lag(pbxs[0].clock, samples, stop))
        cpu, started = time.process_time(), time.monotonic()
        await asyncio.to_thread(conn.recv)  # "stop"
        stop.set()
        await probing
        result = {
            "lag_samples": samples,
            "cpu_s": time.process_time() - cpu,
            "wall_s": time.monotonic() - started,
            "channels_live": sum(len(pbx.channels) for pbx in pbxs),
        }
        for pbx in pbxs:
            await pbx.stop()
        conn.send(result)


def pbx_process_main(conn: Connection, time_scale: float) -> None:
    asyncio.run(serve_pbxs(conn, time_scale))


# -- the driver process ---------------------------------------------------------------------
class EventCounter:
    """An AMI session that reads all it is sent and counts messages and bytes."""

    def __init__(self, username: str, secret: str) -> None:
        self.username = username
        self.secret = secret
        self.messages = 0
        self.bytes = 0

    async def run(self, port: int, ready: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        login = f"Action: Login\r\nUsername: {self.username}\r\nSecret: {self.secret}\r\n\r\n"
        writer.write(login.encode())
        await reader.readline()  # the banner
        await reader.readuntil(b"\r\n\r\n")  # the login response: not an event
        ready.set()
        try:
            while chunk := await reader.read(1 << 16):
                self.messages += chunk.count(b"\r\n\r\n")
                self.bytes += len(chunk)
        finally:
            writer.close()


@dataclass
class PoolCall:
    number: int
    pbx: str
    channel_id: str  # Uniqueid of the citizen's ;1 half; its ;2 half is channel_id + "-2"
    names: dict[str, str] = field(default_factory=dict)  # Uniqueid -> channel name
    answered: bool = False
    ended: bool = False
    timer: asyncio.TimerHandle | None = None


class CallerPool:
    """Keeps `size` citizens live across the queues, replacing each call that ends."""

    def __init__(
        self, clients: dict[str, AMIClient], infos: list[PbxInfo], args: argparse.Namespace
    ) -> None:
        self.clients = clients
        self.targets = [(info.name, exten) for info in infos for exten in info.extens]
        self.size = args.callers
        self.time_scale = args.time_scale
        self.talk_mean = args.talk
        self.patience_mean = args.patience
        self.rng = random.Random(args.seed)
        self.numbers = itertools.count(1)
        self.calls: dict[str, PoolCall] = {}  # caller number -> call
        self.by_uniqueid: dict[str, PoolCall] = {}
        self.placed = self.answered = self.gave_up = self.completed = 0
        self.running = True
        self._tasks: set[asyncio.Task[None]] = set()
        for pbx, client in clients.items():
            client.add_inline_handler(
                partial(self._on_event, pbx), ("Newchannel", "AgentConnect", "Hangup")
            )

    async def fill(self, ramp: float) -> None:
        for _ in range(self.size):
            await asyncio.sleep(ramp / self.size)
            self._place()

    async def stop(self) -> None:
        self.running = False
        for call in self.calls.values():
            if call.timer is not None:
                call.timer.cancel()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _place(self) -> None:
        number = next(self.numbers)
        pbx, exten = self.targets[number % len(self.targets)]
        call = PoolCall(number, pbx, f"load-{number}")
        caller = f"139{number:08d}"
        self.calls[caller] = call
        self.by_uniqueid[call.channel_id] = call
        self.by_uniqueid[call.channel_id + "-2"] = call
        self.placed += 1
        self._later(call, self.rng.expovariate(1 / self.patience_mean), self._give_up)
        self._act(
            pbx,
            "Originate",
            Channel=f"Local/{exten}@from-pstn",
            Application="Wait",
            Data=CITIZEN_HOLD_S,
            CallerID=f'"{caller}" <{caller}>',
            Timeout=str(ORIGINATE_TIMEOUT_MS),
            Async="true",
            ChannelId=call.channel_id,
            OtherChannelId=call.channel_id + "-2",
        )

    def _later(self, call: PoolCall, emulated_s: float, action: Callable[[PoolCall], None]) -> None:
        loop = asyncio.get_running_loop()
        call.timer = loop.call_later(emulated_s / self.time_scale, action, call)

    def _act(self, pbx: str, action: str, **headers: str) -> None:
        self._spawn(self._send(pbx, action, headers))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, pbx: str, action: str, headers: dict[str, Any]) -> None:
        with contextlib.suppress(AMIError):  # e.g. the other half already hung up
            await self.clients[pbx].action(action, **headers)

    def _hang_up(self, call: PoolCall, uniqueid: str) -> None:
        name = call.names.get(uniqueid)
        if name:
            self._act(call.pbx, "Hangup", Channel=name)

    def _give_up(self, call: PoolCall) -> None:
        """Still queued when patience ran out: the queued ;2 half hangs up, as the demo
        driver does (the emulator does not pass a ringing ;1 half's hangup on)."""
        if not call.answered and not call.ended:
            self.gave_up += 1
            self._hang_up(call, call.channel_id + "-2")

    def _finish(self, call: PoolCall) -> None:
        self.completed += 1
        self._hang_up(call, call.channel_id)

    def _on_event(self, pbx: str, event: Event) -> None:
        if isinstance(event, AgentConnect):
            call = self.calls.get(event.caller_id_num)
            if call is not None and not call.answered:
                call.answered = True
                self.answered += 1
                if call.timer is not None:
                    call.timer.cancel()
                self._later(call, self.rng.expovariate(1 / self.talk_mean), self._finish)
            return
        if not isinstance(event, Newchannel | Hangup):
            return
        found = self.by_uniqueid.get(event.uniqueid)
        if found is None or found.pbx != pbx:
            return
        if isinstance(event, Newchannel):
            found.names[event.uniqueid] = event.channel
        elif not found.ended:
            self._end(found)

    def _end(self, call: PoolCall) -> None:
        """Either half hung up: make sure the other goes too, and place a new call."""
        call.ended = True
        if call.timer is not None:
            call.timer.cancel()
        for uniqueid in (call.channel_id, call.channel_id + "-2"):
            self._hang_up(call, uniqueid)
        if self.running:
            self._place()


async def drive(conn: Connection, args: argparse.Namespace) -> dict[str, float]:
    infos: list[PbxInfo] = conn.recv()
    # Per PBX: a reader of every event class, and one with the bridge's user's read classes.
    counters = {
        info.name: (
            EventCounter(COUNTER_USER, COUNTER_SECRET),
            EventCounter(MANAGER_USER, info.secret),
        )
        for info in infos
    }
    readers = []
    for info in infos:
        for counter in counters[info.name]:
            ready = asyncio.Event()
            readers.append(asyncio.create_task(counter.run(info.port, ready)))
            await ready.wait()
    clients = {
        info.name: AMIClient("127.0.0.1", info.port, MANAGER_USER, info.secret) for info in infos
    }
    for client in clients.values():
        await client.connect()
    pool = CallerPool(clients, infos, args)
    conn.send("measure")
    started, driver_cpu = time.monotonic(), time.process_time()
    await pool.fill(args.ramp)
    await asyncio.sleep(max(0.0, args.duration - (time.monotonic() - started)))
    messages = sum(every.messages for every, _ in counters.values())
    bytes_read = sum(every.bytes for every, _ in counters.values())
    bridge_messages = sum(bridge.messages for _, bridge in counters.values())
    # Our sessions will see the PBXs go away: no "lost; reconnecting" lines for that.
    logging.getLogger("telephony.ami.client").setLevel(logging.ERROR)
    conn.send("stop")
    elapsed = time.monotonic() - started
    driver_cpu = time.process_time() - driver_cpu
    await pool.stop()
    # The PBXs stop first: closing our sessions under a PBX still writing makes it log a
    # failed send for every event.
    pbx: dict[str, Any] = await asyncio.to_thread(conn.recv)
    for client in clients.values():
        await client.close()
    for task in readers:
        task.cancel()
    lags = sorted(pbx["lag_samples"])
    if not lags:
        raise SystemExit("pbxsim_load: the lag probe took no samples (duration too short?)")
    return {
        "lag_p50_ms": 1000 * statistics.median(lags),
        "lag_p99_ms": 1000 * lags[int(0.99 * (len(lags) - 1))],
        "lag_max_ms": 1000 * lags[-1],
        "lag_samples": float(len(lags)),
        "events_per_s": messages / elapsed,
        "kbytes_per_s": bytes_read / elapsed / 1000,
        "events_per_s_bridge": bridge_messages / elapsed,
        "pbx_cpu_percent": 100 * pbx["cpu_s"] / pbx["wall_s"],
        "driver_cpu_percent": 100 * driver_cpu / elapsed,
        "calls_placed": float(pool.placed),
        "calls_answered": float(pool.answered),
        "calls_gave_up": float(pool.gave_up),
        "calls_completed": float(pool.completed),
        "callers_live_end": float(sum(not c.ended for c in pool.calls.values())),
        "channels_live_end": float(pbx["channels_live"]),
    }


def run(args: argparse.Namespace) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=pbx_process_main, args=(theirs, args.time_scale))
    process.start()
    theirs.close()  # so our end reads EOF if the PBX process dies
    try:
        return asyncio.run(drive(ours, args))
    except EOFError:
        raise SystemExit("pbxsim_load: the PBX process ended early (its error is above)") from None
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pbxsim_load", description=__doc__.split("\n")[0])
    parser.add_argument("--callers", type=int, default=300, help="citizens kept live")
    parser.add_argument("--duration", type=float, default=30.0, help="real seconds measured")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--ramp", type=float, default=5.0, help="real seconds to place all")
    parser.add_argument("--talk", type=float, default=120.0, help="mean emulated talk s")
    parser.add_argument("--patience", type=float, default=75.0, help="mean emulated wait s")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for name in ("callers", "duration", "time_scale", "talk", "patience"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.ramp < 0 or args.ramp >= args.duration:
        parser.error(f"--ramp must be in [0, --duration), got {args.ramp}")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    load = os.getloadavg()
    result = run(args)
    print(
        f"pbxsim_load: {args.callers} callers kept live on pbx-12345 + pbx-110 (13 queues), "
        f"{args.duration:g} s at time scale {args.time_scale:g}, placed over {args.ramp:g} s; "
        f"load average before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    for key, value in result.items():
        aim = f"   aim <= {AIM_P99_MS:g}" if key == "lag_p99_ms" else ""
        print(f"  {key:18s} {value:10.1f}{aim}")
    return 0 if result["lag_p99_ms"] <= AIM_P99_MS else 1
