"""The kiosk's MQTT link: birth and last will, telemetry, draining the outbox, hearing acks.

One asyncio task owns the connection and reconnects in an explicit loop with exponential
backoff and full jitter, reset only after a connection has stayed up for ``stable_after_s``
(so a thousand kiosks coming back at once do not reconnect in lock-step). While connected, a
``TaskGroup`` runs: the outbox drain (a sliding window of ``inflight_window`` QoS 1 publishes),
the resend timer, telemetry, and the reader of acks and commands. If any of them fails with
an MQTT error the connection is torn down and rebuilt; any other exception stops the link
loudly (the gateway's supervisor stops the process and systemd restarts it) — never a silent
dead worker.

Nothing the cloud sends (acks, roster pages, key sets, commands) is acted on before
``gateway.cloud_trust`` has checked its signature against the cloud keys this kiosk pinned;
a refused message changes nothing and is reported (alarm, telemetry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel

from protocol import (
    Channel,
    CloudAck,
    CloudKeys,
    Command,
    CommandResult,
    EventName,
    ProtocolError,
    Roster,
    StatusMessage,
    Telemetry,
    ack_topic,
    command_result_topic,
    event_topic,
    keys_topic,
    status_topic,
    subscription,
    telemetry_topic,
)
from protocol.batch import make_batch

from .cancellation import cancel_and_wait
from .cloud_trust import CloudTrust
from .outbox import AckBeyondLedger, Outbox, OutboxRecord
from .roster_pages import RosterAssembler
from .sealing import MessageSealer
from .settings import BrokerSection, LinkSection
from .tls import tls_context

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our commands for a week offline
MAX_BATCH_BYTES = 192 * 1024  # well under the cloud's 256 KiB payload limit

TelemetrySource = Callable[[], Awaitable[dict[str, Any]]]
CommandHandler = Callable[[Command], Awaitable[dict[str, Any]]]
RosterHandler = Callable[[Roster], Awaitable[bool]]
Receiver = Callable[[aiomqtt.Client, Any], Awaitable[None]]


@dataclass
class LinkState:
    """What the link knows about itself, for telemetry, ``nongan doctor`` and the UI."""

    connected: bool = False
    connects: int = 0
    last_error: str | None = None
    roster_version: int | None = None
    published: int = 0
    acks_ignored: int = 0
    errors: list[str] = field(default_factory=list)


class Backoff:
    """Exponential backoff with full jitter: sleep uniform(0, min(cap, base * 2**n))."""

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base, self.cap = base, cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class MqttLink:
    def __init__(
        self,
        broker: BrokerSection,
        settings: LinkSection,
        outbox: Outbox,
        sealer: MessageSealer,
        *,
        trust: CloudTrust,
        software_version: str,
        firmware_version: Callable[[], str | None] = lambda: None,
        station_id: str | None = None,
        telemetry: TelemetrySource | None = None,
        commands: Mapping[str, CommandHandler] | None = None,
        roster: RosterHandler | None = None,
        state: LinkState | None = None,
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.outbox = outbox
        self.sealer = sealer
        self.software_version = software_version
        self.firmware_version = firmware_version
        self.station_id = station_id
        self.telemetry_source = telemetry
        # The commands this kiosk answers, by name (``cmd/{name}``): fixed at construction.
        self.commands: Mapping[str, CommandHandler] = MappingProxyType(dict(commands or {}))
        # Given the cloud's retained roster (producers to identify offline); returns whether
        # it was newer than the copy held.
        self.roster_handler = roster
        # Every cloud message is checked against the cloud keys this kiosk trusts first.
        self.trust = trust
        self._roster_pages = RosterAssembler()
        self._highest_ack: int | None = None
        self.state = state or LinkState()
        # What each message the cloud sends does here, by its type (protocol.registry's cloud
        # channels; a test checks every one has its receiver).
        self.receivers: Mapping[type[BaseModel], Receiver] = MappingProxyType({
            CloudAck: self._on_ack,
            Command: self._on_command,
            Roster: self._on_roster,
            CloudKeys: self._on_keys,
        })
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        self._wakeup: asyncio.Event | None = None
        self._stopping = False
        self._serving: set[asyncio.Task[None]] = set()  # this connection's loops

    @property
    def device_id(self) -> str:
        return self.sealer.device_id

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        """Keep a connection up until cancelled; reconnect with backoff on MQTT errors."""
        loop = asyncio.get_running_loop()
        self._stopping = False
        self._serving = set()
        self._wakeup = asyncio.Event()
        wake = self._wakeup

        def on_new_records() -> None:
            loop.call_soon_threadsafe(wake.set)

        self.outbox.add_listener(on_new_records)
        # Whatever was in flight before a restart is unconfirmed: publish it again.
        await asyncio.to_thread(self.outbox.requeue_sent)
        await asyncio.to_thread(self.outbox.note_link, False)  # for nongan doctor
        try:
            while True:
                self._raise_if_stopping()
                started = time.monotonic()
                try:
                    await self._connect_and_serve()
                except aiomqtt.MqttError as exc:
                    self._note_error(f"MQTT link lost: {exc}")
                    await asyncio.to_thread(self.outbox.note_link, False)  # for nongan doctor
                finally:
                    self.state.connected = False
                if time.monotonic() - started >= self.settings.stable_after_s:
                    self._backoff.reset()
                delay = self._backoff.next_delay()
                log.info("reconnecting to %s in %.1fs", self.broker.url, delay)
                await asyncio.sleep(delay)
        finally:
            self.outbox.remove_listener(on_new_records)

    def _note_error(self, message: str) -> None:
        log.warning(message)
        self.state.last_error = message
        self.state.errors = [*self.state.errors[-19:], message]

    def _client(self) -> aiomqtt.Client:
        v5 = self.broker.protocol == "5"
        will_status = self._status_payload(online=False, graceful=False)
        kwargs: dict[str, Any] = {
            "hostname": self.broker.host,
            "port": self.broker.port,
            "username": self.broker.username,
            "password": self.broker.password,
            "identifier": self.device_id,
            "protocol": aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            "will": aiomqtt.Will(status_topic(self.device_id), will_status, qos=1, retain=True),
            "keepalive": self.broker.keepalive_s,
            "max_inflight_messages": self.settings.inflight_window,
            "timeout": 30.0,
        }
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            kwargs["properties"] = props
            kwargs["clean_start"] = False
        else:
            kwargs["clean_session"] = False
        if self.broker.tls:
            kwargs["tls_context"] = tls_context(self.broker)
        client = aiomqtt.Client(**kwargs)
        # aiomqtt warns above 10 pending publishes; our window is deliberate.
        client.pending_calls_threshold = self.settings.inflight_window + 10
        return client

    def _status_payload(self, *, online: bool, graceful: bool) -> bytes:
        sealed = self.sealer.seal(
            StatusMessage,
            "status",
            {
                "state": "online" if online else "offline",
                "graceful": graceful,
                "software_version": self.software_version,
                "firmware_version": self.firmware_version(),
                "station_id": self.station_id,
            },
        )
        return sealed.payload

    async def _connect_and_serve(self) -> None:
        async with self._client() as client:
            self.state.connected = True
            self.state.connects += 1
            self.state.last_error = None
            log.info("connected to %s as %s", self.broker.url, self.device_id)
            await client.subscribe(ack_topic(self.device_id), qos=1)
            await client.subscribe(keys_topic(self.device_id), qos=1)
            await client.subscribe(subscription(Channel.COMMAND, device_id=self.device_id), qos=1)
            if self.roster_handler is not None:
                await client.subscribe(subscription(Channel.ROSTER, device_id=self.device_id),
                                       qos=1)
            await client.publish(
                status_topic(self.device_id),
                self._status_payload(online=True, graceful=False),
                qos=1,
                retain=True,
            )
            # Records sent on the previous connection may never have reached the cloud.
            await asyncio.to_thread(self.outbox.requeue_sent)
            await asyncio.to_thread(self.outbox.note_link, True)  # for nongan doctor
            try:
                self._raise_if_stopping()  # a stop that came during the handshake
                async with asyncio.TaskGroup() as tasks:
                    self._serving = {
                        tasks.create_task(self._receive(client), name="nongan-link-receive"),
                        tasks.create_task(self._drain(client), name="nongan-link-drain"),
                        tasks.create_task(self._resend_timer(), name="nongan-link-resend"),
                    }
                    if self.telemetry_source is not None:
                        self._serving.add(tasks.create_task(self._telemetry(client),
                                                            name="nongan-link-telemetry"))
            except asyncio.CancelledError:
                if self._stopping:
                    await self._say_goodbye(client)
                raise
            except ExceptionGroup as group:
                # A lost connection surfaces in whichever task noticed first: reconnect.
                # Anything else is a bug and propagates.
                lost, other = group.split(aiomqtt.MqttError)
                if other is None and lost is not None:
                    raise _first_leaf(lost) from group
                raise

    async def _say_goodbye(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(
                status_topic(self.device_id),
                self._status_payload(online=False, graceful=True),
                qos=1,
                retain=True,
                timeout=2.0,
            )

    async def stop(self, task: asyncio.Task[None]) -> None:
        """Publish a graceful ``offline`` (if connected) and end ``run``'s task."""
        self._stopping = True
        await cancel_and_wait(task, on_late=self._cancel_serving)
        await asyncio.to_thread(self.outbox.note_link, False)  # for nongan doctor

    def _cancel_serving(self) -> None:
        for child in self._serving:
            child.cancel()

    def _raise_if_stopping(self) -> None:
        """End a serving loop once ``stop`` was called, even if its cancellation was lost
        (aiomqtt on Python 3.11: see ``gateway.cancellation``)."""
        if self._stopping:
            raise asyncio.CancelledError("the link is stopping")

    # ------------------------------------------------------------------ draining

    async def _drain(self, client: aiomqtt.Client) -> None:
        assert self._wakeup is not None
        wakeup = self._wakeup
        window = self.settings.inflight_window
        in_flight: set[int] = set()
        slots = asyncio.Semaphore(window)
        acked_ids: list[int] = []
        flushed = asyncio.Event()

        async def publish(group: list[OutboxRecord]) -> None:
            try:
                if len(group) == 1:
                    await client.publish(group[0].topic, group[0].payload, qos=1)
                else:
                    payload = make_batch(self.device_id, [r.payload for r in group])
                    await client.publish(batch_topic, payload, qos=1)
            finally:
                slots.release()
            acked_ids.extend(r.id for r in group)
            self.state.published += len(group)
            flushed.set()

        async def flush_sent() -> None:
            # Mark PUBACKed records "sent" in batches: one disk write per batch, not per record.
            while True:
                await flushed.wait()
                flushed.clear()
                batch = acked_ids[:]
                del acked_ids[: len(batch)]
                await asyncio.to_thread(self.outbox.mark_sent, batch)
                in_flight.difference_update(batch)

        batch_topic = event_topic(self.device_id, EventName.BATCH)
        per_publish = self.settings.records_per_publish
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(flush_sent(), name="nongan-link-flush")
            while True:
                self._raise_if_stopping()
                wakeup.clear()
                records = await asyncio.to_thread(
                    self.outbox.next_batch, window * per_publish, tuple(in_flight)
                )
                if not records:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(5.0):
                            await wakeup.wait()
                    continue
                for group in _groups(records, per_publish, MAX_BATCH_BYTES):
                    await slots.acquire()
                    in_flight.update(r.id for r in group)
                    tasks.create_task(publish(group), name="nongan-link-publish")

    async def _resend_timer(self) -> None:
        interval = max(1.0, self.settings.resend_after_s / 4)
        while True:
            self._raise_if_stopping()
            await asyncio.sleep(interval)
            count = await asyncio.to_thread(
                self.outbox.requeue_sent, self.settings.resend_after_s
            )
            if count:
                log.info("re-sending %d records the cloud has not acknowledged", count)

    # ------------------------------------------------------------------ receiving

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self._raise_if_stopping()  # answering the last message (a command's result)
            payload = message.payload if isinstance(message.payload, bytes) else b""
            topic = str(message.topic)
            if not payload:
                continue  # a retained message cleared (a roster page no longer used)
            try:
                decoded = await asyncio.to_thread(self.trust.receive, topic, payload)
            except ProtocolError as exc:
                # Unsigned, mis-signed, another kiosk's, or not even a message: it changes
                # nothing here, and a person hears of it (alarm, telemetry).
                self.state.acks_ignored += topic.endswith("/ack")
                self._note_error(f"refused a cloud message on {topic}: {exc.reason}")
                await asyncio.to_thread(self.trust.refuse, topic, exc.reason)
                continue
            receiver = self.receivers.get(type(decoded.message))
            if receiver is None:  # a kiosk message on a cloud topic: the trust check refused it
                continue
            await receiver(client, decoded.message)

    async def _on_keys(self, client: aiomqtt.Client, keys: CloudKeys) -> None:
        await asyncio.to_thread(self.trust.apply_keys, keys)

    async def _on_ack(self, client: aiomqtt.Client, ack: CloudAck) -> None:
        if self._highest_ack is not None and ack.acked_seq < self._highest_ack:
            self.trust.stale("ack", f"acked_seq {ack.acked_seq} is below {self._highest_ack}")
            return
        try:
            newly = await asyncio.to_thread(self.outbox.mark_acked, ack.acked_seq)
        except AckBeyondLedger as exc:
            self.state.acks_ignored += 1
            self._note_error(str(exc))
            return
        self._highest_ack = max(self._highest_ack or 0, ack.acked_seq)
        await asyncio.to_thread(self.trust.accepted)
        if newly:
            log.debug("cloud acknowledged up to seq %d (%d records)", ack.acked_seq, newly)

    async def _on_roster(self, client: aiomqtt.Client, page: Roster) -> None:
        if self.roster_handler is None:
            return
        pages = self._roster_pages
        if pages.is_stale(page):
            self.trust.stale("roster", f"version {page.version} is older than {pages.held}")
            return
        try:
            roster = pages.add(page)
        except ValueError as exc:
            self._note_error(f"ignored a roster: {exc}")
            return
        if roster is None:
            return  # more pages to come
        try:
            applied = await self.roster_handler(roster)
        except ValueError as exc:  # addressed to someone else, or refused: keep what we have
            self._note_error(f"ignored a roster: {exc}")
            return
        pages.held = max(pages.held or 0, roster.version)
        if applied:
            self.state.roster_version = roster.version
            log.info("roster version %d applied (%d producers)", roster.version,
                     len(roster.producers))

    async def _on_command(self, client: aiomqtt.Client, command: Command) -> None:
        result: dict[str, Any] = {}
        error: str | None = None
        stamp = self.sealer.clock.now()
        replay = await asyncio.to_thread(self.trust.command_is_new, command, now=stamp.time,
                                         clock_synced=stamp.time_synced)
        if replay is not None:
            self.trust.stale("cmd", replay)  # run once, answered once
            return
        if command.expires_at is not None and command.expires_at < datetime.now(UTC):
            ok, error = False, "command expired before it arrived"
        elif (handler := self.commands.get(command.name)) is None:
            ok, error = False, f"this kiosk has no command {command.name!r}"
        else:
            try:
                ok, result = True, await handler(command)
            except Exception as exc:  # a failing command is answered, not fatal to the link
                log.exception("command %s failed", command.name)
                ok, error = False, f"{type(exc).__name__}: {exc}"
        sealed = self.sealer.seal(
            CommandResult,
            "command_result",
            {"cmd_id": command.cmd_id, "name": command.name, "ok": ok, "result": result,
             "error": error},
        )
        await client.publish(command_result_topic(self.device_id, command.name), sealed.payload,
                             qos=1)

    # ------------------------------------------------------------------ telemetry

    async def _telemetry(self, client: aiomqtt.Client) -> None:
        assert self.telemetry_source is not None
        while True:
            self._raise_if_stopping()
            fields = await self.telemetry_source()
            message = self.sealer.seal(Telemetry, "telemetry", fields)
            # Telemetry is a snapshot: when offline it is simply not sent; the next one
            # supersedes it (coalescing to the latest), so it never competes with the ledger.
            await client.publish(telemetry_topic(self.device_id), message.payload, qos=1)
            await asyncio.sleep(self.settings.telemetry_interval_s)


def _groups(records: list[OutboxRecord], per_publish: int, max_bytes: int
            ) -> list[list[OutboxRecord]]:
    """Consecutive records in publishing order, up to ``per_publish`` and ``max_bytes`` each."""
    groups: list[list[OutboxRecord]] = []
    size = 0
    for record in records:
        if groups and len(groups[-1]) < per_publish and size + len(record.payload) <= max_bytes:
            groups[-1].append(record)
            size += len(record.payload)
        else:
            groups.append([record])
            size = len(record.payload)
    return groups


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception inside a (possibly nested) exception group."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
