"""The Queue() application: a caller waits, members are rung, the answering one is bridged."""

from __future__ import annotations

from telephony.pbxsim.channels import Channel
from telephony.pbxsim.dialplan import split_args

# Cleared at the start of every Queue() call, in this order (trace 02).
_CLEARED_AT_START = ("ANSWEREDTIME", "ANSWEREDTIME_MS", "DIALEDTIME", "DIALEDTIME_MS")
_CLEARED_WAIT = ("QUEUEWAIT", "QUEUEWAIT_MS")


async def queue(channel: Channel, data: str) -> None:
    args = split_args(data)
    name = args[0].strip()
    for var in _CLEARED_AT_START + _CLEARED_WAIT:
        channel.set_variable(var, "")
    state = channel.pbx.queues.get(name)
    if state is None:
        channel.set_variable("QUEUESTATUS", "UNKNOWN")
        return
    raise NotImplementedError("queue calls come with the queue model")
