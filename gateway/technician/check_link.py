"""Link checks: the outbox (what waits for the cloud) and the broker (a real MQTT CONNECT).

The broker probe connects with the kiosk's own address, TLS files and credentials, as
``{device id}-doctor`` so it never takes over the running kiosk's session, with a clean session
and no will; it says whether the broker answered and whether it accepted the credentials, then
disconnects. A broker that cannot be reached is a warning (the kiosk keeps testing and its
outbox keeps every record until the link is back; the outbox check escalates when that lasts);
credentials or TLS refused are a fault (nothing will ever be delivered until they are fixed).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from ..outbox import OutboxStats
from ..settings import BrokerSection
from ..tls import tls_context
from .report import Check, Status


@dataclass(frozen=True)
class OutboxLimits:
    """When the outbox is worth a warning or a fault."""

    warn_age: timedelta = timedelta(hours=1)
    fault_age: timedelta = timedelta(days=3)
    warn_depth: int = 5_000
    stall_after: timedelta = timedelta(minutes=10)
    """Records waiting while the link is connected and the cloud's ack has not moved."""


def outbox_checks(stats: OutboxStats, now: datetime,
                  limits: OutboxLimits = OutboxLimits()) -> list[Check]:
    """The outbox's depth, the age of its oldest unacknowledged record, and ack progress."""
    checks = []
    age = (now - stats.oldest_unacked_created_at if stats.oldest_unacked_created_at
           else None)
    depth = (f"{stats.unacked} record(s) wait for the cloud ({stats.pending} not yet sent, "
             f"{stats.sent} sent, not yet acknowledged; {stats.unacked_bytes} bytes)")
    if stats.unacked == 0:
        checks.append(Check("outbox", "depth", Status.OK, "empty: the cloud has everything"))
    elif stats.unacked >= limits.warn_depth:
        checks.append(Check("outbox", "depth", Status.WARNING, depth,
                            "check the network and the broker (see the broker line)"))
    else:
        checks.append(Check("outbox", "depth", Status.OK, depth))
    if age is not None:
        shown = _duration(age)
        if age >= limits.fault_age:
            checks.append(Check(
                "outbox", "oldest unacknowledged", Status.FAULT,
                f"{shown} old: certificates issued since cannot be verified by QR",
                "restore the kiosk's network or broker access (see the broker line); records "
                "are kept and will be sent"))
        elif age >= limits.warn_age:
            checks.append(Check("outbox", "oldest unacknowledged", Status.WARNING,
                                f"{shown} old", "check the network and the broker"))
        else:
            checks.append(Check("outbox", "oldest unacknowledged", Status.OK, f"{shown} old"))
    checks.append(_ack_progress(stats, now, limits))
    if stats.acked_seq > stats.last_seq:
        checks.append(Check(
            "outbox", "acknowledgements", Status.FAULT,
            f"the cloud acknowledged seq {stats.acked_seq}, beyond this kiosk's last "
            f"{stats.last_seq}",
            "another kiosk uses this device id, or this database was replaced: call the "
            "cloud operator"))
    else:
        checks.append(Check("outbox", "acknowledgements", Status.OK,
                            f"cloud has acknowledged seq {stats.acked_seq} of "
                            f"{stats.last_seq}"))
    return checks


