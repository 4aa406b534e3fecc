"""`hotline-bridge demo` end to end, in a subprocess as `make demo` runs it: it exits 0, its
`--json` summary shows traffic in every queue, and nothing it started outlives it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import main
from bridge.local_redis import free_port

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [str(Path(sys.executable).parent / "hotline-bridge"), "demo"]
# Generous bounds so a loaded 2-core machine never fails a run that works.
RUN_LIMIT_S = 120


def _demo_config(tmp_path: Path) -> Path:
    """config/jining.toml with Redis at a port nobody serves: the demo starts its own."""
    text = (ROOT / "config" / "jining.toml").read_text(encoding="utf-8")
    url = f'url = "redis://127.0.0.1:{free_port()}/0"'
    config = tmp_path / "jining.toml"
    config.write_text(re.sub(r'^url = "redis://[^"]*"', url, text, flags=re.M), encoding="utf-8")
    return config


def _environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["TMPDIR"] = str(tmp_path / "tmp")  # the demo's temp dir (Redis data) lands here
    (tmp_path / "tmp").mkdir()
    return env


def _processes_using(folder: Path) -> list[str]:
    """Processes whose command line names `folder` or that run inside it (redis-server
    rewrites its command line but keeps its data dir as working directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = str((proc / "cwd").resolve())
        except OSError:
            continue
        if str(folder) in cmdline or cwd.startswith(str(folder)):
            found.append(f"{proc.name}: {cmdline} (in {cwd})")
    return found


def _assert_nothing_left(tmp_path: Path) -> None:
    assert list((tmp_path / "tmp").iterdir()) == []
    assert _processes_using(tmp_path / "tmp") == []


def test_json_run_shows_every_queue_working_and_cleans_up(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *COMMAND,
            "--duration",
            "14",
            "--time-scale",
            "30",
            "--seed",
            "3",
            "--json",
            "--no-overflow",
            "--config",
            str(_demo_config(tmp_path)),
        ],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    queues = summary["queues"]
    expected = {"q12345", "q110-city", "q110-370811", "q110-370883"}
    assert expected <= set(queues)
    for name in expected:
        assert queues[name]["offered"] > 0 and queues[name]["answered"] > 0, name
    # 邹城 370883 is surged to five times its calls on three seats, with no overflow
    # controller to lend it seats: callers give up there.
    assert queues["q110-370883"]["early_releases"] > 0
    assert summary["overflow"] is None and summary["surged_centre"]["overflow"] is False
    assert summary["emulated_seconds"] > 300
    assert summary["interrupted"] is False
    for key in ("transfers", "tickets"):
        assert isinstance(summary[key], list)
    # The bridge's own metrics (GET /api/queues) saw the same queues.
    bridge = {row["queue"]: row for row in summary["bridge_queues"]["queues"]}
    assert expected <= set(bridge)
    assert bridge["q110-370883"]["windows"]["today"]["offered"] > 0
    _assert_nothing_left(tmp_path)


def test_sigterm_stops_everything(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*COMMAND, "--duration", "600", "--config", str(_demo_config(tmp_path))],
        cwd=ROOT,
        env=_environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("running:"):
                break
        ports = [int(p) for p in re.findall(r"AMI 127\.0\.0\.1:(\d+)", "".join(lines))]
        assert len(ports) == 2, lines
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=RUN_LIMIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert "hotline-bridge demo  emulated" in out  # the final table
    for port in ports:
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), 1):
            pass
    _assert_nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "0"], "--duration: '0' must be greater than 0"),
        (["--time-scale", "fast"], "--time-scale: 'fast' is not a number"),
        (["--surge", "370883 5x"], "--surge: surge '370883 5x' is not [ENTRY:]FACTORx@START"),
    ],
)
def test_bad_options_are_named(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["demo", *args])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_config_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--config", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err
    assert "nope.toml" in err and "cannot read the file" in err
