"""The notify worker: a dead mail server delays notifications and loses none; one failing
channel does not hold up another; the loop itself survives and recovers."""

from __future__ import annotations

import threading

from sqlalchemy import Engine

from cloud_bridge.notify import Outgoing, enqueue
from cloud_bridge.store import session_factory
from tests.support.cloud import wait_until
from tests.support.net import free_port
from tests.support.smtp import SmtpServer
from tests.support.webhook_receiver import WebhookReceiver

from .conftest import SECRET, Clock, settings_for
from .helpers import contact, notifications, worker


def put(engine: Engine, clock: Clock, recipient: str = "zhang.wei",
        channels: tuple[str, ...] = ("email", "webhook"), key: str = "test:1") -> None:
    with session_factory(engine).begin() as session:
        enqueue(session, message_key=key, recipient=recipient, template_key="test",
                params={"actor": "op-1"}, now=clock(), channels=list(channels),
                link="https://cloud.example.cn/dashboard/notifications")


def test_a_dead_mail_server_delays_but_never_loses_and_webhooks_go_on(
        store: Engine, clock: Clock) -> None:
    port = free_port()  # nothing listens here yet
    with WebhookReceiver(SECRET) as receiver:
        contact(store, "zhang.wei", clock, email="zw@county.example", webhook_url=receiver.url)
        put(store, clock)
        w = worker(settings_for(port), store, clock)
        try:
            report = w.run_once()
            assert (report.sent, report.failed) == (1, 1)
            assert receiver.accepted[0]["json"]["subject"] == "【测试】农安通知"
            email = notifications(store, channel="email")[0]
            assert email.status == "failed" and email.attempts == 1
            assert "ConnectionRefused" in (email.last_error or "")
            assert email.next_attempt_at is not None and email.next_attempt_at > clock()

            clock.advance(seconds=5)  # not due yet: nothing is tried
            assert w.run_once().claimed == 0

            server = SmtpServer(port=port).start()
            try:
                clock.advance(seconds=60)
                assert w.run_once().sent == 1
                [mail] = server.wait_for(1)
                assert "“email”通道" in mail.get_content()
                assert w.run_once().claimed == 0  # sent once, not again
                assert len(server.messages) == 1
            finally:
                server.stop()
        finally:
            w.close()
    [email] = notifications(store, channel="email")
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, None)


def test_after_max_attempts_it_is_given_up_with_the_last_error(store: Engine,
                                                                clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example")
    put(store, clock, channels=("email",))
    w = worker(settings_for(free_port(), max_attempts=3, retry_initial_s=10), store, clock)
    statuses = []
    for _ in range(3):
        w.run_once()
        statuses.append(notifications(store)[0].status)
        clock.advance(hours=1)
    assert statuses == ["failed", "failed", "given_up"]
    assert w.run_once().claimed == 0


def test_an_unconfigured_channel_keeps_its_notifications_for_later(store: Engine,
                                                                   clock: Clock) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example")
    put(store, clock, channels=("email",))
    w = worker(settings_for(None), store, clock)  # no notify.smtp.host
    assert w.run_once().failed == 1
    [row] = notifications(store)
    assert row.status == "failed" and "set notify.smtp.host" in (row.last_error or "")


class Broken:
    channel = "webhook"

    def send(self, message: Outgoing) -> str:
        raise RuntimeError("a bug in a channel")

    def close(self) -> None:
        pass


def test_a_channel_that_crashes_is_retried_and_does_not_stop_the_others(
        store: Engine, clock: Clock, smtp_server: SmtpServer) -> None:
    contact(store, "zhang.wei", clock, email="zw@county.example",
            webhook_url="http://127.0.0.1:9/hook")
    put(store, clock)
    settings = settings_for(smtp_server.port)
    w = worker(settings, store, clock)
    w.notifiers["webhook"] = Broken()
    report = w.run_once()
    assert (report.sent, report.failed) == (1, 1)
    webhook = notifications(store, channel="webhook")[0]
    assert webhook.status == "failed" and "RuntimeError: a bug in a channel" in (
        webhook.last_error or "")
    smtp_server.wait_for(1)


def test_the_loop_rides_out_a_dead_mail_server_in_real_time(store: Engine,
                                                            clock: Clock) -> None:
    port = free_port()
    contact(store, "zhang.wei", clock, email="zw@county.example")
    put(store, clock, channels=("email",))
    settings = settings_for(port, poll_s=0.05, retry_initial_s=0.05, retry_max_s=0.2)
    w = worker(settings, store, Clock.real())
    stop = threading.Event()
    thread = threading.Thread(target=w.run, args=(stop,), name="notify-loop")
    thread.start()
    try:
        wait_until(lambda: notifications(store)[0].attempts >= 2)
        assert notifications(store)[0].status in ("failed", "pending")
        server = SmtpServer(port=port).start()
        try:
            wait_until(lambda: notifications(store)[0].status == "sent")
            assert len(server.wait_for(1)) == 1
        finally:
            server.stop()
    finally:
        stop.set()
        thread.join(15)
        w.close()
    assert not thread.is_alive()


def test_a_mail_server_that_hangs_costs_one_timeout_per_pass_not_one_per_mail(
        store: Engine, clock: Clock) -> None:
    import socket

    silent = socket.socket()  # accepts connections (the kernel's backlog) and never speaks
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        for name in ("a.sup", "b.sup", "c.sup"):
            contact(store, name, clock, email=f"{name}@county.example")
            put(store, clock, recipient=name, channels=("email",))
        settings = settings_for(silent.getsockname()[1])
        settings.notify.smtp.timeout_s = 0.5
        report = worker(settings, store, clock).run_once()
    finally:
        silent.close()
    assert (report.failed, report.released, report.sent) == (1, 2, 0)
    rows = notifications(store)
    assert sorted((r.status, r.attempts) for r in rows) == [("failed", 1), ("pending", 0),
                                                            ("pending", 0)]
    assert all(r.next_attempt_at is not None and r.next_attempt_at > clock() for r in rows)
    failed = next(r for r in rows if r.status == "failed")
    assert "timed out" in (failed.last_error or "")


def test_stop_gives_back_what_is_not_sent(store: Engine, clock: Clock,
                                          smtp_server: SmtpServer) -> None:
    contact(store, "a.sup", clock, email="a@county.example")
    put(store, clock, recipient="a.sup", channels=("email",))
    stop = threading.Event()
    stop.set()
    report = worker(settings_for(smtp_server.port), store, clock).run_once(stop)
    assert (report.released, report.sent) == (1, 0)
    [row] = notifications(store)
    assert (row.status, row.attempts) == ("pending", 0)
