"""The service: the only package that wires I/O together."""
