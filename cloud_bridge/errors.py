"""The cloud's errors as one tree (the shape of gpiozero's ``exc.py``).

``BridgeError`` is the root of every error the cloud's own code raises; each subsystem has a
base — ``StoreError`` (the database), ``IngestError`` (the workers), ``RegistryError`` (the
business rules, ``cloud_bridge.domain.errors``), ``BrokerError`` (provisioning the broker),
``NotifyError`` (``cloud_bridge.notify.errors``) — and the rest are leaves of the root
(signing keys, the PKI, commands, the API, the command line). Leaves that resemble a built-in
also inherit it (``EnrolmentError(StoreError, ValueError)``, ``RetryLater(DeliveryError,
ConnectionError)``), so a caller catches by meaning.

Every error carries (Home Assistant's way) a stable ``code``, a ``translation_key`` into the
cloud's catalogues (``cloud_bridge/locales``) and the ``placeholders`` its text needs; a test
checks every key and its placeholders against both catalogues. ``str(exc)`` stays the English
detail for logs and operators.
"""

from __future__ import annotations

from typing import ClassVar

Placeholder = str | int | float


class BridgeError(Exception):
    """Root of the cloud's errors.

    Args:
        *args: the message (English detail, for logs and operators).
        **placeholders: the values the error's catalogue text names (``placeholder_names``).
    """

    code: str = "bridge"
    """Stable, for logs, counts and choosing words; an instance may narrow it."""
    translation_key: ClassVar[str] = "error.bridge"
    placeholder_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: object, **placeholders: Placeholder) -> None:
        super().__init__(*args)
        self.placeholders: dict[str, Placeholder] = placeholders


class StoreError(BridgeError):
    """The store cannot do what was asked (its schema, an enrolment, a write)."""

    code = "store"
    translation_key = "error.store"


class IngestError(BridgeError):
    """The ingest worker cannot go on, or could not send what it should."""

    code = "ingest"
    translation_key = "error.ingest"


class BrokerError(BridgeError):
    """The broker's accounts and roles could not be provisioned as asked."""

    code = "broker"
    translation_key = "error.broker"


__all__ = ["BridgeError", "BrokerError", "IngestError", "StoreError"]
