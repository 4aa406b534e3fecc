"""A private redis-server (Debian's package) for the demo and the tests.

The product runs against the Redis named in its config; `hotline-bridge demo` and the test
fixtures start their own on a free loopback port with their own data dir, so nothing depends
on a Redis someone started by hand. AOF is on with `appendfsync everysec` by default, the
product's documented durability (a crash can lose up to one second of writes).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class RedisStartError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    """True when a Redis server answers PING at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


@dataclass
class LocalRedis:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_redis(
    data_dir: Path, appendfsync: str = "everysec", port: int | None = None, timeout: float = 10
) -> LocalRedis:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisStartError(
            "redis-server not found: run `make demo` or `make test` (they install Debian's "
            "redis-server) or `apt-get install redis-server`"
        )
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        binary,
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data_dir)),
        *("--appendonly", "yes", "--appendfsync", appendfsync, "--save", ""),
        *("--daemonize", "no", "--logfile", str(data_dir / "redis.log")),
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if redis_answers("127.0.0.1", port):
            return LocalRedis(port, data_dir, process)
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RedisStartError(f"redis-server did not start on port {port}: see {data_dir}/redis.log")
