"""`hotline-bridge scope`: classify a request, or evaluate the classifier on labelled cases.

    hotline-bridge scope classify TEXT [--kind 咨询] [--json]
    hotline-bridge scope eval FILE [--json] [--cv K] [--seed N] [--rules-only]

`eval` never scores the model on what it was trained on: cases of FILE are removed from the
training data first, and `--cv K` scores each case of FILE with a model trained on the other
folds plus the remaining training data (our own examples).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from routing.scope import (
    CaseFileError,
    EvaluationReport,
    Kind,
    ScopeRulesError,
    build_classifier,
    cross_validate,
    evaluate,
    load_cases,
    load_rulebook,
    load_training,
)

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "config" / "scope_rules.toml"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("scope", help="acceptance-scope classifier (12345 or 110)")
    parser.add_argument(
        "--rules", type=Path, default=DEFAULT_RULES, help="rules file (default: %(default)s)"
    )
    actions = parser.add_subparsers(dest="scope_action", metavar="ACTION", required=True)

    classify = actions.add_parser("classify", help="suggest platform, kind and urgency for TEXT")
    classify.add_argument("text", metavar="TEXT")
    classify.add_argument("--kind", choices=[k.value for k in Kind], help="kind the caller chose")
    classify.add_argument("--json", action="store_true", help="print the decision as JSON")
    classify.set_defaults(func=run_classify)

    evaluation = actions.add_parser("eval", help="score the classifier on labelled JSON Lines")
    evaluation.add_argument("file", type=Path, metavar="FILE")
    evaluation.add_argument("--json", action="store_true", help="print one JSON object")
    evaluation.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation on FILE")
    evaluation.add_argument("--seed", type=int, default=0, help="fold shuffling seed")
    evaluation.add_argument("--rules-only", action="store_true", help="no model: rules alone")
    evaluation.set_defaults(func=run_eval)


def run_classify(args: argparse.Namespace) -> int:
    try:
        rulebook = load_rulebook(args.rules)
        classifier = build_classifier(rulebook, load_training(rulebook))
        decision = classifier.classify(args.text, Kind(args.kind) if args.kind else None)
    except (ScopeRulesError, CaseFileError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(decision.to_dict(), ensure_ascii=False))
        return 0
    channel = f" → {decision.channel.value}" if decision.channel else ""
    print(f"platform: {decision.platform.value}{channel}")
    print(f"kind: {decision.kind.value}   urgent: {'yes' if decision.urgent else 'no'}")
    print(f"district: {decision.district or '-'}   confidence: {decision.confidence:.2f}")
    for hit in decision.reasons:
        print(f"  rule {hit.rule_id}: {'、'.join(hit.matched)}")
    for note in decision.notes:
        print(f"  note: {note}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    try:
        rulebook = load_rulebook(args.rules)
        cases = load_cases(args.file)
        if not cases:
            raise CaseFileError(f"{args.file}: no cases")
        texts = {case.text for case in cases}
        training = [] if args.rules_only else load_training(rulebook, exclude_texts=texts)
        if args.cv is not None:
            if args.rules_only:
                raise ValueError("--cv trains a model; it cannot be combined with --rules-only")
            report = cross_validate(rulebook, cases, training, folds=args.cv, seed=args.seed)
        else:
            report = evaluate(build_classifier(rulebook, training), cases)
    except (ScopeRulesError, CaseFileError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    mode = _describe_mode(args, len(training))
    if args.json:
        print(json.dumps({"mode": mode, **report.to_dict()}, ensure_ascii=False))
    else:
        _print_report(report, mode)
    return 0


def _describe_mode(args: argparse.Namespace, training_size: int) -> str:
    if args.rules_only:
        return "rules alone"
    if args.cv is not None:
        return (
            f"{args.cv}-fold cross-validation over FILE (seed {args.seed}), plus {training_size}"
            " training cases not in FILE in every fold"
        )
    return f"rules + model trained on {training_size} cases, none of them in FILE"


def _print_report(report: EvaluationReport, mode: str) -> None:
    danger = report.danger_cases
    print(f"{len(report.outcomes)} cases; {mode}")
    print(f"platform accuracy  {report.platform_accuracy:6.1%}  (channel must match for other)")
    print(f"kind accuracy      {report.kind_accuracy:6.1%}")
    print(f"urgent accuracy    {report.urgent_accuracy:6.1%}")
    print(f"district accuracy  {report.district_accuracy:6.1%}")
    caught = len(danger) - len(report.danger_misses)
    print(f"danger recall      {report.danger_recall:6.1%}  ({caught}/{len(danger)} urgent 110)")
    print()
    print(_confusion_table(report.confusion))
    print()
    if report.danger_misses:
        print("urgent 110 cases NOT sent to 110 or a three-party call:")
        for outcome in report.danger_misses:
            decision = outcome.decision
            print(f"  {outcome.case.id} → {decision.route.value}: {outcome.case.text}")
    else:
        print("every urgent 110 case went to 110 or a three-party call")


def _confusion_table(confusion: dict[str, dict[str, int]]) -> str:
    labels = list(confusion)
    lines = ["expected \\ predicted " + "".join(f"{label:>9}" for label in labels)]
    for expected in labels:
        row = "".join(f"{confusion[expected][predicted]:>9}" for predicted in labels)
        lines.append(f"{expected:>20} {row}")
    return "\n".join(lines)
