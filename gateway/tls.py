"""The TLS context the kiosk uses to reach its broker (the link and ``nongan doctor``'s probe)."""

from __future__ import annotations

import ssl

from .settings import BrokerSection


def tls_context(broker: BrokerSection) -> ssl.SSLContext:
    """A client context trusting ``broker.ca_file`` (or the system's CAs when unset), with the
    kiosk's client certificate loaded when ``broker.cert_file`` is set.

    Raises:
        FileNotFoundError: a configured CA, certificate or key file does not exist.
        ssl.SSLError: a file is not a valid certificate or key.
    """
    context = ssl.create_default_context(
        cafile=str(broker.ca_file) if broker.ca_file else None
    )
    if broker.cert_file:
        context.load_cert_chain(
            str(broker.cert_file),
            str(broker.key_file) if broker.key_file else None,
        )
    return context
