"""The `.conf` reader: sections, templates, includes, comments, file:line on every item."""

from __future__ import annotations

from pathlib import Path

import pytest
from asterisk.config import Config as PystConfig
from asterisk.config import ParseError as PystParseError

from telephony.pbxsim.conf import ConfigError, read_conf
from tests.traces import LAB_CONFIG


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_pyst2_cannot_read_the_lab_queues_file_but_we_can() -> None:
    # Why the reader replaces pyst2's asterisk.config: templates are a ParseError there.
    with pytest.raises(PystParseError):
        PystConfig(str(LAB_CONFIG / "pbx-1" / "queues.conf"))
    conf = read_conf(LAB_CONFIG / "pbx-1" / "queues.conf")
    assert [s.name for s in conf.sections][:2] == ["general", "q12345"]


def test_templates_are_inherited_first_and_left_out(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "queues.conf",
        "[base](!)\nstrategy = rrmemory\nweight = 0\n\n[q1](base)\nweight = 10\n",
    )
    conf = read_conf(path)
    assert [s.name for s in conf.sections] == ["q1"]
    q1 = conf.sections[0]
    assert [(i.key, i.value) for i in q1.items] == [
        ("strategy", "rrmemory"),
        ("weight", "0"),
        ("weight", "10"),
    ]
    weight = q1.get("weight")
    assert weight is not None and weight.value == "10"
    assert str(weight.where) == f"{path}:6"
    strategy = q1.get("strategy")
    assert strategy is not None and strategy.where.line == 2  # where the template says it
    assert "base" in conf.templates


def test_template_chain_and_multiple_templates(tmp_path: Path) -> None:
    text = "[a](!)\nx = 1\n[b](!,a)\ny = 2\n[c](!)\nz = 3\n[real](b,c)\nw = 4\n"
    conf = read_conf(write(tmp_path, "x.conf", text))
    assert [(i.key, i.value) for i in conf.sections[0].items] == [
        ("x", "1"),
        ("y", "2"),
        ("z", "3"),
        ("w", "4"),
    ]


def test_unknown_template_is_refused_with_file_line(tmp_path: Path) -> None:
    path = write(tmp_path, "x.conf", "[general]\n\n[q1](nosuch)\nx = 1\n")
    with pytest.raises(ConfigError, match=rf"^{path}:3: .*unknown template 'nosuch'"):
        read_conf(path)


def test_arrow_and_equals_comments_and_escaped_semicolon(tmp_path: Path) -> None:
    text = (
        "; leading comment\n"
        "[s]\n"
        "a => 1 ; trailing\n"
        "b = x\\;y\n"
        ";-- a block\n"
        "c = hidden\n"
        "--; d = 4\n"
        "e = ;empty\n"
    )
    conf = read_conf(write(tmp_path, "x.conf", text))
    items = conf.sections[0].items
    assert [(i.key, i.value, i.arrow) for i in items] == [
        ("a", "1", True),
        ("b", "x;y", False),
        ("d", "4", False),
        ("e", "", False),
    ]
    assert [i.where.line for i in items] == [3, 4, 7, 8]


def test_include_continues_the_current_section(tmp_path: Path) -> None:
    write(tmp_path, "more.conf", "b = 2\n[other]\nc = 3\n")
    top = write(tmp_path, "top.conf", '[s]\na = 1\n#include\t"more.conf"\nd = 4\n')
    conf = read_conf(top)
    s, other = conf.sections
    assert [(i.key, str(i.where)) for i in s.items] == [
        ("a", f"{top}:2"),
        ("b", f"{tmp_path / 'more.conf'}:1"),
    ]
    assert [i.key for i in other.items] == ["c", "d"]
    assert [p.name for p in conf.files_read] == ["top.conf", "more.conf"]


def test_include_glob_tryinclude_and_errors(tmp_path: Path) -> None:
    (tmp_path / "parts").mkdir()
    write(tmp_path / "parts", "b.conf", "y = 2\n")
    write(tmp_path / "parts", "a.conf", "x = 1\n")
    top = write(tmp_path, "top.conf", "[s]\n#include parts/*.conf\n#tryinclude nothere.conf\n")
    assert [i.key for i in read_conf(top).sections[0].items] == ["x", "y"]

    missing = write(tmp_path, "m.conf", "[s]\n#include nothere.conf\n")
    with pytest.raises(ConfigError, match=rf"^{missing}:2: cannot read .*nothere.conf"):
        read_conf(missing)

    loop = write(tmp_path, "loop.conf", "[s]\n#include loop.conf\n")
    with pytest.raises(ConfigError, match="cycle"):
        read_conf(loop)

    exec_ = write(tmp_path, "e.conf", "[s]\n#exec /bin/true\n")
    with pytest.raises(ConfigError, match=rf"^{exec_}:2: directive #exec is not supported"):
        read_conf(exec_)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = 1\n", r":1: 'a = 1' stands before any \[section\]"),
        ("[s]\njust words\n", r":2: 'just words' is not `key = value`"),
        ("[s]\na += 1\n", r":2: `a \+=` \(append\) is not supported"),
        ("[s\n", r":1: section header '\[s' has no closing"),
        ("[s] junk\n", r":1: unexpected text after \[s\]"),
        ("[s](+)\n", r":1: \[s\]\(\+\) adds to a section that does not exist"),
        ("[s]\n;-- never closed\n", r":2: ';--' block comment never closed"),
    ],
)
def test_malformed_lines_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_conf(write(tmp_path, "bad.conf", text))


def test_plus_adds_to_an_earlier_section(tmp_path: Path) -> None:
    conf = read_conf(write(tmp_path, "x.conf", "[s]\na = 1\n[t]\n[s](+)\nb = 2\n"))
    assert [i.key for i in conf.sections[0].items] == ["a", "b"]
