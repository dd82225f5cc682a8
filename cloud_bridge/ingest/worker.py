"""The ingest worker: MQTT in, one database commit per batch, PUBACKs and kiosk acks out.

Three threads per worker, all owned here and joined by ``stop()``:

- paho's network thread: ``on_message`` only puts the message on a queue.
- the preparer thread (a one-thread executor owned by the committer): decodes and verifies
  the next batch while the committer's transaction waits on the database;
- the committer thread: takes a batch (up to ``batch_size`` messages, waiting at most
  ``batch_wait_ms`` after the first), writes it in one transaction (``BatchWriter``), and only
  after the commit sends the broker a PUBACK for every message of the batch (dead letters
  included: they are stored) and publishes the retained ``CloudAck`` of every kiosk touched.
  What goes to kiosks (acks, roster pages, key sets) is signed with the cloud's key and kept
  under the broker's packet limit by ``outbound.KioskPublisher``.

The ack rule (docs/protocol.md) follows: nothing is acknowledged before it is committed. If the
database is down the batch is kept, unacknowledged, and retried with backoff; the broker holds
everything behind it (MQTT 5 receive maximum / Mosquitto's in-flight limit). Only an outage is
retried: a message the store refuses is found and dead-lettered by the writer
(``isolation``), so one message never holds back the others. A PUBACK is only
sent on the connection the message arrived on: after a reconnect the broker re-sends what was
not acknowledged (persistent session), and the copy is acknowledged as a duplicate.

A crash of the committer (a bug, not a bad message: bad messages become dead letters) stops the
whole worker loudly: it logs, disconnects so the broker keeps the unacknowledged messages, and
``wait()`` raises ``WorkerCrashed``. There is never a silent dead worker.

The committer also writes the worker's heartbeat row (``heartbeat``): its state, what it holds
unacknowledged and since when, and its counters, so ``/healthz`` and the dashboard can tell a
stalled ingest from a quiet one without talking to the worker.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from cloud_bridge.errors import IngestError
from cloud_bridge.settings import BridgeSettings
from cloud_bridge.signing import CloudSigner
from cloud_bridge.store.errors import StoreUnwritable, first_line, is_outage
from cloud_bridge.store.ingest_models import WorkerStateValue

from . import mqtt as mqtt_setup
from . import rosters
from .heartbeat import Counters, Heartbeat
from .inbound import BatchResult, Inbound, Outcome
from .key_sets import publish_key_sets
from .outbound import KioskPublisher, PacketTooLarge
from .writer import BatchWriter, Prepared

log = logging.getLogger(__name__)


class WorkerCrashed(IngestError, RuntimeError):
    """The ingest worker stopped because of an unexpected error (its cause is chained)."""

    code = "worker_crashed"
    translation_key = "error.worker_crashed"


class WorkerNotReady(IngestError, RuntimeError):
    """The worker did not connect and subscribe within the time given to ``start``."""

    code = "worker_not_ready"
    translation_key = "error.worker_not_ready"


@dataclass
class WorkerStats:
    """Counters for logs, tests and benchmarks (written by the committer thread only, but
    ``connects``, by paho's)."""

    batches: int = 0
    recorded: int = 0
    duplicates: int = 0
    updated: int = 0
    dead_letters: int = 0
    acks_published: int = 0
    pubacks_sent: int = 0
    pubacks_skipped: int = 0
    database_retries: int = 0
    rosters_published: int = 0
    unstorable: int = 0
    """Messages whose full dead letter the store refused too (kept as a minimal row)."""
    key_sets_published: int = 0
    connects: int = 0


class IngestWorker:
    """One ingest worker: an MQTT client with a persistent session and a committer thread.

    Use as a context manager, or ``start()`` then ``stop()``::

        with IngestWorker(settings, engine) as worker:
            worker.wait()          # until stop() or a crash (raises WorkerCrashed)

    Args:
        settings: the bridge's settings (broker and ingest sections are used).
        engine: the store's engine, already migrated.
        client_id: overrides ``settings.ingest.client_id`` (each worker needs its own).

    Raises:
        cloud_bridge.signing.SigningKeyError: the cloud's signing key cannot be used (a worker
            never sends a kiosk anything unsigned).
    """

    def __init__(self, settings: BridgeSettings, engine: Engine, *,
                 client_id: str | None = None) -> None:
        self.settings = settings
        self.client_id = client_id or settings.ingest.client_id
        self.stats = WorkerStats()
        self._signer = CloudSigner.from_settings(settings.signing)
        self._outbound: KioskPublisher | None = None
        self._key_sets_due = True  # every enrolled kiosk's, once connected
        self._engine = engine
        self._writer = BatchWriter(engine, payload_cap=settings.ingest.dead_letter_payload_cap,
                                   public_base_urls=settings.api.accepted_base_urls)
        self._next_roster_poll = 0.0
        self._filters = mqtt_setup.subscription_filters(settings.ingest)
        self._queue: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._client: mqtt.Client | None = None
        self._committer: threading.Thread | None = None
        self._stopping = threading.Event()
        self._done = threading.Event()  # the committer has ended (stopped or crashed)
        self._subscribed = threading.Event()
        # Guards the connection generation: a PUBACK must go out on the connection its message
        # came in on, never on a later one where the broker may have reused the packet id.
        self._conn_lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._subscribe_mid: int | None = None
        self._crash: BaseException | None = None
        self._last_publishes: list[mqtt.MQTTMessageInfo] = []
        self._heartbeat = Heartbeat(engine, self.client_id, settings.ingest.heartbeat_s)
        self._in_hand: list[Inbound] = []  # the batches taken and not yet acknowledged
        self._last_error: str | None = None

    # ---------------------------------------------------------------------------- lifecycle

    def start(self, *, ready_timeout: float | None = 10.0) -> IngestWorker:
        """Connect, subscribe and start committing.

        Args:
            ready_timeout: wait this long for the subscription to be granted and raise
                ``WorkerNotReady`` (after stopping) if it is not; None returns at once and lets
                the client keep trying in the background.
        """
        if self._client is not None:
            raise RuntimeError("worker already started")
        client = mqtt_setup.build_client(self.settings.broker, self.client_id)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._client = client
        self._outbound = KioskPublisher(client, self._signer,
                                        max_packet_size=self.settings.broker.max_packet_size,
                                        v5=self.settings.broker.protocol == "5")
        self._committer = threading.Thread(target=self._run, name=f"ingest-{self.client_id}",
                                           daemon=True)
        self._committer.start()
        mqtt_setup.connect_async(client, self.settings.broker)
        client.loop_start()
        if ready_timeout is not None and not self._subscribed.wait(ready_timeout):
            self.stop()
            raise WorkerNotReady(
                f"ingest worker {self.client_id!r} did not subscribe at "
                f"{self.settings.broker.url} within {ready_timeout}s"
            )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, send its acks, disconnect and join both threads.

        Messages still queued are not acknowledged: the broker delivers them again.
        """
        self._stopping.set()
        if self._committer is not None:
            self._committer.join(timeout)
            if self._committer.is_alive():
                log.error("ingest worker %s: committer did not stop within %ss",
                          self.client_id, timeout)
            elif self._crash is None:
                self._beat(WorkerStateValue.STOPPED, force=True)
        client, self._client = self._client, None
        if client is not None:
            for info in self._last_publishes:
                if self._connected and not info.is_published():
                    try:
                        info.wait_for_publish(timeout=2.0)
                    except (RuntimeError, ValueError):
                        break
            client.disconnect()
            client.loop_stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the committer ends (``stop()`` or a crash); True if it has.

        Raises:
            WorkerCrashed: the committer crashed; call ``stop()`` to release the client.
        """
        done = self._done.wait(timeout)
        self.check()
        return done

    def check(self) -> None:
        """Raise WorkerCrashed if the committer has crashed."""
        if self._crash is not None:
            raise WorkerCrashed(f"ingest worker {self.client_id!r} crashed: "
                                f"{type(self._crash).__name__}: {self._crash}") from self._crash

    @property
    def crashed(self) -> bool:
        return self._crash is not None

    @property
    def running(self) -> bool:
        return self._client is not None and not self._stopping.is_set()

    def __enter__(self) -> IngestWorker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------------- paho's thread

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: mqtt.ConnectFlags,
                    reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("ingest worker %s: broker refused the connection: %s",
                        self.client_id, reason_code)
            return
        with self._conn_lock:
            self._generation += 1
            self._connected = True
        self.stats.connects += 1
        announced = getattr(properties, "MaximumPacketSize", None)
        if self._outbound is not None and isinstance(announced, int):
            self._outbound.broker_limit = announced  # the broker's own limit, if smaller
        log.info("ingest worker %s connected (session present: %s)", self.client_id,
                 flags.session_present)
        try:
            self._subscribe_mid = mqtt_setup.subscribe_all(client, self.settings.broker,
                                                           self._filters)
        except ConnectionError as exc:
            log.warning("ingest worker %s: %s", self.client_id, exc)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_codes: list[Any], properties: Any) -> None:
        if mid != self._subscribe_mid:
            return
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("ingest worker %s: broker refused subscriptions %s: %s",
                      self.client_id, self._filters, failed)
            return
        self._subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: Any, properties: Any) -> None:
        with self._conn_lock:
            self._generation += 1
            self._connected = False
        if not self._stopping.is_set():
            log.warning("ingest worker %s lost the broker (%s); reconnecting",
                        self.client_id, reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Only enqueue: paho's thread must stay free to read the socket.
        try:
            raw_topic: bytes = message._topic
            self._queue.put(Inbound(
                topic=raw_topic.decode("utf-8", errors="replace"),
                payload=bytes(message.payload),
                mid=message.mid,
                qos=message.qos,
                received_at=datetime.now(UTC),
                generation=self._generation,
            ))
        except Exception:  # never let paho's thread die: a dead reader is a silent dead worker
            log.exception("ingest worker %s: could not queue a message", self.client_id)

    # --------------------------------------------------------------- committer thread

    def _run(self) -> None:
        # Pipelined: while batch N's transaction waits on the database, the preparer thread
        # decodes and verifies batch N+1 (pure CPU; see BatchWriter.prepare). Batch N+1 is
        # acknowledged only after its own commit, as every batch.
        preparer = ThreadPoolExecutor(max_workers=1,
                                      thread_name_prefix=f"prepare-{self.client_id}")
        pending: tuple[list[Inbound], Future[Prepared]] | None = None
        try:
            while not self._stopping.is_set():
                self._in_hand = [*(pending[0] if pending else [])]
                self._beat(WorkerStateValue.RUNNING)
                if time.monotonic() >= self._next_roster_poll and self._connected:
                    self._publish_rosters(None)
                if pending is None:
                    batch = self._take_batch()
                    if not batch:
                        continue
                    pending = (batch, preparer.submit(self._writer.prepare, batch))
                batch, future = pending
                following = self._take_batch(wait=False)
                pending = ((following, preparer.submit(self._writer.prepare, following))
                           if following else None)
                self._in_hand = [*batch, *(following or [])]
                result = self._commit(batch, future)
                if result is None:  # stopping while the database is away: acknowledge nothing
                    break
                self._acknowledge(batch, result)
        except BaseException as exc:
            self._crash = exc
            log.critical("ingest worker %s crashed; stopping it (unacknowledged messages stay "
                         "with the broker)", self.client_id, exc_info=True)
            self._last_error = f"crashed: {type(exc).__name__}: {exc}"
            self._beat(WorkerStateValue.CRASHED, force=True)
            self._stopping.set()
            client = self._client
            if client is not None:
                client.disconnect()
        finally:
            preparer.shutdown(wait=True, cancel_futures=True)
            self._done.set()

    def _take_batch(self, *, wait: bool = True) -> list[Inbound]:
        """Up to batch_size queued messages; ``wait=False`` takes only what is queued now."""
        try:
            first = self._queue.get(timeout=0.1) if wait else self._queue.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        size = self.settings.ingest.batch_size
        wait_s = self.settings.ingest.batch_wait_ms / 1000
        deadline = time.monotonic() + wait_s
        while len(batch) < size:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not wait:
                break
            try:
                batch.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _commit(self, batch: list[Inbound], future: Future[Prepared] | None
                ) -> BatchResult | None:
        ingest = self.settings.ingest
        delay = ingest.retry_initial_s
        failures = 0
        prepared: Prepared | None = None
        while True:
            try:
                if prepared is None:
                    # After a failed preparation (the keys could not be read) prepare inline.
                    prepared = future.result() if future is not None else self._writer.prepare(
                        batch)
                    future = None
                result = self._writer.commit(prepared)
            except (SQLAlchemyError, StoreUnwritable) as exc:
                if not is_outage(exc):
                    # Not the database being away: a bug (the writer turns what the store
                    # refuses into dead letters). Retrying would stall the stream for ever.
                    raise
                future = None
                failures += 1
                self.stats.database_retries += 1
                self._last_error = f"database unavailable: {first_line(exc)}"
                if failures == 1:
                    log.warning("ingest worker %s: database unavailable (%s); keeping %d "
                                "messages unacknowledged and retrying", self.client_id,
                                first_line(exc), len(batch))
                elif delay >= ingest.retry_max_s:
                    log.error("ingest worker %s: database still unavailable after %d tries: %s",
                              self.client_id, failures, first_line(exc))
                self._beat(WorkerStateValue.RETRYING)
                # Full jitter, so workers that lost the database together do not return together.
                if self._stopping.wait(random.uniform(delay / 2, delay)):
                    return None
                delay = min(delay * 2, ingest.retry_max_s)
                continue
            if failures:
                log.warning("ingest worker %s: database back after %d retries", self.client_id,
                            failures)
                self._last_error = None
            return result

    def _acknowledge(self, batch: list[Inbound], result: BatchResult) -> None:
        client = self._client
        assert client is not None
        stats = self.stats
        stats.batches += 1
        stats.recorded += result.count(Outcome.RECORDED)
        stats.duplicates += result.count(Outcome.DUPLICATE)
        stats.updated += result.count(Outcome.UPDATED)
        stats.dead_letters += result.count(Outcome.DEAD_LETTER)
        stats.unstorable += result.unstorable
        for verdict in result.verdicts:
            if verdict.rejection is not None:
                log.info("dead letter on %s: %s: %s", verdict.inbound.topic,
                         verdict.rejection.code, verdict.rejection.reason)
        with self._conn_lock:
            for inbound in batch:
                if inbound.qos == 0:
                    continue
                if inbound.generation == self._generation and self._connected:
                    client.ack(inbound.mid, inbound.qos)
                    stats.pubacks_sent += 1
                else:
                    stats.pubacks_skipped += 1  # the broker re-sends it on the new connection
        now = datetime.now(UTC)
        outbound = self._outbound
        assert outbound is not None
        publishes = []
        for device_id, acked_seq in result.watermarks.items():
            try:
                publishes.append(outbound.ack(device_id, acked_seq, now))
            except PacketTooLarge as exc:  # an ack is ~250 bytes: only a broken limit
                log.error("ingest worker %s: %s", self.client_id, exc)
        stats.acks_published += len(publishes)
        self._last_publishes = publishes
        if result.births:
            self.stats.key_sets_published += publish_key_sets(self._engine, outbound,
                                                              result.births)
        if result.roster_stations:
            self._publish_rosters(None)
        elif result.births:
            self._publish_rosters(result.births)

    def _beat(self, state: str, *, force: bool = False) -> None:
        in_hand = self._in_hand
        s = self.stats
        self._heartbeat.beat(
            state, in_hand=len(in_hand) + self._queue.qsize(),
            oldest_in_hand_at=min((m.received_at for m in in_hand), default=None),
            counters=Counters(s.batches, s.recorded, s.duplicates, s.dead_letters,
                              s.unstorable, s.database_retries),
            last_error=self._last_error, force=force)

    def _publish_rosters(self, device_ids: list[str] | None) -> None:
        outbound = self._outbound
        if self._client is None or outbound is None:
            return
        if device_ids is None:
            self._next_roster_poll = time.monotonic() + self.settings.ingest.roster_poll_s
            if self._key_sets_due:
                self.stats.key_sets_published += publish_key_sets(self._engine, outbound)
                self._key_sets_due = False
        self.stats.rosters_published += rosters.publish_pending(self._engine, outbound,
                                                                device_ids)
