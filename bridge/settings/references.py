"""Checks across sections of a parsed configuration, each problem tied to its key path.

Pydantic checks each value on its own; these checks need the whole file: names that must be
unique, a platform naming a PBX, a zone attached to a centre, a district code from the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bridge.settings.models import (
    AGENT_ROLE_KIND,
    PlatformKind,
    PlatformLevel,
    Settings,
)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def reference_problems(settings: Settings) -> list[Problem]:
    """Every cross-reference problem in `settings`, in file order."""
    checks = (
        _pbx_problems,
        _district_problems,
        _platform_problems,
        _queue_problems,
        _zone_problems,
        _token_problems,
        _listener_problems,
    )
    return [problem for check in checks for problem in check(settings)]


def _duplicates(items: Iterable[tuple[str, str]], what: str) -> Iterator[Problem]:
    """(path, value) pairs -> a problem at every repeat, naming where the value first appeared."""
    first_seen: dict[str, str] = {}
    for path, value in items:
        if value in first_seen:
            yield Problem(path, f"duplicate {what} {value!r} (first at {first_seen[value]})")
        else:
            first_seen[value] = path


def _pbx_problems(settings: Settings) -> Iterator[Problem]:
    yield from _duplicates(
        ((f"pbx[{i}].name", pbx.name) for i, pbx in enumerate(settings.pbx)), "PBX name"
    )


def _district_problems(settings: Settings) -> Iterator[Problem]:
    yield from _duplicates(
        ((f"districts[{i}].code", d.code) for i, d in enumerate(settings.districts)),
        "district code",
    )
    # County-level codes share the city's first four digits (GB/T 2260: province, city, county).
    prefix = settings.city.code[:4]
    for i, district in enumerate(settings.districts):
        if district.code == settings.city.code:
            yield Problem(f"districts[{i}].code", "is the city's own code, not a district")
        elif not district.code.startswith(prefix):
            yield Problem(
                f"districts[{i}].code",
                f"{district.code!r} is not in city {settings.city.code!r} "
                f"(county codes start with {prefix!r})",
            )


def _platform_problems(settings: Settings) -> Iterator[Problem]:
    yield from _duplicates(
        ((f"platforms[{i}].id", p.id) for i, p in enumerate(settings.platforms)), "platform id"
    )
    pbx_names = {pbx.name for pbx in settings.pbx}
    district_codes = {d.code for d in settings.districts}
    for i, platform in enumerate(settings.platforms):
        path = f"platforms[{i}]"
        if platform.pbx not in pbx_names:
            yield Problem(f"{path}.pbx", f"no PBX named {platform.pbx!r} in [[pbx]]")
        if platform.level is PlatformLevel.CITY and platform.district_code != settings.city.code:
            yield Problem(
                f"{path}.district_code",
                f"a city-level platform uses the city code {settings.city.code!r}, "
                f"not {platform.district_code!r}",
            )
        if platform.level is PlatformLevel.COUNTY:
            if platform.kind is PlatformKind.HOTLINE_12345:
                yield Problem(f"{path}.level", "12345 is run at city level only")
            if platform.district_code not in district_codes:
                yield Problem(
                    f"{path}.district_code",
                    f"district code {platform.district_code!r} is not in [[districts]]",
                )
    yield from _one_platform_per_place(settings)


def _one_platform_per_place(settings: Settings) -> Iterator[Problem]:
    first_seen: dict[tuple[PlatformKind, str], int] = {}
    for i, platform in enumerate(settings.platforms):
        place = (platform.kind, platform.district_code)
        if place in first_seen:
            yield Problem(
                f"platforms[{i}].district_code",
                f"a {platform.kind.value} platform for {platform.district_code} already exists "
                f"(platforms[{first_seen[place]}])",
            )
        else:
            first_seen[place] = i
    for kind in PlatformKind:
        has_city = any(p.kind is kind and p.level is PlatformLevel.CITY for p in settings.platforms)
        if not has_city:
            yield Problem("platforms", f"no city-level {kind.value} platform")


def _queue_problems(settings: Settings) -> Iterator[Problem]:
    names = (
        (f"platforms[{i}].queues[{j}].name", queue.name)
        for i, platform in enumerate(settings.platforms)
        for j, queue in enumerate(platform.queues)
    )
    yield from _duplicates(names, "queue name")
    pbx_names = {pbx.name for pbx in settings.pbx}
    for i, platform in enumerate(settings.platforms):
        for j, queue in enumerate(platform.queues):
            for k, trunk in enumerate(queue.trunks):
                path = f"platforms[{i}].queues[{j}].trunks[{k}].from_pbx"
                if trunk.from_pbx not in pbx_names:
                    yield Problem(path, f"no PBX named {trunk.from_pbx!r} in [[pbx]]")
                elif trunk.from_pbx == platform.pbx:
                    yield Problem(
                        path,
                        f"the queue is already on {platform.pbx!r}: a trunk comes from another PBX",
                    )
            yield from _duplicates(
                (
                    (f"platforms[{i}].queues[{j}].trunks[{k}].from_pbx", t.from_pbx)
                    for k, t in enumerate(queue.trunks)
                ),
                "trunk from PBX",
            )


def _zone_problems(settings: Settings) -> Iterator[Problem]:
    yield from _duplicates(
        ((f"zones[{i}].name", z.name) for i, z in enumerate(settings.zones)), "zone name"
    )
    platforms = {p.id: p for p in settings.platforms}
    for i, zone in enumerate(settings.zones):
        centre = platforms.get(zone.attached_to)
        if centre is None:
            yield Problem(f"zones[{i}].attached_to", f"no platform with id {zone.attached_to!r}")
        elif centre.kind is not PlatformKind.POLICE_110:
            yield Problem(
                f"zones[{i}].attached_to",
                f"{zone.attached_to!r} is a {centre.kind.value} platform; zones attach to a "
                "110 centre",
            )


def _token_problems(settings: Settings) -> Iterator[Problem]:
    tokens = settings.api_tokens
    yield from _duplicates(
        ((f"api_tokens[{i}].name", t.name) for i, t in enumerate(tokens)), "token name"
    )
    # Two entries reading the same variable would be one secret with two roles.
    yield from _duplicates(
        ((f"api_tokens[{i}].token_env", t.token_env) for i, t in enumerate(tokens)),
        "token variable",
    )
    platforms = {p.id: p for p in settings.platforms}
    for i, token in enumerate(tokens):
        path = f"api_tokens[{i}].platform"
        wanted_kind = AGENT_ROLE_KIND.get(token.role)
        if token.platform is None:
            if wanted_kind is not None:
                yield Problem(path, f"a {token.role.value} token must name its platform")
            continue
        platform = platforms.get(token.platform)
        if platform is None:
            yield Problem(path, f"no platform with id {token.platform!r}")
        elif wanted_kind is not None and platform.kind is not wanted_kind:
            yield Problem(
                path,
                f"a {token.role.value} token belongs to a {wanted_kind.value} platform, "
                f"{token.platform!r} is {platform.kind.value}",
            )


def _listener_problems(settings: Settings) -> Iterator[Problem]:
    http, agi = settings.http, settings.fastagi
    if http.port == agi.port and (http.host == agi.host or "0.0.0.0" in (http.host, agi.host)):
        yield Problem("http.port", f"port {http.port} is also the FastAGI port")
