"""Acceptance-scope classifier ("intelligent transfer", 智能转办): which line takes a request.

Pure: the rule book and training cases are read once by the loaders; `classify` does no I/O.
"""

from routing.scope.cases import CaseFileError, LabelledCase, load_cases, parse_cases
from routing.scope.classifier import (
    ScopeClassifier,
    build_classifier,
    load_classifier,
    load_training,
)
from routing.scope.decision import Channel, Kind, Platform, Route, RuleHit, ScopeDecision
from routing.scope.evaluation import EvaluationReport, cross_validate, evaluate
from routing.scope.rules import RuleBook, ScopeRulesError, load_rulebook, parse_rulebook

__all__ = [
    "CaseFileError",
    "Channel",
    "EvaluationReport",
    "Kind",
    "LabelledCase",
    "Platform",
    "Route",
    "RuleBook",
    "RuleHit",
    "ScopeClassifier",
    "ScopeDecision",
    "ScopeRulesError",
    "build_classifier",
    "cross_validate",
    "evaluate",
    "load_cases",
    "load_classifier",
    "load_rulebook",
    "load_training",
    "parse_cases",
    "parse_rulebook",
]
