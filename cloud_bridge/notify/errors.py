"""Errors of the notification subsystem, split by what the outbox does next.

- ``RetryLater``: the channel could not deliver now (server down, timeout, a 4xx/5xx that
  means "try again", our own configuration refused): the notification is tried again after a
  backoff, up to ``notify.max_attempts``.
- ``Undeliverable``: the channel refused this message for good (the recipient's mailbox does
  not exist, the webhook answered 404): the notification is given up at once, with the reason
  in the delivery log, and an operator may send it again after fixing the address.
"""

from __future__ import annotations

from cloud_bridge.errors import BridgeError


class NotifyError(BridgeError):
    """Base of the notification errors."""

    code = "notify"
    translation_key = "error.notify"


class DeliveryError(NotifyError):
    """One attempt to deliver failed; ``permanent`` says whether another attempt may work."""

    permanent = False


class RetryLater(DeliveryError, ConnectionError):
    """Try again after a backoff (the server or our configuration is at fault)."""

    code = "retry_later"
    translation_key = "error.notify_retry"


class ChannelNotConfigured(RetryLater):
    """The channel's settings are missing (no ``notify.smtp.host``, no webhook secret): kept
    and retried, so nothing is lost while an operator fixes the settings."""


class Undeliverable(DeliveryError, ValueError):
    """Refused for good (the address is at fault)."""

    code = "undeliverable"
    translation_key = "error.notify_undeliverable"

    permanent = True
