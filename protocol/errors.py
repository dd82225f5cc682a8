"""Errors raised while decoding or verifying wire messages.

Every error carries a reason written for the dead-letter table: an operator reading it should
know what was wrong with the message without opening the payload.
"""

from __future__ import annotations


class ProtocolError(ValueError):
    """A message that does not follow the wire contract (topic, JSON, schema, version)."""

    def __init__(self, reason: str, *, code: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class SignatureError(ProtocolError):
    """A message whose signature is missing, malformed or does not match the device's key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="bad_signature")
