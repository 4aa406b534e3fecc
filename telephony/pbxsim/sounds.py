"""Prompts the emulated PBX treats as installed: Asterisk plays files that exist under its
sounds directory; the emulator has no audio, so a folder of placeholder files (any
extension) stands for them, with durations from a sidecar list or a fixed default."""

from __future__ import annotations

from pathlib import Path

SAMPLE_RATE = 8000  # samples per second: STREAM FILE's endpos counts these
# The only prompt the lab Asterisk has installed: "beep", 0.44 s long (endpos=3520).
LAB_SOUNDS = {"beep": 3520}
DEFAULT_SECONDS = 2.0
# `name seconds` per line (name as played, e.g. `hotline-bridge/entry-menu 6.5`); `;` comments.
DURATIONS_FILE = "durations.list"


def load_sound_dir(folder: Path) -> dict[str, int]:
    """Every file under `folder` as a prompt name (path without extension) -> samples."""
    if not folder.is_dir():
        raise ValueError(f"sounds folder {folder} is not a directory")
    durations = _read_durations(folder / DURATIONS_FILE)
    sounds: dict[str, int] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name == DURATIONS_FILE or path.name.startswith("."):
            continue
        name = path.relative_to(folder).with_suffix("").as_posix()
        sounds[name] = round(durations.get(name, DEFAULT_SECONDS) * SAMPLE_RATE)
    unknown = sorted(set(durations) - set(sounds))
    if unknown:
        raise ValueError(f"{folder / DURATIONS_FILE}: no file for {', '.join(unknown)}")
    return sounds


def _read_durations(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    durations: dict[str, float] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            seconds = float(parts[1]) if len(parts) == 2 else -1.0
        except ValueError:
            seconds = -1.0
        if seconds <= 0:
            raise ValueError(f"{path}:{number}: expected `name seconds`, got {raw.strip()!r}")
        durations[parts[0]] = seconds
    return durations
