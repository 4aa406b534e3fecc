"""`$[...]` expressions, evaluated as Asterisk's main/ast_expr2.y and ast_expr2.fl do.

Tokens: `"quoted text"` (the quotes stay part of the value, as in Asterisk), numbers
`123` / `1.5`, words (letters, digits, `.';\\_^#@`, non-ASCII, `$` not before `{`), and the
operators below. Operators, lowest precedence first: `,`; `cond ? a :: b`; `|` `||`;
`&` `&&`; `=` `==` `!=` `<` `>` `<=` `>=`; `+` `-`; `*` `/` `%`; unary `!` and `-`;
`:` `=~` `~~`; parentheses.

Values are numbers, numeric strings (digits and dots) or strings, with Asterisk's rules:
- `a | b`: `a` unless it is empty or zero, else `b`. `a & b`: `a` unless either is empty or
  zero, else `0`.
- Comparisons give `1`/`0`: as numbers when neither side is a (non-numeric) string, else
  byte by byte — so `"5" = 5` is `0` (the quotes count), `"A" = "A"` is `1`.
- `+ - * / %` on a non-number do what ast_expr2 does (`a + x` is `a`, `x * 2` is `0`,
  `a / 0` is 2147483647) and report a warning; results print like `%.18Lg` (`7/2` is `3.5`).
- `!x` is `1` when `x` is empty, `0`, or a string whose atoi() is 0.
- `a : re` (POSIX ERE anchored at the start) and `a =~ re` (anywhere) strip quotes from both
  sides and give the first group, or the match length; `a ~~ b` concatenates.

`evaluate_expression(text, warn)` returns the value; a syntax error yields `0`, as Asterisk's
ast_expr() does when the parse fails, and calls `warn`. `ExpressionError` is raised for what
the emulator does not evaluate: a function call inside `$[...]` (refused at load when it is
written in the dialplan), a `${` left unsubstituted, a character no token can hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

Warn = Callable[[str], None]


class ExpressionError(ValueError):
    """An expression the emulator cannot evaluate; the message names the construct."""


_OPERATORS = (
    "||",
    "&&",
    "==",
    "=~",
    "~~",
    ">=",
    "<=",
    "!=",
    "::",
    "|",
    "&",
    "=",
    ">",
    "<",
    "+",
    ",",
    "-",
    "*",
    "/",
    "%",
    "?",
    "!",
    ":",
    "(",
    ")",
)
_NUMBER_TOKEN = re.compile(r"[0-9]+(\.[0-9]+)?")
_WORD_TOKEN = re.compile(r"(?:[a-zA-Z0-9.';\\_^#@]|[^\x00-\x7f]|\$(?!\{))+")
_INT_MAX = Decimal(2147483647)


@dataclass(frozen=True)
class _Value:
    kind: str  # "number", "numeric" (a numeric string) or "string"
    text: str = ""
    number: Decimal = Decimal(0)


def _make_str(text: str) -> _Value:
    """ast_expr2's make_str(): a text of digits and dots is a numeric string."""
    # Its loop starts at index 0 and so rejects the leading '-' it seems to allow.
    numeric = bool(text) and all(c in "0123456789." for c in text)
    return _Value("numeric" if numeric else "string", text)


def _make_number(number: Decimal) -> _Value:
    return _Value("number", number=number)


def _strtold(text: str) -> Decimal:
    match = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)", text)
    return Decimal(match.group(0).strip()) if match else Decimal(0)


def _to_number(value: _Value) -> Decimal | None:
    if value.kind == "number":
        return value.number
    if value.kind == "string":
        return None
    return _strtold(value.text)


def _format(number: Decimal) -> str:
    if number == number.to_integral_value() and abs(number) < Decimal(10) ** 18:
        return str(int(number))
    return format(number, ".18g")


def _to_string(value: _Value) -> str:
    return _format(value.number) if value.kind == "number" else value.text


def _strip_quotes(text: str) -> str:
    if len(text) >= 1 and text[0] == '"' and text[-1] == '"':
        return text.replace('"', "")
    return text


def _zero_or_null(value: _Value) -> bool:
    if value.kind == "number":
        return value.number == 0
    number = _to_number(value)
    return value.text == "" or (number is not None and number == 0)


def _atoi(text: str) -> int:
    match = re.match(r"\s*[-+]?\d+", text)
    return int(match.group(0)) if match else 0


