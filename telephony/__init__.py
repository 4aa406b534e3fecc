"""Asterisk's protocols (AMI, FastAGI, process AGI), a live model built from AMI events, and
the emulated PBX. Knows nothing of 12345 or 110."""
