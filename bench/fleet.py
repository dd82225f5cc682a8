"""Fleet soak: thousands of light kiosks against Mosquitto and the bridge on PostgreSQL.

Each simulated kiosk has its own MQTT connection (its own client id, birth and last will), its
own outbox (in memory: the durable SQLite outbox is exercised by tests/chaos), makes ledger
records on a compressed daily pattern (a morning market peak, a quiet night), publishes them
at QoS 1 with a window of 20, forgets them only when the cloud's retained ack covers them, and
re-sends what is unacknowledged after a reconnect or a timeout. A share of the fleet goes
offline for "hours" (a fifth of the compressed day), keeps making records, and comes back at
the same moment: the backlog's drain time is measured from that moment.

Prints: records created, recorded, lost, duplicated; the returning backlog's drain time; the
bridge workers' memory over time; the broker's stored-message peak (from $SYS).

Usage (from the repository root)::

    .venv/bin/python bench/fleet.py --kiosks 5000 --day 120 --workers 2
    .venv/bin/python bench/fleet.py --kiosks 200 --day 30          # a quick look

A private Mosquitto is started; PostgreSQL is the machine's server (a fresh schema, dropped
afterwards). The kiosks run in ``--processes`` processes (default 2), each one asyncio loop.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiomqtt  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cloud_bridge.store import make_engine, migrate  # noqa: E402
from protocol import ack_topic, status_topic  # noqa: E402
from tests.support.cloud import enroll  # noqa: E402
from tests.support.kiosk_messages import FakeKiosk  # noqa: E402
from tests.support.mosquitto import Mosquitto  # noqa: E402
from tests.support.postgres import fresh_schema  # noqa: E402

WINDOW = 20
RESEND_AFTER_S = 20.0
RECORDS_PER_DAY = 12  # a farmer's visit makes ~6 records; two visits a day per kiosk


def daily_rate(phase: float) -> float:
    """Relative activity over a day (phase 0..1 from midnight): a 7-10 am market peak."""
    hour = phase * 24
    morning = math.exp(-((hour - 8.5) ** 2) / 3.0)
    afternoon = 0.35 * math.exp(-((hour - 15) ** 2) / 6.0)
    night = 0.02
    return night + morning + afternoon


DAY_MEAN = sum(daily_rate(i / 240) for i in range(240)) / 240


# ----------------------------------------------------------------------------- one kiosk

@dataclass
class LightKiosk:
    fake: FakeKiosk
    offline_from: float | None = None  # seconds into the run
    offline_until: float | None = None
    outbox: dict[int, bytes] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    created: int = 0
    acked: int = 0
    connects: int = 0

    def make_record(self) -> None:
        topic, payload = (self.fake.certificate() if self.created % 3 else self.fake.reading())
        seq = json.loads(payload)["seq"]
        self.outbox[seq] = payload
        self.created += 1
        self.topics[seq] = topic

    def on_ack(self, acked_seq: int) -> None:
        if acked_seq <= self.acked:
            return
        for seq in [s for s in self.outbox if s <= acked_seq]:
            del self.outbox[seq]
            self.sent_at.pop(seq, None)
            self.topics.pop(seq, None)
        self.acked = acked_seq

    def offline(self, now: float) -> bool:
        return (self.offline_from is not None and self.offline_until is not None
                and self.offline_from <= now < self.offline_until)


async def run_kiosk(kiosk: LightKiosk, port: int, started: float, day_s: float,
                    end_create: float, stop: asyncio.Event, rng: random.Random) -> None:
    fake = kiosk.fake
    will = aiomqtt.Will(status_topic(fake.device_id), fake.status("offline")[1], qos=1,
                        retain=True)

    async def create_loop() -> None:
        # A non-homogeneous Poisson process: integrate the rate tick by tick and make a record
        # each time the integral passes an exponential draw.
        per_s = RECORDS_PER_DAY / day_s / DAY_MEAN
        tick = 0.25
        target, integral = rng.expovariate(1.0), 0.0
        last = time.monotonic() - started
        while (elapsed := time.monotonic() - started) < end_create:
            # Integrate over the time that really passed: a busy loop wakes late.
            integral += per_s * daily_rate((elapsed / day_s) % 1.0) * (elapsed - last)
            last = elapsed
            while integral >= target:
                integral -= target
                target = rng.expovariate(1.0)
                kiosk.make_record()
            await asyncio.sleep(tick)

    creator = asyncio.create_task(create_loop())
    backoff = 0.5
    try:
        while not stop.is_set():
            now = time.monotonic() - started
            if kiosk.offline(now):
                await asyncio.sleep(0.5)
                continue
            try:
                async with aiomqtt.Client(
                    "127.0.0.1", port, identifier=fake.device_id, will=will, keepalive=60,
                    clean_session=False, protocol=aiomqtt.ProtocolVersion.V311,
                    max_inflight_messages=WINDOW, timeout=60,
                ) as client:
                    client.pending_calls_threshold = 10_000
                    kiosk.connects += 1
                    backoff = 0.5
                    kiosk.sent_at.clear()  # a new connection: everything unacked goes again
                    await client.subscribe(ack_topic(fake.device_id), qos=1)
                    await client.publish(status_topic(fake.device_id), fake.status()[1], qos=1,
                                         retain=True)
                    receiver = asyncio.create_task(receive_acks(client, kiosk))
                    try:
                        await drain(client, kiosk, started, stop)
                    finally:
                        receiver.cancel()
                        with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                            await receiver
            except aiomqtt.MqttError:
                pass
            # Full jitter: a fleet coming back at once spreads itself out.
            await asyncio.sleep(rng.uniform(0, backoff))
            backoff = min(backoff * 2, 30.0)
    finally:
        creator.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await creator


async def receive_acks(client: aiomqtt.Client, kiosk: LightKiosk) -> None:
    async for message in client.messages:
        payload = message.payload if isinstance(message.payload, bytes) else b"{}"
        kiosk.on_ack(int(json.loads(payload).get("acked_seq", 0)))


async def drain(client: aiomqtt.Client, kiosk: LightKiosk, started: float,
                stop: asyncio.Event) -> None:
    slots = asyncio.Semaphore(WINDOW)
    tasks: set[asyncio.Task[None]] = set()

    async def publish(seq: int, topic: str, payload: bytes) -> None:
        try:
            await client.publish(topic, payload, qos=1)
            kiosk.sent_at[seq] = time.monotonic()
        finally:
            slots.release()

    while not stop.is_set():
        if kiosk.offline(time.monotonic() - started):
            return  # the "network" drops: leave the connection
        now = time.monotonic()
        due = [s for s in sorted(kiosk.outbox)
               if s not in kiosk.sent_at or now - kiosk.sent_at[s] > RESEND_AFTER_S]
        for seq in due:
            if seq not in kiosk.outbox:
                continue
            await slots.acquire()
            kiosk.sent_at[seq] = float("inf")  # in flight
            task = asyncio.create_task(publish(seq, kiosk.topics[seq], kiosk.outbox[seq]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        for task in [t for t in tasks if t.done() and t.exception()]:
            raise task.exception()  # type: ignore[misc]
        await asyncio.sleep(0.2)


def fleet_process(kiosks: list[LightKiosk], port: int, day_s: float, end_create: float,
                  run_for: float, seed: int, out: Any) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        started = time.monotonic()
        rng = random.Random(seed)
        tasks = []
        for i, kiosk in enumerate(kiosks):
            tasks.append(asyncio.create_task(run_kiosk(
                kiosk, port, started, day_s, end_create, stop, random.Random(seed * 7919 + i))))
            if i % 50 == 49:
                await asyncio.sleep(0.05)  # do not open thousands of sockets in one tick
        while time.monotonic() - started < run_for:
            await asyncio.sleep(1.0)
            if time.monotonic() - started > end_create and all(
                    not k.outbox for k in kiosks):
                break
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        del rng

    asyncio.run(main())
    out.put({
        k.fake.device_id: {
            "created": k.created, "acked": k.acked, "unacked": len(k.outbox),
            "connects": k.connects,
        } for k in kiosks
    })


# ----------------------------------------------------------------------------- observers

class BrokerWatch:
    """Peaks of Mosquitto's stored messages and connected clients, from $SYS."""

    def __init__(self, port: int) -> None:
        self.peak_stored = 0
        self.peak_clients = 0
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fleet-watch")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("$SYS/broker/store/messages/count")
        self.client.subscribe("$SYS/broker/clients/connected")
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with contextlib.suppress(ValueError):
            value = int(msg.payload)
            if msg.topic.endswith("store/messages/count"):
                self.peak_stored = max(self.peak_stored, value)
            else:
                self.peak_clients = max(self.peak_clients, value)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


