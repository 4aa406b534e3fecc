"""Finds every rule word and place name in a text in one pass (Aho-Corasick automaton)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from routing.scope.rules import Rule

# Negations reach to the end of the sentence, not across it: "车撞了，没人受伤" is one sentence.
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")

_PATTERN, _REQUIRED, _NEGATION, _CALM, _PLACE = "p", "r", "n", "u", "place"


@dataclass(frozen=True)
class RuleMatch:
    rule: Rule
    matched: tuple[str, ...]  # the rule's words found in the text, patterns first
    urgency_withdrawn: bool = False  # one of the rule's `urgent_unless` words was found


@dataclass(frozen=True)
class TextMatches:
    rules: tuple[RuleMatch, ...]
    district: str | None  # code of the first Jining place named, if any
    place: str | None  # the place name that gave the district


@dataclass
class _Found:
    """Occurrences of one rule's words: (word, sentence number)."""

    patterns: list[tuple[str, int]]
    required: list[tuple[str, int]]
    negated_sentences: set[int]
    calm: bool = False


class RuleMatcher:
    def __init__(self, rules: Sequence[Rule], place_names: Mapping[str, str]) -> None:
        self._rules = tuple(rules)
        roles: dict[str, list[tuple[str, int | str]]] = {}
        for index, rule in enumerate(self._rules):
            for role, words in (
                (_PATTERN, rule.patterns),
                (_REQUIRED, rule.requires_any),
                (_NEGATION, rule.negations),
                (_CALM, rule.urgent_unless),
            ):
                for word in words:
                    roles.setdefault(word.lower(), []).append((role, index))
        for name, code in place_names.items():
            roles.setdefault(name.lower(), []).append((_PLACE, code))
        self._automaton = ahocorasick.Automaton()
        for word, word_roles in roles.items():
            self._automaton.add_word(word, (word, tuple(word_roles)))
        self._automaton.make_automaton()

    def match(self, text: str) -> TextMatches:
        lowered = text.lower()
        ends = [m.start() for m in _SENTENCE_END.finditer(lowered)]
        found: dict[int, _Found] = {}
        place: tuple[int, int, str, str] | None = None  # (start, -length, name, code)
        for end, (word, word_roles) in self._automaton.iter(lowered):
            start = end - len(word) + 1
            sentence = bisect.bisect_left(ends, start)
            for role, ref in word_roles:
                if role == _PLACE:
                    candidate = (start, -len(word), word, str(ref))
                    place = candidate if place is None or candidate < place else place
                    continue
                entry = found.setdefault(int(ref), _Found([], [], set()))
                if role == _PATTERN:
                    entry.patterns.append((word, sentence))
                elif role == _REQUIRED:
                    entry.required.append((word, sentence))
                elif role == _CALM:
                    entry.calm = True
                else:
                    entry.negated_sentences.add(sentence)
        matches = [self._fired(index, entry) for index, entry in sorted(found.items())]
        return TextMatches(
            rules=tuple(m for m in matches if m is not None),
            district=place[3] if place else None,
            place=place[2] if place else None,
        )

    def _fired(self, index: int, found: _Found) -> RuleMatch | None:
        rule = self._rules[index]
        if rule.negation_scope == "text" and found.negated_sentences:
            return None
        patterns = _not_negated(found.patterns, found.negated_sentences)
        required = _not_negated(found.required, found.negated_sentences)
        if not patterns or (rule.requires_any and not required):
            return None
        return RuleMatch(rule, tuple(dict.fromkeys([*patterns, *required])), found.calm)


def _not_negated(occurrences: Iterable[tuple[str, int]], negated: set[int]) -> list[str]:
    return [word for word, sentence in occurrences if sentence not in negated]
