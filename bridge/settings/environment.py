"""Secrets and API tokens, read from the environment variables the configuration names.

The TOML file holds only variable names, so it can sit in git. A missing AMI secret is an
error when the bridge connects to that PBX; `config check` reports it as a warning because the
file itself is fine. Secret values never go into messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from bridge.settings.models import ApiToken, PbxSettings, Settings
from bridge.settings.references import Problem

# Shorter bearer tokens are guessable; such a token is refused (and reported) rather than used.
MIN_TOKEN_LENGTH = 16


class MissingSecretError(RuntimeError):
    """An environment variable named by the configuration is unset or empty."""


def pbx_secret(pbx: PbxSettings, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    value = env.get(pbx.secret_env, "")
    if not value:
        raise MissingSecretError(
            f"PBX {pbx.name!r}: environment variable {pbx.secret_env} is unset or empty; "
            f"set it to the AMI secret of manager user {pbx.ami_username!r}"
        )
    return value


def environment_problems(settings: Settings, environ: Mapping[str, str]) -> list[Problem]:
    """Warnings about variables that are unset or unusable: the file is valid, the host is not."""
    problems = [
        Problem(f"pbx[{i}].secret_env", f"environment variable {pbx.secret_env} is not set")
        for i, pbx in enumerate(settings.pbx)
        if not environ.get(pbx.secret_env)
    ]
    _, token_problems = resolve_tokens(settings, environ)
    return problems + token_problems


def resolve_tokens(
    settings: Settings, environ: Mapping[str, str]
) -> tuple[dict[str, ApiToken], list[Problem]]:
    """Token value -> its configuration entry, and why any entry was left out."""
    tokens: dict[str, ApiToken] = {}
    problems: list[Problem] = []
    for i, entry in enumerate(settings.api_tokens):
        path = f"api_tokens[{i}].token_env"
        value = environ.get(entry.token_env, "")
        if not value:
            problems.append(
                Problem(
                    path,
                    f"environment variable {entry.token_env} is not set: token "
                    f"{entry.name!r} is disabled",
                )
            )
        elif len(value) < MIN_TOKEN_LENGTH:
            problems.append(
                Problem(
                    path,
                    f"{entry.token_env} holds fewer than {MIN_TOKEN_LENGTH} "
                    f"characters: token {entry.name!r} is disabled",
                )
            )
        elif value in tokens:
            problems.append(
                Problem(
                    path,
                    f"{entry.token_env} holds the same token as "
                    f"{tokens[value].token_env}: token {entry.name!r} is disabled",
                )
            )
        else:
            tokens[value] = entry
    return tokens, problems
