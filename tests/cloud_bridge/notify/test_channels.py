"""The channels against real servers: e-mail through aiosmtpd (plain, STARTTLS with login,
implicit TLS, refusals, a dead server), signed webhooks against an HTTP server that checks the
signature itself, and the log-only SMS and WeChat Work channels."""

from __future__ import annotations

import time

import pytest

from cloud_bridge.notify import (
    LOG_ONLY_RECEIPT,
    BadSignature,
    EmailNotifier,
    LogOnlyNotifier,
    LogOnlySmsGateway,
    Outgoing,
    RetryLater,
    SmsNotifier,
    Undeliverable,
    WebhookNotifier,
    render,
    sign,
    verify,
)
from cloud_bridge.settings import SmtpSection, WebhookSection
from tests.support.net import free_port
from tests.support.smtp import SmtpServer
from tests.support.webhook_receiver import WebhookReceiver

from .conftest import SECRET, TlsFiles

PARAMS = {"reading": "r-1", "device": "kiosk-0042", "station": "JL01", "place": "220122",
          "place_name": "吉林省长春市农安县", "product": "jiucai", "analyte": "procymidone",
          "producer": "p-7", "time": "2026-03-01 09:30"}
LINK = "https://cloud.example.cn/dashboard/alerts/positive/r-1"


def outgoing(address: str, *, channel: str = "email", language: str = "zh-CN",
             key: str = "positive:r-1:0/zhang.wei/email") -> Outgoing:
    subject, body = render("positive_alert", PARAMS, language, LINK)
    return Outgoing(id=1, dedupe_key=key, recipient="zhang.wei", channel=channel,
                    address=address, language=language, template_key="positive_alert",
                    params=PARAMS, link=LINK, subject=subject, body=body)


def smtp(port: int, **more: object) -> SmtpSection:
    return SmtpSection(**{"host": "127.0.0.1", "port": port, "security": "none",
                          "timeout_s": 5, "from_address": "nongan@county.example", **more})


def test_an_email_arrives_in_the_recipients_language_with_link_and_stable_id(
        smtp_server: SmtpServer) -> None:
    notifier = EmailNotifier(smtp(smtp_server.port))
    receipt = notifier.send(outgoing("zhang.wei@county.example"))
    [mail] = smtp_server.wait_for(1)
    assert receipt == f"accepted by 127.0.0.1:{smtp_server.port}"
    assert mail["To"] == "zhang.wei@county.example"
    assert mail["From"] == "nongan@county.example"
    assert mail["Subject"] == ("【阳性告警】吉林省长春市农安县 终端 kiosk-0042 "
                               "检出 procymidone（jiucai）")
    text = mail.get_content()
    assert "2026-03-01 09:30" in text and LINK in text and "p-7" in text
    assert mail["Auto-Submitted"] == "auto-generated"
    # The same message sent again (a worker died before recording it) has the same id.
    notifier.send(outgoing("zhang.wei@county.example"))
    second = smtp_server.wait_for(2)[1]
    assert second["Message-ID"] == mail["Message-ID"]
    notifier.send(outgoing("zhang.wei@county.example", key="positive:r-2:0/zhang.wei/email"))
    assert smtp_server.wait_for(3)[2]["Message-ID"] != mail["Message-ID"]


def test_english_recipients_get_the_english_text(smtp_server: SmtpServer) -> None:
    EmailNotifier(smtp(smtp_server.port)).send(outgoing("ann@example.org", language="en"))
    [mail] = smtp_server.wait_for(1)
    assert mail["Subject"] == ("[Positive] procymidone on jiucai at kiosk kiosk-0042, "
                               "吉林省长春市农安县")
    assert "Please arrange a confirmation" in mail.get_content()


def test_starttls_with_login_against_our_own_ca(tls_files: TlsFiles) -> None:
    server = SmtpServer(starttls=tls_files.server_context(), login=("nongan", "s3cret")).start()
    try:
        notifier = EmailNotifier(smtp(server.port, security="starttls", username="nongan",
                                      password="s3cret", ca_file=tls_files.ca))
        notifier.send(outgoing("zhang.wei@county.example"))
        server.wait_for(1)
        _, recipients, authenticated, encrypted = server.envelopes[0]
        assert recipients == ["zhang.wei@county.example"] and authenticated and encrypted
        wrong = EmailNotifier(smtp(server.port, security="starttls", username="nongan",
                                   password="wrong", ca_file=tls_files.ca))
        with pytest.raises(RetryLater, match="login refused"):
            wrong.send(outgoing("zhang.wei@county.example"))
        untrusted = EmailNotifier(smtp(server.port, security="starttls", username="nongan",
                                       password="s3cret"))  # the system CAs do not know ours
        with pytest.raises(RetryLater, match="SSL"):
            untrusted.send(outgoing("zhang.wei@county.example"))
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_implicit_tls(tls_files: TlsFiles) -> None:
    server = SmtpServer(implicit_tls=tls_files.server_context()).start()
    try:
        EmailNotifier(smtp(server.port, security="ssl", ca_file=tls_files.ca)).send(
            outgoing("zhang.wei@county.example"))
        server.wait_for(1)
        assert server.envelopes[0][3]  # the session was encrypted
    finally:
        server.stop()


