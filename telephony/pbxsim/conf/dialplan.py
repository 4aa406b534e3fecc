"""`extensions.conf` as a typed dialplan: contexts → extensions → priorities, with file:line.

Read as Asterisk's pbx_config reads it:
- `exten => name,priority,App(args)`; `same => priority,App(args)` continues the last exten;
  a priority is a number or `n` (the previous priority + 1), either with a `(label)`;
  `App` without parentheses has empty arguments.
- `include => context` (searched after the context's own extensions, in order).
- `[globals]` gives global variables; `[general]` a few options (see _GENERAL_OPTIONS).
- Extensions are kept in Asterisk's order (patterns.compare_extensions) and the first one
  that matches wins; an extension that matches but lacks the wanted priority is passed over,
  as in pbx_find_extension().

Refused with file:line: an unknown application (see applications.py), a priority written
any other way (`hint`, `n+2`, `s`) or `n` on a context's first line, a priority used twice,
variables in extension names, `switch`/`ignorepat`/timed
includes/any other keyword, caller-ID matching (`exten => 100/200,...`), broken patterns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .applications import canonical_application
from .arguments import GotoTarget
from .errors import ConfigError, Where
from .patterns import (
    extension_matches,
    extension_matches_more,
    extension_sort_key,
    is_pattern,
    pattern_error,
)
from .reader import ConfItem, ConfSection, read_conf
from .values import parse_bool


@dataclass(frozen=True)
class Priority:
    context: str
    exten: str  # the extension's name as written (a pattern stays a pattern: "_X.")
    number: int
    label: str | None
    app: str  # canonical spelling, e.g. "GotoIf" for "gotoif"
    args: str  # raw, before substitution
    where: Where


@dataclass
class Extension:
    name: str
    context: str
    where: Where
    priorities: dict[int, Priority] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    @property
    def is_pattern(self) -> bool:
        return is_pattern(self.name)

    def matches(self, dialled: str) -> bool:
        return extension_matches(self.name, dialled)

    def priority(self, number: int) -> Priority | None:
        return self.priorities.get(number)

    def label(self, name: str) -> Priority | None:
        number = self.labels.get(name)
        return None if number is None else self.priorities[number]


@dataclass
class Context:
    name: str
    where: Where
    extensions: list[Extension] = field(default_factory=list)  # in Asterisk's search order
    includes: list[str] = field(default_factory=list)

    def extension(self, name: str) -> Extension | None:
        """The extension written exactly as `name` (no matching)."""
        return next((e for e in self.extensions if e.name == name), None)


@dataclass
class Dialplan:
    contexts: dict[str, Context]
    globals: dict[str, str]
    options: dict[str, str]
    files: tuple[Path, ...] = ()

    def find(self, context: str, exten: str, priority: int | None = None) -> Extension | None:
        """The extension a call to `exten` in `context` runs, following `include =>`.

        With `priority`, only an extension that has that priority counts (Asterisk looks
        for the pair); without it, the first matching extension.
        """
        found = self._search(
            context,
            exten,
            lambda e: e.priorities.get(priority if priority is not None else min(e.priorities)),
            set(),
        )
        return None if found is None else self._extension_of(found)

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        """Asterisk's ast_exists_extension(): would a call to exten run that priority?"""
        return self.find(context, exten, priority) is not None

    def can_match_more(self, context: str, typed: str) -> bool:
        """Asterisk's ast_matchmore_extension(): could more digits after `typed` reach an
        extension of `context` (or a context it includes)?"""
        found = self._search(
            context,
            typed,
            lambda e: e.priority(min(e.priorities)),
            set(),
            lambda e, dialled: extension_matches_more(e.name, dialled),
        )
        return found is not None

    def locate(self, target: GotoTarget, current_priority: int = 0) -> Priority | None:
        """The priority a Goto/Gosub target names (a label, a number or a relative step)."""
        if target.label is not None:
            label = target.label
            return self._search(target.context, target.exten, lambda e: e.label(label), set())
        assert target.priority is not None
        number = target.priority
        if target.relative:
            number = current_priority + target.relative * target.priority
        return self._search(target.context, target.exten, lambda e: e.priority(number), set())

    def next_priority(self, current: Priority, dialled: str) -> Priority | None:
        """Priority n+1 of the extension `dialled` runs after `current` (None: the call ends)."""
        return self._search(
            current.context, dialled, lambda e: e.priority(current.number + 1), set()
        )

    def all_priorities(self) -> Iterator[Priority]:
        for context in self.contexts.values():
            for extension in context.extensions:
                yield from sorted(extension.priorities.values(), key=lambda p: p.number)

    def _search(
        self,
        context_name: str,
        exten: str,
        want: Callable[[Extension], Priority | None],
        seen: set[str],
        matches: Callable[[Extension, str], bool] = Extension.matches,
    ) -> Priority | None:
        context = self.contexts.get(context_name)
        if context is None or context_name in seen:
            return None
        seen.add(context_name)
        for extension in context.extensions:
            if matches(extension, exten):
                found = want(extension)
                if found is not None:
                    return found
        for included in context.includes:
            found = self._search(included, exten, want, seen, matches)
            if found is not None:
                return found
        return None

    def _extension_of(self, priority: Priority) -> Extension:
        context = self.contexts[priority.context]
        extension = context.extension(priority.exten)
        assert extension is not None
        return extension


# Options of [general] the emulator honours or that change nothing it emulates.
_GENERAL_OPTIONS = {
    "static": None,  # pbx_config's "save dialplan" guard: the emulator never writes files
    "writeprotect": None,
    "clearglobalvars": None,  # reloads are not emulated
    "autofallthrough": True,  # only the default (yes): a call ends after its last priority
    "extenpatternmatchnew": False,  # only the default (no): the sorted-list matcher
}


