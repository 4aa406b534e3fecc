"""Finds every rule word and place name in a text in one pass (Aho-Corasick automaton)."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
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
    """`rules` words may hold one `*`: "抢*手机" matches 抢了我的手机, the two halves in order, in
    one sentence, at most `GAP` characters apart (speech puts objects between verb and noun)."""

    GAP = 5

    def __init__(self, rules: Sequence[Rule], place_names: Mapping[str, str]) -> None:
        self._rules = tuple(rules)
        self._roles: dict[str, list[tuple[str, int | str]]] = {}
        for index, rule in enumerate(self._rules):
            for role, words in (
                (_PATTERN, rule.patterns),
                (_REQUIRED, rule.requires_any),
                (_NEGATION, rule.negations),
                (_CALM, rule.urgent_unless),
            ):
                for word in words:
                    self._roles.setdefault(word.lower(), []).append((role, index))
        for name, code in place_names.items():
            self._roles.setdefault(name.lower(), []).append((_PLACE, code))
        # Gapped terms are found through their left half; both halves go into the automaton.
        self._gapped: dict[str, list[tuple[str, str]]] = {}  # left half → [(term, right half)]
        vocabulary = {term for term in self._roles if "*" not in term}
        for term in self._roles:
            if "*" in term:
                left, right = term.split("*")
                self._gapped.setdefault(left, []).append((term, right))
                vocabulary.update((left, right))
        self._automaton = ahocorasick.Automaton()
        for word in vocabulary:
            self._automaton.add_word(word, word)
        self._automaton.make_automaton()

    def match(self, text: str) -> TextMatches:
        lowered = text.lower()
        # Show the caller's own characters, unless lower-casing changed the length.
        original = text if len(text) == len(lowered) else lowered
        ends = [m.start() for m in _SENTENCE_END.finditer(lowered)]
        starts: dict[str, list[int]] = {}
        for end, word in self._automaton.iter(lowered):
            starts.setdefault(word, []).append(end - len(word) + 1)
        found: dict[int, _Found] = {}
        place: tuple[int, int, str, str] | None = None  # (start, -length, name, code)
        for term, start, length in self._occurrences(lowered, starts, ends):
            sentence = bisect.bisect_left(ends, start)
            shown = original[start : start + length]  # what the caller said, for the reasons
            for role, ref in self._roles.get(term, ()):
                if role == _PLACE:
                    candidate = (start, -length, shown, str(ref))
                    place = candidate if place is None or candidate < place else place
                    continue
                entry = found.setdefault(int(ref), _Found([], [], set()))
                if role == _PATTERN:
                    entry.patterns.append((shown, sentence))
                elif role == _REQUIRED:
                    entry.required.append((shown, sentence))
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

    def _occurrences(
        self, text: str, starts: Mapping[str, list[int]], ends: list[int]
    ) -> Iterator[tuple[str, int, int]]:
        """(term, start, length) for every plain word found and every gapped term completed."""
        for word, positions in starts.items():
            for start in positions:
                yield word, start, len(word)
            for term, right in self._gapped.get(word, ()):
                for start in positions:
                    following = bisect.bisect_left(ends, start)
                    sentence_end = ends[following] if following < len(ends) else len(text)
                    after = start + len(word)
                    for right_start in starts.get(right, ()):
                        if after <= right_start <= min(after + self.GAP, sentence_end):
                            yield term, start, right_start + len(right) - start
                            break

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
