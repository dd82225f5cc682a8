"""Signed webhooks: an HTTP POST of the notification as JSON, with an HMAC-SHA256 signature.

The request::

    POST <contact's webhook_url>
    Content-Type: application/json; charset=utf-8
    X-Nongan-Delivery: <dedupe key>          unique per message, recipient and channel
    X-Nongan-Timestamp: <unix seconds>
    X-Nongan-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body bytes)>

    {"delivery": ..., "recipient": ..., "template": ..., "params": {...}, "language": ...,
     "subject": ..., "body": ..., "link": ..., "attempt": n}

A receiver recomputes the HMAC over the timestamp, a dot and the raw body with the shared
secret (``notify.webhook.secret``), compares in constant time, and refuses a timestamp more
than ``REPLAY_WINDOW_S`` (300 s) from its own clock: a captured request cannot be replayed
after that. Within the window it answers 2xx to an ``X-Nongan-Delivery`` it has seen, without
acting on it again (it must anyway: delivery is at least once, and a non-2xx answer would be
retried or given up). ``verify`` below does the first two checks for a Python receiver.

Answers: 2xx is delivered; 401 and 403 (the receiver refused our signature: the shared secret
differs, a configuration fault), 408, 425, 429, 5xx, timeouts and refused connections are
retried later; any other status (404, 400, a redirect: redirects are not followed) is given up
with the status and the start of the answer in the delivery log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping

import httpx

from cloud_bridge.settings import WebhookSection

from .errors import NotifyError, RetryLater, Undeliverable
from .message import Outgoing

DELIVERY_HEADER = "X-Nongan-Delivery"
TIMESTAMP_HEADER = "X-Nongan-Timestamp"
SIGNATURE_HEADER = "X-Nongan-Signature"
REPLAY_WINDOW_S = 300
RETRY_STATUSES = frozenset({401, 403, 408, 425, 429})


class BadSignature(NotifyError):
    """A webhook request whose signature or timestamp does not check out."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Nongan-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None,
           window_s: float = REPLAY_WINDOW_S) -> None:
    """Check a received webhook (for receivers written in Python).

    Args:
        headers: the request's headers, looked up case-insensitively.

    Raises:
        BadSignature: a missing or malformed header, a timestamp outside the window, or a
            signature that does not match.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    given = lower.get(SIGNATURE_HEADER.lower(), "")
    if not stamp.isdigit() or not given.startswith("sha256="):
        raise BadSignature("missing or malformed signature headers")
    now = time.time() if now is None else now
    if abs(now - int(stamp)) > window_s:
        raise BadSignature(f"timestamp {stamp} is outside the {window_s:.0f} s window")
    if not hmac.compare_digest(sign(secret, int(stamp), body), given):
        raise BadSignature("signature does not match")


class WebhookNotifier:
    channel = "webhook"

    def __init__(self, config: WebhookSection, *, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not config.secret:
            raise ValueError("notify.webhook.secret is not set")
        self.secret = config.secret
        self.clock = clock
        self.client = httpx.Client(timeout=config.timeout_s, follow_redirects=False,
                                   transport=transport)

    def payload(self, message: Outgoing) -> bytes:
        document = {"delivery": message.dedupe_key, "recipient": message.recipient,
                    "template": message.template_key, "params": dict(message.params),
                    "language": message.language, "subject": message.subject,
                    "body": message.body, "link": message.link, "attempt": message.attempt}
        return json.dumps(document, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")

    def send(self, message: Outgoing) -> str:
        body = self.payload(message)
        stamp = int(self.clock())
        headers = {"Content-Type": "application/json; charset=utf-8",
                   DELIVERY_HEADER: message.dedupe_key, TIMESTAMP_HEADER: str(stamp),
                   SIGNATURE_HEADER: sign(self.secret, stamp, body)}
        try:
            answer = self.client.post(message.address, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise RetryLater(f"{type(exc).__name__}: {exc}") from None
        status = answer.status_code
        if 200 <= status < 300:
            return f"HTTP {status}"
        said = answer.text[:200].strip()
        if status in RETRY_STATUSES or status >= 500:
            raise RetryLater(f"HTTP {status}: {said}")
        raise Undeliverable(f"HTTP {status}: {said}")

    def close(self) -> None:
        self.client.close()
