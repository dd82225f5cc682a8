"""What a kiosk may claim in a ledger record, checked before anything is stored.

A signature proves which kiosk sent a message, not that the kiosk was entitled to say it. An
enrolled but dishonest kiosk (or one misconfigured) could otherwise:

- claim another kiosk's certificate token before the genuine certificate arrives (a token read
  off a printed QR), so the genuine one is refused and the public page shows the fake;
- void, or name in a lot, a certificate it did not issue;
- have the cloud show a promise text, a template version or a ``verify_url`` (even
  ``javascript:``) of its own making.

Every token a kiosk makes is bound to its device id (``protocol.bound_ids``), so these
checks need no database: pure functions of the message and the cloud's public base URLs. A
refused record is a dead letter with the reason (``ingest.writer``); nothing else changes.
Each message type's check is its handler's (``ingest.handlers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from protocol import CertificateEvent, CertificateIssued, LotEvent
from protocol.bound_ids import token_belongs_to
from protocol.certificate_rules import PROMISE_TEXT, TEMPLATE_VERSIONS, verify_url
from protocol.messages import Certificate

from .inbound import Accepted, Rejection

FOREIGN = "foreign_certificate"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def certificate_claims(accepted: Accepted, public_base_urls: Sequence[str] = ()
                       ) -> Rejection | None:
    """Refuse a certificate event that claims what its kiosk may not (see the module
    docstring): a token it did not make, a template, promise text or ``verify_url`` of its own.

    Args:
        public_base_urls: the cloud's public base URL and any former ones still accepted; a
            certificate's ``verify_url`` must be one of them + ``/c/`` + its token. Empty (unit
            tests without settings): any https URL of that shape, or http on a loopback host.
    """
    msg = accepted.message
    assert isinstance(msg, CertificateEvent)
    device = accepted.device_id
    body = msg.body
    if isinstance(body, CertificateIssued):
        return _check_certificate(body.certificate, device, public_base_urls)
    if not token_belongs_to(body.token, device):
        return Rejection(FOREIGN, f"device {device!r} tried to void certificate "
                         f"{body.serial} ({body.token}), whose token it did not make")
    return None


def lot_claims(accepted: Accepted, public_base_urls: Sequence[str] = ()) -> Rejection | None:
    """Refuse a lot event naming a certificate its kiosk did not make."""
    msg = accepted.message
    assert isinstance(msg, LotEvent)
    device = accepted.device_id
    if msg.certificate_token is not None and not token_belongs_to(msg.certificate_token, device):
        return Rejection(FOREIGN, f"device {device!r} named certificate "
                         f"{msg.certificate_token} in a lot, whose token it did not make")
    return None


def _check_certificate(cert: Certificate, device: str, bases: Sequence[str]
                       ) -> Rejection | None:
    if not token_belongs_to(cert.token, device):
        return Rejection(FOREIGN, f"certificate {cert.serial} carries token {cert.token}, which "
                         f"device {device!r} did not make (a kiosk's tokens are bound to its "
                         "device id): refused so the kiosk that made it keeps it")
    if cert.template_version not in TEMPLATE_VERSIONS:
        return Rejection("unknown_template", f"certificate {cert.serial} names template "
                         f"{cert.template_version!r}; this cloud knows "
                         f"{', '.join(sorted(TEMPLATE_VERSIONS))}")
    if cert.promise != PROMISE_TEXT[cert.style]:
        return Rejection("wrong_promise_text", f"certificate {cert.serial}'s promise text is not "
                         f"the fixed wording of {cert.style.value}")
    problem = verify_url_problem(cert.verify_url, cert.token, bases)
    if problem is not None:
        return Rejection("foreign_verify_url", f"certificate {cert.serial}: {problem}")
    return None


def verify_url_problem(url: str, token: str, bases: Sequence[str]) -> str | None:
    """Why ``url`` is not this cloud's page for ``token`` (None when it is)."""
    if bases:
        expected = [verify_url(base, token) for base in bases]
        if url in expected:
            return None
        return (f"verify_url {url[:120]!r} is not this cloud's page for the token "
                f"({expected[0]}): check the kiosk's cloud.public_base_url")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return f"verify_url {url[:120]!r} is not a URL"
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return f"verify_url {url[:120]!r} is not an https URL"
    if (not host or parts.username or parts.password or parts.query or parts.fragment
            or not parts.path.endswith(f"/c/{token}")):
        return f"verify_url {url[:120]!r} is not a certificate page for the token"
    return None
