"""Errors of the registry's operations, each with the HTTP status the API answers with."""

from __future__ import annotations

from cloud_bridge.errors import BridgeError


class RegistryError(BridgeError):
    """A request the registry refuses; ``code`` is stable, the message says why in words."""

    translation_key = "error.registry"

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(RegistryError):
    status = 404


class Forbidden(RegistryError):
    status = 403


class Conflict(RegistryError):
    """The thing is not in a state that allows the change (already revoked, fully used...)."""

    status = 409


class Refused(RegistryError):
    """The request is well-formed but breaks a rule (units differ, quantities do not add up)."""

    status = 422
