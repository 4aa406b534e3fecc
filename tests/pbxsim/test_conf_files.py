"""Every lab and shipped config folder loads; each file's model; refusals name file:line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from telephony.pbxsim.conf import ConfigError, PbxConfig, load_pbx_config
from tests.traces import LAB_CONFIG

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "asterisk"
FOLDERS = [LAB_CONFIG / "pbx-1", LAB_CONFIG / "pbx-2", SHIPPED / "pbx-12345", SHIPPED / "pbx-110"]


@pytest.fixture(scope="module")
def lab1() -> PbxConfig:
    return load_pbx_config(LAB_CONFIG / "pbx-1")


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_config_folder_loads(folder: Path) -> None:
    config = load_pbx_config(folder)
    assert config.dialplan.contexts and config.manager.users and config.queues.queues


def test_lab_pbx2_loads_with_its_dangling_feature_target_reported() -> None:
    # pbx-2's features.conf (a copy of pbx-1's) runs Gosub(onekey,s,1) but pbx-2 has no
    # [onekey]: Asterisk loads that, so the emulator warns instead of refusing.
    config = load_pbx_config(LAB_CONFIG / "pbx-2")
    assert config.warnings == [
        f"{LAB_CONFIG / 'pbx-2' / 'features.conf'}:20: Gosub(onekey,s,1): "
        "no context [onekey] in extensions.conf"
    ]
    assert load_pbx_config(LAB_CONFIG / "pbx-1").warnings == []


def test_queues(lab1: PbxConfig) -> None:
    queues = lab1.queues.queues
    assert list(queues) == ["q12345", "q110-city", "q110-370811", "q110-370883", "q110-370881"]
    city = queues["q110-city"]
    assert (city.strategy, city.timeout, city.retry, city.wrapuptime, city.weight) == (
        "rrmemory",
        15,
        2,
        0,
        0,
    )
    assert (city.context, city.joinempty, city.leavewhenempty, city.ringinuse) == (
        "divert110",
        True,
        False,
        False,
    )
    assert (city.announce_position, city.announce_holdtime, city.servicelevel) == ("no", "no", 20)
    assert [(m.interface, m.penalty, m.name) for m in city.members] == [
        ("Local/agent111@agents/n", 0, "Agent 111"),
        ("Local/agent112@agents/n", 0, "Agent 112"),
    ]
    assert city.members[0].where.line == 40
    assert queues["q12345"].context is None
    assert lab1.queues.general["autofill"] == "yes"


def test_queue_options_override_their_template(tmp_path: Path) -> None:
    folder = copy_lab(tmp_path)
    (folder / "queues.conf").write_text(
        "[t](!)\nstrategy = leastrecent\nweight = 0\nwrapuptime = 5\n"
        "[q12345](t)\nweight = 10\nperiodic-announce = x/offer\n"
        "periodic-announce-frequency = 45\nmember => PJSIP/110-city-01,3\n",
        encoding="utf-8",
    )
    queue = load_pbx_config(folder).queues.queues["q12345"]
    assert (queue.strategy, queue.weight, queue.wrapuptime) == ("leastrecent", 10, 5)
    assert queue.periodic_announce_frequency == 45
    assert queue.accepted_options == {"periodic-announce": "x/offer"}
    (member,) = queue.members
    assert (member.interface, member.penalty, member.name) == (
        "PJSIP/110-city-01",
        3,
        "PJSIP/110-city-01",
    )


def test_features(lab1: PbxConfig) -> None:
    features = lab1.features
    assert features.featuremap == {"blindxfer": "#1", "disconnect": "*0", "atxfer": "*2"}
    # Read but not emulated: listed with where they are, never silently dropped.
    assert {name: (Path(w.file).name, w.line) for name, w in features.unemulated.items()} == {
        "blindxfer": ("features.conf", 13),
        "disconnect": ("features.conf", 14),
    }
    feature = features.applicationmap["linkage_transfer"]
    assert (feature.dtmf, feature.activate_on, feature.app, feature.args) == (
        "*8",
        "self",
        "Gosub",
        "onekey,s,1",
    )
    assert features.timeouts == {"transferdigittimeout": 3, "atxfernoanswertimeout": 15}


def test_manager(lab1: PbxConfig) -> None:
    manager = lab1.manager
    assert (manager.enabled, manager.port, manager.bindaddr) == (True, 5038, "127.0.0.1")
    assert manager.channelvars == ("TICKET_ID", "CITY_CODE", "LINKAGE_TICKET")
    bridge, readonly = manager.users["bridge"], manager.users["readonly"]
    assert bridge.secret == "bridgepass" and bridge.may_write("originate")
    assert bridge.may_read("call") and bridge.writetimeout == 5000
    assert readonly.write == frozenset() and readonly.may_read("agent")
    assert bridge.permits("127.0.0.1") and not bridge.permits("10.0.0.1")


def test_manager_user_classes(tmp_path: Path) -> None:
    folder = copy_lab(tmp_path)
    append(folder, "manager.conf", "[hb]\nsecret = s\nread = call,agent, dtmf\nwrite = none\n")
    user = load_pbx_config(folder).manager.users["hb"]
    assert user.read == {"call", "agent", "dtmf"} and user.write == frozenset()
    assert user.permits("192.0.2.1")  # no deny/permit rule: allowed, as Asterisk does


def test_confbridge() -> None:
    config = load_pbx_config(SHIPPED / "pbx-12345").confbridge
    assert config.bridges["hb_bridge"].max_members == 3
    assert "default_bridge" in config.bridges and "default_user" in config.users
    assert config.menus["default_menu"].keys == {}  # built in, as in Asterisk
    assert config.users["hb_user"].flag("quiet") and not config.users["hb_user"].flag("admin")
    menu = config.menus["hb_menu"]
    (one,) = menu.keys["1"]
    assert (one.action, one.context, one.exten, one.priority) == (
        "dialplan_exec",
        "hb-conf-keys",
        "1",
        1,
    )
    assert menu.keys["*1"][0].action == "toggle_mute"


def test_iax_trunk(lab1: PbxConfig) -> None:
    iax = lab1.iax
    assert (iax.bindaddr, iax.bindport) == ("127.0.0.1", 4569)
    peer = iax.peers["to110"]
    assert (peer.host, peer.port, peer.username) == ("127.0.0.1", 4570, "lab12345")
    assert iax.users["lab110"].context == "from-110"
    assert "lab110" not in iax.peers and "to110" not in iax.users
    assert load_pbx_config(LAB_CONFIG / "pbx-2").iax.bindport == 4570


def copy_lab(tmp_path: Path) -> Path:
    folder = tmp_path / "pbx"
    shutil.copytree(LAB_CONFIG / "pbx-1", folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def append(folder: Path, name: str, text: str) -> tuple[Path, int]:
    """Append text to a file; returns the file and the line number of the first new line."""
    path = folder / name
    before = path.read_text(encoding="utf-8")
    if not before.endswith("\n"):
        before += "\n"
    path.write_text(before + text, encoding="utf-8")
    return path, before.count("\n") + 1


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "extensions.conf",
            "[x]\nexten => 1,1,NoOp(${SHELL(rm)})\n",
            r"function SHELL\(\) is not supported",
        ),
        ("extensions.conf", "[x]\nexten => 1,1,Set(DB(a/b)=1)\n", r"writing the function DB\(\)"),
        ("extensions.conf", "[x]\nexten => 1,1,Set(A=$[LEN(x)])\n", r"call LEN\(\) inside \$\["),
        (
            "extensions.conf",
            "[x]\nexten => 1,1,Queue(q12345,tTx)\n",
            "Queue option\\(s\\) x not supported",
        ),
        ("extensions.conf", "[x]\nexten => 1,1,Queue(q12345,t,http://x)\n", "URL argument"),
        (
            "extensions.conf",
            "[x]\nexten => 1,1,Dial(PJSIP/100,30)\n",
            "Dial over PJSIP is not supported",
        ),
        ("extensions.conf", "[x]\nexten => 1,1,Dial(IAX2/to110/1,30,m)\n", "Dial options 'm'"),
        (
            "extensions.conf",
            "[x]\nexten => 1,1,Dial(IAX2/to110/1&IAX2/to110/2)\n",
            "Dial to several destinations at once",
        ),
        ("extensions.conf", "[x]\nexten => 1,1,AGI(script.sh)\n", "only FastAGI"),
        ("queues.conf", "[q9]\nautopause = all\n", "autopause = 'all': expected yes or no"),
        (
            "queues.conf",
            "[q9]\nmonitor-format = wav\n",
            "queue option 'monitor-format' is not supported",
        ),
        ("queues.conf", "[q9]\nstrategy = wrandom\n", "strategy = 'wrandom' is not supported"),
        ("queues.conf", "[q9]\nmember => SIP/100\n", "only Local/ and PJSIP/ members"),
        ("queues.conf", "[q9]\nmember => PJSIP/1,x\n", "member penalty = 'x'"),
        ("queues.conf", "[q12345]\n", r"queue \[q12345\] is already defined"),
        ("features.conf", "[featuremap]\nparkcall => #72\n", "feature 'parkcall' is not supported"),
        (
            "features.conf",
            "[applicationmap]\nrec => *3,self,MixMonitor(x)\n",
            "application 'MixMonitor'",
        ),
        ("features.conf", "[applicationmap]\nbad => *3,both,NoOp()\n", "must be self or peer"),
        ("features.conf", "[applicationmap]\nbad => 9x,self,NoOp()\n", "is not a DTMF sequence"),
        (
            "features.conf",
            "[featuregroups]\ng => x\n",
            r"section \[featuregroups\] is not supported",
        ),
        ("manager.conf", "[u]\nsecret = s\nread = all,spying\n", "unknown class\\(es\\) spying"),
        (
            "manager.conf",
            "[u]\nsecret = s\neventfilter = x\n",
            "option 'eventfilter' is not supported",
        ),
        ("manager.conf", "[u]\nread = all\n", r"manager user \[u\] has no secret"),
        (
            "confbridge.conf",
            "[m]\ntype = menu\n5 = admin_kick_last\n",
            "menu action 'admin_kick_last'",
        ),
        ("confbridge.conf", "[m]\ntype = menu\n5 = dialplan_exec(a,b)\n", "expected dialplan_exec"),
        (
            "confbridge.conf",
            "[b]\ntype = bridge\nrecord_conference = yes\n",
            "record_conference = yes",
        ),
        ("confbridge.conf", "[b]\ntype = bridge\nvideo_mode = follow_talker\n", "'video_mode'"),
        ("confbridge.conf", "[b]\nmax_members = 3\n", "has no type"),
        ("iax.conf", "[p]\ntype = peer\nhost = dynamic\n", "host = dynamic"),
        (
            "iax.conf",
            "[p]\ntype = peer\nhost = h\nencryption = aes128\n",
            "'encryption' is not supported",
        ),
        ("iax.conf", "[p]\nhost = h\n", "needs type = peer, user or friend"),
        ("iax.conf", "[to110]\ntype = peer\nhost = h\n", r"IAX2 \[to110\] is defined twice"),
        ("confbridge.conf", "[default_user]\ntype = user\n", r"\[default_user\] is defined twice"),
        (
            "features.conf",
            "linkage_transfer => *9,self,NoOp()\n",
            "feature 'linkage_transfer' is already mapped at",
        ),
    ],
)
def test_unsupported_constructs_are_refused_with_file_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    folder = copy_lab(tmp_path)
    path, first_line = append(folder, name, text)
    with pytest.raises(ConfigError) as raised:
        load_pbx_config(folder)
    error = raised.value
    assert error.where is not None and error.where.file == str(path), str(error)
    assert first_line <= error.where.line <= first_line + text.count("\n"), str(error)
    assert str(error).startswith(f"{path}:{error.where.line}: ")
    assert re.search(message, str(error)), str(error)


def test_mistakes_asterisk_loads_become_warnings(tmp_path: Path) -> None:
    folder = copy_lab(tmp_path)
    path, line = append(
        folder,
        "extensions.conf",
        "[x]\nexten => 1,1,Goto(nowhere,1,1)\n same => n,Queue(nope)\n"
        " same => n,ConfBridge(1,nobridge)\n same => n,GotoIf($[1]?missinglabel)\n"
        " same => n,Goto(${DYNAMIC},1)\n same => n,UserEvent(Ev,oops)\n"
        " same => n,Wait(soon)\n same => n,GotoIf(1)\n same => n,Set(NOVALUE)\n",
    )
    warnings = load_pbx_config(folder).warnings
    assert warnings == [
        f"{path}:{line + 1}: Goto(nowhere,1,1): no context [nowhere] in extensions.conf",
        f"{path}:{line + 2}: Queue(nope): no queue [nope] in queues.conf",
        f"{path}:{line + 3}: ConfBridge(1,nobridge): "
        "no bridge profile [nobridge] in confbridge.conf",
        f"{path}:{line + 4}: GotoIf($[1]?missinglabel): target x,1,missinglabel does not exist",
        f"{path}:{line + 6}: UserEvent(Ev,oops): 'oops' is not 'Header: value'; "
        "app_userevent skips it",
        f"{path}:{line + 7}: Wait(soon): expected a number of seconds",
        f"{path}:{line + 8}: GotoIf(1): no '?' after the condition",
        f"{path}:{line + 9}: Set(NOVALUE): must be Set(name=value); Asterisk sets nothing",
    ]


def test_folder_level_refusals(tmp_path: Path) -> None:
    folder = copy_lab(tmp_path)
    (folder / "pjsip.conf").write_text("[general]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pjsip\.conf: this file is not supported"):
        load_pbx_config(folder)
    (folder / "pjsip.conf").unlink()
    (folder / "manager.conf").unlink()
    with pytest.raises(ConfigError, match=r"manager\.conf: required file is missing"):
        load_pbx_config(folder)
    with pytest.raises(ConfigError, match="is not a folder"):
        load_pbx_config(tmp_path / "nothing")


def test_included_files_are_not_refused_as_extra(tmp_path: Path) -> None:
    folder = copy_lab(tmp_path)
    (folder / "extensions-local.conf").write_text(
        "[local]\nexten => 1,1,Goto(inbound,110,1)\n", encoding="utf-8"
    )
    append(folder, "extensions.conf", "#include extensions-local.conf\n")
    config = load_pbx_config(folder)
    local = config.dialplan.find("local", "1")
    assert local is not None
    first = local.priority(1)
    assert first is not None and first.where.file == str(folder / "extensions-local.conf")
    assert config.warnings == []


def test_dry_run_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from telephony.pbxsim.conf.__main__ import main

    assert main([str(LAB_CONFIG / "pbx-1"), str(LAB_CONFIG / "pbx-2")]) == 0
    out = capsys.readouterr().out
    assert "pbx-1: 10 contexts, 82 priorities, 5 queues" in out
    assert "warning: " in out and "no context [onekey]" in out

    folder = copy_lab(tmp_path)
    path, line = append(folder, "extensions.conf", "[x]\nexten => 1,1,System(reboot)\n")
    assert main([str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"refused: {path}:{line + 1}: application 'System' is not supported" in err
    assert main([]) == 2
