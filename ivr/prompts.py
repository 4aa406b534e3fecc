"""What the IVR flows say and how patient they are: `config/ivr.toml`.

Prompts are named sound files on the PBX (no extension, as `Playback()` and `STREAM FILE`
take them), so an administrator records them under those names and can rename them here.
Keys, kinds, queue priorities, retries and the dialplan targets the flows send callers to are
here too. Every model forbids unknown keys; a bad file raises `IvrConfigError` naming the key.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from routing.tickets import Kind
from telephony.agi.errors import CommandFailed
from telephony.agi.session import AgiSession

log = logging.getLogger(__name__)

# A sound file name: letters, digits and - _ / (subfolders of the sounds directory).
SoundFile = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*$", max_length=120)]
# Where the dialplan goes next, as Goto() takes it: context,extension,priority.
DialplanTarget = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_\-]+,[A-Za-z0-9_*#+.\-]+,[0-9]+$", max_length=120)
]
Key = Annotated[str, Field(pattern=r"^[0-9]$")]
# Asterisk's QUEUE_PRIO: a higher number is answered first; 0 is the default.
Priority = Annotated[int, Field(ge=0, le=1000, strict=True)]


class IvrConfigError(ValueError):
    """The IVR configuration file is missing, not TOML, or has a bad value (named)."""


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class EntryPrompts(StrictModel):
    greeting: SoundFile = "hotline-bridge/entry-greeting"
    # "If life or property is in danger, press 9; consultation 1, help 2, ... an agent 0."
    menu: SoundFile = "hotline-bridge/entry-menu"
    invalid: SoundFile = "hotline-bridge/entry-invalid"
    no_input: SoundFile = "hotline-bridge/entry-no-input"
    to_agent: SoundFile = "hotline-bridge/entry-to-agent"
    to_110: SoundFile = "hotline-bridge/entry-to-110"


class MenuChoice(StrictModel):
    key: Key
    kind: Kind
    priority: Priority = 0


def _default_choices() -> list[MenuChoice]:
    return [
        MenuChoice(key="1", kind=Kind.CONSULTATION, priority=0),
        MenuChoice(key="2", kind=Kind.HELP, priority=5),
        MenuChoice(key="3", kind=Kind.COMPLAINT, priority=0),
        MenuChoice(key="4", kind=Kind.SUGGESTION, priority=0),
    ]


class EntryMenu(StrictModel):
    """[entry]: the 12345 entry menu (AGI route `entry-12345`)."""

    prompts: EntryPrompts = Field(default_factory=EntryPrompts)
    choices: list[MenuChoice] = Field(default_factory=_default_choices, min_length=1)
    agent_key: Key = "0"
    agent_priority: Priority = 0
    # Danger to life or property: straight to city 110 with an urgent linkage ticket.
    danger_key: Key = "9"
    danger_kind: Kind = Kind.REPORT
    danger_target: DialplanTarget = "hb-trunk,110,1"
    queue_target: DialplanTarget = "hb-queue,12345,1"
    # How long GET DATA waits for a key after the menu prompt, and how many times the menu
    # is offered before an invalid key or silence sends the caller to an agent.
    timeout_ms: int = Field(default=5000, ge=1000, le=60_000, strict=True)
    attempts: int = Field(default=3, ge=1, le=10, strict=True)
    # How long a caller waits for the linkage ticket to be written before moving without one.
    ticket_timeout_ms: int = Field(default=2000, ge=100, le=10_000, strict=True)

    @model_validator(mode="after")
    def _keys_differ(self) -> Self:
        seen: dict[str, str] = {}
        named = [("agent_key", self.agent_key), ("danger_key", self.danger_key)]
        named += [(f"choices[{i}].key", c.key) for i, c in enumerate(self.choices)]
        for name, key in named:
            if key in seen:
                raise ValueError(f"{name} {key!r} is already used by {seen[key]}")
            seen[key] = name
        return self

    def choice(self, key: str) -> MenuChoice | None:
        return next((c for c in self.choices if c.key == key), None)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({self.agent_key, self.danger_key, *(c.key for c in self.choices)})


class DivertPrompts(StrictModel):
    # "You chose 12345 for a non-emergency: press 1 to confirm; stay on the line for 110."
    confirm: SoundFile = "hotline-bridge/divert-confirm"
    to_12345: SoundFile = "hotline-bridge/divert-to-12345"
    back_to_110: SoundFile = "hotline-bridge/divert-back-to-110"


class DivertOffer(StrictModel):
    """[divert]: a caller waiting in q110-city who pressed 1 at the periodic offer
    (AGI route `divert-110`). When the offer plays is queues.conf's business
    (`periodic-announce-frequency`: only callers who waited that long hear it)."""

    prompts: DivertPrompts = Field(default_factory=DivertPrompts)
    # Ask once more before leaving 110: a key pressed in panic must not lose the police.
    confirm: bool = True
    confirm_key: Key = "1"
    timeout_ms: int = Field(default=5000, ge=1000, le=60_000, strict=True)
    kind: Kind = Kind.CONSULTATION
    # How long a caller waits for the linkage ticket to be written before moving without one.
    ticket_timeout_ms: int = Field(default=2000, ge=100, le=10_000, strict=True)
    target: DialplanTarget = "hb-trunk,12345,1"
    back_target: DialplanTarget = "hb-queue,110370800,1"
    # QUEUE_PRIO of a caller who did not confirm: back in the queue ahead of later callers.
    back_priority: Priority = 10


class IvrConfig(StrictModel):
    entry: EntryMenu = Field(default_factory=EntryMenu)
    divert: DivertOffer = Field(default_factory=DivertOffer)


def parse_ivr_config(data: object, source: str = "IVR configuration") -> IvrConfig:
    try:
        return IvrConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            problems.append(f"{where}: {error['msg']}")
        raise IvrConfigError(f"{source}: " + "; ".join(problems)) from None


def load_ivr_config(path: Path) -> IvrConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IvrConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IvrConfigError(f"{path}: not valid TOML ({exc})") from None
    return parse_ivr_config(data, str(path))


async def play(session: AgiSession, prompt: str) -> None:
    """Play a prompt; a file not (yet) recorded on the PBX is logged, and the call goes on."""
    try:
        await session.stream_file(prompt)
    except CommandFailed:
        log.warning("prompt missing on the PBX", extra={"prompt": prompt})
