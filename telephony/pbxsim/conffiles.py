"""A thin reader of Asterisk `.conf` files for the emulator runtime.

It is the runtime's own adapter until the config loader in `telephony/pbxsim/conf/` lands:
sections (`[name]`, templates `[name](!)`, inheritance `[name](tmpl)`), `key = value` and
`key => value` lines, `;` comments, `#include`. Every line keeps its `file:line` so a
refused construct can be named where it stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class ConfError(ValueError):
    """A configuration line the emulator cannot run; the message starts with `file:line`."""


@dataclass(frozen=True)
class Line:
    key: str
    value: str
    where: str  # "file:line"


@dataclass
class Section:
    name: str
    where: str
    is_template: bool = False
    bases: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        found = default
        for line in self.lines:
            if line.key == key:
                found = line.value
        return found


def read_conf(path: Path) -> list[Section]:
    """Sections of a file with templates already applied to the sections that use them."""
    sections: list[Section] = []
    _read_into(path, sections)
    templates = {s.name: s for s in sections if s.is_template}
    for section in sections:
        inherited: list[Line] = []
        for base in section.bases:
            if base not in templates:
                raise ConfError(f"{section.where}: unknown template {base!r}")
            inherited.extend(templates[base].lines)
        section.lines = inherited + section.lines
    return [s for s in sections if not s.is_template]


def _strip_comment(text: str) -> str:
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == ";":
            break
        else:
            out.append(char)
    return "".join(out).replace("\\;", ";").strip()


def _read_into(path: Path, sections: list[Section]) -> None:
    if not path.is_file():
        raise ConfError(f"{path}: file not found")
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        where = f"{path.name}:{number}"
        text = _strip_comment(raw)
        if not text:
            continue
        if text.startswith("#include"):
            target = text[len("#include") :].strip().strip('"<>')
            _read_into(path.parent / target, sections)
        elif text.startswith("["):
            sections.append(_section_header(text, where))
        else:
            if not sections:
                raise ConfError(f"{where}: line outside any [section]: {text!r}")
            key, value = _split_line(text, where)
            sections[-1].lines.append(Line(key, value, where))


def _section_header(text: str, where: str) -> Section:
    close = text.find("]")
    if close < 0:
        raise ConfError(f"{where}: section header without ']': {text!r}")
    section = Section(text[1:close].strip(), where)
    rest = text[close + 1 :].strip()
    if rest:
        if not (rest.startswith("(") and rest.endswith(")")):
            raise ConfError(f"{where}: cannot read section options {rest!r}")
        for option in rest[1:-1].split(","):
            option = option.strip()
            if option == "!":
                section.is_template = True
            elif option:
                section.bases.append(option)
    return section


def _split_line(text: str, where: str) -> tuple[str, str]:
    arrow = text.find("=>")
    equals = text.find("=")
    if equals < 0:
        raise ConfError(f"{where}: expected 'key = value', got {text!r}")
    if arrow == equals:
        return text[:arrow].strip(), text[arrow + 2 :].strip()
    return text[:equals].strip(), text[equals + 1 :].strip()
