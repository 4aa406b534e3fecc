"""extensions.conf as the runtime needs it (priorities by number and label, on top of the
config loader's model) and the splitting of application arguments. Substitution of `${...}`
and `$[...]` is conf.substitute, the evaluator the load-time checks use."""

from __future__ import annotations

from dataclasses import dataclass, field

from telephony.pbxsim import conf


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

    def find_label(self, label: str) -> int | None:
        for priority, step in self.steps.items():
            if step.label == label:
                return priority
        return None


class Dialplan:
    """The runtime's view of the dialplan the config loader read: lookups follow its
    Asterisk search order (exact before pattern, `include =>`)."""

    def __init__(self, source: conf.Dialplan) -> None:
        self.source = source
        self.globals = dict(source.globals)
        self._views: dict[int, Extension] = {}

    def find(self, context: str, exten: str) -> Extension | None:
        found = self.source.find(context, exten)
        if found is None:
            return None
        view = self._views.get(id(found))
        if view is None:
            steps = {
                number: Step(p.app, p.args, p.label, str(p.where))
                for number, p in found.priorities.items()
            }
            view = self._views[id(found)] = Extension(found.name, steps)
        return view

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        return self.source.exists(context, exten, priority)

    def can_match_more(self, context: str, typed: str) -> bool:
        return self.source.can_match_more(context, typed)


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
