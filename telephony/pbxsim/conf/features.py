"""`features.conf`: feature codes pressed during a bridged call.

- `[featuremap]`: the built-in features `blindxfer`, `atxfer`, `disconnect` with their DTMF.
- `[applicationmap]`: `name => dtmf,activate_on[/activated_by],App(args)` or
  `name => dtmf,activate_on,App,args[,moh_class]` — pressed on a channel whose
  `DYNAMIC_FEATURES` (`#`-separated) names it, the application runs on `self` (the channel
  that pressed) or on its `peer`. Asterisk 12+ ignores `/activated_by`; so does this.
- `[general]`: transfer timeouts and sounds.

The runtime emulates `atxfer` only; `blindxfer` and `disconnect` are read and listed in
`Features.unemulated` (the runtime logs each with its file:line when it loads them).

Refused: `parkcall`, `automon`, `automixmon`, `[featuregroups]`, an application the emulator
does not run, a feature code that is not DTMF (0-9, *, #, A-D).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .applications import canonical_application
from .arguments import split_app_args
from .errors import ConfigError, Where
from .reader import ConfItem, ConfSection
from .values import parse_int

_DTMF = re.compile(r"[0-9*#A-Da-d]+")
BUILTIN_FEATURES = frozenset({"blindxfer", "atxfer", "disconnect"})
# The built-in features the runtime runs (transfers.py); the others are read, and listed
# with their file:line in Features.unemulated so loading them is never silent.
EMULATED_FEATURES = frozenset({"atxfer"})

_GENERAL_INT = frozenset({"transferdigittimeout", "atxfernoanswertimeout", "featuredigittimeout"})
# Sounds (no audio in the emulator) and the choice to drop the call on a failed transfer.
_GENERAL_OTHER = frozenset(
    {
        "atxferdropcall",
        "xfersound",
        "xferfailsound",
        "transferannouncesound",
        "transferretrysound",
        "transferinvalidsound",
        "courtesytone",
        "pickupsound",
        "pickupfailsound",
    }
)


@dataclass(frozen=True)
class ApplicationFeature:
    name: str
    dtmf: str
    activate_on: str  # "self" or "peer"
    app: str  # canonical application name
    args: str
    moh_class: str
    where: Where


@dataclass
class Features:
    general: dict[str, str]
    timeouts: dict[str, int]
    featuremap: dict[str, str]  # blindxfer -> "#1"
    applicationmap: dict[str, ApplicationFeature]
    # Built-in features mapped but not emulated (pressing them does nothing), with where.
    unemulated: dict[str, Where] = field(default_factory=dict)


def _dtmf(value: str, what: str, where: Where) -> str:
    code = value.strip()
    if not _DTMF.fullmatch(code):
        raise ConfigError(where, f"{what}: {code!r} is not a DTMF sequence (0-9 * # A-D)")
    return code


def _parse_application_feature(item: ConfItem) -> ApplicationFeature:
    parts = split_app_args(item.value, remove_quotes=False)
    if len(parts) < 3:
        raise ConfigError(
            item.where, f"{item.key} => {item.value!r}: expected dtmf,self|peer,App(args)"
        )
    dtmf = _dtmf(parts[0], item.key, item.where)
    activate_on = parts[1].strip().split("/")[0].lower()
    if activate_on not in ("self", "peer"):
        raise ConfigError(item.where, f"{item.key}: activate_on {parts[1]!r} must be self or peer")
    app_text = parts[2].strip()
    moh_class = ""
    if "(" in app_text:
        name, _, rest = app_text.partition("(")
        if not rest.endswith(")"):
            raise ConfigError(item.where, f"{item.key}: {app_text!r} has no closing ')'")
        args = rest[:-1]
        moh_class = parts[3].strip() if len(parts) > 3 else ""
    else:
        name = app_text
        args = parts[3] if len(parts) > 3 else ""
        moh_class = parts[4].strip() if len(parts) > 4 else ""
    app = canonical_application(name.strip())
    if app is None:
        raise ConfigError(item.where, f"{item.key}: application {name.strip()!r} is not supported")
    return ApplicationFeature(item.key, dtmf, activate_on, app, args, moh_class, item.where)


def features_from_sections(sections: list[ConfSection]) -> Features:
    features = Features({}, {}, {}, {})
    for section in sections:
        for item in section.items:
            if section.name == "general":
                if item.key in _GENERAL_INT:
                    features.timeouts[item.key] = parse_int(item.value, item.key, item.where)
                elif item.key in _GENERAL_OTHER:
                    features.general[item.key] = item.value
                else:
                    raise ConfigError(item.where, f"[general] option {item.key!r} is not supported")
            elif section.name == "featuremap":
                if item.key not in BUILTIN_FEATURES:
                    raise ConfigError(item.where, f"feature {item.key!r} is not supported")
                features.featuremap[item.key] = _dtmf(item.value, item.key, item.where)
                if item.key not in EMULATED_FEATURES:
                    features.unemulated[item.key] = item.where
            elif section.name == "applicationmap":
                if item.key in features.applicationmap:
                    first = features.applicationmap[item.key].where
                    raise ConfigError(
                        item.where, f"feature {item.key!r} is already mapped at {first}"
                    )
                features.applicationmap[item.key] = _parse_application_feature(item)
            else:
                raise ConfigError(section.where, f"section [{section.name}] is not supported")
    return features
