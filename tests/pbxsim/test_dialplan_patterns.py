"""Extension patterns: matching and best-match order as Asterisk's pbx.c does them."""

from __future__ import annotations

import random

import pytest

from telephony.pbxsim.conf import compare_extensions, extension_matches
from telephony.pbxsim.conf.patterns import extension_sort_key, pattern_error


@pytest.mark.parametrize(
    ("pattern", "dialled", "expected"),
    [
        # the lab's own cases (extensions.conf comments)
        ("_age[n]t.", "agent101", True),
        ("_age[n]t.", "agent", False),  # '.' needs at least one character
        ("_co[n]f-X.", "conf-777", True),
        ("_conf-X.", "conf-777", False),  # lowercase n is N: [2-9], not the letter n
        ("_conf-X.", "co5f-777", True),
        ("_X.", "110370883", True),
        ("_X.", "", False),
        ("_X", "5", True),
        ("_X", "55", False),
        ("_X!", "5", True),
        ("_X!", "5123", True),
        ("_110XXXXXX", "110370883", True),
        ("_110XXXXXX", "11037088", False),
        ("_110XXXXXX", "1103708831", False),
        ("_NXX", "200", True),
        ("_NXX", "100", False),
        ("_ZXX", "100", True),
        ("_ZXX", "010", False),
        ("_nxx", "299", True),  # lowercase wildcards
        ("_x", "a", False),
        ("_[1-5]X", "59", True),
        ("_[1-5]X", "69", False),
        ("_[13-5a]", "a", True),
        ("_[13-5a]", "2", False),
        ("_[]1", "1", True),  # an empty set is ignored
        ("_1-2-3", "123", True),  # '-' is eye candy on both sides
        ("_123", "1-2-3", True),
        ("12-34", "1234", True),
        ("12345", "12345", True),
        ("12345", "1234", False),
        ("s", "s", True),
        ("h", "s", False),
        ("caller", "Caller", False),  # literal characters are case-sensitive
        ("_X.", "_X.", True),  # a pattern looked up as itself
    ],
)
def test_matching(pattern: str, dialled: str, expected: bool) -> None:
    assert extension_matches(pattern, dialled) is expected


def test_literal_names_sort_before_patterns() -> None:
    assert compare_extensions("999", "_1") < 0
    assert compare_extensions("_1", "999") > 0
    assert compare_extensions("100", "99") < 0  # byte order, not numeric


def test_best_match_order_is_asterisks() -> None:
    # Asterisk's documented order: a literal char < N < Z < X < '.' < '!' ; smaller sets first.
    expected = [
        "12345",
        "_12345",
        "_1234N",
        "_1234Z",
        "_1234X",
        "_1234[0-9a]",
        "_1234.",
        "_1234!",
        "_1235",
        "_N.",
        "_X.",
        "_!",
    ]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=extension_sort_key) == expected


def test_equal_sized_sets_order_by_lowest_characters() -> None:
    assert compare_extensions("_[12]", "_[13]") < 0
    assert compare_extensions("_[23]", "_[13]") > 0
    assert compare_extensions("_[1-3]", "_[123]") == 0  # the same set written two ways


def test_end_of_pattern_sorts_after_wildcards() -> None:
    # `_X` (exactly one digit) vs `_X.`: '.' scores below the end, so `_X.` is tried first
    # for a one-character position — Asterisk's own (surprising) order.
    assert compare_extensions("_X.", "_X") < 0


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("_12[3", "'[' without a closing ']'"),
        ("100/200", "caller-ID matching"),
        ("_X.", None),
        ("100", None),
    ],
)
def test_pattern_errors(name: str, problem: str | None) -> None:
    found = pattern_error(name)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
