"""The statistical half: character n-gram TF-IDF and logistic regression, trained at load.

Chinese needs no word segmentation for this: character 1–3-grams catch 跳楼, 走失, 建议 and
their neighbours in words the rules do not list. Training on a few hundred sentences takes well
under a second, so the model is trained from the JSON Lines files when the classifier is built,
and no serialized (pickled) artifact is ever loaded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from routing.scope.cases import LabelledCase
from routing.scope.decision import Kind, Route

if TYPE_CHECKING:
    from sklearn.linear_model import SGDClassifier

_SAFE_ROUTES = frozenset({Route.POLICE_110, Route.BOTH})


def is_urgent_danger(case: LabelledCase) -> bool:
    """The danger detector's label: life or property at risk now, for 110 or a three-party
    call (fire and ambulance emergencies have their own channels)."""
    return case.urgent and case.route in _SAFE_ROUTES


_L = TypeVar("_L", Route, Kind, bool)


@dataclass(frozen=True)
class ModelOpinion:
    """Probabilities over each answer; they sum to 1 for route and for kind."""

    route: Mapping[Route, float]
    kind: Mapping[Kind, float]
    urgent: float
    danger: float = 0.0  # probability of "urgent, for 110 or a three-party call"


class _Head(Generic[_L]):
    """One logistic regression over the shared features; copes with a single-label field."""

    def __init__(
        self, features: object, labels: Sequence[_L], regularization: float, seed: int
    ) -> None:
        self._labels: list[_L] = sorted(set(labels), key=str)
        self._model: SGDClassifier | None = None
        if len(self._labels) > 1:
            from sklearn.linear_model import SGDClassifier  # heavy: only when a model is trained

            # Logistic loss by stochastic gradient: as accurate here as lbfgs and ten times
            # faster; a fixed seed and epoch count make training deterministic.
            self._model = SGDClassifier(
                loss="log_loss",
                alpha=regularization,
                max_iter=50,
                tol=None,
                class_weight="balanced",
                random_state=seed,
            )
            self._model.fit(features, [self._labels.index(label) for label in labels])

    def probabilities(self, features: object) -> dict[_L, float]:
        if self._model is None:
            return {self._labels[0]: 1.0}
        row = self._model.predict_proba(features)[0]
        return {
            self._labels[int(index)]: float(p)
            for index, p in zip(self._model.classes_, row, strict=True)
        }


class NgramModel:
    def __init__(
        self, cases: Sequence[LabelledCase], regularization: float = 1e-4, seed: int = 0
    ) -> None:
        if not cases:
            raise ValueError("the scope model needs at least one labelled case to train on")
        # scikit-learn takes seconds to import: only when a model is built, so the CLI and
        # the service start fast.
        from sklearn.feature_extraction.text import TfidfVectorizer
        from threadpoolctl import threadpool_limits

        self._vectorizer: Any = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, lowercase=True
        )
        features = self._vectorizer.fit_transform([case.text for case in cases])
        # One thread: on a shared machine the BLAS/OpenMP pools oversubscribe and a
        # sub-second fit takes ten seconds.
        with threadpool_limits(limits=1):
            self._route = _Head(features, [c.route for c in cases], regularization, seed)
            self._kind = _Head(features, [c.kind for c in cases], regularization, seed)
            self._urgent = _Head(features, [c.urgent for c in cases], regularization, seed)
            # A binary head of its own: the route head spreads danger over 110 and `both`
            # (and confuses it with 119/120); this one learns "danger for the police" alone.
            self._danger = _Head(
                features, [is_urgent_danger(c) for c in cases], regularization, seed
            )

    def predict(self, text: str) -> ModelOpinion:
        features = self._vectorizer.transform([text])
        return ModelOpinion(
            route=self._route.probabilities(features),
            kind=self._kind.probabilities(features),
            urgent=self._urgent.probabilities(features).get(True, 0.0),
            danger=self._danger.probabilities(features).get(True, 0.0),
        )