def _ack_progress(stats: OutboxStats, now: datetime, limits: OutboxLimits) -> Check:
    """Whether the cloud's ack moves while the link is up. Connected, records waiting, and no
    ack for long means the cloud refuses or cannot store something of this kiosk's (a dead
    letter holds its watermark back, or the cloud's ingest is stalled): re-sending will not
    help, a person at the cloud must act."""
    if not stats.unacked:
        return Check("outbox", "ack progress", Status.OK, "nothing waits for the cloud")
    if stats.link_connected_since is None:
        return Check("outbox", "ack progress", Status.OK,
                     "the link is not connected: records wait for it (see the broker line)")
    since = max(t for t in (stats.link_connected_since, stats.acked_at,
                            stats.oldest_unacked_created_at) if t is not None)
    waited = now - since
    if waited >= limits.stall_after:
        return Check(
            "outbox", "ack progress", Status.FAULT,
            f"connected, and the cloud has acknowledged nothing for {_duration(waited)}: "
            f"{stats.unacked} record(s) wait beyond seq {stats.acked_seq} (of "
            f"{stats.last_seq})",
            "the cloud refuses or cannot store a record of this kiosk: call the cloud "
            "operator (nongan bridge dead-letters list --device <this kiosk's id>; /healthz). "
            "The records are kept here meanwhile")
    return Check("outbox", "ack progress", Status.OK,
                 f"connected; last acknowledgement {_duration(now - stats.acked_at)} ago"
                 if stats.acked_at else "connected; waiting for the first acknowledgement")


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def probe_broker(broker: BrokerSection, client_id: str, *, timeout_s: float = 5.0) -> Check:
    """Connect to the broker as the kiosk would and report what happened.

    Args:
        broker: the kiosk's broker settings (address, protocol, TLS, credentials).
        client_id: the MQTT client id to use (not the kiosk's own: that would take over its
            session).
        timeout_s: how long to wait for the TCP connection and the broker's CONNACK.
    """
    where = f"{broker.host}:{broker.port}{' (TLS)' if broker.tls else ''}"
    v5 = broker.protocol == "5"
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
                         clean_session=None if v5 else True)
    answer: list[ReasonCode] = []
    client.on_connect = lambda c, u, flags, reason, props: answer.append(reason)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    try:
        if broker.tls:
            client.tls_set_context(tls_context(broker))
        client.connect_timeout = timeout_s
        started = time.monotonic()
        client.connect(broker.host, broker.port, keepalive=max(5, broker.keepalive_s))
        deadline = started + timeout_s
        while not answer and time.monotonic() < deadline:
            client.loop(timeout=0.1)
        elapsed_ms = (time.monotonic() - started) * 1000
    except (ssl.SSLError, ssl.CertificateError) as exc:
        return Check("broker", where, Status.FAULT, f"TLS failed: {exc}",
                     "check broker.ca_file, cert_file and key_file (and the kiosk's clock: "
                     "a wrong date makes certificates look invalid)")
    except FileNotFoundError as exc:
        return Check("broker", where, Status.FAULT, f"TLS file missing: {exc}",
                     "check the paths of broker.ca_file, cert_file and key_file")
    except (OSError, TimeoutError) as exc:
        return Check("broker", where, Status.WARNING, f"not reachable: {_why(exc)}",
                     "check the network (cable, 4G modem), the broker address in broker.url, "
                     "and that the broker runs; the kiosk keeps its records meanwhile")
    finally:
        _close(client)
    if not answer:
        return Check("broker", where, Status.WARNING,
                     f"connected, but no CONNACK within {timeout_s:g} s",
                     "the broker is overloaded or this is not an MQTT port: check broker.url")
    reason = answer[0]
    if reason.is_failure:
        return Check("broker", where, Status.FAULT,
                     f"refused the connection: {reason.getName()}",
                     "check broker.username and broker.password (or the client certificate) "
                     "with the cloud operator, who enrols each kiosk on the broker")
    user = f" as {broker.username}" if broker.username else " (anonymous)"
    return Check("broker", where, Status.OK,
                 f"connected{user} in {elapsed_ms:.0f} ms (MQTT {broker.protocol})")


def _close(client: mqtt.Client) -> None:
    """Say goodbye if connected and make sure the socket is closed (no thread was started)."""
    with contextlib.suppress(Exception):
        if client.is_connected():
            client.disconnect()
            client.loop(timeout=0.05)
    sock = client.socket()
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror})"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return str(exc) or type(exc).__name__
