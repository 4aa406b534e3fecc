"""What an AMI action can fail with. Every error names the action and Asterisk's own Message."""

from __future__ import annotations


class AMIError(Exception):
    """Asterisk answered ``Response: Error``; ``message`` is its ``Message`` header."""

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI action {action} failed: {message}")
        self.action = action
        self.message = message


class AMIAuthError(AMIError):
    """Login refused (``Authentication failed``): a wrong username or secret."""


class AMITimeout(AMIError):
    """No complete answer within the action's timeout."""


class AMIConnectionError(AMIError):
    """Not connected, or the connection dropped before the answer came."""
