"""The notify worker: watch for new alerts, fire due escalation steps, deliver due notifications.

It runs as its own process, ``nongan bridge notify run`` (``nongan-notify.service``), rather
than inside ``serve`` or ``run``: the API runs as several uvicorn processes and the ingest
workers as several instances, none of which should wait on a mail server or send the same
mail twice; a separate process can stop, crash or be restarted without touching ingest or
the API, and two of them are safe (rows are claimed with ``SKIP LOCKED`` and a lease; alerts
and messages are unique by key). Ingest never waits on it: the only link is the database.

Each pass takes ``now`` from an injectable clock, so tests move time instead of sleeping. A
pass that fails on the database is logged and the loop carries on after a backoff; a channel
that fails only makes its notifications wait for their next attempt.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cloud_bridge.settings import BridgeSettings
from cloud_bridge.store.engine import session_factory
from cloud_bridge.store.types import utcnow

from .alert_watch import watch_positives
from .channels import CHANNELS, build_notifiers
from .errors import ChannelNotConfigured, DeliveryError, RetryLater
from .escalation import fire_due
from .message import Notifier, Outgoing, render
from .outbox import RetryPolicy, claim, record_failure, record_sent, release

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """What one pass did (for tests and the log)."""

    opened: int = 0
    fired: int = 0
    sent: int = 0
    failed: int = 0
    given_up: int = 0
    released: int = 0
    """Claimed but given back untried (their channel failed earlier in the pass, or stop)."""
    errors: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.sent + self.failed + self.given_up


class NotifyWorker:
    """Args:
        settings: the bridge's settings (``notify``, ``dashboard``, ``api.public_base_url``).
        engine: a writer engine on a migrated store.
        notifiers: channel name -> notifier; default built from the settings.
        clock: the time now (aware UTC).
        rng: randomness for the retry jitter.
    """

    def __init__(self, settings: BridgeSettings, engine: Engine, *,
                 notifiers: dict[str, Notifier] | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.config = settings.notify
        self.sessions = session_factory(engine)
        self.notifiers = (notifiers if notifiers is not None
                          else build_notifiers(settings.notify))
        self.clock = clock
        self.rng = rng or random.Random()
        self.policy = RetryPolicy(self.config.retry_initial_s, self.config.retry_max_s,
                                  self.config.max_attempts)

    def run_once(self, stop: threading.Event | None = None) -> PassReport:
        """One pass: new alerts, due escalation steps, then due notifications.

        A channel that fails to connect is not tried again in the same pass (its other
        notifications are given back untried, due after a first backoff), so a mail server
        that swallows connections costs one timeout per pass, not one per mail; ``stop``
        gives back what is not sent yet and ends the pass.
        """
        report = PassReport()
        now = self.clock()
        if self.config.watch_positives:
            with self.sessions.begin() as session:
                report.opened = watch_positives(session, self.settings, now=now)
        with self.sessions.begin() as session:
            report.fired = fire_due(session, now=now, channels=self.config.channels)
        with self.sessions.begin() as session:
            items = claim(session, now=now, limit=self.config.batch_size,
                          lease_s=self.config.lease_s, max_attempts=self.config.max_attempts)
        down: dict[str, str] = {}
        for item in items:
            if (stop is not None and stop.is_set()) or item.channel in down:
                with self.sessions.begin() as session:
                    release(session, item, until=self.clock() + self.policy.delay(1, self.rng))
                report.released += 1
                continue
            error = self._deliver(item, report)
            if error is not None and not error.permanent:
                down[item.channel] = str(error)
        return report

    def _deliver(self, item: Outgoing, report: PassReport) -> DeliveryError | None:
        notifier = self.notifiers.get(item.channel)
        subject, body = render(item.template_key, {"channel": item.channel, **item.params},
                               item.language, item.link)
        message = dataclasses.replace(item, subject=subject, body=body)
        try:
            if notifier is None:
                channel = CHANNELS.get(item.channel)
                raise ChannelNotConfigured(
                    f"channel {item.channel} is not configured"
                    + (f" (set {channel.setting})" if channel else ""))
            receipt = notifier.send(message)
        except DeliveryError as exc:
            self._record_failure(item, exc, report)
            return exc
        except Exception as exc:  # a bug in a channel must not stop the others
            log.exception("notification %s: %s channel failed unexpectedly", item.id,
                          item.channel)
            error = RetryLater(f"{type(exc).__name__}: {exc}")
            self._record_failure(item, error, report)
            return error
        with self.sessions.begin() as session:
            record_sent(session, item, receipt, now=self.clock())
        report.sent += 1
        log.info("notification %s sent to %s by %s: %s", item.id, item.recipient,
                 item.channel, receipt)
        return None

    def _record_failure(self, item: Outgoing, exc: DeliveryError, report: PassReport) -> None:
        with self.sessions.begin() as session:
            status = record_failure(session, item, exc, now=self.clock(), policy=self.policy,
                                    rng=self.rng)
        if status == "given_up":
            report.given_up += 1
            log.warning("notification %s to %s by %s given up: %s", item.id, item.recipient,
                        item.channel, exc)
        else:
            report.failed += 1
            log.info("notification %s to %s by %s failed (attempt %d), retried later: %s",
                     item.id, item.recipient, item.channel, item.attempt, exc)
        report.errors.append(str(exc))

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set. A full batch goes straight on to the next
        pass; a database error waits (doubling up to ``retry_max_s``) and tries again."""
        backoff = self.config.poll_s
        while not stop.is_set():
            try:
                report = self.run_once(stop)
            except SQLAlchemyError as exc:
                log.warning("notify pass failed on the database, trying again in %.0f s: %s",
                            backoff, str(exc).splitlines()[0])
                stop.wait(backoff)
                backoff = min(backoff * 2, self.config.retry_max_s)
                continue
            backoff = self.config.poll_s
            if report.claimed + report.released < self.config.batch_size:
                stop.wait(self.config.poll_s)

    def close(self) -> None:
        for notifier in self.notifiers.values():
            notifier.close()
