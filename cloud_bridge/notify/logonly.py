"""Channels with no provider connected: SMS and WeChat Work (企业微信) record what they would
send, and send nothing.

NOT CONNECTED TO ANY PROVIDER. A notification on these channels is marked ``sent`` with the
receipt ``log only: not sent to any provider`` and its text is written to the log (and kept
in ``LogOnlyNotifier.sent`` for tests), so the delivery log says plainly that nobody received
it. The channels are off unless ``notify.channels`` lists them.

**SMS: the contract a real gateway adapter fulfils** (``SmsGateway``): Chinese SMS providers
(Alibaba Cloud SMS, Tencent Cloud SMS, a carrier's CMPP gateway) send only texts from
templates approved in advance, under an approved signature (签名), so an adapter maps our
template key (``positive_alert``, ``positive_escalated``) to the provider's template code
and passes the placeholders, not our rendered text; it also needs the account's key id and
secret and the signature name, from settings. ``send_sms`` returns the provider's message id
as the receipt; it raises ``RetryLater`` for throttling, timeouts and provider faults and
``Undeliverable`` for a number the provider rejects; it passes ``idempotency_key`` where the
provider takes one (Alibaba's ``OutId``), so a repeat after a crash can be recognised.
``SmsNotifier`` checks the number (a mainland mobile, 11 digits) before calling it.

**WeChat Work: what a real adapter needs**: the corp id, the application's secret and agent
id; an access token fetched from ``gettoken`` and cached (it lasts 7,200 s, refresh on error
40014/42001); then ``message/send`` with ``touser`` = the contact's ``wecom_user`` and a
``textcard`` carrying the subject, body and link. Errors 45009 (rate) and 5xx are retried,
40003 (no such user) is permanent. None of this is built.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from .errors import Undeliverable
from .message import Outgoing

log = logging.getLogger(__name__)

LOG_ONLY_RECEIPT = "log only: not sent to any provider"
MOBILE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")


class LogOnlyNotifier:
    """Writes what it would send to the log and keeps it in ``sent``; delivers nothing."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> str:
        log.warning("%s is not connected to any provider; would send to %s <%s>: %s",
                    self.channel, message.recipient, message.address, message.subject)
        self.sent.append(message)
        return LOG_ONLY_RECEIPT

    def close(self) -> None:
        """Nothing held."""


class SmsGateway(Protocol):
    """A real SMS provider's adapter (see the module's docstring for the contract)."""

    def send_sms(self, phone: str, template_key: str, params: Mapping[str, Any], text: str,
                 idempotency_key: str) -> str: ...


class LogOnlySmsGateway:
    """The only ``SmsGateway`` there is: it records and sends nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send_sms(self, phone: str, template_key: str, params: Mapping[str, Any], text: str,
                 idempotency_key: str) -> str:
        log.warning("SMS is not connected to any provider; would send %s to %s",
                    template_key, phone)
        self.sent.append((phone, template_key, idempotency_key))
        return LOG_ONLY_RECEIPT


class SmsNotifier:
    """The SMS channel over an ``SmsGateway``: checks the number, sends the subject line (an
    SMS is short; the link is in the params for a template that has room for it)."""

    channel = "sms"

    def __init__(self, gateway: SmsGateway) -> None:
        self.gateway = gateway

    def send(self, message: Outgoing) -> str:
        phone = re.sub(r"[\s-]", "", message.address)
        if not MOBILE.match(phone):
            raise Undeliverable(f"not a mainland mobile number: {message.address!r}")
        params = {**message.params, "link": message.link or ""}
        return self.gateway.send_sms(phone[-11:], message.template_key, params,
                                     message.subject, message.dedupe_key)

    def close(self) -> None:
        """Nothing held."""