def _read_general(section: ConfSection, options: dict[str, str]) -> None:
    for item in section.items:
        if item.key not in _GENERAL_OPTIONS:
            raise ConfigError(item.where, f"[general] option {item.key!r} is not supported")
        required = _GENERAL_OPTIONS[item.key]
        if required is not None and parse_bool(item.value, item.key, item.where) != required:
            raise ConfigError(
                item.where, f"{item.key} = {item.value} is not supported (only the default)"
            )
        options[item.key] = item.value


class _ContextBuilder:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.last_exten: str | None = None
        self.last_priority: int | None = None  # pbx_config counts `n` from the previous line

    def add(self, item: ConfItem) -> None:
        if item.key == "include":
            self.add_include(item)
        elif item.key == "exten":
            name, comma, rest = _split_exten(item.value)
            if not comma:
                raise ConfigError(
                    item.where, f"exten => {item.value!r}: expected name,priority,App"
                )
            self.add_priority(name.strip(), rest, item)
        elif item.key == "same":
            if self.last_exten is None:
                raise ConfigError(item.where, "same => before any exten => in this context")
            self.add_priority(self.last_exten, item.value, item)
        else:
            raise ConfigError(
                item.where,
                f"{item.key} => is not supported in a dialplan context "
                "(only exten, same and include)",
            )

    def add_include(self, item: ConfItem) -> None:
        name = item.value.strip()
        if not name or "," in name or "|" in name:
            raise ConfigError(
                item.where, f"include => {item.value!r}: timed includes are not supported"
            )
        self.context.includes.append(name)

    def add_priority(self, exten: str, rest: str, item: ConfItem) -> None:
        problem = pattern_error(exten) if exten else "an extension needs a name"
        if "$" in exten:
            problem = f"extension {exten!r}: variables in extension names are not supported"
        if problem:
            raise ConfigError(item.where, problem)
        priority_text, comma, app_text = rest.partition(",")
        if not comma:
            raise ConfigError(item.where, f"{rest!r}: expected priority,App(args)")
        number, label = self.read_priority(priority_text.strip(), item.where)
        app, args = _split_application(app_text.strip(), item.where)
        extension = self.context.extension(exten)
        if extension is None:
            extension = Extension(exten, self.context.name, item.where)
            self.context.extensions.append(extension)
        if number in extension.priorities:
            first = extension.priorities[number].where
            raise ConfigError(item.where, f"{exten} priority {number} is already used at {first}")
        if label is not None:
            if label in extension.labels:
                raise ConfigError(item.where, f"label {label!r} is already used in {exten}")
            extension.labels[label] = number
        extension.priorities[number] = Priority(
            self.context.name, exten, number, label, app, args, item.where
        )
        self.last_exten = exten
        self.last_priority = number

    def read_priority(self, text: str, where: Where) -> tuple[int, str | None]:
        label = None
        if "(" in text:
            text, _, label_text = text.partition("(")
            if not label_text.endswith(")") or not label_text[:-1].strip():
                raise ConfigError(where, f"priority label in {text}({label_text} is malformed")
            label = label_text[:-1].strip()
            text = text.strip()
        if text in ("n", "next"):
            if self.last_priority is None:
                raise ConfigError(where, "priority n on the first line of a context")
            return self.last_priority + 1, label
        if text.isdigit() and int(text) > 0:
            return int(text), label
        raise ConfigError(
            where,
            f"priority {text!r} is not supported (a number > 0 or n, with an optional (label))",
        )


def _split_exten(value: str) -> tuple[str, str, str]:
    """Split `name,rest` at the first comma outside a `[...]` set."""
    depth = 0
    for i, char in enumerate(value):
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            return value[:i], ",", value[i + 1 :]
    # An unclosed '[' hides every comma: split at the first one so the pattern check names it.
    return value.partition(",")


def _split_application(text: str, where: Where) -> tuple[str, str]:
    if not text:
        raise ConfigError(where, "no application after the priority")
    paren = text.find("(")
    if paren < 0:
        name, args = text, ""
    else:
        close = text.rfind(")")
        if close < paren:
            raise ConfigError(where, f"{text!r}: '(' without a closing ')'")
        if text[close + 1 :].strip():
            raise ConfigError(where, f"{text!r}: text after the closing ')'")
        name, args = text[:paren], text[paren + 1 : close]
    canonical = canonical_application(name.strip())
    if canonical is None:
        raise ConfigError(where, f"application {name.strip()!r} is not supported by the emulator")
    return canonical, args


def dialplan_from_sections(sections: list[ConfSection], files: tuple[Path, ...]) -> Dialplan:
    contexts: dict[str, Context] = {}
    globals_: dict[str, str] = {}
    options: dict[str, str] = {}
    builders: dict[str, _ContextBuilder] = {}
    for section in sections:
        if section.name == "general":
            _read_general(section, options)
        elif section.name == "globals":
            globals_.update({item.key: item.value for item in section.items})
        else:
            # A context may be written in several blocks; they add up as in Asterisk.
            if section.name not in contexts:
                contexts[section.name] = Context(section.name, section.where)
                builders[section.name] = _ContextBuilder(contexts[section.name])
            for item in section.items:
                builders[section.name].add(item)
    for context in contexts.values():
        context.extensions.sort(key=lambda e: extension_sort_key(e.name))
    return Dialplan(contexts, globals_, options, files)


def load_dialplan(path: Path | str) -> Dialplan:
    conf = read_conf(path)
    return dialplan_from_sections(conf.sections, conf.files_read)
