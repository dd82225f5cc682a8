"""Issue 11, finding 2, on real parts: a farmer voids a certificate ("数量填错了") and gets a
re-issued one in the same session. The kiosk sends a second lot event with the same session id;
the cloud's ``lots`` table used to refuse it (primary key on the session), dead-letter it, and
the kiosk's acked position stopped there for good.

A real gateway (simulated hardware, the real session, scorer, issuer and outbox) runs the
session through the touch screen's API, its link publishes through a real Mosquitto, and an
ingest worker stores everything on SQLite and PostgreSQL. The cloud must end with both lot
events (the lot's history as it happened), the first certificate voided, the second valid,
every record acknowledged and nothing lost or doubled.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine

from cloud_bridge.ingest import IngestWorker
from gateway.session import Step
from tests.chaos.harness import assert_ledgers_match
from tests.gateway.session_helpers import (
    CLEAN,
    identify_new_producer,
    ready_gateway,
    run_cassette,
    to_panel,
)
from tests.support import aio
from tests.support.cloud import bridge_settings, enroll_identity, rows, scalar
from tests.support.mosquitto import Mosquitto

pytestmark = [pytest.mark.mosquitto, pytest.mark.timeout(300)]

CARD = "card-beta-agonists-3in1-v1"


async def farmer_tested(gw, quantity: str, phone: str) -> None:
    session = gw.session
    await identify_new_producer(session, phone=phone)
    await to_panel(session, "beef_cattle", quantity, "head")
    await session.confirm_panel()
    assert await run_cassette(gw, session, CLEAN) is Step.RESULTS


def test_a_void_and_reissue_in_one_session_is_recorded_and_the_ledger_goes_on(
    tmp_path, mosquitto: Mosquitto, database_url: str, store: Engine
) -> None:
    gw = ready_gateway(tmp_path / "kiosk", kits=(CARD,), broker_url=mosquitto.url)
    enroll_identity(store, gw.identity, station_id="ST01", place_code="370902")
    tokens: dict[str, str] = {}
    try:
        with IngestWorker(bridge_settings(mosquitto.url, database_url), store) as worker:

            async def scenario() -> None:
                link = asyncio.create_task(gw.run())
                session = gw.session
                await farmer_tested(gw, "30", "13800001111")
                await session.issue()
                tokens["first"] = session.view.certificate.token
                tokens["session"] = session.person.session_id
                await session.void("wrong_quantity")  # "数量填错了"
                await session.set_quantity("3", "head")
                await session.issue()
                tokens["second"] = session.view.certificate.token
                await session.finish()
                # The next farmer's records must not wait behind the re-issue.
                await farmer_tested(gw, "2", "13800002222")
                await session.issue()
                tokens["next"] = session.view.certificate.token
                await session.finish()
                deadline = time.monotonic() + 60
                while (await asyncio.to_thread(gw.books.outbox.stats)).unacked:
                    assert time.monotonic() < deadline, gw.books.outbox.stats()
                    await asyncio.sleep(0.05)
                link.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await link

            aio.run(scenario(), timeout=240)
            worker.check()
        device = gw.identity.device_id
        stats = gw.books.outbox.stats()
        assert stats.acked_seq == stats.last_seq
        assert scalar(store, "SELECT acked_seq FROM ack_watermarks") == stats.last_seq
        assert scalar(store, "SELECT count(*) FROM dead_letters") == 0
        lots = rows(store, "SELECT outcome, certificate_token, note FROM lots "
                           "WHERE session_id = :s ORDER BY seq", s=tokens["session"])
        assert [(o, t) for o, t, _ in lots] == [("certified", tokens["first"]),
                                                ("certified", tokens["second"])]
        assert tokens["first"] in lots[1][2]
        statuses = dict(rows(store, "SELECT token, status FROM certificates"))
        assert statuses == {tokens["first"]: "voided", tokens["second"]: "issued",
                            tokens["next"]: "issued"}
        assert_ledgers_match(gw.settings.device.data_dir / "kiosk.db", store, device)
    finally:
        gw.close()
