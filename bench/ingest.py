"""Ingest throughput: signed certificates per second, publish -> Mosquitto -> bridge -> commit.

Prints, from the same run and the same broker:

- the raw rate at which a bare paho subscriber (QoS 1, automatic PUBACK, no work) receives the
  same messages: the ceiling the bridge is measured against;
- the bridge's rate: the time from the first publish until every certificate is committed in
  the database (the worker's own count, checked against the table afterwards).

Usage (from the repository root)::

    .venv/bin/python bench/ingest.py --database postgres --count 10000
    .venv/bin/python bench/ingest.py --database sqlite --count 10000 --workers 2

Messages are made and signed before the clock starts. A private Mosquitto is started for the
run; PostgreSQL is the machine's server (a fresh schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paho.mqtt.client as mqtt

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.store import make_engine, migrate
from tests.support.cloud import bridge_settings, count, enroll
from tests.support.kiosk_messages import FakeKiosk
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher
from tests.support.postgres import fresh_schema


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
    elif kind == "postgres":
        with fresh_schema() as url:
            yield url
    else:
        yield kind


def make_messages(kiosks: list[FakeKiosk], total: int) -> list[tuple[str, bytes]]:
    per = total // len(kiosks)
    return [k.certificate() for _ in range(per) for k in kiosks]


def _publish_in_child(url: str, messages: list[tuple[str, bytes]], ready: Any, go: Any) -> None:
    with Publisher(url, inflight=200) as publisher:
        ready.set()
        go.wait()
        publisher.publish(messages, timeout=600)


class ChildPublisher:
    """Publishes from its own process, as kiosks do: no GIL shared with the bridge."""

    def __init__(self, url: str, messages: list[tuple[str, bytes]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.go = ctx.Event(), ctx.Event()
        self.process = ctx.Process(target=_publish_in_child,
                                   args=(url, messages, self.ready, self.go))

    def __enter__(self) -> ChildPublisher:
        self.process.start()
        if not self.ready.wait(60):
            raise RuntimeError("the publisher process did not connect")
        return self

    def start(self) -> float:
        self.go.set()
        return time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.process.join(600)


def cpu_now() -> float:
    """CPU seconds used by this process so far (all its threads; not the publisher child)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


CPU_PER_MESSAGE: dict[str, float] = {}


def bare_subscriber_rate(broker: Mosquitto, messages: list[tuple[str, bytes]]) -> float:
    """Messages per second a do-nothing QoS 1 subscriber receives."""
    received = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal received
        received += 1
        if received == len(messages):
            done.set()

    sub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                      client_id="bench-bare", protocol=mqtt.MQTTv5)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    sub.subscribe("$share/bare/nongan/v1/+/event/+", qos=1)
    subscribed.wait(10)
    try:
        with ChildPublisher(broker.url, messages) as publisher:
            cpu = cpu_now()
            start = publisher.start()
            if not done.wait(600):
                raise RuntimeError(f"bare subscriber got {received} of {len(messages)}")
            elapsed = time.perf_counter() - start
            CPU_PER_MESSAGE["bare"] = (cpu_now() - cpu) / len(messages)
            return len(messages) / elapsed
    finally:
        sub.disconnect()
        sub.loop_stop()


def bridge_rate(broker: Mosquitto, url: str, kiosks: list[FakeKiosk],
                messages: list[tuple[str, bytes]], workers: int, batch_size: int) -> float:
    migrate(url)
    engine = make_engine(url, pool_size=max(5, workers + 1))
    try:
        enroll(engine, *kiosks)
        running = []
        for i in range(workers):
            settings = bridge_settings(broker.url, url, client_id=f"bench-{i}",
                                       batch_size=batch_size, batch_wait_ms=5)
            running.append(IngestWorker(settings, engine).start())
        try:
            with ChildPublisher(broker.url, messages) as publisher:
                cpu = cpu_now()
                start = publisher.start()
                deadline = time.monotonic() + 600
                while sum(w.stats.recorded for w in running) < len(messages):
                    for w in running:
                        w.check()
                    if time.monotonic() > deadline:
                        raise RuntimeError("the bridge did not record everything in time")
                    time.sleep(0.002)
                elapsed = time.perf_counter() - start
                CPU_PER_MESSAGE["bridge"] = (cpu_now() - cpu) / len(messages)
            batches = sum(w.stats.batches for w in running)
        finally:
            for w in running:
                w.stop()
        stored = _ledger_count(engine)
        if stored != len(messages):
            raise RuntimeError(f"{stored} ledger rows for {len(messages)} messages")
        print(f"  bridge: {batches} batches, {len(messages) / batches:.0f} messages per batch")
        return len(messages) / elapsed
    finally:
        engine.dispose()