@contextlib.contextmanager
def bridge_workers(count: int, broker_url: str, database_url: str, log: Path
                   ) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = []
    for i in range(count):
        env = {**os.environ, "PYTHONPATH": str(ROOT),
               "NONGAN_BRIDGE_DATABASE__URL": database_url,
               "NONGAN_BRIDGE_BROKER__URL": broker_url,
               "NONGAN_BRIDGE_INGEST__CLIENT_ID": f"fleet-bridge-{i}"}
        with log.open("ab") as sink:
            procs.append(subprocess.Popen([sys.executable, "-m", "nongan", "bridge", "run"],
                                          cwd=ROOT, env=env, stdout=sink, stderr=sink))
    try:
        yield procs
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ----------------------------------------------------------------------------- the run

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=5000)
    parser.add_argument("--day", type=float, default=120.0, help="seconds per simulated day")
    parser.add_argument("--days", type=float, default=1.0, help="simulated days of records")
    parser.add_argument("--offline-share", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2, help="bridge worker processes")
    parser.add_argument("--processes", type=int, default=2, help="fleet processes")
    parser.add_argument("--drain-limit", type=float, default=600.0,
                        help="seconds allowed after the last record for everything to arrive")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    end_create = args.day * args.days
    offline_from, offline_until = 0.3 * args.day, 0.5 * args.day  # out from ~7am to noon
    rng = random.Random(args.seed)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"command: {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory(prefix="nongan-fleet-") as tmp, fresh_schema() as db_url:
        workdir = Path(tmp)
        broker = Mosquitto(
            workdir=workdir / "mq",
            extra_config="sys_interval 1\nmax_connections -1\nmax_queued_messages 1000000",
        ).start()
        try:
            migrate(db_url)
            engine = make_engine(db_url)
            kiosks = [LightKiosk(FakeKiosk(device_id=f"fleet-{i:05d}"))
                      for i in range(args.kiosks)]
            for kiosk in rng.sample(kiosks, int(args.kiosks * args.offline_share)):
                kiosk.offline_from, kiosk.offline_until = offline_from, offline_until
            enroll(engine, *[k.fake for k in kiosks])
            watch = BrokerWatch(broker.port)
            memory: list[tuple[float, list[float]]] = []
            with bridge_workers(args.workers, broker.url, db_url, workdir / "bridge.log") as ws:
                time.sleep(3.0)
                queue: multiprocessing.Queue[dict[str, Any]] = multiprocessing.Queue()
                chunks = [kiosks[i::args.processes] for i in range(args.processes)]
                started = time.monotonic()
                procs = [multiprocessing.Process(
                    target=fleet_process,
                    args=(chunk, broker.port, args.day, end_create,
                          end_create + args.drain_limit, args.seed + n, queue))
                    for n, chunk in enumerate(chunks)]
                for proc in procs:
                    proc.start()
                returned_at = offline_until
                drain_done: float | None = None
                offline_ids = [k.fake.device_id for k in kiosks if k.offline_from is not None]
                results: dict[str, dict[str, Any]] = {}
                stop_sampling = threading.Event()

                def sample() -> None:
                    while not stop_sampling.wait(5.0):
                        memory.append((time.monotonic() - started, [rss_mb(w.pid) for w in ws]))

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                nonlocal_drain: list[float] = []

                def backlog_watch() -> None:
                    # After the offline share returns, poll until each of them is caught up.
                    time.sleep(max(0.0, returned_at - (time.monotonic() - started)))
                    while not stop_sampling.is_set():
                        with engine.connect() as conn:
                            behind = conn.execute(text(
                                "SELECT count(*) FROM ack_watermarks w WHERE w.device_id = ANY("
                                ":ids) AND w.acked_seq < (SELECT coalesce(max(seq), 0) FROM "
                                "ledger l WHERE l.device_id = w.device_id)"),
                                {"ids": offline_ids}).scalar()
                        if behind == 0 and time.monotonic() - started > returned_at + 1:
                            nonlocal_drain.append(time.monotonic() - started - returned_at)
                            return
                        time.sleep(1.0)

                backlog = threading.Thread(target=backlog_watch, daemon=True)
                backlog.start()
                for _ in procs:
                    results.update(queue.get())
                for proc in procs:
                    proc.join()
                elapsed = time.monotonic() - started
                stop_sampling.set()
                sampler.join()
                backlog.join(5)
                drain_done = nonlocal_drain[0] if nonlocal_drain else None
            watch.close()
            with engine.connect() as conn:
                per_device = dict(conn.execute(text(
                    "SELECT device_id, count(*) FROM ledger GROUP BY device_id")).all())
                distinct = conn.execute(text(
                    "SELECT count(*) FROM (SELECT DISTINCT device_id, seq FROM ledger) d")).scalar()
                total = conn.execute(text("SELECT count(*) FROM ledger")).scalar()
                dead = conn.execute(text("SELECT count(*) FROM dead_letters")).scalar()
            engine.dispose()
        finally:
            broker.stop()

    created = sum(r["created"] for r in results.values())
    recorded = sum(per_device.values())
    lost = sum(max(0, r["created"] - per_device.get(d, 0)) for d, r in results.items())
    duplicated = (total or 0) - (distinct or 0)
    print(f"kiosks: {args.kiosks} ({len(offline_ids)} offline from {offline_from:.0f}s "
          f"to {offline_until:.0f}s of a {args.day:.0f}s day), bridge workers: {args.workers}")
    print(f"records created: {created}")
    print(f"records recorded: {recorded}")
    print(f"lost: {lost}   duplicated: {duplicated}   dead letters: {dead}")
    print("returning backlog drained in: "
          + (f"{drain_done:.1f} s" if drain_done is not None else "NOT within the run"))
    print(f"run time: {elapsed:.0f} s; reconnects: "
          f"{sum(r['connects'] for r in results.values()) - args.kiosks}")
    print(f"broker: peak stored messages {watch.peak_stored}, "
          f"peak connected clients {watch.peak_clients}")
    print("bridge memory (RSS MB per worker) over time:")
    for at, values in memory[:: max(1, len(memory) // 12)]:
        print(f"  t={at:5.0f}s  " + "  ".join(f"{v:6.1f}" for v in values))
    if len(memory) >= 4:
        quarter = memory[len(memory) // 4][1]
        last = memory[-1][1]
        growth = [b / a for a, b in zip(quarter, last, strict=True) if a > 0]
        print("memory growth from a quarter of the run to the end: "
              + ", ".join(f"x{g:.2f}" for g in growth))
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
