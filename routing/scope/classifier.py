"""The acceptance-scope classifier: rules and model vote, then safety has the last word.

1. The rule book's words are found in one pass; each rule that fires votes for a route, a kind
   or urgency with its weight.
2. The n-gram model (if trained) adds its probabilities to the same scores.
3. Safety first: if any danger rule fired, the answer is never 12345 (it becomes the danger
   rule's route: 110 or a three-party call), and a danger rule marked urgent makes it urgent.
   A request left with 12345 is never urgent: the annex gives 12345 non-urgent requests only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from routing.scope.cases import LabelledCase, load_cases
from routing.scope.decision import Kind, Route, RuleHit, ScopeDecision
from routing.scope.matcher import RuleMatch, RuleMatcher
from routing.scope.model import ModelOpinion, NgramModel
from routing.scope.rules import RuleBook, load_rulebook

# Without a model (rules alone): 12345 unless a rule says otherwise, as the annex's default.
_NO_MODEL = ModelOpinion(route={Route.HOTLINE_12345: 0.5}, kind={Kind.HELP: 0.2}, urgent=0.2)
_EMERGENCY_CHANNELS = frozenset({Route.FIRE_119, Route.MEDICAL_120})
# Answers that would leave a caller in danger without anyone coming: the danger detector may
# overrule them (12345 takes non-urgent matters only; 122 and utility lines send no help).
_NO_HELP_ROUTES = frozenset({Route.HOTLINE_12345, Route.TRAFFIC_122, Route.UTILITY})

# The annex's table: 12345 takes no 报警, 110 takes no 咨询 or 意见建议; the other channels
# follow the data README (fire is reported, rescue and ambulances are help, 122 takes accident
# reports and traffic questions, utilities answer questions). A three-party call may be any.
_KINDS_BY_ROUTE: dict[Route, frozenset[Kind]] = {
    Route.HOTLINE_12345: frozenset({Kind.CONSULTATION, Kind.HELP, Kind.COMPLAINT, Kind.SUGGESTION}),
    Route.POLICE_110: frozenset({Kind.REPORT, Kind.HELP, Kind.COMPLAINT}),
    Route.BOTH: frozenset(Kind),
    Route.FIRE_119: frozenset({Kind.REPORT, Kind.HELP}),
    Route.MEDICAL_120: frozenset({Kind.HELP}),
    Route.TRAFFIC_122: frozenset({Kind.REPORT, Kind.CONSULTATION}),
    Route.UTILITY: frozenset({Kind.CONSULTATION}),
}

_L = TypeVar("_L", Route, Kind)


class ScopeClassifier:
    def __init__(self, rulebook: RuleBook, model: NgramModel | None = None) -> None:
        self._rulebook = rulebook
        self._matcher = RuleMatcher(rulebook.rules, rulebook.place_names)
        self._model = model

    @property
    def has_model(self) -> bool:
        return self._model is not None

    def classify(self, text: str, caller_kind: Kind | None = None) -> ScopeDecision:
        """Suggest platform, kind and urgency for one request; the agent decides."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the text to classify is empty")
        found = self._matcher.match(text)
        opinion = self._model.predict(text) if self._model else _NO_MODEL
        hits = sorted(found.rules, key=lambda m: -m.rule.weight)
        notes: list[str] = []
        route, confidence = _decide_route(hits, opinion, notes)
        model_danger = self._model_sees_danger(route, hits, opinion, notes)
        if model_danger is not None:
            route = model_danger
        urgent = model_danger is not None or self._decide_urgent(hits, opinion, route, notes)
        kind = _decide_kind(hits, opinion, route, caller_kind, notes)
        if found.district:
            notes.append(f"district {found.district} from {found.place}")
        return ScopeDecision(
            route=route,
            kind=kind,
            urgent=urgent,
            district=found.district,
            confidence=confidence,
            reasons=tuple(RuleHit(m.rule.id, m.matched, m.rule.description) for m in hits),
            notes=tuple(notes),
        )

    def _model_sees_danger(
        self, route: Route, hits: Sequence[RuleMatch], opinion: ModelOpinion, notes: list[str]
    ) -> Route | None:
        """Safety first for danger the rules have no word for: if the model's danger detector
        is above its (low) threshold, a 12345 (or 122, utility) answer becomes 110 or a
        three-party call, urgent. None when the route stands."""
        if route not in _NO_HELP_ROUTES:
            return None
        settings = self._rulebook.settings
        # Cues are the rule book's urgency words (正在, 刚才…), not the model's own urgency,
        # which would count the same n-grams twice.
        cued = any(m.rule.urgent and not m.urgency_withdrawn for m in hits)
        threshold = settings.danger_threshold_with_cues if cued else settings.danger_threshold
        if opinion.danger < threshold:
            return None
        police = opinion.route.get(Route.POLICE_110, 0.0)
        safe = Route.POLICE_110 if police > opinion.route.get(Route.BOTH, 0.0) else Route.BOTH
        cues = " with urgency cues" if cued else ""
        notes.append(
            f"safety: model danger {opinion.danger:.2f} >= {threshold:.2f}{cues}"
            f" overrides {route.value}"
        )
        return safe

    def _decide_urgent(
        self, hits: Sequence[RuleMatch], opinion: ModelOpinion, route: Route, notes: list[str]
    ) -> bool:
        urgent_votes = [m for m in hits if m.rule.urgent is not None and not m.urgency_withdrawn]
        forcing = [m.rule.id for m in urgent_votes if m.rule.danger and m.rule.urgent]
        if forcing:
            notes.append(f"urgent: danger rule {forcing[0]}")
            return True
        if route in _EMERGENCY_CHANNELS:
            return True
        score = opinion.urgent
        for match in urgent_votes:
            score += match.rule.weight if match.rule.urgent else -match.rule.weight
        urgent = score >= self._rulebook.settings.urgent_threshold
        if urgent and route is Route.HOTLINE_12345:
            # 12345 takes non-urgent requests only (annex); a danger rule would have moved the
            # request to 110. Say so rather than hide it: the agent may still see danger.
            notes.append("urgency cues on a 12345 request: check for danger before accepting")
            return False
        return urgent


