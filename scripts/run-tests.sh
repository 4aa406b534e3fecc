#!/usr/bin/env bash
# The README's test command: lint, type-check, then the whole test suite.
set -euo pipefail
VENV=${1:-.venv}
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
"$VENV/bin/pytest" -q
