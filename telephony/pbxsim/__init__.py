"""An emulated Asterisk 22 PBX: AMI server, channels, dialplan, queues (see docs/pbxsim.md)."""

from telephony.pbxsim.pbx import EmulatedPBX

__all__ = ["EmulatedPBX"]
