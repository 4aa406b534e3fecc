"""Benchmarks cannot rot: every module imports and has `main`, and the emulated-PBX load and
IVR benchmarks run end to end with tiny arguments. No speed is asserted here (benchmarks/ is
where speed is measured); what is asserted is that each did its work."""

from __future__ import annotations

import importlib

import pytest

from benchmarks.__main__ import available


def figures(printed: str) -> dict[str, float]:
    """`  name   value` lines of a benchmark's output."""
    found = {}
    for line in printed.splitlines():
        words = line.split()
        if len(words) >= 2 and line.startswith("  "):
            try:
                found[words[0]] = float(words[1])
            except ValueError:
                continue
    return found


def test_every_benchmark_module_imports_and_has_main() -> None:
    names = available()
    assert {"pbxsim_load", "ivr"} <= set(names)
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        assert callable(getattr(module, "main", None)), f"benchmarks/{name}.py has no main()"


def test_pbxsim_load_places_answers_and_replaces_calls(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import pbxsim_load

    argv = ["--callers", "26", "--duration", "3", "--ramp", "0.5", "--time-scale", "20"]
    status = pbxsim_load.main([*argv, "--talk", "20", "--patience", "40"])
    result = figures(capsys.readouterr().out)
    assert status in (0, 1)  # 1 only means the lag aim was missed on a busy machine
    assert result["lag_samples"] > 0
    assert result["events_per_s"] > 0
    assert result["calls_answered"] > 0
    # Calls that ended were replaced: more placed than kept live, and about 26 still live.
    assert result["calls_placed"] > 26
    # A call that ends as the driver stops is not replaced any more: one or two may be missing.
    assert 24 <= result["callers_live_end"] <= 26


def test_ivr_runs_every_flow_to_its_expected_end(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import ivr

    # A flow that ends anywhere but where it should stops the benchmark with SystemExit.
    status = ivr.main(["--sessions", "3", "--rounds", "1", "--rate", "50"])
    result = figures(capsys.readouterr().out)
    assert status in (0, 1)
    assert set(result) == {"key2", "key9", "route110"}


@pytest.mark.parametrize(
    ("module", "argv", "named"),
    [
        ("pbxsim_load", ["--callers", "0"], "--callers must be positive"),
        ("pbxsim_load", ["--ramp", "40"], "--ramp must be in"),
        ("ivr", ["--flows", "key7"], "unknown ['key7']"),
        ("ivr", ["--rate", "-1"], "--rate must be 0 (closed loop) or positive"),
    ],
)
def test_bad_arguments_are_refused_naming_them(
    module: str, argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parse_args = importlib.import_module(f"benchmarks.{module}").parse_args
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert named in capsys.readouterr().err
