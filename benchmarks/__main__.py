"""Runs benchmarks: `python -m benchmarks` lists them, `python -m benchmarks NAME [ARGS]` runs one,
`python -m benchmarks all` runs every one with its defaults."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def available() -> list[str]:
    return sorted(
        i.name for i in pkgutil.iter_modules(benchmarks.__path__) if not i.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    names = available()
    if not argv:
        print("benchmarks:", ", ".join(names))
        print("run one: python -m benchmarks NAME [ARGS]; all: python -m benchmarks all")
        return 0
    chosen = names if argv[0] == "all" else [argv[0]]
    rest = [] if argv[0] == "all" else argv[1:]
    status = 0
    for name in chosen:
        if name not in names:
            print(f"no benchmark named {name!r}; have: {', '.join(names)}", file=sys.stderr)
            return 2
        module = importlib.import_module(f"benchmarks.{name}")
        status |= module.main(rest)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
