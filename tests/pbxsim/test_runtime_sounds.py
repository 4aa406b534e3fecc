"""Prompts from a sounds folder: STREAM FILE of an installed prompt succeeds with its
duration, a missing one fails as on a PBX without it; the shipped placeholders cover every
prompt the configuration names."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from telephony.pbxsim import EmulatedPBX
from telephony.pbxsim.sounds import DEFAULT_SECONDS, SAMPLE_RATE, load_sound_dir

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "asterisk" / "sounds"


def test_files_are_prompts_with_listed_or_default_durations(tmp_path: Path) -> None:
    (tmp_path / "hb").mkdir()
    (tmp_path / "hb" / "menu.wav").write_bytes(b"")
    (tmp_path / "hb" / "hello.gsm").write_bytes(b"")
    (tmp_path / "durations.list").write_text("; seconds\nhb/menu 6.5\n")
    sounds = load_sound_dir(tmp_path)
    assert sounds == {"hb/menu": 52000, "hb/hello": round(DEFAULT_SECONDS * SAMPLE_RATE)}


@pytest.mark.parametrize(
    ("listing", "message"),
    [("hb/menu six\n", r"durations.list:1: expected `name seconds`"), ("hb/gone 2\n", "hb/gone")],
)
def test_a_bad_durations_list_is_refused_by_line(
    tmp_path: Path, listing: str, message: str
) -> None:
    (tmp_path / "hb").mkdir()
    (tmp_path / "hb" / "menu.wav").write_bytes(b"")
    (tmp_path / "durations.list").write_text(listing)
    with pytest.raises(ValueError, match=message):
        load_sound_dir(tmp_path)


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory"):
        load_sound_dir(tmp_path / "nowhere")


def test_the_shipped_placeholders_cover_every_prompt_the_configs_name() -> None:
    named: set[str] = set()
    for path in [REPO / "config" / "ivr.toml", *REPO.glob("config/asterisk/*/extensions.conf")]:
        named |= set(re.findall(r"hotline-bridge/[a-z0-9-]+", path.read_text(encoding="utf-8")))
    assert named, "no prompt names found in the configs"
    assert named <= set(load_sound_dir(SHIPPED))


async def _stream_file_reply(tmp_path: Path, sounds: Path | None) -> str:
    """What the PBX answers a FastAGI `STREAM FILE hotline-bridge/entry-menu ""`."""
    replies: asyncio.Queue[str] = asyncio.Queue()

    async def agi(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass  # the agi_* headers
        writer.write(b'STREAM FILE hotline-bridge/entry-menu ""\n')
        await writer.drain()
        replies.put_nowait((await reader.readline()).decode().strip())
        writer.close()

    server = await asyncio.start_server(agi, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    folder = tmp_path / "pbx"
    folder.mkdir(exist_ok=True)
    (folder / "manager.conf").write_text(
        "[general]\nenabled = yes\nport = 5038\nbindaddr = 127.0.0.1\n\n"
        "[t]\nsecret = t\nread = all\nwrite = all\n"
    )
    (folder / "extensions.conf").write_text(
        f"[callers]\nexten => caller,1,Answer()\n same => n,AGI(agi://127.0.0.1:{port}/x)\n"
        " same => n,Wait(600)\n[park]\nexten => s,1,Wait(600)\n"
    )
    pbx = EmulatedPBX.from_config_dir(folder, time_scale=20.0, sounds=sounds)
    await pbx.start()
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", pbx.ami_port)
        writer.write(
            b"Action: Login\r\nUsername: t\r\nSecret: t\r\n\r\n"
            b"Action: Originate\r\nChannel: Local/caller@callers\r\nContext: park\r\n"
            b"Exten: s\r\nPriority: 1\r\nAsync: true\r\n\r\n"
        )
        reply = await asyncio.wait_for(replies.get(), 10)
        writer.close()
    finally:
        await pbx.stop()
        server.close()
    return reply


async def test_stream_file_plays_an_installed_prompt(tmp_path: Path) -> None:
    assert await _stream_file_reply(tmp_path, None) == "200 result=-1 endpos=0"
    played = await _stream_file_reply(tmp_path, SHIPPED)
    assert played == f"200 result=0 endpos={round(DEFAULT_SECONDS * SAMPLE_RATE)}"
