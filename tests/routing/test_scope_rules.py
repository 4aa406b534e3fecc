"""The rules file: the shipped one loads, and every kind of mistake is named precisely."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from routing.scope import (
    ScopeRulesError,
    load_classifier,
    load_rulebook,
    load_training,
    parse_rulebook,
)
from routing.scope.decision import Kind, Route
from routing.scope.matcher import RuleMatcher

RULES = Path(__file__).resolve().parents[2] / "config" / "scope_rules.toml"

GOOD: dict[str, Any] = {
    "districts": {"370883": ["邹城", "邹城市"]},
    "zones": [{"names": ["高新区"], "district": "370811"}],
    "rules": [
        {
            "id": "danger.fight",
            "patterns": ["打架"],
            "negations": ["没打架"],
            "route": "110",
            "kind": "报警",
            "urgent": True,
            "danger": True,
            "weight": 5,
        },
        {"id": "kind.suggestion", "patterns": ["建议"], "kind": "意见建议"},
    ],
}


def with_rule(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD)
    data["rules"][0].update(changes)
    return data


def test_the_shipped_rule_book_loads_with_training_files() -> None:
    book = load_rulebook(RULES)
    ids = {rule.id for rule in book.rules}
    assert {"danger.violence", "danger.suicide", "channel.fire", "channel.medical"} <= ids
    assert book.place_names["邹城"] == "370883"
    assert [path.name for path in book.training_files] == ["scope_examples.jsonl"]
    assert [path.name for path in book.optional_training_files] == ["dev.jsonl"]
    assert all(path.exists() for path in book.training_files)


def test_good_data_parses_into_typed_rules() -> None:
    book = parse_rulebook(GOOD, source="test.toml")
    fight = book.rules[0]
    assert fight.route is Route.POLICE_110 and fight.kind is Kind.REPORT and fight.danger
    assert book.place_names == {"邹城": "370883", "邹城市": "370883", "高新区": "370811"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            with_rule(route="119"),
            "rule 'danger.fight': a danger rule may only route to 110 or both",
        ),
        (with_rule(route="police"), "rule 'danger.fight': 'route': 'police' is not one of"),
        (with_rule(kind="求救"), "rule 'danger.fight': 'kind': '求救' is not one of"),
        (with_rule(patterns=[]), "rule 'danger.fight': 'patterns': must be a non-empty list"),
        (with_rule(patterns=["打架", ""]), "rule 'danger.fight': 'patterns': '' is not"),
        (with_rule(patterns=["抢*"]), "'抢*': one '*' between two words"),
        (with_rule(negations=["a*b*c"]), "'negations': 'a*b*c': one '*' between two words"),
        ({**GOOD, "districts": {"370883": ["邹*城"]}}, "place '邹*城': place names take no '*'"),
        (with_rule(weight=0), "rule 'danger.fight': 'weight' must be a positive number"),
        (with_rule(urgent="yes"), "rule 'danger.fight': 'urgent': must be true or false"),
        (with_rule(negation_scope="word"), "rule 'danger.fight': 'negation_scope' must be"),
        (with_rule(patern=["x"]), "rule 'danger.fight': unknown keys ['patern']"),
        (with_rule(id="Danger Fight"), "rule #1: 'id' must be lower-case ASCII"),
        (
            with_rule(urgent=None, urgent_unless=["上周"]),
            "rule 'danger.fight': 'urgent_unless' needs urgent = true",
        ),
        (
            with_rule(route=None, kind=None, urgent=None, danger=False),
            "rule 'danger.fight': sets none of route, kind, urgent, danger",
        ),
        (with_rule(id="kind.suggestion"), "rule 'kind.suggestion': duplicate id"),
        ({**GOOD, "rules": []}, "[[rules]]: at least one rule is needed"),
        ({**GOOD, "rule": []}, "unknown top-level keys ['rule']"),
        ({**GOOD, "districts": {"370899": ["某地"]}}, "[districts] '370899': not a Jining"),
        (
            {**GOOD, "zones": [{"names": ["高新区"], "district": "110000"}]},
            "zone #1: district '110000' is not a Jining district code",
        ),
        (
            {**GOOD, "zones": [{"names": ["邹城"], "district": "370811"}]},
            "zone #1: place '邹城' is already mapped to 370883",
        ),
        ({**GOOD, "settings": {"urgent_threshold": 2}}, "[settings] urgent_threshold: must be"),
        ({**GOOD, "model": {"train": ["x.jsonl"]}}, "[model]: must be a table of 'training'"),
    ],
)
def test_mistakes_are_reported_with_file_rule_and_problem(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScopeRulesError) as error:
        parse_rulebook(data, source="ops.toml")
    assert str(error.value).startswith("ops.toml: ")
    assert message in str(error.value)


def test_unreadable_files_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(ScopeRulesError, match=r"missing\.toml: file not found"):
        load_rulebook(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rules]\nid = ", encoding="utf-8")
    with pytest.raises(ScopeRulesError, match=r"broken\.toml: not valid TOML"):
        load_rulebook(broken)


def test_training_paths_resolve_next_to_the_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[model]\ntraining = ["cases.jsonl"]\noptional_training = ["absent.jsonl"]\n'
        '[[rules]]\nid = "a"\npatterns = ["x"]\nurgent = true\n',
        encoding="utf-8",
    )
    (tmp_path / "cases.jsonl").write_text(
        '{"id": "c", "text": "有人打架", "platform": "110", "kind": "报警", "urgent": true}\n'
        '{"id": "d", "text": "想问社保", "platform": "12345", "kind": "咨询", "urgent": false}\n',
        encoding="utf-8",
    )
    book = load_rulebook(rules)
    assert book.training_files == ((tmp_path / "cases.jsonl").resolve(),)
    # The optional file is absent: skipped, not an error.
    assert [case.id for case in load_training(book)] == ["c", "d"]
    assert [case.id for case in load_training(book, exclude_texts={"有人打架"})] == ["d"]
    assert load_classifier(rules).has_model


def test_negation_cancels_only_its_own_sentence() -> None:
    book = parse_rulebook(GOOD, source="t")
    matcher = RuleMatcher(book.rules, book.place_names)
    assert not matcher.match("刚才没打架，吵了几句").rules
    fired = matcher.match("昨天没打架。今天在邹城打架了").rules
    assert [(m.rule.id, m.matched) for m in fired] == [("danger.fight", ("打架",))]


def test_first_place_named_gives_the_district() -> None:
    book = parse_rulebook(GOOD, source="t")
    found = RuleMatcher(book.rules, book.place_names).match("从高新区去邹城市")
    assert (found.district, found.place) == ("370811", "高新区")


def test_a_gapped_pattern_matches_its_halves_close_together_in_one_sentence() -> None:
    book = parse_rulebook(
        {"rules": [{"id": "rob", "patterns": ["抢*手机"], "route": "110"}]}, source="t"
    )
    matcher = RuleMatcher(book.rules, book.place_names)
    assert matcher.match("刚才有人抢了我的手机").rules[0].matched == ("抢了我的手机",)
    assert matcher.match("有人抢手机").rules[0].matched == ("抢手机",)
    assert not matcher.match("抢购的那天我买了新手机").rules  # too far apart
    assert not matcher.match("别抢。手机在桌上").rules  # another sentence
    assert not matcher.match("手机被抢").rules  # wrong order
