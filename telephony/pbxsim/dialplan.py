"""extensions.conf as the runtime needs it: contexts, extension patterns, priorities, and the
`${...}` / `$[...]` substitution the applications' arguments go through."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telephony.pbxsim.conffiles import ConfError, read_conf


@dataclass(frozen=True)
class Step:
    app: str
    data: str
    label: str | None
    where: str


@dataclass
class Extension:
    pattern: str
    steps: dict[int, Step] = field(default_factory=dict)

    def matches(self, exten: str) -> bool:
        if not self.pattern.startswith("_"):
            return self.pattern == exten
        return _pattern_regex(self.pattern).fullmatch(exten) is not None

    def find_label(self, label: str) -> int | None:
        for priority, step in self.steps.items():
            if step.label == label:
                return priority
        return None


@dataclass
class Dialplan:
    contexts: dict[str, list[Extension]]
    globals: dict[str, str]

    def find(self, context: str, exten: str) -> Extension | None:
        extensions = self.contexts.get(context)
        if extensions is None:
            return None
        # Exact extensions win over patterns, as in Asterisk's ordering.
        for extension in extensions:
            if not extension.pattern.startswith("_") and extension.pattern == exten:
                return extension
        for extension in extensions:
            if extension.pattern.startswith("_") and extension.matches(exten):
                return extension
        return None

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        extension = self.find(context, exten)
        return extension is not None and priority in extension.steps


_PATTERN_CHARS = {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    body = pattern[1:]
    index = 0
    while index < len(body):
        char = body[index]
        if char == "[":
            close = body.index("]", index)
            out.append("[" + body[index + 1 : close] + "]")
            index = close + 1
            continue
        out.append(_PATTERN_CHARS.get(char.upper(), re.escape(char)))
        index += 1
    return re.compile("".join(out))


def load_dialplan(path: Path) -> Dialplan:
    contexts: dict[str, list[Extension]] = {}
    global_vars: dict[str, str] = {}
    for section in read_conf(path):
        if section.name == "general":
            continue
        if section.name == "globals":
            global_vars.update({line.key: line.value for line in section.lines})
            continue
        extensions: list[Extension] = []
        current: Extension | None = None
        last_priority = 0
        for line in section.lines:
            if line.key == "exten":
                pattern, _, rest = line.value.partition(",")
                pattern = pattern.strip()
                current = next((e for e in extensions if e.pattern == pattern), None)
                if current is None:
                    current = Extension(pattern)
                    extensions.append(current)
            elif line.key == "same":
                if current is None:
                    raise ConfError(f"{line.where}: 'same =>' before any 'exten =>'")
                rest = line.value
            elif line.key in ("include", "switch", "ignorepat"):
                raise ConfError(f"{line.where}: extensions.conf '{line.key}' is not emulated")
            else:
                raise ConfError(f"{line.where}: unknown extensions.conf line {line.key!r}")
            priority_text, _, app_text = rest.partition(",")
            priority, label = _priority(priority_text.strip(), last_priority, line.where)
            app, data = _application(app_text.strip(), line.where)
            current.steps[priority] = Step(app, data, label, line.where)
            last_priority = priority
        contexts[section.name] = extensions
    return Dialplan(contexts, global_vars)


def _priority(text: str, last: int, where: str) -> tuple[int, str | None]:
    label = None
    match = re.fullmatch(r"([^()]+)(?:\(([^)]*)\))?", text)
    if match is None:
        raise ConfError(f"{where}: cannot read priority {text!r}")
    number, label = match.group(1), match.group(2)
    if number == "n":
        return last + 1, label
    if number.isdigit():
        return int(number), label
    raise ConfError(f"{where}: priority {number!r} is not emulated (use a number or n)")


def _application(text: str, where: str) -> tuple[str, str]:
    if not text:
        raise ConfError(f"{where}: priority without an application")
    paren = text.find("(")
    if paren < 0:
        app, _, data = text.partition(",")
        return app.strip(), data
    if not text.endswith(")"):
        raise ConfError(f"{where}: application call without closing ')': {text!r}")
    return text[:paren].strip(), text[paren + 1 : -1]


# -- substitution ------------------------------------------------------------------------
Lookup = Callable[[str], str]


def substitute(text: str, lookup: Lookup) -> str:
    """Expand `${...}` and `$[...]` innermost first; `lookup` resolves a variable or a
    function call like `CALLERID(num)`."""
    while True:
        start = _innermost(text)
        if start < 0:
            return text
        kind = text[start + 1]
        end = _closing(text, start + 1, "{" if kind == "{" else "[")
        inner = text[start + 2 : end]
        value = _expression(inner) if kind == "[" else _variable(inner, lookup)
        text = text[:start] + value + text[end + 1 :]


def _innermost(text: str) -> int:
    """Position of the last `${` or `$[` whose body holds no further `$`-expression."""
    best = -1
    for match in re.finditer(r"\$[{\[]", text):
        best = match.start()
    return best


def _closing(text: str, open_at: int, opener: str) -> int:
    closer = "}" if opener == "{" else "]"
    depth = 0
    for index in range(open_at, len(text)):
        if text[index] == opener:
            depth += 1
        elif text[index] == closer:
            depth -= 1
            if depth == 0:
                return index
    raise ValueError(f"unbalanced {opener!r} in {text!r}")


def _variable(inner: str, lookup: Lookup) -> str:
    match = re.fullmatch(r"(.*?)(?::(-?\d+)(?::(-?\d+))?)?", inner)
    assert match is not None
    name = match.group(1)
    value = lookup(name)
    if match.group(2) is None:
        return value
    offset = int(match.group(2))
    length = int(match.group(3)) if match.group(3) is not None else None
    value = value[offset:]
    if length is not None:
        value = value[:length]
    return value


_TOKEN = re.compile(r'\s*("(?:[^"]*)"|[^\s()&|=!<>]+|!=|<=|>=|[()&|=<>!])')


def _expression(text: str) -> str:
    """`$[...]`: comparisons (=, !=, <, >, <=, >=), & and | — what the lab dialplans use."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    position = 0

    def atom() -> str:
        nonlocal position
        token = tokens[position] if position < len(tokens) else ""
        position += 1
        if token == "(":
            value = disjunction()
            position += 1  # ')'
            return value
        return token.strip('"')

    def comparison() -> str:
        nonlocal position
        left = atom()
        while position < len(tokens) and tokens[position] in ("=", "!=", "<", ">", "<=", ">="):
            op = tokens[position]
            position += 1
            left = "1" if _compare(left, atom(), op) else "0"
        return left

    def conjunction() -> str:
        nonlocal position
        left = comparison()
        while position < len(tokens) and tokens[position] == "&":
            position += 1
            right = comparison()
            left = right if _truthy(left) and _truthy(right) else "0"
        return left

    def disjunction() -> str:
        nonlocal position
        left = conjunction()
        while position < len(tokens) and tokens[position] == "|":
            position += 1
            right = conjunction()
            left = left if _truthy(left) else right
        return left

    return disjunction() if tokens else ""


def _truthy(value: str) -> bool:
    return value not in ("", "0")


def _compare(left: str, right: str, op: str) -> bool:
    try:
        a: float | str = float(left)
        b: float | str = float(right)
    except ValueError:
        a, b = left, right
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,  # type: ignore[operator]
        ">": a > b,  # type: ignore[operator]
        "<=": a <= b,  # type: ignore[operator]
        ">=": a >= b,  # type: ignore[operator]
    }[op]


def split_args(data: str) -> list[str]:
    """Split application arguments at top-level commas (not inside parentheses or quotes)."""
    args: list[str] = []
    depth = 0
    quoted = False
    current: list[str] = []
    for char in data:
        if char == '"':
            quoted = not quoted
        elif char == "(" and not quoted:
            depth += 1
        elif char == ")" and not quoted:
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            args.append("".join(current))
            current = []
        else:
            current.append(char)
    args.append("".join(current))
    return args
