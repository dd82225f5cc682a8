"""``nongan doctor`` flags an outbox whose cloud ack has not moved while the link was connected
(issue 11: a wedged ledger was reported "ok"), on real parts: a gateway connected through
Mosquitto to an ingest worker whose database refuses one of the kiosk's certificates (a
constraint the test adds). Every later record is stored but the watermark stops below the
refused one, so the kiosk keeps everything after it. Once a person discards the dead letter,
the kiosk hears the new watermark on its next re-send, its outbox empties and the doctor is
content again.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from cloud_bridge.ingest import IngestWorker
from cloud_bridge.ingest.resolution import discard
from gateway.app import Gateway
from gateway.technician.check_link import OutboxLimits
from gateway.technician.doctor import DoctorLimits, run_doctor
from gateway.technician.report import Status
from tests.chaos.kiosk_driver import issue_one
from tests.gateway.conftest import kiosk_settings
from tests.support import aio
from tests.support.cloud import bridge_settings, enroll_identity, rows
from tests.support.mosquitto import Mosquitto

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(240)]

LIMITS = DoctorLimits(outbox=OutboxLimits(stall_after=timedelta(seconds=2)))


def ack_progress(gateway: Gateway) -> Status:
    report = run_doctor(gateway.settings, limits=LIMITS, check_broker=False,
                        kernel_synced=lambda: True)
    [check] = [c for c in report.checks if c.name == "ack progress"]
    return check.status


async def until(predicate, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(predicate):
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.1)


def test_the_doctor_flags_an_ack_stuck_while_connected_and_clears_once_resolved(
    tmp_path, mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    with store.begin() as conn:  # the cloud's store refuses certificates of 13 kg
        if store.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE certificates ADD CONSTRAINT no_13 "
                              "CHECK (quantity <> 13)"))
        else:
            conn.execute(text("CREATE TRIGGER no_13 BEFORE INSERT ON certificates "
                              "WHEN NEW.quantity = 13 BEGIN SELECT RAISE(ABORT, 'no 13'); END"))
    gateway = Gateway.open(kiosk_settings(tmp_path / "kiosk", mosquitto.url,
                                          link={"resend_after_s": 1.0}))
    enroll_identity(store, gateway.identity)
    try:
        for n in range(12):  # n = 8 issues 13 kg: its certificate is seq 18
            issue_one(gateway, n)
        with IngestWorker(bridge_settings(mosquitto.url, database_url), store):

            async def scenario() -> None:
                link = asyncio.create_task(gateway.run())
                await until(lambda: gateway.books.outbox.stats().acked_seq == 17
                            and rows(store, "SELECT count(*) FROM ledger")[0][0] == 23)
                assert gateway.books.outbox.stats().unacked == 7  # 18..24 kept at the kiosk
                await until(lambda: ack_progress(gateway) is Status.FAULT)
                [(letter, code)] = rows(store, "SELECT id, code FROM dead_letters")
                assert code == "store_rejected"
                await asyncio.to_thread(discard, store, letter, actor="test",
                                        reason="a refused test certificate")
                await until(lambda: gateway.books.outbox.stats().unacked == 0)
                assert ack_progress(gateway) is Status.OK
                link.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await link

            aio.run(scenario(), timeout=200)
        assert gateway.books.outbox.stats().acked_seq == 24
    finally:
        gateway.close()
