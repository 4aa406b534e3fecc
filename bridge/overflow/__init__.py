"""Surge overflow actuation on the 110 PBX: the controller that applies routing.overflow's
plans over AMI, its audit trail, recovery after a restart and operator endpoints
(docs/overflow-actuation.md)."""

from bridge.overflow.controller import ControllerSettings, OverflowController, aid_exten

__all__ = ["ControllerSettings", "OverflowController", "aid_exten"]
