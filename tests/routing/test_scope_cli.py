"""`hotline-bridge scope eval|classify` through its own argument parser."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import pytest

from bridge.commands import scope

# The shared labelled cases beside this checkout, as tests/traces.py finds the traces.
DEV = (
    Path(
        os.environ.get(
            "HOTLINE_SCOPE_CASES",
            Path(__file__).resolve().parents[2].parent / "shared" / "data" / "scope-cases",
        )
    )
    / "dev.jsonl"
)

CASES: list[dict[str, Any]] = [
    {"id": "t-1", "text": "我在邹城，对面楼有人站在楼顶边上说不想活了", "platform": "110",
     "channel": None, "kind": "求助", "urgent": True, "district": "370883"},
    {"id": "t-2", "text": "想问一下城乡居民养老保险一年交多少钱", "platform": "12345",
     "channel": None, "kind": "咨询", "urgent": False, "district": None},
    {"id": "t-3", "text": "厨房里的液化气罐着火了，火很大", "platform": "other",
     "channel": "119", "kind": "报警", "urgent": True, "district": None},
]  # fmt: skip


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hotline-bridge")
    scope.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


@pytest.fixture
def cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in CASES), "utf-8")
    return path


def test_eval_json_has_the_promised_fields(
    cases_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["scope", "eval", str(cases_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 3
    for key in ("platform_accuracy", "kind_accuracy", "urgent_accuracy", "danger_recall"):
        assert 0.0 <= report[key] <= 1.0
    assert report["danger_recall"] == 1.0
    assert sum(report["confusion"]["110"].values()) == 1
    assert "none of them in FILE" in report["mode"]


def test_eval_text_prints_accuracies_matrix_and_misses(
    cases_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["scope", "eval", str(cases_file), "--rules-only"]) == 0
    out = capsys.readouterr().out
    assert "platform accuracy" in out and "kind accuracy" in out and "urgent accuracy" in out
    assert "expected \\ predicted" in out
    assert "rules alone" in out


def test_eval_lists_every_missed_danger_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Labelled urgent 110 but told with no danger word the rules know: rules alone miss it.
    missed = {**CASES[1], "id": "t-miss", "platform": "110", "urgent": True}
    path = tmp_path / "miss.jsonl"
    path.write_text(json.dumps(missed, ensure_ascii=False), "utf-8")
    assert run(["scope", "eval", str(path), "--rules-only"]) == 0
    out = capsys.readouterr().out
    assert "NOT sent to 110" in out
    assert "t-miss → 12345" in out


def test_eval_cross_validates_on_dev(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["scope", "eval", str(DEV), "--cv", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cases"] == 160
    assert report["danger_recall"] == 1.0
    assert report["mode"].startswith("5-fold cross-validation")


def test_classify_prints_the_decision_and_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["scope", "classify", "曲阜有个小孩掉进河里了", "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert (decision["platform"], decision["urgent"], decision["district"]) == (
        "110",
        True,
        "370881",
    )
    assert "danger.drowning" in [reason["rule"] for reason in decision["reasons"]]
    assert run(["scope", "classify", "建议多开几条公交线路", "--kind", "意见建议"]) == 0
    assert "platform: 12345" in capsys.readouterr().out


def test_bad_input_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "t"}', "utf-8")
    assert run(["scope", "eval", str(bad)]) == 2
    assert "bad.jsonl:1: missing fields" in capsys.readouterr().err
    assert run(["scope", "--rules", str(tmp_path / "none.toml"), "classify", "x"]) == 2
    assert "none.toml: file not found" in capsys.readouterr().err
    assert run(["scope", "eval", str(DEV), "--cv", "5", "--rules-only"]) == 2
    assert "--cv trains a model" in capsys.readouterr().err
