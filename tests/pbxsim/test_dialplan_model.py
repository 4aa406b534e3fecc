"""extensions.conf as a dialplan: contexts, extensions, priorities, labels, includes."""

from __future__ import annotations

from pathlib import Path

import pytest

from telephony.pbxsim.conf import (
    ConfigError,
    Dialplan,
    GotoTarget,
    load_dialplan,
    parse_goto_target,
)
from tests.traces import LAB_CONFIG

LAB1 = LAB_CONFIG / "pbx-1" / "extensions.conf"


@pytest.fixture(scope="module")
def lab() -> Dialplan:
    return load_dialplan(LAB1)


def dialplan(tmp_path: Path, text: str) -> Dialplan:
    path = tmp_path / "extensions.conf"
    path.write_text(text, encoding="utf-8")
    return load_dialplan(path)


def test_lab_contexts_and_the_inbound_extension(lab: Dialplan) -> None:
    assert set(lab.contexts) >= {"agents", "callers", "inbound", "confbridge-rooms", "onekey"}
    ext = lab.find("inbound", "12345")
    assert ext is not None
    assert sorted(ext.priorities) == [1, 2, 3, 4, 5, 6]
    queue = ext.priority(3)
    assert queue is not None
    assert (queue.app, queue.args) == ("Queue", "q12345,tT,,,,,onekey-arm")
    assert str(queue.where) == f"{LAB1}:37"
    gotoif = ext.priority(5)
    assert gotoif is not None and gotoif.app == "GotoIf"
    assert gotoif.args.startswith('$["${QUEUESTATUS}" = "WITHDRAW" & ')
    assert gotoif.where.line == 40


def test_patterns_found_through_find(lab: Dialplan) -> None:
    agent = lab.find("agents", "agent131")
    assert agent is not None and agent.name == "_age[n]t."
    room = lab.find("confbridge-rooms", "conf-777")
    assert room is not None and room.name == "_co[n]f-X."
    assert lab.find("confbridge-rooms", "conf") is None
    assert lab.find("nosuchcontext", "1") is None
    assert lab.find("inbound", "999") is None


def test_s_extension_and_return(lab: Dialplan) -> None:
    ext = lab.find("onekey-arm", "s")
    assert ext is not None
    last = ext.priority(3)
    assert last is not None and last.app == "Return"
    assert lab.next_priority(last, "s") is None


def test_next_priority_walks_n(lab: Dialplan) -> None:
    ext = lab.find("agents", "agent101")
    assert ext is not None
    apps = []
    current = ext.priority(1)
    while current is not None:
        apps.append(current.app)
        current = lab.next_priority(current, "agent101")
    assert apps == ["NoOp", "Ringing", "Wait", "Answer", "Wait", "Hangup"]


def test_labels_and_goto_targets(tmp_path: Path) -> None:
    dp = dialplan(
        tmp_path,
        "[from-pstn]\n"
        "exten => 12345,1,NoOp()\n"
        " same => n,GotoIf($[1]?fallback)\n"
        " same => n(fallback),Goto(other,s,start)\n"
        "exten => 5,10(ten),NoOp\n"
        " same => n,Hangup\n"
        "[other]\n"
        "exten => s,1(start),NoOp(x)\n",
    )
    ext = dp.find("from-pstn", "12345")
    assert ext is not None
    fallback = ext.label("fallback")
    assert fallback is not None and fallback.number == 3 and fallback.app == "Goto"
    assert ext.label("nope") is None
    five = dp.find("from-pstn", "5")
    assert five is not None and sorted(five.priorities) == [10, 11]
    hangup = five.priority(11)
    assert hangup is not None and (hangup.app, hangup.args) == ("Hangup", "")

    target = parse_goto_target("other,s,start", "from-pstn", "12345")
    assert target == GotoTarget("other", "s", None, "start")
    start = dp.locate(target)
    assert start is not None and start.context == "other" and start.number == 1
    relative = parse_goto_target("+1", "from-pstn", "12345")
    located = dp.locate(relative, current_priority=1)
    assert located is not None and located.number == 2
    assert dp.locate(parse_goto_target("fallback", "from-pstn", "12345")) == fallback


