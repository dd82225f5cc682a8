"""The table of channels: each one's name, the contact field holding its address, and how to
build its ``Notifier`` from the settings (None when its settings are missing).

Adding a channel touches its own module and one row here. ``notify.channels`` says which
channels notifications are made for (default e-mail and webhook); a contact gets one
notification per enabled channel it has an address for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cloud_bridge.settings import NotifySection

from .logonly import LogOnlyNotifier, LogOnlySmsGateway, SmsNotifier
from .message import Notifier
from .smtp import EmailNotifier
from .webhook import WebhookNotifier


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    contact_field: str
    """The ``NotifyContact`` attribute with this channel's address."""
    build: Callable[[NotifySection], Notifier | None]
    setting: str
    """What an operator sets to turn the channel on (said in the delivery log when unset)."""


CHANNELS: dict[str, Channel] = {c.name: c for c in (
    Channel("email", "email",
            lambda n: EmailNotifier(n.smtp) if n.smtp.host else None, "notify.smtp.host"),
    Channel("webhook", "webhook_url",
            lambda n: WebhookNotifier(n.webhook) if n.webhook.secret else None,
            "notify.webhook.secret"),
    Channel("sms", "phone", lambda n: SmsNotifier(LogOnlySmsGateway()), "(none: log only)"),
    Channel("wecom", "wecom_user", lambda n: LogOnlyNotifier("wecom"), "(none: log only)"),
)}


def build_notifiers(config: NotifySection) -> dict[str, Notifier]:
    """A notifier for every enabled channel whose settings are present."""
    built: dict[str, Notifier] = {}
    for name in config.channels:
        notifier = CHANNELS[name].build(config)
        if notifier is not None:
            built[name] = notifier
    return built
