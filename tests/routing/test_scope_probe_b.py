"""Probe B: 125 caller statements written before reading the rules or the examples.

Measured once before any change (platform 90.4 %, danger recall 53/55) and once at the end
(the figures asserted here). The lexicons and examples added in between were written from the
annex's categories, never from these sentences; see docs/classifier.md for how held-out that
makes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.scope import (
    EvaluationReport,
    evaluate,
    load_cases,
    load_classifier,
    load_rulebook,
    load_training,
)
from routing.scope.decision import Route

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "scope_rules.toml"
PROBE_B = ROOT / "tests" / "routing" / "data" / "scope_probe_b.jsonl"


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    cases = load_cases(PROBE_B)
    classifier = load_classifier(RULES, exclude_texts={case.text for case in cases})
    return evaluate(classifier, cases)


def test_probe_b_is_varied_and_danger_heavy() -> None:
    cases = load_cases(PROBE_B)
    assert len(cases) >= 120
    assert sum(c.urgent and c.route is Route.POLICE_110 for c in cases) >= 45
    assert {c.route for c in cases} == set(Route)


def test_probe_b_is_not_in_the_training_data() -> None:
    training = {case.text for case in load_training(load_rulebook(RULES))}
    assert not training & {case.text for case in load_cases(PROBE_B)}


def test_every_urgent_110_case_reaches_110_or_a_three_party_call(
    report: EvaluationReport,
) -> None:
    assert report.danger_recall == 1.0, [o.case.text for o in report.danger_misses]


def test_probe_b_figures_at_the_level_reached(report: EvaluationReport) -> None:
    assert report.platform_accuracy >= 0.92
    assert report.kind_accuracy >= 0.95
    assert report.urgent_accuracy >= 0.94
    assert report.to_dict()["danger_recall"] == 1.0
