"""The comparison in fidelity.py must fail on real differences and pass on legitimate ones."""

from __future__ import annotations

from tests.pbxsim.fidelity import compare_conversation, split_server_bytes

LOGIN = (
    b"Asterisk Call Manager/11.0.0\r\n"
    b"Response: Success\r\nActionID: a1\r\nMessage: Authentication accepted\r\n\r\n"
)


def newchannel(name: str, uid: str, linked: str) -> bytes:
    return (
        f"Event: Newchannel\r\nPrivilege: call,all\r\nChannel: {name}\r\n"
        f"Uniqueid: {uid}\r\nLinkedid: {linked}\r\n\r\n"
    ).encode()


def test_identical_streams_match() -> None:
    stream = LOGIN + newchannel("Local/a@b-00000013;1", "lab-1795945616.40", "lab-1795945616.40")
    assert compare_conversation(stream, stream) == []


def test_ids_and_sequences_may_differ_but_keep_relations() -> None:
    trace = LOGIN + newchannel("Local/a@b-00000013;1", "lab-1795945616.40", "lab-1795945616.40")
    trace += newchannel("Local/a@b-00000013;2", "lab-1795945616.41", "lab-1795945616.40")
    emu = LOGIN + newchannel("Local/a@b-00000001;1", "lab-1700000000.1", "lab-1700000000.1")
    emu += newchannel("Local/a@b-00000001;2", "lab-1700000000.2", "lab-1700000000.1")
    assert compare_conversation(trace, emu) == []


def test_broken_linkedid_relation_fails() -> None:
    trace = LOGIN + newchannel("Local/a@b-00000013;1", "lab-1795945616.40", "lab-1795945616.40")
    trace += newchannel("Local/a@b-00000013;2", "lab-1795945616.41", "lab-1795945616.40")
    emu = LOGIN + newchannel("Local/a@b-00000001;1", "lab-1700000000.1", "lab-1700000000.1")
    emu += newchannel("Local/a@b-00000001;2", "lab-1700000000.2", "lab-1700000000.2")
    problems = compare_conversation(trace, emu)
    assert problems and "Linkedid" in problems[0]


def test_changed_value_fails_with_readable_diff() -> None:
    trace = LOGIN
    emu = LOGIN.replace(b"Authentication accepted", b"Authentication failed")
    problems = compare_conversation(trace, emu)
    assert len(problems) == 1
    assert "expected 'Authentication accepted', got 'Authentication failed'" in problems[0]


def test_header_order_matters() -> None:
    trace = LOGIN
    emu = LOGIN.replace(
        b"ActionID: a1\r\nMessage: Authentication accepted",
        b"Message: Authentication accepted\r\nActionID: a1",
    )
    problems = compare_conversation(trace, emu)
    assert problems and "header names differ" in problems[0]


def test_replies_keep_strict_order() -> None:
    first = b"Response: Success\r\nActionID: a1\r\nPing: Pong\r\n\r\n"
    second = b"Response: Error\r\nActionID: a2\r\nMessage: Permission denied\r\n\r\n"
    assert compare_conversation(first + second, second + first)


def test_events_on_different_channels_may_swap_but_not_on_one() -> None:
    one = newchannel("Local/a@b-00000013;1", "lab-1795945616.40", "lab-1795945616.40")
    two = newchannel("Local/a@b-00000013;2", "lab-1795945616.41", "lab-1795945616.40")
    assert compare_conversation(one + two, two + one) == []
    again = newchannel("Local/a@b-00000013;1", "lab-1795945616.42", "lab-1795945616.40")
    assert compare_conversation(one + again, again + one)


def test_missing_and_extra_messages_fail() -> None:
    event = newchannel("Local/a@b-00000013;1", "lab-1795945616.40", "lab-1795945616.40")
    assert compare_conversation(LOGIN + event, LOGIN)
    assert compare_conversation(LOGIN, LOGIN + event)


def test_banner_is_its_own_message() -> None:
    messages = split_server_bytes(LOGIN)
    assert messages[0].headers == [("Banner", "Asterisk Call Manager/11.0.0")]
    assert messages[1].get("Message") == "Authentication accepted"


def bridgepeer(channel: str, value: str) -> bytes:
    return (
        f"Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: {channel}\r\n"
        f"Variable: BRIDGEPEER\r\nValue: {value}\r\n\r\n"
    ).encode()


def test_a_leaving_members_peer_clearing_races_only_in_a_conference() -> None:
    member = "Local/a@b-00000013;1"
    room_peers = bridgepeer(member, "CBAnn/777-0000000f;2,Local/c@d-00000010;1")
    cleared = bridgepeer(member, "")
    # A conference member's own clearing may come before or after another member's rewrite.
    assert compare_conversation(room_peers + cleared, cleared + room_peers) == []
    # In a two-party bridge the same two values keep their order.
    two_party = bridgepeer(member, "Local/c@d-00000010;1")
    assert compare_conversation(two_party + cleared, cleared + two_party)


def _list_item(answered: str) -> bytes:
    return (
        "Event: ConfbridgeList\r\nActionID: c1\r\nConference: 913\r\n"
        f"AnsweredTime: {answered}\r\n\r\n"
    ).encode()


def test_a_duration_may_differ_by_a_second_plus_how_far_the_replay_ran_behind() -> None:
    """AnsweredTime 3 in the trace: 4 passes, 5 fails, unless the replay finished 1.2
    emulated seconds behind the recording (a loaded machine's delays, times the scale)."""
    trace = LOGIN + _list_item("3")
    assert compare_conversation(trace, LOGIN + _list_item("4")) == []
    problems = compare_conversation(trace, LOGIN + _list_item("5"))
    assert problems and "AnsweredTime: expected about '3', got '5'" in problems[0]
    assert compare_conversation(trace, LOGIN + _list_item("5"), slack=1.2) == []
    assert compare_conversation(trace, LOGIN + _list_item("6"), slack=1.2)
