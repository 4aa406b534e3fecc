"""`hotline-bridge config check`: one message and exit 2 for a bad file, else a summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main

REPO = Path(__file__).resolve().parents[2]
JINING = REPO / "config" / "jining.toml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deploy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_prints_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(JINING)]) == 0
    out = capsys.readouterr().out
    assert f"{JINING}: OK" in out
    assert "1 city 12345, 1 city 110, 11 county 110; 13 queues" in out


def test_unset_secrets_are_warnings_not_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_AMI_SECRET_PBX110", raising=False)
    monkeypatch.setenv("HOTLINE_AMI_SECRET_PBX12345", "x")
    assert main(["config", "check", str(JINING)]) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "HOTLINE_AMI_SECRET_PBX110 is not set" in err
    assert "HOTLINE_AMI_SECRET_PBX12345" not in err


def test_default_file_comes_from_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOTLINE_CONFIG", str(_write(tmp_path, "oops = [")))
    assert main(["config", "check"]) == 2
    assert "deploy.toml" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = [\n", "end of file: TOML syntax error"),
        ("[city]\ncode = '370800'\nname = 'x'\nname = 'y'\n", "line 4, column"),
        ("timezone = 'Asia/Shanghai'\n", ": city: required key is missing (and 3 more problems)"),
    ],
)
def test_bad_file_prints_one_line_and_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    assert main(["config", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}")
    assert expected in lines[0]


def test_cross_reference_error_through_the_cli(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = JINING.read_text(encoding="utf-8").replace(
        'attached_to = "110-370811"', 'attached_to = "110-999999"', 1
    )
    assert main(["config", "check", str(_write(tmp_path, text))]) == 2
    err = capsys.readouterr().err
    assert "zones[0].attached_to: no platform with id '110-999999'" in err


def test_real_process_has_no_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[pbx]]\nname = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "config", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}: ")


def test_check_names_a_bad_ivr_toml_beside_the_settings_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "site.toml"
    settings.write_text((REPO / "config" / "jining.toml").read_text(encoding="utf-8"))
    (tmp_path / "ivr.toml").write_text("[entry]\nattempts = 'many'\n", encoding="utf-8")
    assert main(["config", "check", str(settings)]) == 2
    err = capsys.readouterr().err
    assert "ivr.toml" in err
    assert "Traceback" not in err


def test_a_bad_transfer_deadline_names_kind_and_urgency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (REPO / "config" / "jining.toml").read_text(encoding="utf-8")
    section = '[transfers.deadlines."求助".soon]\nact_within_s = 60\nclose_within_s = 600\n\n'
    bad = text.replace("[conferences]\n", section + "[conferences]\n")
    settings = tmp_path / "site.toml"
    settings.write_text(bad, encoding="utf-8")
    assert main(["config", "check", str(settings)]) == 2
    err = capsys.readouterr().err
    assert "transfers.deadlines" in err
    assert "'soon' is not one of" in err
