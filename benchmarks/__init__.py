"""Benchmarks: `python -m benchmarks [NAME ...]` runs each module's ``main(argv)``."""
