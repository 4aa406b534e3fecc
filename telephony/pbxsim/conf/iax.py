"""The trunk part of `iax.conf`: where this PBX listens, whom it dials, whom it accepts.

- `[general]` `bindport`/`bindaddr` as chan_iax2 reads them, in order: `bindaddr` binds at
  once, with the port in the address or the `bindport` seen so far (default 4569), so a
  `bindport` after `bindaddr` is ignored (the lab iax.conf notes this).
- `type = peer` sections are dialled (`Dial(IAX2/<peer>/<exten>)`) at `host:port`, presenting
  `username`; `type = user` sections accept calls whose username is the section name and put
  them in `context`; `type = friend` is both.

Codec, call-token and jitter-buffer settings change nothing the emulator models and are
accepted; other options are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError, Where
from .reader import ConfSection
from .values import parse_int

DEFAULT_PORT = 4569
_MEDIA_OPTIONS = frozenset(
    {
        "disallow",
        "allow",
        "requirecalltoken",
        "jitterbuffer",
        "forcejitterbuffer",
        "autokill",
        "delayreject",
        "iaxcompat",
        "trunk",
        "qualify",
    }
)
_PEER_KEYS = frozenset({"type", "host", "port", "username", "secret", "context"})


@dataclass
class IaxEndpoint:
    name: str
    where: Where
    kind: str  # "peer", "user" or "friend"
    host: str = ""
    port: int = DEFAULT_PORT
    username: str = ""
    secret: str = ""
    context: str = "default"

    @property
    def dials_out(self) -> bool:
        return self.kind in ("peer", "friend")

    @property
    def accepts_in(self) -> bool:
        return self.kind in ("user", "friend")


@dataclass
class IaxConfig:
    bindaddr: str = "0.0.0.0"
    bindport: int = DEFAULT_PORT
    peers: dict[str, IaxEndpoint] = field(default_factory=dict)
    users: dict[str, IaxEndpoint] = field(default_factory=dict)


def _read_general(section: ConfSection, config: IaxConfig) -> None:
    pending_port = DEFAULT_PORT
    bound = False
    for item in section.items:
        if item.key == "bindport":
            pending_port = parse_int(item.value, item.key, item.where, minimum=1)
            if not bound:
                config.bindport = pending_port
        elif item.key == "bindaddr":
            address, colon, port = item.value.strip().partition(":")
            config.bindaddr = address
            config.bindport = (
                parse_int(port, "bindaddr port", item.where, minimum=1) if colon else pending_port
            )
            bound = True
        elif item.key not in _MEDIA_OPTIONS:
            raise ConfigError(
                item.where, f"iax.conf [general] option {item.key!r} is not supported"
            )


def _read_endpoint(section: ConfSection) -> IaxEndpoint:
    kind_item = section.get("type")
    if kind_item is None or kind_item.value not in ("peer", "user", "friend"):
        raise ConfigError(section.where, f"[{section.name}] needs type = peer, user or friend")
    endpoint = IaxEndpoint(section.name, section.where, kind_item.value)
    for item in section.items:
        if item.key in _MEDIA_OPTIONS or item.key == "type":
            continue
        if item.key not in _PEER_KEYS:
            raise ConfigError(item.where, f"iax.conf option {item.key!r} is not supported")
        if item.key == "port":
            endpoint.port = parse_int(item.value, item.key, item.where, minimum=1)
        elif item.key == "host" and item.value == "dynamic":
            raise ConfigError(item.where, "host = dynamic (registration) is not supported")
        else:
            setattr(endpoint, item.key, item.value)
    if endpoint.dials_out and not endpoint.host:
        raise ConfigError(section.where, f"IAX2 peer [{section.name}] has no host")
    return endpoint


def iax_from_sections(sections: list[ConfSection]) -> IaxConfig:
    config = IaxConfig()
    for section in sections:
        if section.name == "general":
            _read_general(section, config)
            continue
        endpoint = _read_endpoint(section)
        if section.name in config.peers or section.name in config.users:
            raise ConfigError(section.where, f"IAX2 [{section.name}] is defined twice")
        if endpoint.dials_out:
            config.peers[section.name] = endpoint
        if endpoint.accepts_in:
            config.users[section.name] = endpoint
    return config
