"""Reading a TOML file into `Settings`, turning every failure into one readable message.

An operator fixing a file wants to know which file, which key and what is wrong with it, not a
traceback: `SettingsError` carries exactly those three things.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bridge.settings import models
from bridge.settings.models import Settings
from bridge.settings.references import reference_problems

DEFAULT_CONFIG = Path("config/jining.toml")
CONFIG_ENV = "HOTLINE_CONFIG"

# What each pattern means, said the way an operator would say it.
PATTERN_MEANINGS = {
    models.ENV_NAME_PATTERN: "an environment variable name in capitals, like HOTLINE_TOKEN_X",
    models.DISTRICT_CODE_PATTERN: "a six-digit division code, like 370811",
    models.QUEUE_NAME_PATTERN: "an Asterisk queue name (letters, digits, '-', '_', '.')",
    models.DIALPLAN_TOKEN_PATTERN: "a name without spaces or commas (letters, digits, _-*#+.)",
    models.FEATURE_CODE_PATTERN: "a DTMF code of digits, '*' and '#', like *8",
    models.DIAL_STRING_PATTERN: "an Asterisk dial string TECH/resource, like IAX2/to110/110",
    models.REDIS_URL_PATTERN: "a redis://, rediss:// or unix:// URL",
}
TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")


class SettingsError(Exception):
    """A configuration that cannot be used: the file, the key path and the problem."""

    def __init__(self, source: str, path: str, problem: str, more: int = 0) -> None:
        self.source = source
        self.path = path
        self.problem = problem
        self.more = more
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        tail = f" (and {self.more} more problem{'s' if self.more > 1 else ''})" if self.more else ""
        return f"{where}: {self.problem}{tail}"


def config_path(given: str | Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The file to use: the one given, else $HOTLINE_CONFIG, else config/jining.toml."""
    env = os.environ if environ is None else environ
    if given:
        return Path(given)
    return Path(env.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: str | Path) -> Settings:
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SettingsError(source, "", f"cannot read the file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SettingsError(source, f"line {line}", "the file is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, exc) from None
    return parse_settings(data, source)


def parse_settings(data: Mapping[str, Any], source: str = "<settings>") -> Settings:
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        path, problem = describe_error(errors[0])
        raise SettingsError(source, path, problem, more=len(errors) - 1) from None
    problems = reference_problems(settings)
    if problems:
        first = problems[0]
        raise SettingsError(source, first.path, first.message, more=len(problems) - 1)
    return settings


def _syntax_error(source: str, exc: tomllib.TOMLDecodeError) -> SettingsError:
    message = str(exc)
    position = TOML_POSITION.search(message)
    if position is None:
        return SettingsError(source, "", f"TOML syntax error: {message}")
    line, column = position.groups()
    where = f"line {line}, column {column}" if line else "end of file"
    detail = message[: position.start()]
    return SettingsError(source, where, f"TOML syntax error: {detail}")


def key_path(loc: tuple[int | str, ...]) -> str:
    """('platforms', 3, 'queues', 0, 'name') -> 'platforms[3].queues[0].name'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def describe_error(error: ErrorDetails) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return key_path(loc), "required key is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return key_path(loc), f"unknown key{hint}"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        meaning = PATTERN_MEANINGS.get(pattern, f"text matching {pattern}")
        return key_path(loc), f"must be {meaning}, got {_shown(error['input'])}"
    if kind in ("model_type", "dict_type"):
        return key_path(loc), f"must be a table (key = value pairs), got {_shown(error['input'])}"
    if kind == "list_type":
        return key_path(loc), f"must be a list ([[{loc[-1]}]] tables), got {_shown(error['input'])}"
    message = error["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        return key_path(loc), message
    return key_path(loc), f"{message[:1].lower()}{message[1:]}, got {_shown(error['input'])}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] | None = Settings
    for part in loc:
        if model is None:
            return []
        if isinstance(part, str):
            field = model.model_fields.get(part)
            model = _model_in(field.annotation) if field else None
    return sorted(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `list[Queue]` or `Token | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
