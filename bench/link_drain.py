"""Outbox drain rate over a slow link: the kiosk's real gateway, a real Mosquitto, the real
bridge on SQLite, and a proxy adding a one-way delay between kiosk and broker.

For each round trip and each link setting it makes a backlog of ledger records (readings and
certificates, as after a day offline), connects, and times until the cloud has acknowledged
all of them. The baseline in the same run is one record per publish with a window of one: the
naive "send, wait for the ack, send the next" that a slow link punishes most.

Usage (from the repository root)::

    .venv/bin/python bench/link_drain.py                   # 300 and 600 ms round trips
    .venv/bin/python bench/link_drain.py --records 2000 --rtt-ms 600
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.store import enroll_device, make_engine, migrate, session_factory
from gateway.app import Gateway
from gateway.settings import load_settings
from tests.chaos.kiosk_driver import issue_one
from tests.support import cloud_key
from tests.support.chaos_proxy import ChaosProxy
from tests.support.cloud import bridge_settings
from tests.support.mosquitto import Mosquitto

SETTINGS = [  # (label, inflight window, records per publish)
    ("window 1, 1 record/publish (baseline)", 1, 1),
    ("window 20, 1 record/publish", 20, 1),
    ("window 20, 20 records/publish", 20, 20),
    ("window 20, 50 records/publish", 20, 50),
]


def drain_once(workdir: Path, broker: Mosquitto, database_url: str, engine, rtt_ms: int,
               window: int, per_publish: int, records: int, n: int) -> float:
    data_dir = workdir / f"kiosk-{n}"
    with ChaosProxy(broker.port, delay_s=rtt_ms / 2000) as proxy:
        settings = load_settings(
            None,
            device={"id": f"kiosk-drain-{n}", "station_id": "DR01", "place_code": "370902",
                    "data_dir": str(data_dir)},
            broker={"url": proxy.url},
            link={"inflight_window": window, "records_per_publish": per_publish,
                  "resend_after_s": 600, "telemetry_interval_s": 3600},
            clock={"trust_system_clock": True},
            cloud={"signing_keys": [cloud_key.public_key()]},
        )
        gateway = Gateway.open(settings)
        with session_factory(engine).begin() as session:
            enroll_device(session, device_id=gateway.identity.device_id,
                          public_key=gateway.identity.public_key, station_id="DR01",
                          place_code="370902")
        for i in range(records // 2):  # a reading and a certificate each
            issue_one(gateway, i)
        total = gateway.books.outbox.stats().last_seq

        async def run() -> float:
            task = asyncio.create_task(gateway.run())
            started = time.monotonic()
            while (await asyncio.to_thread(gateway.books.outbox.stats)).acked_seq < total:  # noqa: ASYNC110
                await asyncio.sleep(0.02)  # the outbox lives in SQLite: poll it
            elapsed = time.monotonic() - started
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return elapsed

        try:
            return total / asyncio.run(run())
        finally:
            gateway.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600)
    parser.add_argument("--rtt-ms", type=int, action="append")
    args = parser.parse_args()
    rtts = args.rtt_ms or [300, 600]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"command: {' '.join(sys.argv)}")
    print(f"backlog: {args.records} ledger records (readings and certificates, ~1 kB each)")
    with tempfile.TemporaryDirectory(prefix="nongan-drain-") as tmp:
        workdir = Path(tmp)
        broker = Mosquitto(workdir=workdir / "mq").start()
        database_url = f"sqlite:///{workdir / 'cloud.db'}"
        migrate(database_url)
        engine = make_engine(database_url)
        n = 0
        try:
            with IngestWorker(bridge_settings(broker.url, database_url), engine):
                for rtt in rtts:
                    print(f"\nround trip {rtt} ms")
                    baseline = None
                    for label, window, per_publish in SETTINGS:
                        records = args.records if window > 1 else min(args.records, 60)
                        rate = drain_once(workdir, broker, database_url, engine, rtt, window,
                                          per_publish, records, n)
                        n += 1
                        baseline = baseline or rate
                        print(f"  {label:40s} {rate:8.1f} records/s   x{rate / baseline:6.1f}")
        finally:
            engine.dispose()
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