def test_includes_are_searched_after_own_extensions(tmp_path: Path) -> None:
    dp = dialplan(
        tmp_path,
        "[a]\ninclude => b\nexten => _X.,1,NoOp(a)\n"
        "[b]\ninclude => a\nexten => 123,1,NoOp(b)\nexten => 77,1,NoOp(b77)\n",
    )
    own = dp.find("a", "123")
    assert own is not None and own.context == "a"  # a's own pattern before b's literal
    included = dp.find("a", "x7")
    assert included is None
    loop_safe = dp.find("b", "999")
    assert loop_safe is not None and loop_safe.context == "a"  # b includes a, no endless loop


def test_an_extension_without_the_wanted_priority_is_passed_over(tmp_path: Path) -> None:
    dp = dialplan(tmp_path, "[c]\nexten => 100,2,NoOp(only 2)\nexten => _X.,1,NoOp(any)\n")
    assert dp.exists("c", "100", 2) and dp.exists("c", "100") and not dp.exists("c", "x")
    first = dp.find("c", "100", priority=1)
    assert first is not None and first.name == "_X."
    second = dp.find("c", "100", priority=2)
    assert second is not None and second.name == "100"


def test_contexts_written_in_two_blocks_add_up(tmp_path: Path) -> None:
    dp = dialplan(
        tmp_path, "[c]\nexten => 1,1,NoOp\n[d]\nexten => 1,1,NoOp\n[c]\nexten => 2,1,NoOp\n"
    )
    assert {e.name for e in dp.contexts["c"].extensions} == {"1", "2"}


def test_globals_and_general(tmp_path: Path) -> None:
    dp = dialplan(tmp_path, "[general]\nstatic = yes\n[globals]\nBRIDGE_AGI = 127.0.0.1:4573\n")
    assert dp.globals == {"BRIDGE_AGI": "127.0.0.1:4573"}
    assert dp.options == {"static": "yes"}


def test_application_names_are_case_insensitive(tmp_path: Path) -> None:
    dp = dialplan(tmp_path, "[c]\nexten => 1,1,gotoif($[1]?2)\nexten => 1,2,NOOP(x)\n")
    ext = dp.find("c", "1")
    assert ext is not None
    first, second = ext.priority(1), ext.priority(2)
    assert first is not None and first.app == "GotoIf"
    assert second is not None and second.app == "NoOp"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[c]\nexten => 1,1,MixMonitor(x.wav)\n", r":2: application 'MixMonitor' is not supported"),
        ("[c]\nexten => 1,hint,PJSIP/100\n", r":2: priority 'hint' is not supported"),
        ("[c]\nexten => 1,n+2,NoOp\n", r":2: priority 'n\+2' is not supported"),
        (
            "[c]\nexten => 1,1,NoOp\nexten => 1,1,NoOp\n",
            r":3: 1 priority 1 is already used at .*:2",
        ),
        ("[c]\nswitch => Realtime/x\n", r":2: switch => is not supported"),
        ("[c]\nignorepat => 9\n", r":2: ignorepat => is not supported"),
        ("[c]\ninclude => d,9:00-17:00,*,*,*\n", r":2: .*timed includes are not supported"),
        ("[c]\nsame => n,NoOp\n", r":2: same => before any exten =>"),
        ("[c]\nexten => 1,n,NoOp\n", r":2: priority n on the first line of a context"),
        ("[c]\nexten => ${X},1,NoOp\n", r":2: .*variables in extension names"),
        ("[c]\nexten => 100/200,1,NoOp\n", r":2: .*caller-ID matching"),
        ("[c]\nexten => _1[2,1,NoOp\n", r":2: .*'\[' without a closing"),
        ("[c]\nexten => 1,1,NoOp(x\n", r":2: .*'\(' without a closing '\)'"),
        ("[c]\nexten => 1,1,NoOp(x) y\n", r":2: .*text after the closing"),
        ("[c]\nexten => 1,1\n", r":2: .*expected priority,App"),
        ("[general]\nextenpatternmatchnew = yes\n", r":2: .*only the default"),
        ("[general]\npriorityjumping = yes\n", r":2: \[general\] option 'priorityjumping'"),
    ],
)
def test_refused_constructs_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{tmp_path / 'extensions.conf'}" + message):
        dialplan(tmp_path, text)
