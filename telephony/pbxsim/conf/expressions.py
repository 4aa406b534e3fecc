"""`$[...]` expressions, evaluated as Asterisk's main/ast_expr2.y does.

Operators, lowest precedence first: `cond ? a :: b`; `|`; `&`; `=` `==` `!=` `<` `>` `<=`
`>=`; `+` `-`; `*` `/` `%`; unary `!` and `-`; `:` (regex anchored at the start) and `=~`
(regex anywhere); parentheses. Values are strings: `"..."` quotes group text with blanks and
are dropped from the value; a value that reads as a number compares and counts as one.

- `a | b` is `a` unless `a` is empty or zero, else `b`; `a & b` is `a` unless either is empty
  or zero, else `0`; comparisons give `1` or `0` (numeric when both sides are numbers, else
  by characters); arithmetic needs numbers and prints like Asterisk's `%.18Lg` (no `.0`).
- `a : re` gives the first group of the match, or the match length when `re` has no group.

Errors (a syntax error, a non-number in arithmetic, division by zero, a bad regex) raise
ExpressionError; `substitute()` turns them into an empty string as Asterisk does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext


class ExpressionError(ValueError):
    """An expression Asterisk would refuse to evaluate (it logs a warning and yields "")."""


_OPERATORS = (
    "::",
    "=~",
    "==",
    "!=",
    "<=",
    ">=",
    "|",
    "&",
    "=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "%",
    "!",
    ":",
    "?",
    "(",
    ")",
)
_OPERATOR_CHARS = set("".join(_OPERATORS))
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class _Token:
    text: str
    is_operator: bool


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == '"':
            close = text.find('"', i + 1)
            if close < 0:
                raise ExpressionError(f"unterminated quoted string in $[{text}]")
            tokens.append(_Token(text[i + 1 : close], False))
            i = close + 1
        elif char in _OPERATOR_CHARS:
            operator = next(op for op in _OPERATORS if text.startswith(op, i))
            tokens.append(_Token(operator, True))
            i += len(operator)
        else:
            start = i
            while i < len(text) and not (
                text[i].isspace() or text[i] in _OPERATOR_CHARS or text[i] == '"'
            ):
                i += 1
            tokens.append(_Token(text[start:i], False))
    return tokens


def _number(value: str) -> Decimal | None:
    return Decimal(value) if _NUMBER.fullmatch(value.strip()) else None


def _format(number: Decimal) -> str:
    if number == number.to_integral_value():
        return str(int(number))
    text = format(number.normalize(), "f")
    return text


def _zero_or_null(value: str) -> bool:
    number = _number(value)
    return value == "" or (number is not None and number == 0)


def _compare(op: str, left: str, right: str) -> str:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        cmp = (a > b) - (a < b)
    else:
        la, lb = left.encode(), right.encode()  # strcoll in the C locale: byte order
        cmp = (la > lb) - (la < lb)
    result = {
        "=": cmp == 0,
        "==": cmp == 0,
        "!=": cmp != 0,
        "<": cmp < 0,
        ">": cmp > 0,
        "<=": cmp <= 0,
        ">=": cmp >= 0,
    }[op]
    return "1" if result else "0"


def _arithmetic(op: str, left: str, right: str) -> str:
    a, b = _number(left), _number(right)
    if a is None or b is None:
        bad = left if a is None else right
        raise ExpressionError(f"non-numeric argument {bad!r} to '{op}'")
    with localcontext() as context:
        context.prec = 18  # long double printed with %.18Lg
        context.traps[DivisionByZero] = True
        try:
            if op == "+":
                value = a + b
            elif op == "-":
                value = a - b
            elif op == "*":
                value = a * b
            elif op == "/":
                value = a / b
            else:
                value = a % b
        except (DivisionByZero, InvalidOperation):
            raise ExpressionError(f"division by zero in {left} {op} {right}") from None
        return _format(+value)


def _regex(op: str, left: str, pattern: str) -> str:
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ExpressionError(f"bad regular expression {pattern!r}: {error}") from None
    match = compiled.match(left) if op == ":" else compiled.search(left)
    if compiled.groups:
        return (match.group(1) or "") if match else ""
    return str(len(match.group(0))) if match else "0"


class _Parser:
    def __init__(self, tokens: list[_Token], source: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source

    def peek(self, *operators: str) -> str | None:
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.is_operator and token.text in operators:
                return token.text
        return None

    def take(self, *operators: str) -> str | None:
        found = self.peek(*operators)
        if found is not None:
            self.pos += 1
        return found

    def fail(self, what: str) -> ExpressionError:
        return ExpressionError(f"syntax error in $[{self.source}]: {what}")

    def conditional(self) -> str:
        condition = self.logical_or()
        if self.take("?") is None:
            return condition
        when_true = self.logical_or()
        if self.take("::") is None:
            raise self.fail("'?' without '::'")
        when_false = self.conditional()
        return when_false if _zero_or_null(condition) else when_true

    def logical_or(self) -> str:
        left = self.logical_and()
        while self.take("|"):
            right = self.logical_and()
            left = right if _zero_or_null(left) else left
        return left

    def logical_and(self) -> str:
        left = self.comparison()
        while self.take("&"):
            right = self.comparison()
            left = "0" if _zero_or_null(left) or _zero_or_null(right) else left
        return left

    def comparison(self) -> str:
        left = self.additive()
        while (op := self.take("=", "==", "!=", "<", ">", "<=", ">=")) is not None:
            left = _compare(op, left, self.additive())
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while (op := self.take("+", "-")) is not None:
            left = _arithmetic(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        while (op := self.take("*", "/", "%")) is not None:
            left = _arithmetic(op, left, self.unary())
        return left

    def unary(self) -> str:
        if self.take("!"):
            return "1" if _zero_or_null(self.unary()) else "0"
        if self.take("-"):
            return _arithmetic("-", "0", self.unary())
        return self.regex()

    def regex(self) -> str:
        left = self.atom()
        while (op := self.take(":", "=~")) is not None:
            left = _regex(op, left, self.atom())
        return left

    def atom(self) -> str:
        if self.take("("):
            value = self.conditional()
            if self.take(")") is None:
                raise self.fail("'(' without ')'")
            return value
        if self.pos >= len(self.tokens):
            raise self.fail("an operand is missing at the end")
        token = self.tokens[self.pos]
        if token.is_operator:
            raise self.fail(f"unexpected {token.text!r}")
        self.pos += 1
        return token.text


def evaluate_expression(text: str) -> str:
    """The value of the inside of `$[...]` (variables already substituted)."""
    tokens = _tokenize(text)
    if not tokens:
        return ""
    parser = _Parser(tokens, text)
    value = parser.conditional()
    if parser.pos != len(tokens):
        raise parser.fail(f"unexpected {tokens[parser.pos].text!r}")
    return value


def check_condition(text: str) -> bool:
    """Asterisk's pbx_checkcondition(): empty is false, a leading number is its truth, else true."""
    stripped = text.strip()
    if not stripped:
        return False
    match = re.match(r"[-+]?\d+", stripped)
    return int(match.group(0)) != 0 if match else True
