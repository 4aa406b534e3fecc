"""What can go wrong in an AGI conversation, one exception per thing a handler may act on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.agi.replies import AgiReply


class AgiError(Exception):
    """Base of every AGI error."""


class AgiHeaderError(AgiError):
    """The `agi_*` block sent at connect time is malformed, too big or incomplete."""


class AgiProtocolError(AgiError):
    """Asterisk answered with a line this client does not understand."""


class CommandTooLong(AgiError, ValueError):
    """A command line would not fit Asterisk's read buffer (the rest would run as a new command)."""


class AgiHangup(AgiError):
    """The call is over: Asterisk sent `HANGUP` (channel hung up) or closed the connection.

    `reply` is the answer to the command in flight when the hangup was noticed, if any; after
    catching this a handler may still run commands that work on a dead channel (GET VARIABLE,
    EXEC NoOp) -- Asterisk answers the others with 511.
    """

    def __init__(self, message: str, reply: AgiReply | None = None) -> None:
        super().__init__(message)
        self.reply = reply


class AgiCommandError(AgiError):
    """Asterisk refused or failed a command; `reply` holds what it said."""

    def __init__(self, message: str, reply: AgiReply) -> None:
        super().__init__(message)
        self.reply = reply


class InvalidCommand(AgiCommandError):
    """`510 Invalid or unknown command`."""


class CommandNotPermitted(AgiCommandError):
    """`511 Command Not Permitted on a dead channel or intercept routine`."""


class UsageError(AgiCommandError):
    """`520` invalid syntax; `reply.usage` holds Asterisk's multi-line usage text."""


class CommandFailed(AgiCommandError):
    """`200 result=-1` (or -2 for EXEC of a missing application): the command did not work."""
