"""A real SMTP server for tests: aiosmtpd on a free loopback port, in its own thread.

It keeps every message it accepts (parsed), can refuse chosen recipients with 550, can offer
STARTTLS (and require it), implicit TLS, and AUTH (LOGIN/PLAIN) against a password. ``stop``
joins its thread; a stopped server's port is a dead mail server for the client.
"""

from __future__ import annotations

import ssl
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .net import free_port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.server.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        with self.server.lock:
            self.server.messages.append(mail)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos),
                                          session.authenticated,
                                          server.transport.get_extra_info("ssl_object")
                                          is not None))
        return "250 OK queued"


class SmtpServer:
    """Args:
        port: the port (default a free one; reuse a stopped server's port to restart it).
        starttls: an SSL context for STARTTLS (offered, and required before MAIL).
        implicit_tls: an SSL context for implicit TLS (SMTPS) on the whole connection.
        login: (user, password) that AUTH must present; AUTH then is required.
        refuse: recipient addresses answered with 550.
    """

    def __init__(self, *, port: int | None = None, starttls: ssl.SSLContext | None = None,
                 implicit_tls: ssl.SSLContext | None = None,
                 login: tuple[str, str] | None = None, refuse: set[str] | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str], bool, bool]] = []
        self.refuse = refuse or set()
        self.lock = threading.Lock()
        self.login = login
        kwargs: dict[str, Any] = {}
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        if implicit_tls is not None:
            kwargs.update(ssl_context=implicit_tls)
        if login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=starttls is not None or implicit_tls is not None)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        assert self.login is not None
        ok = (isinstance(auth_data, LoginPassword)
              and (auth_data.login.decode(), auth_data.password.decode()) == self.login)
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Block until at least ``count`` messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} of {count} mails within {timeout}s")
            time.sleep(0.02)
