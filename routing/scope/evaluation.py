"""Scoring the classifier on labelled cases, and honest cross-validated figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from routing.scope.cases import LabelledCase
from routing.scope.classifier import ScopeClassifier, build_classifier
from routing.scope.decision import Platform, Route, ScopeDecision
from routing.scope.rules import RuleBook

_SAFE_PLATFORMS = frozenset({Platform.POLICE_110, Platform.BOTH})


@dataclass(frozen=True)
class Outcome:
    case: LabelledCase
    decision: ScopeDecision


@dataclass(frozen=True)
class EvaluationReport:
    outcomes: tuple[Outcome, ...]

    @property
    def platform_accuracy(self) -> float:
        """Platform right, and for `other` the channel right too."""
        return self._share(lambda o: o.decision.route is o.case.route)

    @property
    def platform_only_accuracy(self) -> float:
        """Platform right, ignoring which `other` channel."""
        return self._share(lambda o: o.decision.platform is o.case.platform)

    @property
    def kind_accuracy(self) -> float:
        return self._share(lambda o: o.decision.kind is o.case.kind)

    @property
    def urgent_accuracy(self) -> float:
        return self._share(lambda o: o.decision.urgent == o.case.urgent)

    @property
    def district_accuracy(self) -> float:
        return self._share(lambda o: o.decision.district == o.case.district)

    @property
    def danger_cases(self) -> list[Outcome]:
        return [
            o for o in self.outcomes if o.case.platform is Platform.POLICE_110 and o.case.urgent
        ]

    @property
    def danger_misses(self) -> list[Outcome]:
        """Urgent 110 cases sent anywhere but 110 or a three-party call."""
        return [o for o in self.danger_cases if o.decision.platform not in _SAFE_PLATFORMS]

    @property
    def danger_recall(self) -> float:
        cases = self.danger_cases
        return 1.0 - len(self.danger_misses) / len(cases) if cases else 1.0

    @property
    def confusion(self) -> dict[str, dict[str, int]]:
        """expected route → predicted route → count, over every route label."""
        matrix = {e.value: {p.value: 0 for p in Route} for e in Route}
        for outcome in self.outcomes:
            matrix[outcome.case.route.value][outcome.decision.route.value] += 1
        return matrix

    def _share(self, right: Callable[[Outcome], bool]) -> float:
        if not self.outcomes:
            return 0.0
        return sum(1 for o in self.outcomes if right(o)) / len(self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": len(self.outcomes),
            "platform_accuracy": round(self.platform_accuracy, 4),
            "platform_only_accuracy": round(self.platform_only_accuracy, 4),
            "kind_accuracy": round(self.kind_accuracy, 4),
            "urgent_accuracy": round(self.urgent_accuracy, 4),
            "district_accuracy": round(self.district_accuracy, 4),
            "danger_recall": round(self.danger_recall, 4),
            "danger_misses": [
                {"id": o.case.id, "text": o.case.text, "predicted": o.decision.to_dict()}
                for o in self.danger_misses
            ],
            "confusion": self.confusion,
        }


def evaluate(classifier: ScopeClassifier, cases: Sequence[LabelledCase]) -> EvaluationReport:
    return EvaluationReport(tuple(Outcome(c, classifier.classify(c.text)) for c in cases))


def cross_validate(
    rulebook: RuleBook,
    cases: Sequence[LabelledCase],
    always_training: Sequence[LabelledCase],
    folds: int = 5,
    seed: int = 0,
) -> EvaluationReport:
    """Stratified K-fold over `cases`; `always_training` (our own examples) is in every fold's
    training set and never scored. Each case is scored once, by a model that never saw it."""
    if folds < 2:
        raise ValueError(f"cross-validation needs at least 2 folds, got {folds}")
    from sklearn.model_selection import StratifiedKFold  # heavy: only for cross-validation

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    strata = [c.platform.value for c in cases]
    outcomes: list[Outcome] = []
    for train_index, test_index in splitter.split(list(cases), strata):
        training = [*always_training, *(cases[i] for i in train_index)]
        classifier = build_classifier(rulebook, training)
        outcomes.extend(Outcome(cases[i], classifier.classify(cases[i].text)) for i in test_index)
    order = {c.id: n for n, c in enumerate(cases)}
    return EvaluationReport(tuple(sorted(outcomes, key=lambda o: order[o.case.id])))
