"""Load on the emulated PBX: 300 concurrent callers across 13 queues, one AMI client taking
every event. Reports the emulator's clock lag (how late its timers fire: p50/p99/max) and
the AMI events per second it emitted.

    python -m benchmarks pbxsim_load [--callers 300] [--queues 13] [--agents 8]
                                     [--duration 30] [--time-scale 1] [--ramp 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from telephony.pbxsim import EmulatedPBX

PROBE_INTERVAL = 0.05  # seconds between clock-lag probes


def write_config(folder: Path, queues: int, agents: int, talk: int) -> list[str]:
    """A PBX folder with `queues` queues of `agents` Local/ members each; returns the
    inbound extensions, one per queue."""
    (folder / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n"
        "channelvars = TICKET_ID\n\n[bench]\nsecret = bench\nread = all\nwrite = all\n"
    )
    members = []
    lines = [
        "[general]\n",
        "[tmpl](!)\nstrategy = rrmemory\ntimeout = 15\nretry = 1\nservicelevel = 20\n",
    ]
    extens = []
    for q in range(queues):
        lines.append(f"[q{q:02d}](tmpl)\n")
        for a in range(agents):
            member = f"agent{q:02d}{a:02d}"
            members.append(member)
            lines.append(f"member => Local/{member}@agents/n,0,Agent {q:02d}-{a:02d}\n")
        extens.append(f"{900 + q}")
    (folder / "queues.conf").write_text("".join(lines))
    dialplan = [
        "[agents]\n",
        "exten => _age[n]t.,1,Ringing()\n same => n,Wait(1)\n same => n,Answer()\n",
        f" same => n,Wait({talk})\n same => n,Hangup()\n",
        "[callers]\n",
        "exten => caller,1,Answer()\n same => n,Wait(3600)\n same => n,Hangup()\n",
        "[inbound]\n",
    ]
    for q, exten in enumerate(extens):
        dialplan.append(f"exten => {exten},1,Queue(q{q:02d},tT)\n same => n,Hangup()\n")
    (folder / "extensions.conf").write_text("".join(dialplan))
    return extens


class EventCounter:
    def __init__(self) -> None:
        self.events = 0

    async def run(self, port: int, ready: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\n")
        await writer.drain()
        ready.set()
        try:
            while chunk := await reader.read(1 << 16):
                self.events += chunk.count(b"\r\n\r\n")
        finally:
            writer.close()


async def probe_lag(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + PROBE_INTERVAL
        fired = loop.create_future()
        loop.call_at(due, fired.set_result, None)
        await fired
        samples.append(loop.time() - due)


async def originate_all(
    port: int, extens: list[str], callers: int, ramp: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Send the Originates on one connection over `ramp` seconds; the connection stays open
    (and drained) while measuring."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"Action: Login\r\nUsername: bench\r\nSecret: bench\r\n\r\n")
    for n in range(callers):
        await asyncio.sleep(ramp / callers)
        exten = extens[n % len(extens)]
        writer.write(
            (
                f"Action: Originate\r\nActionID: o{n}\r\nChannel: Local/caller@callers\r\n"
                f"Context: inbound\r\nExten: {exten}\r\nPriority: 1\r\n"
                f'CallerID: "Citizen {n}" <138{n:08d}>\r\nAsync: true\r\n\r\n'
            ).encode()
        )
    await writer.drain()
    return reader, writer


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(1 << 16):
        pass


async def run(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        extens = write_config(Path(tmp), args.queues, args.agents, args.talk)
        pbx = EmulatedPBX.from_config_dir(tmp, name="bench", time_scale=args.time_scale)
        await pbx.start()
        counter, ready, stop = EventCounter(), asyncio.Event(), asyncio.Event()
        samples: list[float] = []
        reading = asyncio.create_task(counter.run(pbx.ami_port, ready))
        await ready.wait()
        probing = asyncio.create_task(probe_lag(samples, stop))
        started = time.monotonic()
        cpu_started = time.process_time()
        reader, writer = await originate_all(pbx.ami_port, extens, args.callers, args.ramp)
        draining = asyncio.create_task(_drain(reader))
        await asyncio.sleep(args.duration)
        peak_channels = len(pbx.channels)
        writer.close()
        draining.cancel()
        stop.set()
        await probing
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu_started
        await pbx.stop()
        reading.cancel()
    ordered = sorted(samples)
    return {
        "lag_p50_ms": 1000 * statistics.median(ordered),
        "lag_p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
        "lag_max_ms": 1000 * ordered[-1],
        "events_per_s": counter.events / elapsed,
        "events": float(counter.events),
        "cpu_percent": 100 * cpu / elapsed,
        "channels_live": float(peak_channels),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="pbxsim_load", description=__doc__)
    parser.add_argument("--callers", type=int, default=300)
    parser.add_argument("--queues", type=int, default=13)
    parser.add_argument("--agents", type=int, default=8, help="members per queue")
    parser.add_argument("--talk", type=int, default=20, help="seconds an agent talks")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument(
        "--ramp", type=float, default=3.0, help="seconds over which the callers arrive"
    )
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(
        f"pbxsim_load: {args.callers} callers, {args.queues} queues x {args.agents} agents, "
        f"{args.duration:.0f} s at time scale {args.time_scale:g}, arrivals over {args.ramp:g} s"
    )
    for key, value in result.items():
        print(f"  {key:16s} {value:10.1f}")
    return 0 if result["lag_p99_ms"] <= 100 else 1