def bridge_rate_processes(broker: Mosquitto, url: str, kiosks: list[FakeKiosk],
                          messages: list[tuple[str, bytes]], processes: int,
                          batch_size: int) -> float:
    """Like ``bridge_rate``, with each worker in its own ``nongan bridge run`` process."""
    migrate(url)
    engine = make_engine(url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        enroll(engine, *kiosks)
        for i in range(processes):
            env = {**os.environ,
                   "NONGAN_BRIDGE_DATABASE__URL": url,
                   "NONGAN_BRIDGE_BROKER__URL": broker.url,
                   "NONGAN_BRIDGE_INGEST__CLIENT_ID": f"bench-proc-{i}",
                   "NONGAN_BRIDGE_INGEST__BATCH_SIZE": str(batch_size)}
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "nongan", "bridge", "run"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        # A worker is ready when its shared subscription is live: probe with one message.
        probe_kiosk = kiosks[0]
        with Publisher(broker.url) as probe:
            deadline = time.monotonic() + 60
            while _ledger_count(engine) == 0:
                probe.publish([messages[0]])
                time.sleep(0.2)
                if time.monotonic() > deadline:
                    raise RuntimeError("bridge processes did not start")
        del probe_kiosk
        with ChildPublisher(broker.url, messages) as publisher:
            start = publisher.start()
            deadline = time.monotonic() + 600
            while _ledger_count(engine) < len(messages):
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("the bridge processes did not record everything")
                time.sleep(0.01)
            elapsed = time.perf_counter() - start
        return len(messages) / elapsed
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
            if p.stderr:
                p.stderr.close()
        engine.dispose()


def _ledger_count(engine: object) -> int:
    from cloud_bridge.store import LedgerRecord

    return count(engine, LedgerRecord)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="postgres",
                        help="sqlite, postgres, or a SQLAlchemy URL (default postgres)")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--kiosks", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--processes", type=int, default=0,
                        help="run the workers as N `nongan bridge run` processes instead")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()

    kiosks = [FakeKiosk() for _ in range(args.kiosks)]
    t0 = time.perf_counter()
    messages = make_messages(kiosks, args.count)
    print(f"made and signed {len(messages)} certificates in {time.perf_counter() - t0:.1f}s "
          f"({sum(len(p) for _, p in messages) / len(messages):.0f} bytes each)")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(workdir=Path(tmp) / "mosquitto").start()
        try:
            bare = bare_subscriber_rate(broker, messages)
            with database(args.database, Path(tmp)) as url:
                if args.processes:
                    rate = bridge_rate_processes(broker, url, kiosks, messages,
                                                 args.processes, args.batch_size)
                else:
                    rate = bridge_rate(broker, url, kiosks, messages, args.workers,
                                       args.batch_size)
        finally:
            broker.stop()
    print(f"bare subscriber:  {bare:8.0f} messages/s")
    how = (f"{args.processes} process(es)" if args.processes
           else f"{args.workers} worker thread(s)")
    print(f"bridge ({args.database}, {how}): {rate:8.0f} certificates/s "
          f"= {rate / bare:.2f} of the bare subscriber")
    if "bridge" in CPU_PER_MESSAGE:
        print(f"CPU per message in this process: bare subscriber "
              f"{CPU_PER_MESSAGE['bare'] * 1e6:.0f} µs, bridge "
              f"{CPU_PER_MESSAGE['bridge'] * 1e6:.0f} µs (database server not included); "
              f"machine load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
