"""One notification as a channel sends it, the ``Notifier`` interface, and rendering texts.

A notification is stored as a translation key and its placeholders (``notify.<key>.subject``
and ``.body`` in ``cloud_bridge/locales/``), rendered in the recipient's language when it is
sent, so a corrected text reaches the retries too and an SMS gateway that needs pre-approved
templates can map the key to its own template id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from cloud_bridge.locales import Translator


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a channel needs to deliver one notification to one address."""

    id: int
    dedupe_key: str
    """Unique per message, recipient and channel: receivers use it to drop a repeat (delivery
    is at least once: a worker that dies after sending and before recording sends again)."""
    recipient: str
    channel: str
    address: str
    language: str
    template_key: str
    params: Mapping[str, Any]
    link: str | None
    subject: str = ""
    body: str = ""
    attempt: int = 1


class Notifier(Protocol):
    """A channel: e-mail, webhook, SMS, WeChat Work. One instance per worker process.

    ``send`` delivers one message and returns a short receipt for the delivery log (the
    server's answer); it raises ``RetryLater`` or ``Undeliverable`` (``notify.errors``) and
    nothing else a caller must know about. It may block for up to its own timeout; the worker
    runs outside the ingest and API processes, so nothing else waits on it.
    """

    channel: str

    def send(self, message: Outgoing) -> str: ...

    def close(self) -> None: ...


def render(template_key: str, params: Mapping[str, Any], language: str,
           link: str | None) -> tuple[str, str]:
    """The subject and body of ``template_key`` in ``language`` (zh-CN when unknown)."""
    t = Translator(language)
    values = {k: "" if v is None else str(v) for k, v in params.items()}
    values["link"] = link or ""
    subject = t(f"notify.{template_key}.subject", **values)
    body = t(f"notify.{template_key}.body", **values).strip() + "\n"
    # A header must be one line, whatever a parameter held.
    return " ".join(subject.split()), body
