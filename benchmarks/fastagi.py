"""FastAGI servers under load: ours (on the stdlib asyncio loop, and on uvloop when it is
installed), panoramisk's `fast_agi.Application`, and a Python 3 port of pyst2's threaded
FastAGI handler, side by side in one run.

Each server runs in its own process and serves the same route: GET VARIABLE, SET VARIABLE,
VERBOSE, then closes. A load client in another process (stdlib asyncio for every row) plays
Asterisk with up to `--concurrency` sessions open at once until `--total` sessions are done:
as fast as it can (closed loop, the default), or starting `--rate` sessions per second (open
loop, the way calls arrive). Reported: sessions/s (client wall clock), p50/p99 session latency
(connect to the server's close), and server CPU per session (`time.process_time()` inside the
server process over the run / sessions) -- the fair figure on two cores, where the client takes
one. `--rounds N` runs the servers N times in turn and reports each figure's median.

    python -m benchmarks fastagi [--total 20000] [--concurrency 200] [--rate 0] [--rounds 1]
                                 [--servers ours,ours+uvloop,panoramisk,pyst2,floor]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import multiprocessing as mp
import os
import socketserver
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, cast

from asterisk.agi import AGI
from panoramisk.fast_agi import Application

from telephony.agi import AgiRoutes, AgiSession, FastAgiServer

HEADERS = (
    b"agi_network: yes\nagi_network_script: bench\nagi_request: agi://127.0.0.1:4573/bench\n"
    b"agi_channel: Local/caller@callers-00000011;1\nagi_language: en\nagi_type: Local\n"
    b"agi_uniqueid: lab-1795945604.36\nagi_version: 22.10.1\nagi_callerid: 13800000007\n"
    b"agi_calleridname: Citizen 0007\nagi_callingpres: 0\nagi_callingani2: 0\n"
    b"agi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\n"
    b"agi_context: agi\nagi_extension: fastagi\nagi_priority: 3\nagi_enhanced: 0.0\n"
    b"agi_accountcode: \nagi_threadid: 139799761209024\n\n"
)
REPLY = b"200 result=1 (13800000007)\n"
COMMANDS_PER_SESSION = 3
PYST2_BACKLOG = 128  # pyst2's socketserver default of 5 drops SYNs under load (1 s retries)


# --- the three servers, each serving the same three-command route -------------------------


async def ours_route(session: AgiSession) -> None:
    await session.get_variable("CALLERID(num)")
    await session.set_variable("TICKET_ID", "T-1")
    await session.verbose("bench done")


async def serve_ours(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    routes = AgiRoutes()
    routes.add("bench", ours_route)
    server = FastAgiServer(routes)
    await server.start("127.0.0.1", 0)
    ready(server.port)
    await stop.wait()
    await server.stop(deadline=5)


async def panoramisk_route(request: Any) -> None:
    await request.send_command("GET VARIABLE CALLERID(num)")
    await request.send_command('SET VARIABLE TICKET_ID "T-1"')
    await request.send_command('VERBOSE "bench done" 1')


async def serve_panoramisk(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    # On 3.11 Application() needs the running loop passed in, and async routes only.
    app = Application(loop=asyncio.get_running_loop())
    app.add_route("bench", panoramisk_route)
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0, backlog=1024)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


class ThreadSafeAGI(AGI):
    """pyst2's AGI without the SIGHUP handler (signal.signal works only in the main thread)."""

    def __init__(self, stdin: Any, stdout: Any, stderr: Any) -> None:
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._got_sighup = False
        self.env: dict[str, str] = {}
        self._get_agi_env()


class Pyst2FastAGI(socketserver.StreamRequestHandler):
    """pyst2's asterisk/fastagi.py handler, ported from SocketServer to socketserver."""

    timeout = 5

    def handle(self) -> None:
        wfile: Any = self.wfile  # a socket file: TextIOWrapper takes it, typeshed disagrees
        stdout = io.TextIOWrapper(wfile, encoding="utf-8", write_through=True)
        # Like pyst2's handler, a socket timeout or error ends the session; here quietly (the
        # client counts it as an error) instead of a line on stderr per failure.
        with open(os.devnull, "w") as quiet, contextlib.suppress(OSError):
            agi = ThreadSafeAGI(stdin=self.rfile, stdout=stdout, stderr=quiet)
            agi.get_variable("CALLERID(num)")
            agi.set_variable("TICKET_ID", "T-1")
            agi.verbose("bench done")
        stdout.detach()


