"""Chaos for the ingest's integrity (issue 11): a poison message, and void and re-issue.

- **a poison message**: while a kiosk drains its ledger, another client keeps publishing what
  no store can take (a topic of 8,000 characters, a device level of 6,000, a NUL in a JSON key,
  a number too large for a float, an oversized payload, garbage on the kiosk's own topics)
  into the cloud on PostgreSQL, where the long topic used to wedge every worker for good.
- **void and re-issue**: farmers void certificates ("wrong quantity", "printer jam") and get
  re-issued ones in the same session, through the real session, while two ingest workers share
  the subscription (so lot events and voids arrive in any order) and the broker is restarted.

Each ends with ``assert_ledgers_match``: the cloud holds exactly the kiosk's records, none lost,
none twice, every certificate with the kiosk's status. ``scripts/chaos`` runs them at full
size (NONGAN_CHAOS_FULL=1).
"""

from __future__ import annotations

import asyncio
import json
import random
import string
import time

import pytest
from sqlalchemy import text

from cloud_bridge.ingest import IngestWorker
from gateway.app import Gateway
from gateway.session import Step
from protocol import decode
from tests.chaos.harness import assert_ledgers_match, scale
from tests.chaos.kiosk_driver import issue_one
from tests.gateway.conftest import kiosk_settings
from tests.gateway.session_helpers import (
    CLEAN,
    identify_new_producer,
    ready_gateway,
    run_cassette,
    to_panel,
)
from tests.support import aio
from tests.support.cloud import (
    bridge_settings,
    enroll_identity,
    migrated_engine,
    rows,
    wait_until,
)
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt_clients import Publisher

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(900)]


def fast_link(**extra):
    return {"backoff_initial_s": 0.05, "backoff_max_s": 0.5, "stable_after_s": 1,
            "resend_after_s": 2, **extra}


async def wait_drained(gateway: Gateway, within: float) -> None:
    deadline = time.monotonic() + within
    while (await asyncio.to_thread(gateway.books.outbox.stats)).unacked:
        if time.monotonic() > deadline:
            raise AssertionError(f"not drained: {gateway.books.outbox.stats()}")
        await asyncio.sleep(0.05)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# --------------------------------------------------------------------------- poison messages


def poisons(device_id: str, rng: random.Random, round_: int) -> list[tuple[str, bytes]]:
    """What no store can take, each a little different per round (so each is its own row)."""

    def noise(n: int) -> str:
        return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))

    certificate = {"v": 1, "kind": "certificate", "device_id": device_id, "seq": 10**6 + round_}
    return [
        (f"nongan/v1/{device_id}/event/{noise(8000)}", b"{}"),
        (f"nongan/v1/{noise(6000)}/telemetry", b"{}"),
        (f"nongan/v1/{device_id}/event/certificate",
         json.dumps({**certificate, "\u0000" + noise(8): 1}).encode()),
        (f"nongan/v1/{device_id}/telemetry",
         b'{"v": 1, "kind": "telemetry", "uptime_s": 1e400, "n": %d}' % round_),
        (f"nongan/v1/{device_id}/event/test", b" " * (256 * 1024 + 1 + round_)),
        (f"nongan/v1/{device_id}/event/lot", b'{"v": 1, "kind": "lot", "seq": '),
        (f"nongan/v1/{device_id}/cmd-result/{noise(60)}", json.dumps(certificate).encode()),
    ]


def test_poison_messages_while_a_kiosk_drains(tmp_path, mosquitto: Mosquitto,
                                              postgres_url: str) -> None:
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url, link=fast_link()))
    rng = random.Random(13)
    sent = 0
    with migrated_engine(postgres_url) as engine:
        enroll_identity(engine, gateway.identity, station_id="CH01")
        try:
            for n in range(scale(30, 300)):
                issue_one(gateway, n)
            settings = bridge_settings(mosquitto.url, postgres_url, retry_initial_s=0.05)
            with IngestWorker(settings, engine) as worker, Publisher(mosquitto.url) as rogue:

                async def scenario() -> None:
                    nonlocal sent
                    link = asyncio.create_task(gateway.run())
                    for round_ in range(scale(3, 20)):
                        batch = poisons(gateway.identity.device_id, rng, round_)
                        await asyncio.to_thread(rogue.publish, batch)
                        sent += len(batch)
                        await asyncio.to_thread(issue_many, gateway, 5, 1000 + round_ * 5)
                        await asyncio.sleep(rng.uniform(0.05, 0.3))
                    await wait_drained(gateway, 180)
                    await stop(link)

                aio.run(scenario(), timeout=600)
                # Every poison is filed (a repeat counts up its row), none taken for an outage.
                wait_until(lambda: rows(engine, "SELECT sum(count) FROM dead_letters")[0][0]
                           == sent, timeout=60)
                worker.check()
                assert worker.stats.database_retries == 0, "a poison was taken for an outage"
            refused = rows(engine, "SELECT code, sum(count) FROM dead_letters GROUP BY code "
                                   "ORDER BY code")
            print(f"poison messages published {sent}, dead letters by code {refused}")
            assert_ledgers_match(gateway.settings.device.data_dir / "kiosk.db", engine,
                                 gateway.identity.device_id)
        finally:
            gateway.close()


