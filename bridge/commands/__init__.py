"""One module per `hotline-bridge` sub-command.

Each module defines ``register(subparsers) -> None`` which adds its parser and sets
``func=<callable(args) -> int>`` as the parser default. ``bridge.cli`` discovers them, so a new
command is one new file here.
"""
