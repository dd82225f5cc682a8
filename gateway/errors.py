"""The kiosk's errors as one tree (the shape of gpiozero's ``exc.py``).

``GatewayError`` is the root of every error the kiosk's own code raises; each subsystem has a
base (``StorageError``, ``SessionError``, ``StationError``, ``KitError``, ``ProducerError``,
``LinkError``, ``UpdateError`` in ``gateway.update``), and leaves also inherit the built-in they
resemble (``CassetteTimeout(StationError, TimeoutError)``, ``UnknownCodeError(KitError,
KeyError)``), so a caller catches by meaning: a subsystem, the whole kiosk, or a built-in.

Every error carries (Home Assistant's way) a stable ``code`` for logs, counts and the screen's
choice of words, a ``translation_key`` into the kiosk's catalogues (``kiosk_ui/i18n``) and the
``placeholders`` that text needs; a test checks every key and its placeholders against both
catalogues. The message (``str(exc)``) stays English detail for logs and technicians.

The leaves live beside the code that raises them; this module holds the root, the subsystem
bases and the leaves several subsystems share. Two trees stay outside: ``device_drivers``
(``DeviceError``, its own root: it imports nothing of ours) and ``gateway.scoring``
(``ScoringError``); the test run turns theirs into ``CassetteFailed`` leaves where they enter the
kiosk's flow.
"""

from __future__ import annotations

from typing import ClassVar

Placeholder = str | int | float


class GatewayError(Exception):
    """Root of the kiosk's errors.

    Args:
        *args: the message (English detail, for logs and technicians).
        **placeholders: the values the error's catalogue text names (``placeholder_names``).
    """

    code: str = "gateway"
    """Stable, for logs, counts and choosing words; an instance may narrow it."""
    translation_key: ClassVar[str] = "error.gateway"
    placeholder_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: object, **placeholders: Placeholder) -> None:
        super().__init__(*args)
        self.placeholders: dict[str, Placeholder] = placeholders


# -------------------------------------------------------------------------------- bases


class StorageError(GatewayError):
    """The kiosk database cannot be opened or written (disk full, read-only, corrupt)."""

    code = "storage"
    translation_key = "error.storage"


class SessionError(GatewayError):
    """The session was asked for something its state does not allow."""

    code = "session"
    translation_key = "error.session"


class StationError(GatewayError):
    """A test on the strip station did not give readings."""

    code = "station"
    translation_key = "error.station"


class KitError(GatewayError):
    """The kit catalogue, a kit's lot or its stock stops a test or a registration."""

    code = "kit"
    translation_key = "error.kit"


class ProducerError(GatewayError, ValueError):
    """A producer's details or PIN that the kiosk cannot accept."""

    code = "producer"
    translation_key = "error.producer"


class LinkError(GatewayError):
    """The link to the cloud heard something it must not act on."""

    code = "link"
    translation_key = "error.link"


# -------------------------------------------------------------------------------- shared leaves


class CassetteFailed(StationError):
    """The cassette's test failed after the strip was taken (the strip is spent); ``code``
    says where (a device, the scorer, the disk)."""

    code = "device"
    translation_key = "error.cassette_failed"


class DeviceFailed(CassetteFailed):
    """A device (reader, camera) failed during the test."""

    code = "device"
    translation_key = "error.device"


class ScoringFailed(CassetteFailed):
    """The frames could not be scored at all."""

    code = "scoring"
    translation_key = "error.scoring"


class RecordingFailed(CassetteFailed, OSError):
    """The strip's image or readings could not be kept."""

    code = "storage"
    translation_key = "error.storage"


__all__ = [
    "CassetteFailed",
    "DeviceFailed",
    "GatewayError",
    "KitError",
    "LinkError",
    "ProducerError",
    "RecordingFailed",
    "ScoringFailed",
    "SessionError",
    "StationError",
    "StorageError",
]
