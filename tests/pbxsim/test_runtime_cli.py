"""`hotline-bridge pbxsim` runs an emulated PBX a real AMI client can log in to."""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.commands.pbxsim import register
from tests.traces import LAB_CONFIG

ROOT = Path(__file__).resolve().parents[2]


def test_pbxsim_command_serves_ami() -> None:
    # Port 0: the command binds a free port and prints it (a port picked here could be taken
    # by another process during the command's start-up on a shared machine).
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge.cli",
            "pbxsim",
            "--config",
            str(LAB_CONFIG / "pbx-1"),
            "--ami-port",
            "0",
            "--name",
            "lab",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.fullmatch(
            r"pbxsim: lab AMI on 127\.0\.0\.1:(\d+)", proc.stdout.readline().strip()
        )
        assert match is not None
        port = int(match.group(1))
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


def test_pbxsim_names_a_sounds_folder_that_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    missing = tmp_path / "no-sounds"
    args = parser.parse_args(
        ["pbxsim", "--config", str(ROOT / "config/asterisk/pbx-12345"), "--sounds", str(missing)]
    )
    assert args.func(args) == 2
    assert str(missing) in capsys.readouterr().err
