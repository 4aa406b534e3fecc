"""`hotline-bridge pbxsim` runs an emulated PBX a real AMI client can log in to."""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.commands.pbxsim import register
from tests.traces import LAB_CONFIG

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_pbxsim_command_serves_ami_on_the_given_port() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "pbxsim",
            "--config",
            str(LAB_CONFIG / "pbx-1"),
            "--ami-port",
            str(port),
            "--name",
            "lab",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"pbxsim: lab AMI on 127.0.0.1:{port}"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            reader = sock.makefile("rb")
            assert reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
            sock.sendall(b"Action: Login\r\nUsername: bridge\r\nSecret: bridgepass\r\n\r\n")
            assert reader.readline() == b"Response: Success\r\n"
            assert reader.readline() == b"Message: Authentication accepted\r\n"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_pbxsim_command_names_a_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manager.conf").write_text("[general]\nenabled = yes\nport = 5038\n")
    (tmp_path / "extensions.conf").write_text("[in]\nexten => s,1,NoSuchApp()\n")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["pbxsim", "--config", str(tmp_path)])
    assert args.func(args) == 2
    error = capsys.readouterr().err
    assert error.startswith("pbxsim: ") and "extensions.conf:2" in error and "NoSuchApp" in error
