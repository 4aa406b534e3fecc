"""Reads Asterisk `.conf` files into sections of `key = value` items, each with `file:line`.

pyst2's `asterisk.config` (the parser DEPENDENCY-NOTES points at) is the starting point, but
it cannot read the files this project ships: `[lab-queue](!)` raises its ParseError ("Missing
'[' or ']'"), it has no `#include`, it splits a value at a `\\;` escape, and it does not tell
`=>` from `=` (it keeps a `>` "style" flag only). Rather than patch around each of those this
module reads the same grammar Asterisk's main/config.c reads:

- `[name]`, `[name](!)` (a template), `[name](tmpl1,tmpl2)` (inherit: the templates' items
  come first, then the section's own), `[name](!,tmpl)`, `[name](+)` (add to a section seen
  before);
- `key = value` and `key => value`; blanks around both are dropped;
- `;` comments, `\\;` for a literal semicolon, `;-- ... --;` block comments (may span lines);
- `#include file` / `#include "file"` / `#tryinclude file`, relative to the directory of the
  top file as Asterisk resolves them against its config directory; globs are expanded in
  sorted order; the included lines continue the current section.

Refused (ConfigError naming file:line): `#exec`, any other `#` directive, `key += value`,
items before the first section, include cycles, unknown templates.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, Where


@dataclass(frozen=True)
class ConfItem:
    key: str
    value: str
    where: Where
    arrow: bool  # written `key => value` (extensions.conf treats both spellings alike)


@dataclass
class ConfSection:
    name: str
    where: Where
    items: list[ConfItem] = field(default_factory=list)
    is_template: bool = False
    templates: tuple[str, ...] = ()

    def get(self, key: str) -> ConfItem | None:
        """The last item named `key` (a later line overrides an earlier or inherited one)."""
        found = None
        for item in self.items:
            if item.key == key:
                found = item
        return found

    def all(self, key: str) -> list[ConfItem]:
        return [item for item in self.items if item.key == key]


@dataclass
class ConfFile:
    path: Path
    sections: list[ConfSection]  # in file order, templates applied, templates left out
    templates: dict[str, ConfSection]
    files_read: tuple[Path, ...]  # the top file and everything it included

    def section(self, name: str) -> ConfSection | None:
        return next((s for s in self.sections if s.name == name), None)


class _Reader:
    def __init__(self, top: Path) -> None:
        self.base_dir = top.parent
        self.sections: list[ConfSection] = []
        self.current: ConfSection | None = None
        self.files_read: list[Path] = []
        self.open_files: list[Path] = []
        self.in_block_comment = 0
        self.block_comment_start: Where | None = None

    def read_file(self, path: Path, where: Where | None) -> None:
        resolved = path.resolve()
        if resolved in self.open_files:
            raise ConfigError(where, f"#include cycle: {path} includes itself")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(where, f"cannot read {path}: no such file") from None
        except UnicodeDecodeError as error:
            raise ConfigError(where, f"{path} is not UTF-8: {error}") from None
        self.files_read.append(path)
        self.open_files.append(resolved)
        for number, raw in enumerate(text.splitlines(), start=1):
            self.read_line(raw, Where(str(path), number))
        self.open_files.pop()

    def read_line(self, raw: str, where: Where) -> None:
        line = self.strip_comment(raw, where).strip()
        if not line:
            return
        if line.startswith("#"):
            self.read_directive(line, where)
        elif line.startswith("["):
            self.read_section_header(line, where)
        else:
            self.read_item(line, where)

    def strip_comment(self, raw: str, where: Where) -> str:
        out: list[str] = []
        i = 0
        while i < len(raw):
            if self.in_block_comment:
                if raw.startswith("--;", i):
                    self.in_block_comment -= 1
                    i += 3
                elif raw.startswith(";--", i):
                    self.in_block_comment += 1
                    i += 3
                else:
                    i += 1
                continue
            char = raw[i]
            if char == "\\" and raw.startswith(";", i + 1):
                out.append(";")  # `\;` is a literal semicolon; the backslash goes
                i += 2
            elif raw.startswith(";--", i):
                self.in_block_comment += 1
                self.block_comment_start = where
                i += 3
            elif char == ";":
                break
            else:
                out.append(char)
                i += 1
        return "".join(out)

    def read_directive(self, line: str, where: Where) -> None:
        word, *rest = line.split(None, 1)
        target = rest[0].strip().strip('"').strip() if rest else ""
        if word not in ("#include", "#tryinclude"):
            raise ConfigError(where, f"directive {word} is not supported (only #include)")
        if not target:
            raise ConfigError(where, f"{word} without a file name")
        pattern = Path(target) if Path(target).is_absolute() else self.base_dir / target
        if any(char in target for char in "*?["):
            matches = [Path(p) for p in sorted(glob.glob(str(pattern)))]
            if not matches and word == "#include":
                raise ConfigError(where, f"#include {target}: no file matches")
            for match in matches:
                self.read_file(match, where)
        elif word == "#tryinclude" and not pattern.exists():
            return
        else:
            self.read_file(pattern, where)

    def read_section_header(self, line: str, where: Where) -> None:
        close = line.find("]")
        if close < 0:
            raise ConfigError(where, f"section header {line!r} has no closing ']'")
        name = line[1:close].strip()
        if not name:
            raise ConfigError(where, "empty section name '[]'")
        rest = line[close + 1 :].strip()
        options: list[str] = []
        if rest:
            if not (rest.startswith("(") and rest.endswith(")")):
                raise ConfigError(where, f"unexpected text after [{name}]: {rest!r}")
            options = [opt.strip() for opt in rest[1:-1].split(",") if opt.strip()]
        if "+" in options:
            previous = [s for s in self.sections if s.name == name]
            if not previous:
                raise ConfigError(where, f"[{name}](+) adds to a section that does not exist")
            self.current = previous[-1]
            return
        section = ConfSection(
            name=name,
            where=where,
            is_template="!" in options,
            templates=tuple(opt for opt in options if opt != "!"),
        )
        self.sections.append(section)
        self.current = section

    def read_item(self, line: str, where: Where) -> None:
        if self.current is None:
            raise ConfigError(where, f"{line!r} stands before any [section]")
        key, equals, value = line.partition("=")
        if not equals:
            raise ConfigError(where, f"{line!r} is not `key = value`")
        arrow = value.startswith(">")
        if arrow:
            value = value[1:]
        key = key.strip()
        if key.endswith("+"):
            raise ConfigError(where, f"`{key[:-1].strip()} +=` (append) is not supported")
        if not key:
            raise ConfigError(where, f"{line!r} has no key before '='")
        self.current.items.append(ConfItem(key, value.strip(), where, arrow))


def _apply_templates(sections: list[ConfSection]) -> dict[str, ConfSection]:
    templates: dict[str, ConfSection] = {}
    for section in sections:
        inherited: list[ConfItem] = []
        for name in section.templates:
            # Asterisk inherits from any section seen earlier, template or not.
            base = _earlier_section(sections, section, name)
            if base is None:
                raise ConfigError(
                    section.where, f"[{section.name}] inherits from unknown template {name!r}"
                )
            inherited.extend(base.items)
        section.items = inherited + section.items
        if section.is_template:
            templates[section.name] = section
    return templates


def _earlier_section(
    sections: list[ConfSection], section: ConfSection, name: str
) -> ConfSection | None:
    found = None
    for candidate in sections:
        if candidate is section:
            break
        if candidate.name == name:
            found = candidate
    return found


def read_conf(path: Path | str) -> ConfFile:
    """Read one `.conf` file (and what it includes) with templates applied."""
    top = Path(path)
    reader = _Reader(top)
    reader.read_file(top, None)
    if reader.in_block_comment:
        raise ConfigError(reader.block_comment_start, "';--' block comment never closed by '--;'")
    templates = _apply_templates(reader.sections)
    return ConfFile(
        path=top,
        sections=[s for s in reader.sections if not s.is_template],
        templates=templates,
        files_read=tuple(reader.files_read),
    )
