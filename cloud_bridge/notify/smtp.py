"""E-mail through an SMTP server (the standard library's ``smtplib``), one connection per mail.

Settings ``notify.smtp``: ``host`` (unset: no e-mail), ``port``, ``security`` = ``starttls``
(submission, 587: the server must offer STARTTLS or the mail is not sent), ``ssl`` (implicit
TLS, 465) or ``none`` (a relay on the same machine only), ``username``/``password`` (log in
when set; only ever over TLS unless ``security = "none"``), ``from_address``, ``ca_file``
(the server certificate's CA, default the system's), ``timeout_s``.

What counts as permanent: the server refusing the recipient or the message with a 5xx code
(the address or the content is at fault). Everything else, including a refused login or a
refused sender (our configuration is at fault), is retried later, so nothing is lost while an
operator fixes the settings. The Message-ID is derived from the dedupe key, so a repeat sent
after a worker died mid-send carries the same id and mail systems can fold the two.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from cloud_bridge.settings import SmtpSection

from .errors import RetryLater, Undeliverable
from .message import Outgoing


class EmailNotifier:
    channel = "email"

    def __init__(self, config: SmtpSection) -> None:
        if not config.host:
            raise ValueError("notify.smtp.host is not set")
        self.config = config

    def compose(self, message: Outgoing) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.config.from_address
        mail["To"] = message.address
        mail["Date"] = formatdate(usegmt=True)
        digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:40]
        mail["Message-ID"] = f"<{digest}@nongan.notify>"
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        mail["X-Nongan-Dedupe-Key"] = message.dedupe_key
        mail.set_content(message.body)
        return mail

    def send(self, message: Outgoing) -> str:
        mail = self.compose(message)
        c = self.config
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(f"{code} {_text(text)}" for code, text in exc.recipients.values())
            if all(500 <= code < 600 for code, _ in exc.recipients.values()):
                raise Undeliverable(f"recipient refused: {answers}") from None
            raise RetryLater(f"recipient deferred: {answers}") from None
        except smtplib.SMTPDataError as exc:
            if 500 <= exc.smtp_code < 600:
                raise Undeliverable(f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}"
                                    ) from None
            raise RetryLater(f"message deferred: {exc.smtp_code} {_text(exc.smtp_error)}"
                             ) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise RetryLater(f"login refused ({exc.smtp_code}): check notify.smtp.username "
                             "and password") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise RetryLater(f"{c.host}:{c.port}: {exc} (check notify.smtp.security)") from None
        except (smtplib.SMTPException, OSError) as exc:
            # OSError: refused, unreachable, timed out, TLS failures (ssl.SSLError).
            raise RetryLater(f"{c.host}:{c.port}: {type(exc).__name__}: {exc}") from None
        if refused:  # only when some of several recipients were refused; we send to one
            raise Undeliverable(f"recipient refused: {refused}")
        return f"accepted by {c.host}:{c.port}"

    def _connect(self) -> smtplib.SMTP:
        c = self.config
        assert c.host is not None
        context = ssl.create_default_context(cafile=str(c.ca_file) if c.ca_file else None)
        smtp: smtplib.SMTP
        if c.security == "ssl":
            smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        try:
            if c.security == "starttls":
                smtp.starttls(context=context)  # SMTPNotSupportedError if not offered
            if c.username:
                smtp.login(c.username, c.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        """Nothing held between mails."""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
