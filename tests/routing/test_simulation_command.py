"""`hotline-bridge simulate`: the JSON object monitoring scripts read, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.cli import main


def test_json_is_one_object_with_the_documented_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--replications", "1", "--seed", "4", "--json"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)  # exactly one JSON document on stdout
    assert data["scenario"] == "Jining surge" and data["window_s"] == 1800
    assert set(data["policies"]) == {"isolated", "bridge", "pooled"}
    for figures in data["policies"].values():
        for key in ("surged_rate", "overall_rate", "worst_other_rate"):
            assert 0 <= figures[key] <= 1
        assert len(figures["centre_rates"]) == 12 and "370883" in figures["centre_rates"]
        assert figures["early_released"] <= figures["offered"]
    iso = data["policies"]["isolated"]
    assert iso["early_released"] / iso["offered"] == pytest.approx(iso["overall_rate"])
    # The AMI actions the bridge's plans cost (QueueAdd, QueueRemove, QueuePause, withdrawals).
    assert iso["ami_actions_per_replication"] == 0
    assert data["policies"]["bridge"]["ami_actions_per_replication"] > 0
    assert data["policies"]["bridge"]["queue_adds_per_replication"] > 0
    # Same seed, same numbers.
    assert main(["simulate", "--replications", "1", "--seed", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == data


def test_table_output_names_the_three_policies(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--replications", "1"]) == 0
    out = capsys.readouterr().out
    assert "isolated" in out and "bridge" in out and "pooled" in out and "370883" in out


def test_missing_scenario_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--scenario", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: cannot read scenario file" in capsys.readouterr().err


def test_invalid_scenario_names_the_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nhandle_time_s = 90\npatience_s = 60\nbase_load = 0.6\n'
        'warmup_s = 10\nwindow_s = 10\n[[centre]]\ncode = "1"\nseats = -3\n',
        encoding="utf-8",
    )
    assert main(["simulate", "--scenario", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "seats must be >= 1" in err


def test_replications_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--replications", "0"])
    assert "must be at least 1" in capsys.readouterr().err
