"""ConfBridge user menus from confbridge.conf: a key a member presses runs its action while
the member stays in the room (how an agent in a three-party call reaches the bridge)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.conf import ConfigError
from tests.pbxsim.amiclient import Client, running_pbx

TIME_SCALE = 20.0


def _folder(tmp_path: Path, menu_line: str = "") -> Path:
    (tmp_path / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    (tmp_path / "confbridge.conf").write_text(
        "[general]\n[b]\ntype = bridge\n[u]\ntype = user\n"
        "[m]\ntype = menu\n1 = dialplan_exec(keys,1,1)\n99 = leave_conference\n"
        "*1 = toggle_mute\n" + menu_line
    )
    (tmp_path / "extensions.conf").write_text(
        "[callers]\nexten => caller,1,Answer()\n same => n,Wait(600)\n"
        "[rooms]\nexten => 7,1,Answer()\n same => n,ConfBridge(7,b,u,m)\n"
        " same => n,UserEvent(AfterRoom,Result: ${CONFBRIDGE_RESULT})\n same => n,Wait(600)\n"
        "[keys]\nexten => 1,1,UserEvent(MenuKey,Key: ${EXTEN},Who: ${CHANNEL})\n"
        " same => n,Return()\n"
    )
    return tmp_path


async def _member(client: Client) -> tuple[str, str]:
    """A member in room 7: its ;1 (in the room) and ;2 (the phone side that presses keys)."""
    client.send(
        "Action: Originate\nChannel: Local/caller@callers\nContext: rooms\nExten: 7\n"
        "Priority: 1\nAsync: true\n"
    )
    await asyncio.sleep(2 / TIME_SCALE)
    joined = [e["Channel"] for e in client.events("ConfbridgeJoin")]
    assert joined, "the member never joined the room"
    return joined[0], joined[0][:-1] + "2"


async def _press(client: Client, phone: str, digits: str) -> None:
    for digit in digits:
        client.send(f"Action: PlayDTMF\nChannel: {phone}\nDigit: {digit}\nDuration: 100\n")
        await asyncio.sleep(0.5 / TIME_SCALE)


async def test_a_menu_key_runs_its_dialplan_and_the_member_stays(tmp_path: Path) -> None:
    async with running_pbx(_folder(tmp_path), TIME_SCALE) as (pbx, client):
        member, phone = await _member(client)
        await _press(client, phone, "15*1")
        await asyncio.sleep(1 / TIME_SCALE)
        keys = client.events("UserEvent")
        assert [(e["UserEvent"], e["Key"], e["Who"]) for e in keys] == [("MenuKey", "1", member)]
        assert not client.events("ConfbridgeLeave"), "a menu key took the member out"
        assert [m.name for m in pbx.conferences["7"].members] == [member]
        # The dialplan position is back in the room after the menu's dialplan ran.
        assert pbx.channels[member].context == "rooms"
        await _press(client, phone, "99")
        await asyncio.sleep(1 / TIME_SCALE)
        after = [e for e in client.events("UserEvent") if e["UserEvent"] == "AfterRoom"]
        assert after and after[0]["Result"] == "DTMF"


async def test_a_menu_action_outside_the_subset_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"confbridge\.conf:.*admin_kick_last"):
        EmulatedPBX.from_config_dir(_folder(tmp_path, "3 = admin_kick_last\n"))