def _decide_route(
    hits: Sequence[RuleMatch], opinion: ModelOpinion, notes: list[str]
) -> tuple[Route, float]:
    scores = _vote(opinion.route, ((m.rule.route, m.rule.weight) for m in hits))
    route = max(scores, key=lambda r: scores[r])
    danger = [m for m in hits if m.rule.danger]
    if danger and route is Route.HOTLINE_12345:
        # Safety first: a sign of danger never leaves the request with 12345 alone.
        strongest = danger[0].rule
        route = strongest.route or Route.BOTH
        notes.append(f"safety: {strongest.id} overrides 12345")
    total = sum(score for score in scores.values() if score > 0)
    return route, (scores[route] / total if total else 0.0)


def _decide_kind(
    hits: Sequence[RuleMatch],
    opinion: ModelOpinion,
    route: Route,
    caller_kind: Kind | None,
    notes: list[str],
) -> Kind:
    danger_kinds = [m.rule for m in hits if m.rule.danger and m.rule.kind]
    if caller_kind is not None and not danger_kinds:
        notes.append("kind chosen by the caller")
        return caller_kind
    if caller_kind is not None:
        notes.append(f"caller chose {caller_kind.value}; danger rule {danger_kinds[0].id} wins")
    scores = _vote(opinion.kind, ((m.rule.kind, m.rule.weight) for m in hits))
    allowed = _KINDS_BY_ROUTE[route]
    return max(allowed, key=lambda k: (scores.get(k, 0.0), k.value))


def _vote(base: Mapping[_L, float], votes: Iterable[tuple[_L | None, float]]) -> dict[_L, float]:
    scores = dict(base)
    for label, weight in votes:
        if label is not None:
            scores[label] = scores.get(label, 0.0) + weight
    return scores


def build_classifier(
    rulebook: RuleBook, training: Sequence[LabelledCase] | None = None
) -> ScopeClassifier:
    """Rules alone (`training` None or empty) or rules plus a model trained on `training`."""
    return ScopeClassifier(rulebook, NgramModel(training) if training else None)


def load_training(rulebook: RuleBook, exclude_texts: Collection[str] = ()) -> list[LabelledCase]:
    """The rule book's training cases (optional files only if present), minus `exclude_texts`,
    so that an evaluation never scores the model on what it was trained on."""
    paths = [
        *rulebook.training_files,
        *(path for path in rulebook.optional_training_files if path.exists()),
    ]
    return [case for path in paths for case in load_cases(path) if case.text not in exclude_texts]


def load_classifier(
    rules_path: Path, use_model: bool = True, exclude_texts: Collection[str] = ()
) -> ScopeClassifier:
    """Load the rule book and train the model on its training files."""
    rulebook = load_rulebook(rules_path)
    if not use_model:
        return build_classifier(rulebook)
    return build_classifier(rulebook, load_training(rulebook, exclude_texts))
