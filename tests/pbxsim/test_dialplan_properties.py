"""Properties of the language layer over generated inputs (hypothesis)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.pbxsim.conf import (
    ExpressionError,
    compare_extensions,
    evaluate_expression,
    extension_matches,
    split_app_args,
)

# One pattern position and the regular expression it means.
POSITIONS = st.sampled_from(
    [
        ("1", "1"),
        ("5", "5"),
        ("N", "[2-9]"),
        ("n", "[2-9]"),
        ("X", "[0-9]"),
        ("Z", "[1-9]"),
        ("[1-3]", "[1-3]"),
        ("[05]", "[05]"),
        ("[2-47]", "[2-47]"),
    ]
)
ENDINGS = st.sampled_from([("", ""), (".", ".+"), ("!", ".*")])


@st.composite
def patterns(draw: st.DrawFn) -> tuple[str, str]:
    body = draw(st.lists(POSITIONS, min_size=1, max_size=5))
    ending = draw(ENDINGS)
    pattern = "_" + "".join(p for p, _ in body) + ending[0]
    oracle = "".join(r for _, r in body) + ending[1]
    return pattern, oracle


@settings(max_examples=300, deadline=None)
@given(patterns(), st.text(alphabet="0123456789", max_size=8))
def test_matching_agrees_with_a_regex_oracle(pattern: tuple[str, str], dialled: str) -> None:
    name, oracle = pattern
    assert extension_matches(name, dialled) == bool(re.fullmatch(oracle, dialled))


EXTENSIONS = st.one_of(
    patterns().map(lambda p: p[0]),
    st.text(alphabet="0123456789s", min_size=1, max_size=5),
)


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


@settings(max_examples=300, deadline=None)
@given(EXTENSIONS, EXTENSIONS, EXTENSIONS)
def test_order_is_a_consistent_total_order(a: str, b: str, c: str) -> None:
    assert sign(compare_extensions(a, b)) == -sign(compare_extensions(b, a))
    if compare_extensions(a, b) <= 0 and compare_extensions(b, c) <= 0:
        assert compare_extensions(a, c) <= 0


PLAIN_ARG = st.text(alphabet="abcXYZ019 -_:=/@.", max_size=6)


@given(st.lists(PLAIN_ARG, min_size=2, max_size=6))
def test_plain_arguments_round_trip(args: list[str]) -> None:
    assert split_app_args(",".join(args)) == args


@given(st.lists(st.text(alphabet='ab,()[]"\\', max_size=6), min_size=1, max_size=5))
def test_escaped_arguments_round_trip(args: list[str]) -> None:
    # a backslash before every special character keeps it literal, as Asterisk reads it
    escaped = [re.sub(r'([,()\[\]"\\])', r"\\\1", arg) for arg in args]
    joined = ",".join(escaped)
    expected = [] if joined == "" else args
    assert split_app_args(joined) == expected


EXPRESSION_TEXT = st.text(alphabet='0123456789 abc"=!<>&|+-*/%?:()~.', max_size=20)


@settings(max_examples=400, deadline=None)
@given(EXPRESSION_TEXT)
def test_expressions_always_give_a_value(text: str) -> None:
    # Asterisk always substitutes something for $[...]: a value, or "0" on a syntax error.
    try:
        value = evaluate_expression(text)
    except ExpressionError as error:
        assert "not supported" in str(error)  # a lone '~' is the only such character here
        return
    assert isinstance(value, str)
