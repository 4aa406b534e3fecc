"""The operator-editable rule book (config/scope_rules.toml): parsed and checked at load.

Every problem is reported as `<file>: <where>: <what is wrong>`, so an operator who mistyped a
route or left a rule without patterns sees which rule and why before the service starts.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from routing.scope.decision import Kind, Route

# The eleven county-level districts of Jining (GB/T 2260) and the city itself.
JINING_DISTRICT_CODES = frozenset(
    {
        "370800",
        "370811",
        "370812",
        "370826",
        "370827",
        "370828",
        "370829",
        "370830",
        "370831",
        "370832",
        "370881",
        "370883",
    }
)

_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_RULE_KEYS = frozenset(
    {
        "id",
        "description",
        "patterns",
        "requires_any",
        "negations",
        "negation_scope",
        "urgent_unless",
        "route",
        "kind",
        "urgent",
        "danger",
        "weight",
    }
)
_TOP_KEYS = frozenset({"settings", "model", "districts", "zones", "rules"})
_SAFE_ROUTES = frozenset({Route.POLICE_110, Route.BOTH})
_E = TypeVar("_E", Route, Kind)


class ScopeRulesError(ValueError):
    """The rules file is unusable; the message names the file, the place and the problem."""


@dataclass(frozen=True)
class Rule:
    """Words that, found in a request, vote for a route, a kind or urgency.

    `requires_any`: the rule fires only if one of these words is also in the text.
    `negations`: words that cancel the rule's matches in the same sentence (or the whole text
    when `negation_scope` is "text"), e.g. 没有人受伤 cancels 受伤.
    `urgent_unless`: words that, anywhere in the text, withdraw only this rule's urgency vote
    (上周, 去年: it is over), leaving its route and kind votes standing.
    `danger`: a sign of danger to life, property or public safety; the classifier then never
    answers 12345, whatever else matched.
    """

    id: str
    patterns: tuple[str, ...]
    description: str = ""
    requires_any: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()
    negation_scope: str = "sentence"
    urgent_unless: tuple[str, ...] = ()
    route: Route | None = None
    kind: Kind | None = None
    urgent: bool | None = None
    danger: bool = False
    weight: float = 1.0


@dataclass(frozen=True)
class Settings:
    """Thresholds of the blend between rules and model (see docs/classifier.md)."""

    urgent_threshold: float = 0.5
    # The model's danger detector: probability of "urgent and for 110 or a three-party call"
    # at which a request the vote gave to 12345 goes to 110 or `both` instead. Low on purpose:
    # a wrong three-party call costs a minute, a missed emergency costs a life.
    danger_threshold: float = 0.5
    # The same, when a rule voting urgent also fired (正在, 刚才…): unsure + danger cues is
    # enough.
    danger_threshold_with_cues: float = 0.3


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    place_names: Mapping[str, str]  # place name → district code
    settings: Settings
    training_files: tuple[Path, ...]  # the model's training data, resolved against the file
    # Used when present (e.g. the shared dev set beside a checkout), skipped when absent.
    optional_training_files: tuple[Path, ...] = ()


def load_rulebook(path: Path) -> RuleBook:
    """Read and check a TOML rules file; training files are resolved relative to it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScopeRulesError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ScopeRulesError(f"{path}: not valid TOML: {error}") from None
    return parse_rulebook(data, source=str(path), base_dir=path.parent)


