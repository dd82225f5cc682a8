"""Errors of the update machinery, split by what can be done about them.

- :class:`BundleRefused`: the bundle must never be installed (bad signature, a changed or extra
  file, a version this kiosk may not move to). Retrying the same bundle cannot help; the
  reason names what was wrong. Nothing on the kiosk changed.
- :class:`DownloadError`: the bundle could not be fetched (link down, server error). What was
  received is kept, and the next attempt resumes from there.
- :class:`InstallError`: the bundle is good but could not be installed here (disk full, pip
  failed, no dependency environment). Nothing was switched.

Every error carries ``reason``: one sentence for the journal, the doctor and the cloud.
"""

from __future__ import annotations

from ..errors import GatewayError


class UpdateError(GatewayError):
    """Base of every update error; ``reason`` is what the journal records."""

    code = "update"
    translation_key = "error.update"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BundleRefused(UpdateError, ValueError):
    """The bundle is not trustworthy or not for this kiosk; nothing changed."""


class DownloadError(UpdateError, ConnectionError):
    """The bundle could not be fetched now; a later attempt resumes.

    Attributes:
        retryable: False when the server said the bundle is not there (4xx): the same URL
            will not work later either.
    """

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.retryable = retryable


class InstallError(UpdateError, OSError):
    """The bundle could not be installed on this kiosk; nothing was switched."""


class JournalError(UpdateError, RuntimeError):
    """A journal transition that the update state machine does not allow (a bug)."""