def test_starttls_that_the_server_does_not_offer_is_not_sent_in_clear(
        smtp_server: SmtpServer) -> None:
    with pytest.raises(RetryLater, match=r"notify\.smtp\.security"):
        EmailNotifier(smtp(smtp_server.port, security="starttls")).send(
            outgoing("zhang.wei@county.example"))
    assert smtp_server.messages == []


def test_a_refused_mailbox_is_permanent_and_a_dead_server_is_retried() -> None:
    server = SmtpServer(refuse={"nobody@county.example"}).start()
    try:
        with pytest.raises(Undeliverable, match="550"):
            EmailNotifier(smtp(server.port)).send(outgoing("nobody@county.example"))
    finally:
        server.stop()
    with pytest.raises(RetryLater, match="Connection"):
        EmailNotifier(smtp(free_port())).send(outgoing("zhang.wei@county.example"))


def test_a_signed_webhook_is_accepted_by_a_receiver_that_checks_the_signature() -> None:
    with WebhookReceiver(SECRET) as receiver:
        notifier = WebhookNotifier(WebhookSection(secret=SECRET, timeout_s=5))
        try:
            assert notifier.send(outgoing(receiver.url, channel="webhook")) == "HTTP 204"
            [got] = receiver.accepted
            assert got["json"]["params"]["place_name"] == "吉林省长春市农安县"
            assert got["json"]["link"] == LINK and got["json"]["template"] == "positive_alert"
            assert got["headers"]["X-Nongan-Delivery"] == "positive:r-1:0/zhang.wei/email"
            # The same delivery again (a replay within the window, or our resend after a
            # crash) is recognised by its id and not acted on twice.
            assert notifier.send(outgoing(receiver.url, channel="webhook")) == "HTTP 200"
            assert len(receiver.accepted) == 1
            assert receiver.duplicates == ["positive:r-1:0/zhang.wei/email"]
        finally:
            notifier.close()


def test_a_webhook_signed_with_another_secret_is_refused_and_retried_later() -> None:
    with WebhookReceiver(SECRET) as receiver:
        notifier = WebhookNotifier(WebhookSection(secret="another-secret-of-16+chars"))
        try:
            with pytest.raises(RetryLater, match="HTTP 401"):
                notifier.send(outgoing(receiver.url, channel="webhook"))
            assert receiver.accepted == [] and receiver.refused == ["signature"]
        finally:
            notifier.close()


def test_a_stale_timestamp_is_refused_by_the_receiver() -> None:
    with WebhookReceiver(SECRET) as receiver:
        notifier = WebhookNotifier(WebhookSection(secret=SECRET),
                                   clock=lambda: time.time() - 3600)
        try:
            with pytest.raises(RetryLater, match="HTTP 401"):
                notifier.send(outgoing(receiver.url, channel="webhook"))
            assert receiver.refused == ["stale"]
        finally:
            notifier.close()


@pytest.mark.parametrize(("status", "error"), [(500, RetryLater), (503, RetryLater),
                                               (429, RetryLater), (404, Undeliverable),
                                               (400, Undeliverable)])
def test_webhook_answers_decide_retry_or_give_up(status: int, error: type[Exception]) -> None:
    with WebhookReceiver(SECRET) as receiver:
        receiver.answer = status
        notifier = WebhookNotifier(WebhookSection(secret=SECRET))
        try:
            with pytest.raises(error, match=f"HTTP {status}"):
                notifier.send(outgoing(receiver.url, channel="webhook"))
        finally:
            notifier.close()


def test_a_webhook_to_nobody_is_retried() -> None:
    notifier = WebhookNotifier(WebhookSection(secret=SECRET, timeout_s=2))
    try:
        with pytest.raises(RetryLater, match="ConnectError"):
            notifier.send(outgoing(f"http://127.0.0.1:{free_port()}/hook", channel="webhook"))
    finally:
        notifier.close()


def test_verify_accepts_our_signature_and_refuses_tampering_and_old_requests() -> None:
    body = b'{"a":1}'
    now = 1_800_000_000
    headers = {"x-nongan-timestamp": str(now), "X-Nongan-Signature": sign(SECRET, now, body)}
    verify(SECRET, headers, body, now=now + 10)
    with pytest.raises(BadSignature, match="does not match"):
        verify(SECRET, headers, b'{"a":2}', now=now)
    with pytest.raises(BadSignature, match="does not match"):
        verify("not-the-secret-at-all", headers, body, now=now)
    with pytest.raises(BadSignature, match="window"):
        verify(SECRET, headers, body, now=now + 301)
    with pytest.raises(BadSignature, match="malformed"):
        verify(SECRET, {}, body, now=now)


def test_sms_and_wecom_are_log_only_and_say_so() -> None:
    gateway = LogOnlySmsGateway()
    sms = SmsNotifier(gateway)
    assert sms.send(outgoing("138 1234 5678", channel="sms")) == LOG_ONLY_RECEIPT
    assert gateway.sent == [("13812345678", "positive_alert", "positive:r-1:0/zhang.wei/email")]
    with pytest.raises(Undeliverable, match="mobile"):
        sms.send(outgoing("0431-1234", channel="sms"))
    wecom = LogOnlyNotifier("wecom")
    assert wecom.send(outgoing("zhangwei", channel="wecom")) == LOG_ONLY_RECEIPT
    assert [m.address for m in wecom.sent] == ["zhangwei"]
