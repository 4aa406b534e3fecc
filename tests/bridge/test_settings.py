"""Settings: the Jining default loads, and each kind of mistake names its key path."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.settings import (
    MissingSecretError,
    PlatformKind,
    PlatformLevel,
    Role,
    SettingsError,
    config_path,
    environment_problems,
    load_settings,
    parse_settings,
    pbx_secret,
    resolve_tokens,
)

REPO = Path(__file__).resolve().parents[2]
JINING = REPO / "config" / "jining.toml"
JINING_DISTRICTS = {
    "370811": "任城区",
    "370812": "兖州区",
    "370826": "微山县",
    "370827": "鱼台县",
    "370828": "金乡县",
    "370829": "嘉祥县",
    "370830": "汶上县",
    "370831": "泗水县",
    "370832": "梁山县",
    "370881": "曲阜市",
    "370883": "邹城市",
}
Data = dict[str, Any]


def jining_data() -> Data:
    return copy.deepcopy(tomllib.loads(JINING.read_text(encoding="utf-8")))


def test_jining_default_has_every_platform_of_the_plan() -> None:
    settings = load_settings(JINING)
    assert settings.timezone == "Asia/Shanghai"
    assert settings.city.code == "370800"
    assert {d.code: d.name for d in settings.districts} == JINING_DISTRICTS
    county = [p for p in settings.platforms if p.level is PlatformLevel.COUNTY]
    assert sorted(p.district_code for p in county) == sorted(JINING_DISTRICTS)
    assert all(p.kind is PlatformKind.POLICE_110 for p in county)
    assert settings.platform("12345-370800").queues[0].name == "q12345"
    assert settings.platform("110-370800").queues[0].name == "q110-city"
    assert {q.name for p in county for q in p.queues} == {f"q110-{c}" for c in JINING_DISTRICTS}
    assert {z.name for z in settings.zones} == {"济宁高新区", "太白湖新区", "济宁经济技术开发区"}
    assert settings.centre_for_zone("太白湖新区").kind is PlatformKind.POLICE_110
    assert (settings.feature_codes.one_key_transfer, settings.feature_codes.three_party_call) == (
        "*8",
        "*9",
    )
    assert {t.role for t in settings.api_tokens} == set(Role)


def test_jining_default_holds_no_literal_secret() -> None:
    text = JINING.read_text(encoding="utf-8")
    assert "secret =" not in text and "token =" not in text
    settings = load_settings(JINING)
    assert all(pbx.secret_env.startswith("HOTLINE_") for pbx in settings.pbx)


def test_trunk_route_reaches_the_other_pbx() -> None:
    settings = load_settings(JINING)
    trunk = settings.platform("110-370800").queues[0].trunks[0]
    assert trunk.from_pbx == "pbx-12345"
    assert (trunk.context, trunk.extension, trunk.dial) == ("hb-trunk", "110", "IAX2/to110/110")


def _set(path: list[Any], value: Any) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: list[Any]) -> Callable[[Data], None]:
    def change(data: Data) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


def _append(section: str, item: Data) -> Callable[[Data], None]:
    return lambda data: data.setdefault(section, []).append(item)


BAD_CASES: list[tuple[str, Callable[[Data], None], str, str]] = [
    ("unknown top key", _set(["colour"], "blue"), "colour", "unknown key; allowed here:"),
    ("unknown nested key", _set(["pbx", 0, "password"], "x"), "pbx[0].password", "unknown key"),
    (
        "unknown queue key",
        _set(["platforms", 3, "queues", 0, "size"], 5),
        "platforms[3].queues[0].size",
        "allowed here: context, extension, name, trunks",
    ),
    ("missing city", _delete(["city"]), "city", "required key is missing"),
    ("missing pbx host", _delete(["pbx", 1, "ami_host"]), "pbx[1].ami_host", "required key"),
    ("port text", _set(["pbx", 0, "ami_port"], "five"), "pbx[0].ami_port", "valid integer"),
    ("port range", _set(["http", "port"], 70000), "http.port", "less than or equal to 65535"),
    (
        "literal secret instead of env name",
        _set(["pbx", 0, "secret_env"], "hunter2"),
        "pbx[0].secret_env",
        "environment variable name",
    ),
    (
        "bad district code",
        _set(["districts", 2, "code"], "37082"),
        "districts[2].code",
        "six-digit division code",
    ),
    ("bad kind", _set(["platforms", 0, "kind"], "119"), "platforms[0].kind", "'12345' or '110'"),
    ("bad level", _set(["platforms", 1, "level"], "province"), "platforms[1].level", "'city'"),
    (
        "queue name with space",
        _set(["platforms", 3, "queues", 0, "name"], "q 110"),
        "platforms[3].queues[0].name",
        "Asterisk queue name",
    ),
    (
        "platform without queues",
        _set(["platforms", 4, "queues"], []),
        "platforms[4].queues",
        "at least 1",
    ),
    (
        "duplicate queue name",
        _set(["platforms", 3, "queues", 0, "name"], "q12345"),
        "platforms[3].queues[0].name",
        "duplicate queue name 'q12345' (first at platforms[0].queues[0].name)",
    ),
    (
        "platform on a missing PBX",
        _set(["platforms", 5, "pbx"], "pbx-119"),
        "platforms[5].pbx",
        "no PBX named 'pbx-119'",
    ),
    (
        "district not in the list",
        _set(["platforms", 2, "district_code"], "370899"),
        "platforms[2].district_code",
        "'370899' is not in [[districts]]",
    ),
    (
        "city platform with a district code",
        _set(["platforms", 1, "district_code"], "370811"),
        "platforms[1].district_code",
        "city code '370800'",
    ),
    (
        "county 12345",
        _set(["platforms", 2, "kind"], "12345"),
        "platforms[2].level",
        "city level only",
    ),
    (
        "two centres for one district",
        _set(["platforms", 3, "district_code"], "370811"),
        "platforms[3].district_code",
        "a 110 platform for 370811 already exists (platforms[2])",
    ),
    (
        "no city 12345",
        _set(["platforms", 0, "kind"], "110"),
        "platforms[1].district_code",
        "a 110 platform for 370800 already exists",
    ),
    ("duplicate platform id", _set(["platforms", 4, "id"], "110-370811"), "platforms[4].id", ""),
    (
        "zone on a missing centre",
        _set(["zones", 1, "attached_to"], "110-370899"),
        "zones[1].attached_to",
        "no platform with id '110-370899'",
    ),
    (
        "zone on 12345",
        _set(["zones", 0, "attached_to"], "12345-370800"),
        "zones[0].attached_to",
        "zones attach to a 110 centre",
    ),
    (
        "trunk from a missing PBX",
        _set(["platforms", 1, "queues", 0, "trunks", 0, "from_pbx"], "pbx-x"),
        "platforms[1].queues[0].trunks[0].from_pbx",
        "no PBX named 'pbx-x'",
    ),
    (
        "trunk from its own PBX",
        _set(["platforms", 1, "queues", 0, "trunks", 0, "from_pbx"], "pbx-110"),
        "platforms[1].queues[0].trunks[0].from_pbx",
        "a trunk comes from another PBX",
    ),
    (
        "trunk dial without technology",
        _set(["platforms", 1, "queues", 0, "trunks", 0, "dial"], "to110"),
        "platforms[1].queues[0].trunks[0].dial",
        "dial string TECH/resource",
    ),
    (
        "duplicate PBX",
        _set(["pbx", 1, "name"], "pbx-12345"),
        "pbx[1].name",
        "duplicate PBX name",
    ),
    (
        "district outside the city",
        _set(["districts", 0, "code"], "370911"),
        "districts[0].code",
        "county codes start with '3708'",
    ),
    (
        "same feature codes",
        _set(["feature_codes", "three_party_call"], "*8"),
        "feature_codes",
        "both '*8'",
    ),
    (
        "feature code letters",
        _set(["feature_codes", "one_key_transfer"], "*x"),
        "feature_codes.",
        "DTMF",
    ),
    ("unknown role", _set(["api_tokens", 0, "role"], "root"), "api_tokens[0].role", "'admin'"),
    (
        "agent token without platform",
        _delete(["api_tokens", 1, "platform"]),
        "api_tokens[1].platform",
        "must name its platform",
    ),
    (
        "110 agent on a 12345 platform",
        _set(["api_tokens", 1, "platform"], "12345-370800"),
        "api_tokens[1].platform",
        "belongs to a 110 platform",
    ),
    (
        "token on a missing platform",
        _set(["api_tokens", 2, "platform"], "nowhere"),
        "api_tokens[2].platform",
        "no platform with id 'nowhere'",
    ),
    (
        "two tokens, one variable",
        _set(["api_tokens", 3, "token_env"], "HOTLINE_TOKEN_SUPERVISOR"),
        "api_tokens[3].token_env",
        "duplicate token variable",
    ),
    ("bad time zone", _set(["timezone"], "Mars/Olympus"), "timezone", "unknown IANA time zone"),
    ("bad redis url", _set(["redis", "url"], "http://x"), "redis.url", "redis://, rediss://"),
    ("bad fsync", _set(["redis", "appendfsync"], "no"), "redis.appendfsync", "'everysec'"),
    ("port clash", _set(["http", "port"], 4573), "http.port", "also the FastAGI port"),
    ("pbx as table", _set(["pbx"], {"name": "x"}), "pbx", "must be a list ([[pbx]] tables)"),
    ("zone as text", _set(["zones", 0], "济宁高新区"), "zones[0]", "must be a table"),
    ("port true", _set(["http", "port"], True), "http.port", "valid integer, got True"),
    (
        "deadline false",
        _set(["shutdown", "deadline_seconds"], False),
        "shutdown.deadline_seconds",
        "valid number",
    ),
    (
        "extra zone bad",
        _append("zones", {"name": "x"}),
        "zones[3].attached_to",
        "required key is missing",
    ),
]


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [case[1:] for case in BAD_CASES],
    ids=[case[0] for case in BAD_CASES],
)
def test_bad_settings_name_the_key_path(
    change: Callable[[Data], None], path: str, fragment: str
) -> None:
    data = jining_data()
    change(data)
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, "jining.toml")
    error = caught.value
    assert error.path.startswith(path), str(error)
    assert fragment in error.problem, str(error)
    assert str(error).startswith(f"jining.toml: {error.path}: ")


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    data = jining_data()
    data["pbx"][0]["ami_port"] = 0
    data["http"]["port"] = -1
    with pytest.raises(SettingsError) as caught:
        parse_settings(data, "f.toml")
    assert caught.value.path == "pbx[0].ami_port"
    assert str(caught.value).endswith("(and 1 more problem)")


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('timezone = "Asia/Shanghai"\n[city]\ncode = 370800"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert caught.value.path == "line 3, column 14"
    assert "TOML syntax error" in caught.value.problem
    assert str(caught.value).startswith(str(path))


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read the file"):
        load_settings(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'timezone = "x"\nname = "\xe9"\n')
    with pytest.raises(SettingsError, match="line 2: the file is not UTF-8"):
        load_settings(latin)


def test_config_path_prefers_argument_then_environment() -> None:
    assert config_path("a.toml", {"HOTLINE_CONFIG": "b.toml"}) == Path("a.toml")
    assert config_path(None, {"HOTLINE_CONFIG": "b.toml"}) == Path("b.toml")
    assert config_path(None, {}) == Path("config/jining.toml")


def test_pbx_secret_comes_from_the_named_variable() -> None:
    pbx = load_settings(JINING).pbx_named("pbx-110")
    assert pbx_secret(pbx, {"HOTLINE_AMI_SECRET_PBX110": "s3cret"}) == "s3cret"
    with pytest.raises(MissingSecretError, match="HOTLINE_AMI_SECRET_PBX110 is unset"):
        pbx_secret(pbx, {})


def test_tokens_resolve_and_weak_or_missing_ones_are_disabled() -> None:
    settings = load_settings(JINING)
    environ = {
        "HOTLINE_TOKEN_DESK_12345": "a" * 32,
        "HOTLINE_TOKEN_DESK_110": "short",
        "HOTLINE_TOKEN_SUPERVISOR": "a" * 32,
        "HOTLINE_TOKEN_ADMIN": "b" * 32,
    }
    tokens, problems = resolve_tokens(settings, environ)
    assert {entry.name for entry in tokens.values()} == {"desk-12345-city", "admin"}
    messages = [str(p) for p in problems]
    assert any("HOTLINE_TOKEN_DESK_110 holds fewer than 16" in m for m in messages)
    assert any("same token as HOTLINE_TOKEN_DESK_12345" in m for m in messages)
    assert any("HOTLINE_TOKEN_MONITOR is not set" in m for m in messages)
    assert all("aaaa" not in m and "bbbb" not in m for m in messages)


def test_environment_problems_name_unset_secrets() -> None:
    settings = load_settings(JINING)
    problems = environment_problems(settings, {"HOTLINE_AMI_SECRET_PBX12345": "x"})
    paths = [p.path for p in problems]
    assert "pbx[1].secret_env" in paths and "pbx[0].secret_env" not in paths


def test_redis_password_is_masked_for_display() -> None:
    data = jining_data()
    data["redis"]["url"] = "redis://bridge:pa55@redis.internal:6380/2"
    settings = parse_settings(data)
    assert settings.redis.display_url == "redis://bridge:***@redis.internal:6380/2"


def test_queues_and_contexts_exist_in_the_shipped_asterisk_configs() -> None:
    """Each queue names a section of its PBX's queues.conf and a context of extensions.conf."""
    settings = load_settings(JINING)
    for platform in settings.platforms:
        conf_dir = REPO / "config" / "asterisk" / platform.pbx
        queues_conf = (conf_dir / "queues.conf").read_text(encoding="utf-8")
        dialplan = (conf_dir / "extensions.conf").read_text(encoding="utf-8")
        for queue in platform.queues:
            assert f"[{queue.name}]" in queues_conf, (platform.pbx, queue.name)
            assert f"[{queue.context}]" in dialplan, (platform.pbx, queue.context)
            for trunk in queue.trunks:
                trunk_plan = REPO / "config" / "asterisk" / trunk.from_pbx / "extensions.conf"
                assert f"[{trunk.context}]" in trunk_plan.read_text(encoding="utf-8")
