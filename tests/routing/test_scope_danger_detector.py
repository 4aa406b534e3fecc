"""The model's danger detector: danger the rules have no word for still never stays with 12345.

The rule book here is deliberately blind (one strong 12345 rule and nothing else), so whatever
moves a request away from 12345 is the detector, trained on our examples and dev.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from routing.scope import ScopeRulesError, load_rulebook, load_training, parse_rulebook
from routing.scope.classifier import ScopeClassifier
from routing.scope.decision import Route
from routing.scope.model import NgramModel

RULES = Path(__file__).resolve().parents[2] / "config" / "scope_rules.toml"


def blind_rules(**settings: float) -> dict[str, Any]:
    return {
        "settings": settings,
        "rules": [
            # Outweighs any model probability: without the detector the vote is always 12345.
            {"id": "service.property", "patterns": ["物业"], "route": "12345", "weight": 3},
        ],
    }


@pytest.fixture(scope="module")
def model() -> NgramModel:
    return NgramModel(load_training(load_rulebook(RULES)))


def blind(model: NgramModel, **settings: float) -> ScopeClassifier:
    return ScopeClassifier(parse_rulebook(blind_rules(**settings), source="test"), model)


DANGER = "物业门口有个人被几个人按在地上打，头上全是血，现在还在打"


def test_the_detector_moves_unseen_danger_off_12345(model: NgramModel) -> None:
    decision = blind(model).classify(DANGER)
    assert decision.route in (Route.POLICE_110, Route.BOTH)
    assert decision.urgent
    assert any("model danger" in note for note in decision.notes)


def test_above_every_threshold_the_detector_stays_silent(model: NgramModel) -> None:
    decision = blind(model, danger_threshold=0.999, danger_threshold_with_cues=0.999)
    assert decision.classify(DANGER).route is Route.HOTLINE_12345


def test_an_ordinary_request_stays_with_12345(model: NgramModel) -> None:
    decision = blind(model).classify("物业费能不能按月交？一次交一年压力太大了")
    assert decision.route is Route.HOTLINE_12345
    assert not decision.urgent


def test_the_danger_probability_separates_danger_from_routine(model: NgramModel) -> None:
    assert model.predict(DANGER).danger > 0.5 > model.predict("想问问公积金怎么提取").danger


@pytest.mark.parametrize("key", ["danger_threshold", "danger_threshold_with_cues"])
def test_a_threshold_outside_0_1_is_refused_by_name(key: str) -> None:
    with pytest.raises(ScopeRulesError, match=f"\\[settings\\] {key}: must be between 0 and 1"):
        parse_rulebook(blind_rules(**{key: 1.5}), source="test")
