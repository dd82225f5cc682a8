"""Notifications: tell people about alerts by e-mail, signed webhook, SMS and WeChat Work
(the last two log-only), with a durable outbox, retries, a delivery log and escalation.

- ``message``: ``Outgoing`` and the ``Notifier`` interface; texts from ``cloud_bridge/locales``.
- ``smtp``, ``webhook``, ``logonly``: the channels; ``channels``: their table.
- ``contacts``: contacts and routes (who hears about which place).
- ``outbox``: enqueue, claim, record, retry, the delivery log.
- ``escalation``: open, fire due steps, acknowledge.
- ``alert_watch``: positive readings become notified, escalated alerts.
- ``worker``: the loop of ``nongan bridge notify run``.

docs/cloud.md ("Notifications") says how it behaves; docs/operations.md how to run it.
"""

from .channels import CHANNELS, build_notifiers
from .contacts import add_route, disable_contact, list_contacts, list_routes, set_contact
from .errors import ChannelNotConfigured, DeliveryError, NotifyError, RetryLater, Undeliverable
from .escalation import Step, acknowledge, fire_due, get_escalation, open_escalation
from .logonly import LOG_ONLY_RECEIPT, LogOnlyNotifier, LogOnlySmsGateway, SmsGateway, SmsNotifier
from .message import Notifier, Outgoing, render
from .outbox import RetryPolicy, deliveries, enqueue, retry
from .smtp import EmailNotifier
from .webhook import BadSignature, WebhookNotifier, sign, verify
from .worker import NotifyWorker, PassReport

__all__ = [
    "CHANNELS",
    "LOG_ONLY_RECEIPT",
    "BadSignature",
    "ChannelNotConfigured",
    "DeliveryError",
    "EmailNotifier",
    "LogOnlyNotifier",
    "LogOnlySmsGateway",
    "Notifier",
    "NotifyError",
    "NotifyWorker",
    "Outgoing",
    "PassReport",
    "RetryLater",
    "RetryPolicy",
    "SmsGateway",
    "SmsNotifier",
    "Step",
    "Undeliverable",
    "WebhookNotifier",
    "acknowledge",
    "add_route",
    "build_notifiers",
    "deliveries",
    "disable_contact",
    "enqueue",
    "fire_due",
    "get_escalation",
    "list_contacts",
    "list_routes",
    "open_escalation",
    "render",
    "retry",
    "set_contact",
    "sign",
    "verify",
]
