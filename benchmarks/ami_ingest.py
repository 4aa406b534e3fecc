"""AMI ingestion: events/s from a loopback socket into (a) our client's typed events and live
model, (b) panoramisk's ``Manager`` with a catch-all callback. Same stream, same run.

The stream is every event the recorded Asterisk 22 traces hold (their real shapes and mix:
VarSet, Newexten, channel, bridge, queue and agent events, list items...), cycled up to
``--events``. A server process (so it has its own core) sends the banner, answers the Login
and then writes the whole stream, ending with one ``BenchEnd`` event. Each client's rate is
counted from its first event to ``BenchEnd``; rounds alternate which client goes first.

    python -m benchmarks ami_ingest [--events 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from telephony.ami.client import AMIClient
from telephony.live import LiveModel
from tests.traces import read_trace, trace_files

END_EVENT = b"Event: BenchEnd\r\nPrivilege: user,all\r\n\r\n"


def build_stream(events: int) -> bytes:
    """``events`` event messages cycled from the traces, then the end marker."""
    shapes = [
        record.data
        for path in trace_files(".ami.txt")
        for record in read_trace(path)
        if record.direction == "S->C" and record.data.startswith(b"Event: ")
    ]
    if not shapes:
        raise SystemExit("no AMI traces found: set HOTLINE_TRACES to the asterisk-traces folder")
    cycled = [shapes[i % len(shapes)] for i in range(events)]
    return b"".join(cycled) + END_EVENT


def serve_once(stream: bytes, ready: Connection) -> None:
    """Run in a child process: one AMI-ish session that streams ``stream`` after the Login."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        ready.send(server.getsockname()[1])
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"Asterisk Call Manager/11.0.0\r\n")
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                received += chunk
            action_id = b"login"
            for line in received.split(b"\r\n"):
                if line.lower().startswith(b"actionid: "):
                    action_id = line.split(b": ", 1)[1]
            conn.sendall(
                b"Response: Success\r\nActionID: " + action_id + b"\r\n"
                b"Message: Authentication accepted\r\n\r\n"
            )
            conn.sendall(stream)
            while chunk := conn.recv(65536):  # until the client hangs up
                if b"Action: Logoff" in chunk:
                    conn.sendall(b"Response: Goodbye\r\n" + _action_id_line(chunk) + b"\r\n")
                    return


def _action_id_line(action: bytes) -> bytes:
    for line in action.split(b"\r\n"):
        if line.startswith(b"ActionID: "):
            return line + b"\r\n"
    return b""


@dataclass(frozen=True)
class Result:
    wall_rate: float  # events/s, first event to the end marker
    cpu_rate: float  # events per CPU-second of the client process (robust on a busy machine)
    count: int


class Meter:
    """Times the first event of the stream to the end marker, on the wall and CPU clocks."""

    def __init__(self) -> None:
        self.count = 0
        self.first = self.first_cpu = 0.0
        self.last = self.last_cpu = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        if not self.first:
            self.first, self.first_cpu = time.perf_counter(), time.process_time()

    def stop(self, count: int) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.process_time()
        self.count = count
        if not self.done.done():
            self.done.set_result(None)

    def result(self) -> Result:
        # events after the first one, over the time between first and last
        events = self.count - 1
        return Result(
            events / (self.last - self.first),
            events / max(self.last_cpu - self.first_cpu, 1e-9),
            self.count,
        )


def start_server(stream: bytes) -> tuple[multiprocessing.process.BaseProcess, int]:
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    process = context.Process(target=serve_once, args=(stream, child), daemon=True)
    process.start()
    port: int = parent.recv()
    return process, port


async def run_ours(stream: bytes, catch_all: bool = False) -> Result:
    """Our client feeding the live model, which asks only for the events it uses: the others
    are counted but never split into headers. ``catch_all`` adds a listener for every event,
    so that every event is parsed and typed."""
    process, port = start_server(stream)
    meter = Meter()
    first_name = stream[7 : stream.index(b"\r\n")].decode()
    client = AMIClient("127.0.0.1", port, "bench", "bench", ping_interval=3600)
    model = LiveModel()
    client.add_inline_handler(model.apply, model.event_names)
    client.add_inline_handler(lambda _: meter.start(), [first_name])
    client.add_inline_handler(lambda _: meter.stop(client.stats.events), ["BenchEnd"])
    if catch_all:
        client.add_inline_handler(lambda _: None)
    await client.connect()
    await meter.done
    await client.close()
    await asyncio.to_thread(process.join, 10)
    return meter.result()


async def run_ours_catch_all(stream: bytes) -> Result:
    return await run_ours(stream, catch_all=True)


async def run_panoramisk(stream: bytes) -> Result:
    from panoramisk import Manager

    process, port = start_server(stream)
    meter = Meter()
    manager = Manager(
        loop=asyncio.get_running_loop(),
        host="127.0.0.1",
        port=port,
        username="bench",
        secret="bench",
        ping_delay=3600,
        ping_interval=3600,
    )

    def on_event(_manager: Any, message: Any) -> None:
        meter.count += 1
        if meter.count == 1:
            meter.start()
        if message.get("Event") == "BenchEnd":
            meter.stop(meter.count)

    manager.register_event("*", on_event)
    await manager.connect()
    await meter.done
    manager.close()
    await asyncio.to_thread(process.join, 10)
    return meter.result()


def measure(runner: Callable[[bytes], Any], stream: bytes) -> Result:
    result: Result = asyncio.run(runner(stream))
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ami_ingest")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if args.events < 1 or args.rounds < 1:
        parser.error("--events and --rounds must be at least 1")
    stream = build_stream(args.events)
    runners: list[tuple[str, Callable[[bytes], Any]]] = [
        ("hotline-bridge AMIClient -> typed events -> LiveModel", run_ours),
        ("same, plus a catch-all listener (every event typed)", run_ours_catch_all),
        ("panoramisk 1.4 Manager, catch-all callback", run_panoramisk),
    ]
    baseline = runners[-1][0]
    results: dict[str, list[Result]] = {label: [] for label, _ in runners}
    for round_no in range(args.rounds):
        order = runners if round_no % 2 == 0 else runners[::-1]
        for label, runner in order:
            result = measure(runner, stream)
            if result.count != args.events + 1:
                print(f"{label}: got {result.count} events, expected {args.events + 1}")
                return 1
            results[label].append(result)
            print(
                f"round {round_no + 1}: {result.wall_rate:>9,.0f} events/s "
                f"{result.cpu_rate:>9,.0f} events/CPU-s  {label}"
            )
    print()
    print(f"AMI ingestion: {args.events:,} events cycled from the traces, loopback TCP;")
    print(f"medians of {args.rounds} rounds; ratios are per round (same round), then median")
    print()
    print("| client | events/s (wall) | events per client CPU-s | vs panoramisk (CPU) |")
    print("|---|---:|---:|---:|")
    for label, mine in results.items():
        ratios = [m.cpu_rate / p.cpu_rate for m, p in zip(mine, results[baseline], strict=True)]
        wall = statistics.median(r.wall_rate for r in mine)
        cpu = statistics.median(r.cpu_rate for r in mine)
        print(f"| {label} | {wall:,.0f} | {cpu:,.0f} | {statistics.median(ratios):.2f}x |")
    return 0
