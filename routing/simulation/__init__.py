"""Surge simulation of the 110 centres, driven by the same pure overflow policy the bridge runs."""