class _Evaluator:
    def __init__(self, warn: Warn | None) -> None:
        self.warn = warn

    def warning(self, message: str) -> None:
        if self.warn is not None:
            self.warn(message)

    def compare(self, op: str, a: _Value, b: _Value) -> _Value:
        if a.kind == "string" or b.kind == "string":
            left, right = _to_string(a).encode(), _to_string(b).encode()
            cmp = (left > right) - (left < right)
        else:
            x, y = _to_number(a), _to_number(b)
            assert x is not None and y is not None
            cmp = (x > y) - (x < y)
        result = {
            "=": cmp == 0,
            "==": cmp == 0,
            "!=": cmp != 0,
            "<": cmp < 0,
            ">": cmp > 0,
            "<=": cmp <= 0,
            ">=": cmp >= 0,
        }[op]
        return _make_number(Decimal(1 if result else 0))

    def arithmetic(self, op: str, a: _Value, b: _Value) -> _Value:
        x, y = _to_number(a), _to_number(b)
        if x is None or y is None:
            self.warning(f"non-numeric argument to '{op}'")
            return self.non_numeric(op, a, b, x, y)
        if op in "/%" and y == 0:
            self.warning("division by zero")
            return _make_number(_INT_MAX) if op == "/" else _make_number(Decimal(0))
        with localcontext() as context:
            context.prec = 18  # long double printed with %.18Lg
            try:
                if op == "+":
                    result = x + y
                elif op == "-":
                    result = x - y
                elif op == "*":
                    result = x * y
                elif op == "/":
                    result = x / y
                else:
                    result = x % y  # fmodl: the sign follows the dividend, as Decimal's does
            except InvalidOperation:
                self.warning(f"overflow in {op}")
                return _make_number(Decimal(0))
            return _make_number(+result)

    @staticmethod
    def non_numeric(op: str, a: _Value, b: _Value, x: Decimal | None, y: Decimal | None) -> _Value:
        # What each of op_plus/op_minus/op_times/op_div/op_rem returns for a non-number.
        if op == "+":
            return b if x is None and y is not None else a if x is not None else _zero()
        if op == "-":
            if x is None:
                return _make_number(-y) if y is not None else _zero()
            return a
        if op == "/" and x is not None:
            return _make_number(_INT_MAX)
        return _zero()

    def regex(self, op: str, a: _Value, b: _Value) -> _Value:
        text, pattern = _strip_quotes(_to_string(a)), _strip_quotes(_to_string(b))
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            self.warning(f"regcomp() error: {error}")
            return _make_str("")
        match = compiled.search(text)
        if match is not None and (op == "=~" or match.start() == 0):
            if compiled.groups and match.group(1) is not None:
                return _make_str(match.group(1))
            return _make_number(Decimal(match.end() - match.start()))
        return _make_number(Decimal(0)) if compiled.groups == 0 else _make_str("")

    def compl(self, a: _Value) -> _Value:
        if a.kind == "number":
            truth = a.number != 0
        else:
            truth = a.text not in ("", "0") and _atoi(a.text) != 0
        return _make_number(Decimal(0 if truth else 1))

    def negate(self, a: _Value) -> _Value:
        number = _to_number(a)
        if number is None:
            self.warning("non-numeric argument to unary '-'")
            return _zero()
        return _make_number(-number)

    def condition(self, a: _Value, when_true: _Value, when_false: _Value) -> _Value:
        if a.kind == "string":
            truth = a.text not in ("", '""', "0")
        else:
            number = _to_number(a)
            truth = number is not None and number != 0
        return when_true if truth else when_false


def _zero() -> _Value:
    return _make_number(Decimal(0))


@dataclass(frozen=True)
class _Token:
    text: str
    operator: bool
    value: _Value | None = None


class _SyntaxError(Exception):
    pass


_TOKEN = re.compile(
    r"(?P<space>[ \t\r\n]+)"
    r'|(?P<quoted>"[^"]*")'
    r"|(?P<word>" + _WORD_TOKEN.pattern + ")"
    r"|(?P<operator>" + "|".join(re.escape(op) for op in _OPERATORS) + ")"
)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if match is None:
            if text.startswith("${", i):
                raise ExpressionError(f"$[{text}]: '${{' left unsubstituted")
            if text[i] == '"':
                raise _SyntaxError(f"unterminated quoted string in $[{text}]")
            raise ExpressionError(f"$[{text}]: character {text[i]!r} is not supported")
        kind, value = match.lastgroup, match.group(0)
        if kind == "operator":
            tokens.append(_Token(value, True))
        elif kind == "quoted":
            tokens.append(_Token(value, False, _Value("string", value)))
        elif kind == "word":
            # flex takes the longest match and, on a tie, the number rule listed first
            numeric = _NUMBER_TOKEN.fullmatch(value) is not None
            tokens.append(_Token(value, False, _Value("numeric" if numeric else "string", value)))
        i = match.end()
    return tokens