class Pyst2Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = PYST2_BACKLOG


async def serve_pyst2(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    server = Pyst2Server(("127.0.0.1", 0), Pyst2FastAGI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ready(server.server_address[1])
    await stop.wait()
    server.shutdown()


class FloorProtocol(asyncio.Protocol):
    """Not a server anyone should use: canned commands, no parsing, no coroutine or task per
    session. It shows what the stdlib loop's transports alone cost (the `floor` row)."""

    commands = (b"GET VARIABLE CALLERID(num)\n", b'SET VARIABLE TICKET_ID "T-1"\n', b"VERBOSE x\n")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.buffer = b""
        self.replies = -1  # -1: still reading the agi_* block

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end_of_message = b"\n\n" if self.replies < 0 else b"\n"
        if end_of_message not in self.buffer:
            return
        self.buffer, self.replies = b"", self.replies + 1
        if self.replies < len(self.commands):
            self.transport.write(self.commands[self.replies])
        else:
            self.transport.close()


async def serve_floor(ready: Callable[[int], None], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(FloorProtocol, "127.0.0.1", 0, backlog=1024)
    ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    server.close()


SERVERS = {
    "ours": serve_ours,
    "ours+uvloop": serve_ours,
    "panoramisk": serve_panoramisk,
    "pyst2": serve_pyst2,
    "floor": serve_floor,
}
DEFAULT_SERVERS = "ours,ours+uvloop,panoramisk,pyst2"


def server_process(kind: str, control: Connection) -> None:
    """Serve until told to stop; report CPU seconds spent between "begin" and "end"."""
    logging.disable(logging.WARNING)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        cpu: dict[str, float] = {}

        def listen_for_orders() -> None:
            while (order := control.recv()) != "end":
                cpu[order] = time.process_time()
            control.send(time.process_time() - cpu["begin"])
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=listen_for_orders, daemon=True).start()
        await SERVERS[kind](control.send, stop)

    with asyncio.Runner(loop_factory=_loop_factory(kind)) as runner:
        runner.run(run())


def _loop_factory(kind: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    if not kind.endswith("+uvloop"):
        return None
    import uvloop  # only this row needs it

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def uvloop_installed() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# --- the load client: plays Asterisk ---------------------------------------------------------


@dataclass(frozen=True)
class Load:
    port: int
    total: int
    concurrency: int
    rate: float  # sessions started per second; 0: as fast as the sessions finish


@dataclass(frozen=True)
class ClientResult:
    latencies: list[float]
    errors: int
    wall_seconds: float
    cpu_seconds: float


async def one_session(port: int) -> float:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADERS)
    for _ in range(COMMANDS_PER_SESSION):
        if not await reader.readline():
            raise ConnectionError("server closed before its commands were done")
        writer.write(REPLY)
    await reader.read()  # the server closes
    writer.close()
    return time.perf_counter() - started


async def run_load(load: Load) -> ClientResult:
    latencies: list[float] = []
    errors = 0
    open_sessions = asyncio.Semaphore(load.concurrency)

    async def session() -> None:
        nonlocal errors
        try:
            async with asyncio.timeout(30):
                latencies.append(await one_session(load.port))
        except (OSError, TimeoutError):
            errors += 1
        finally:
            open_sessions.release()

    started, cpu = time.perf_counter(), time.process_time()
    tasks = []
    for number in range(load.total):
        if load.rate:
            await asyncio.sleep(max(0.0, started + number / load.rate - time.perf_counter()))
        await open_sessions.acquire()
        tasks.append(asyncio.create_task(session()))
    await asyncio.gather(*tasks)
    return ClientResult(latencies, errors, time.perf_counter() - started, time.process_time() - cpu)


def client_process(load: Load, results: Connection) -> None:
    results.send(asyncio.run(run_load(load)))


# --- orchestration and report ----------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    server: str
    sessions: int
    errors: int
    per_second: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_session: float
    client_cpu_ms_per_session: float


def measure(kind: str, total: int, concurrency: int, rate: float) -> Figures:
    context = mp.get_context("spawn")  # clean children: no inherited loops or threads
    control, server_end = context.Pipe()
    server = context.Process(target=server_process, args=(kind, server_end), daemon=True)
    server.start()
    load = Load(control.recv(), total, concurrency, rate)
    results, client_end = context.Pipe()
    client = context.Process(target=client_process, args=(load, client_end))
    control.send("begin")
    client.start()
    result: ClientResult = results.recv()
    client.join()
    control.send("end")
    cpu_seconds = control.recv()
    server.join(timeout=10)
    done = len(result.latencies)
    cuts = statistics.quantiles(result.latencies, n=100) if done > 1 else [0.0] * 99
    return Figures(
        server=kind,
        sessions=done,
        errors=result.errors,
        per_second=done / result.wall_seconds,
        p50_ms=cuts[49] * 1000,
        p99_ms=cuts[98] * 1000,
        cpu_ms_per_session=cpu_seconds * 1000 / max(done, 1),
        client_cpu_ms_per_session=result.cpu_seconds * 1000 / max(done, 1),
    )


def median_figures(runs: list[Figures]) -> Figures:
    """Each figure's median over the rounds (sessions and errors: summed)."""
    return Figures(
        server=runs[0].server,
        sessions=sum(r.sessions for r in runs),
        errors=sum(r.errors for r in runs),
        per_second=statistics.median(r.per_second for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        cpu_ms_per_session=statistics.median(r.cpu_ms_per_session for r in runs),
        client_cpu_ms_per_session=statistics.median(r.client_cpu_ms_per_session for r in runs),
    )


def table(rows: list[Figures]) -> str:
    lines = [
        "| server | sessions | errors | sessions/s | p50 ms | p99 ms | server CPU ms/session "
        "| client CPU ms/session |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.server} | {r.sessions} | {r.errors} | {r.per_second:,.0f} | {r.p50_ms:.2f} "
            f"| {r.p99_ms:.2f} | {r.cpu_ms_per_session:.3f} | {r.client_cpu_ms_per_session:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks fastagi", description=__doc__)
    parser.add_argument("--total", type=int, default=20_000, help="sessions per server and round")
    parser.add_argument("--concurrency", type=int, default=200, help="most sessions open at once")
    parser.add_argument("--rate", type=float, default=0, help="sessions/s to start; 0: flat out")
    parser.add_argument("--rounds", type=int, default=1, help="runs per server, medians shown")
    parser.add_argument(
        "--servers", default=DEFAULT_SERVERS, help=f"comma-separated, of {', '.join(SERVERS)}"
    )
    args = parser.parse_args(argv)
    kinds = args.servers.split(",")
    unknown = [k for k in kinds if k not in SERVERS]
    if unknown:
        parser.error(f"unknown server(s) {', '.join(unknown)}; have {', '.join(SERVERS)}")
    if "ours+uvloop" in kinds and not uvloop_installed():
        print("uvloop is not installed: leaving out the ours+uvloop row")
        kinds.remove("ours+uvloop")
    runs: dict[str, list[Figures]] = {kind: [] for kind in kinds}
    for _ in range(args.rounds):
        for kind in kinds:  # in turn, so a burst of outside load hits every server alike
            runs[kind].append(measure(kind, args.total, args.concurrency, args.rate))
    mode = f"{args.rate:g} sessions/s offered" if args.rate else "closed loop (flat out)"
    print(f"FastAGI: {args.concurrency} concurrent at most, {mode}, {args.rounds} round(s)")
    print(table([median_figures(runs[kind]) for kind in kinds]))
    print(f"(pyst2 port: listen backlog {PYST2_BACKLOG}; CPU = the server process only)")
    return 0 if all(r.errors == 0 for rs in runs.values() for r in rs) else 1
