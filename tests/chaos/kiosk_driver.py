"""A kiosk process for chaos tests: issues certificates until its database holds ``--total``,
drains, and exits 0 once the cloud has acknowledged everything.

Run it, SIGKILL it at any moment, run it again: it carries on from what its database holds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
from pathlib import Path

from device_drivers import DevicesConfig
from gateway.issuance import Lot, Promisor
from gateway.settings import load_settings
from gateway.testing import SimulatedKiosk
from tests.protocol.samples import reading


def settings(data_dir: Path, broker_url: str):
    return load_settings(
        None,
        device={"id": "kiosk-chaos", "station_id": "CH01", "place_code": "370902",
                "data_dir": str(data_dir)},
        broker={"url": broker_url, "keepalive_s": 5},
        link={"backoff_initial_s": 0.05, "backoff_max_s": 0.5, "stable_after_s": 2,
              "resend_after_s": 3, "telemetry_interval_s": 5},
        clock={"trust_system_clock": True},
        cloud={"signing_keys": [os.environ["NONGAN_TEST_CLOUD_KEY"]]},
        devices=DevicesConfig.simulated(),
    )


def issued(gateway: SimulatedKiosk) -> int:
    with gateway.books.db.read() as conn:
        return int(conn.execute("SELECT count(*) FROM certificates").fetchone()[0])


def issue_one(gateway: SimulatedKiosk, n: int) -> None:
    recorded = gateway.books.readings.record(reading())
    gateway.books.issuer.issue(Promisor(f"P-{n}", "赵春花", "13600001111"),
                         Lot("celery", "芹菜", 5 + n % 50, "kg", "370902"), [recorded.reading])


async def main(args: argparse.Namespace) -> int:
    gateway = SimulatedKiosk.open(settings(args.data_dir, args.broker))
    rng = random.Random()
    link = asyncio.create_task(gateway.run())
    try:
        while (n := await asyncio.to_thread(issued, gateway)) < args.total:
            await asyncio.to_thread(issue_one, gateway, n)
            await asyncio.sleep(rng.uniform(0, args.pause))
        print("issued", flush=True)
        while (await asyncio.to_thread(gateway.books.outbox.stats)).unacked:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the outbox is polled: it lives in another thread
        print("drained", flush=True)
        return 0
    finally:
        link.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await link
        gateway.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--broker", required=True)
    parser.add_argument("--total", type=int, required=True)
    parser.add_argument("--pause", type=float, default=0.01)
    sys.exit(asyncio.run(main(parser.parse_args())))