class _Parser:
    """Precedence climbing over ast_expr2.y's operator table."""

    def __init__(self, tokens: list[_Token], evaluator: _Evaluator) -> None:
        self.tokens = tokens
        self.pos = 0
        self.ev = evaluator

    def take(self, *operators: str) -> str | None:
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.operator and token.text in operators:
                self.pos += 1
                return token.text
        return None

    def conditional(self) -> _Value:
        value = self.logical_or()
        while self.take("?"):
            when_true = self.logical_or()
            if self.take("::") is None:
                raise _SyntaxError("'?' without '::'")
            when_false = self.logical_or()
            value = self.ev.condition(value, when_true, when_false)
        return value

    def logical_or(self) -> _Value:
        value = self.logical_and()
        while self.take("|", "||"):
            right = self.logical_and()
            value = right if _zero_or_null(value) else value
        return value

    def logical_and(self) -> _Value:
        value = self.comparison()
        while self.take("&", "&&"):
            right = self.comparison()
            value = _zero() if _zero_or_null(value) or _zero_or_null(right) else value
        return value

    def comparison(self) -> _Value:
        value = self.additive()
        while (op := self.take("=", "==", "!=", "<", ">", "<=", ">=")) is not None:
            value = self.ev.compare(op, value, self.additive())
        return value

    def additive(self) -> _Value:
        value = self.multiplicative()
        while (op := self.take("+", "-")) is not None:
            value = self.ev.arithmetic(op, value, self.multiplicative())
        return value

    def multiplicative(self) -> _Value:
        value = self.unary()
        while (op := self.take("*", "/", "%")) is not None:
            value = self.ev.arithmetic(op, value, self.unary())
        return value

    def unary(self) -> _Value:
        if self.take("!"):
            return self.ev.compl(self.unary())
        if self.take("-"):
            return self.ev.negate(self.unary())
        return self.regex()

    def regex(self) -> _Value:
        value = self.atom()
        while (op := self.take(":", "=~", "~~")) is not None:
            right = self.atom()
            if op == "~~":
                joined = _strip_quotes(_to_string(value)) + _strip_quotes(_to_string(right))
                value = _make_str(joined)
            else:
                value = self.ev.regex(op, value, right)
        return value

    def atom(self) -> _Value:
        if self.take("("):
            value = self.conditional()
            if self.take(")") is None:
                raise _SyntaxError("'(' without ')'")
            return value
        if self.pos >= len(self.tokens):
            raise _SyntaxError("an operand is missing at the end")
        token = self.tokens[self.pos]
        if token.operator or token.value is None:
            raise _SyntaxError(f"unexpected {token.text!r}")
        self.pos += 1
        if self.pos < len(self.tokens) and self.tokens[self.pos].text == "(":
            raise ExpressionError(f"function {token.text}() inside $[...] is not supported")
        return token.value


def evaluate_expression(text: str, warn: Warn | None = None) -> str:
    """The value of the inside of `$[...]` (variables already substituted)."""
    evaluator = _Evaluator(warn)
    try:
        tokens = _tokenize(text)
        if not tokens:
            return ""
        parser = _Parser(tokens, evaluator)
        value = parser.conditional()
        if parser.pos != len(tokens):
            raise _SyntaxError(f"unexpected {tokens[parser.pos].text!r}")
    except _SyntaxError as error:
        # ast_expr() leaves no value when the parse fails and writes "0".
        evaluator.warning(f"syntax error in $[{text}]: {error}")
        return "0"
    return _to_string(value)


def check_condition(text: str) -> bool:
    """Asterisk's pbx_checkcondition(): "" is false, a leading number (sscanf %d) its truth,
    any other text (even blanks) true."""
    if text == "":
        return False
    match = re.match(r"\s*[-+]?\d+", text)
    return int(match.group(0)) != 0 if match else True