def issue_many(gateway: Gateway, count: int, start: int) -> None:
    for n in range(start, start + count):
        issue_one(gateway, n)


# --------------------------------------------------------------------------- void and re-issue


CARD = "card-beta-agonists-3in1-v1"


async def farmer(gw: Gateway, n: int, how: str) -> None:
    """One farmer's session: tested clean, certified, then (``how``) voided and re-issued."""
    session = gw.session
    await identify_new_producer(session, phone=f"1380000{n:04d}")
    await to_panel(session, "beef_cattle", str(30 + n), "head")
    await session.confirm_panel()
    assert await run_cassette(gw, session, CLEAN, seed=n) is Step.RESULTS
    await session.issue()
    if how == "wrong_quantity":
        await session.void("wrong_quantity")
        await session.set_quantity(str(3 + n % 5), "head")
        await session.issue()
    elif how == "printer_jam":
        await session.void("printer_jam")  # issued and printed again at once
    elif how == "twice":  # a wrong quantity, then the new one jams in the printer
        await session.void("wrong_quantity")
        await session.set_quantity("2", "head")
        await session.issue()
        await session.void("printer_jam")
    await session.finish()


def kiosk_lots(gw: Gateway) -> set[tuple[str, int, str | None]]:
    with gw.books.db.read() as conn:
        found = conn.execute("SELECT topic, payload FROM outbox WHERE kind = 'lot'").fetchall()
    lots = [decode(t, bytes(p)).message for t, p in found]
    return {(m.session_id, m.seq, m.certificate_token) for m in lots}  # type: ignore[attr-defined]


def test_void_and_reissue_in_one_session_under_shared_workers_and_a_broker_restart(
    tmp_path, mosquitto: Mosquitto, postgres_url: str
) -> None:
    gw = ready_gateway(tmp_path / "kiosk", kits=(CARD,), strips=200, broker_url=mosquitto.url,
                       link=fast_link())
    ways = ("wrong_quantity", "printer_jam", "none", "twice")
    farmers = scale(4, 24)
    with migrated_engine(postgres_url) as engine:
        enroll_identity(engine, gw.identity)
        try:
            settings = bridge_settings(mosquitto.url, postgres_url, batch_size=20)
            with IngestWorker(settings, engine, client_id="chaos-a"), \
                    IngestWorker(settings, engine, client_id="chaos-b"):

                async def scenario() -> None:
                    link = asyncio.create_task(gw.run())
                    for n in range(farmers):
                        await farmer(gw, n, ways[n % len(ways)])
                        if n == farmers // 2:
                            await asyncio.to_thread(mosquitto.restart, kill=True)
                    await wait_drained(gw, 180)
                    await stop(link)

                aio.run(scenario(), timeout=800)
            result = assert_ledgers_match(gw.settings.device.data_dir / "kiosk.db", engine,
                                          gw.identity.device_id)
            cloud_lots = {(s, q, t) for s, q, t in rows(
                engine, "SELECT session_id, seq, certificate_token FROM lots")}
            assert cloud_lots == kiosk_lots(gw)
            sessions = {s for s, _, _ in cloud_lots}
            assert len(sessions) == farmers and len(cloud_lots) > farmers
            voided = rows(engine, "SELECT count(*) FROM certificates WHERE status = 'voided'")
            print(f"void and re-issue: {farmers} sessions, {len(cloud_lots)} lot events, "
                  f"{voided[0][0]} certificates voided of {result.certificates}")
            assert rows(engine, "SELECT count(*) FROM dead_letters") == [(0,)]
            with engine.connect() as conn:
                assert conn.execute(text("SELECT acked_seq FROM ack_watermarks")).scalar() == \
                    result.created
        finally:
            gw.close()