def parse_rulebook(data: Mapping[str, Any], source: str, base_dir: Path | None = None) -> RuleBook:
    """Check already-parsed rule data (e.g. from TOML or JSON) and build the rule book."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ScopeRulesError(f"{source}: unknown top-level keys {unknown}")
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise ScopeRulesError(f"{source}: [[rules]]: at least one rule is needed")
    rules = tuple(_parse_rule(raw, source, index) for index, raw in enumerate(raw_rules))
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ScopeRulesError(f"{source}: rule {rule.id!r}: duplicate id")
        seen.add(rule.id)
    return RuleBook(
        rules=rules,
        place_names=_parse_places(data.get("districts", {}), data.get("zones", []), source),
        settings=_parse_settings(data.get("settings", {}), source),
        training_files=_parse_paths(data.get("model", {}), "training", source, base_dir),
        optional_training_files=_parse_paths(
            data.get("model", {}), "optional_training", source, base_dir
        ),
    )


def _parse_rule(raw: Any, source: str, index: int) -> Rule:
    if not isinstance(raw, Mapping):
        raise ScopeRulesError(f"{source}: rule #{index + 1}: must be a table")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
        raise ScopeRulesError(
            f"{source}: rule #{index + 1}: 'id' must be lower-case ASCII like 'danger.fire',"
            f" got {rule_id!r}"
        )
    where = f"{source}: rule {rule_id!r}"
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise ScopeRulesError(f"{where}: unknown keys {unknown}")
    patterns = _words(raw.get("patterns"), f"{where}: 'patterns'", required=True)
    route = _enum(Route, raw.get("route"), f"{where}: 'route'")
    kind = _enum(Kind, raw.get("kind"), f"{where}: 'kind'")
    urgent = _optional_bool(raw.get("urgent"), f"{where}: 'urgent'")
    danger = _optional_bool(raw.get("danger"), f"{where}: 'danger'") or False
    if route is None and kind is None and urgent is None and not danger:
        raise ScopeRulesError(
            f"{where}: sets none of route, kind, urgent, danger: it would do nothing"
        )
    if raw.get("urgent_unless") and urgent is not True:
        raise ScopeRulesError(f"{where}: 'urgent_unless' needs urgent = true")
    if danger and route is not None and route not in _SAFE_ROUTES:
        raise ScopeRulesError(
            f"{where}: a danger rule may only route to 110 or both, not {route.value!r}"
        )
    scope = raw.get("negation_scope", "sentence")
    if scope not in ("sentence", "text"):
        raise ScopeRulesError(
            f"{where}: 'negation_scope' must be 'sentence' or 'text', got {scope!r}"
        )
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
        raise ScopeRulesError(f"{where}: 'weight' must be a positive number, got {weight!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ScopeRulesError(f"{where}: 'description' must be a string")
    return Rule(
        id=rule_id,
        patterns=patterns,
        description=description,
        requires_any=_words(raw.get("requires_any"), f"{where}: 'requires_any'"),
        negations=_words(raw.get("negations"), f"{where}: 'negations'"),
        negation_scope=scope,
        urgent_unless=_words(raw.get("urgent_unless"), f"{where}: 'urgent_unless'"),
        route=route,
        kind=kind,
        urgent=urgent,
        danger=danger,
        weight=float(weight),
    )


def _words(raw: Any, where: str, required: bool = False) -> tuple[str, ...]:
    if raw is None:
        if required:
            raise ScopeRulesError(f"{where}: missing (a list of words or phrases)")
        return ()
    if not isinstance(raw, list) or (required and not raw):
        raise ScopeRulesError(f"{where}: must be a non-empty list of strings")
    for word in raw:
        if not isinstance(word, str) or not word.strip():
            raise ScopeRulesError(f"{where}: {word!r} is not a non-empty string")
        if "*" in word and (word.count("*") > 1 or not all(word.strip().split("*"))):
            raise ScopeRulesError(f"{where}: {word!r}: one '*' between two words, like '抢*手机'")
    return tuple(word.strip() for word in raw)


def _enum(cls: type[_E], raw: Any, where: str) -> _E | None:
    if raw is None:
        return None
    try:
        return cls(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in cls)
        raise ScopeRulesError(f"{where}: {raw!r} is not one of {allowed}") from None


def _optional_bool(raw: Any, where: str) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    raise ScopeRulesError(f"{where}: must be true or false, got {raw!r}")


def _parse_places(districts: Any, zones: Any, source: str) -> dict[str, str]:
    if not isinstance(districts, Mapping):
        raise ScopeRulesError(f"{source}: [districts]: must be a table of code = [names]")
    places: dict[str, str] = {}
    for code, names in districts.items():
        where = f"{source}: [districts] {code!r}"
        if code not in JINING_DISTRICT_CODES:
            raise ScopeRulesError(f"{where}: not a Jining county-level district code")
        for name in _words(names, where, required=True):
            _add_place(places, name, code, where)
    if not isinstance(zones, list):
        raise ScopeRulesError(f"{source}: [[zones]]: must be a list of tables")
    for index, zone in enumerate(zones):
        where = f"{source}: zone #{index + 1}"
        if not isinstance(zone, Mapping) or set(zone) != {"names", "district"}:
            raise ScopeRulesError(f"{where}: needs exactly 'names' and 'district'")
        code = zone["district"]
        if code not in JINING_DISTRICT_CODES:
            raise ScopeRulesError(f"{where}: district {code!r} is not a Jining district code")
        for name in _words(zone["names"], f"{where}: 'names'", required=True):
            _add_place(places, name, code, where)
    return places


def _add_place(places: dict[str, str], name: str, code: str, where: str) -> None:
    if "*" in name:
        raise ScopeRulesError(f"{where}: place {name!r}: place names take no '*'")
    if places.get(name, code) != code:
        raise ScopeRulesError(f"{where}: place {name!r} is already mapped to {places[name]}")
    places[name] = code


def _parse_settings(raw: Any, source: str) -> Settings:
    if not isinstance(raw, Mapping):
        raise ScopeRulesError(f"{source}: [settings]: must be a table")
    defaults = Settings()
    values: dict[str, float] = {}
    for key in ("urgent_threshold", "danger_threshold", "danger_threshold_with_cues"):
        value = raw.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise ScopeRulesError(f"{source}: [settings] {key}: must be between 0 and 1")
        values[key] = float(value)
    unknown = sorted(set(raw) - set(values))
    if unknown:
        raise ScopeRulesError(f"{source}: [settings]: unknown keys {unknown}")
    return Settings(**values)


def _parse_paths(raw: Any, key: str, source: str, base_dir: Path | None) -> tuple[Path, ...]:
    if not isinstance(raw, Mapping) or set(raw) - {"training", "optional_training"}:
        raise ScopeRulesError(
            f"{source}: [model]: must be a table of 'training' and 'optional_training' lists"
        )
    names = _words(raw.get(key), f"{source}: [model] {key}")
    base = base_dir or Path(".")
    return tuple((base / name).resolve() for name in names)
