"""An overdue or failed calibration: the station refuses to start a test, and a reading whose
calibration went overdue or failed while its strip incubated carries that state (flagged)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from device_drivers.strip_sim import SceneSpec, render_scene
from gateway.scoring import make_flat_field
from gateway.station import StationRefused, TestRequest
from tests.gateway.station_helpers import show, simulated_gateway, stock
from tests.support import aio

ANALYTE = "procymidone"


@pytest.fixture
def kiosk(tmp_path):
    gw = simulated_gateway(tmp_path / "kiosk", station={"calibration_interval_days": 30})
    kit = gw.catalogue.kit_for(ANALYTE)
    stock(gw, kit.id)
    show(gw, kit, t_c=1.2)
    yield gw
    gw.close()


def record(gw, *, passed=True, age=timedelta(0), problems=()):
    flat = make_flat_field([render_scene(SceneSpec(seed=3, cassette=None, white_card=True))])
    gw.books.calibrations.record(gw.settings.station.reader_id, passed=passed, figures={},
                           problems=list(problems), flat_field=flat if passed else None,
                           performed_at=datetime.now(UTC) - age)


def run_test(gw, during_incubation=None, insert_after=0.05):
    kit = gw.catalogue.kit_for(ANALYTE)

    async def scenario():
        async def person():
            await asyncio.sleep(insert_after)
            if during_incubation is not None:
                await asyncio.to_thread(during_incubation)
            gw.devices.reader.insert_cassette()

        helper = asyncio.create_task(person())
        try:
            return await gw.station.run(TestRequest(kit_id=kit.id, analytes=[ANALYTE],
                                                    product_code="chives"))
        finally:
            await helper
            gw.devices.reader.remove_cassette()

    return aio.run(scenario())


@pytest.mark.parametrize("passed,age,code", [
    (True, timedelta(days=31), "calibration_overdue"),
    (False, timedelta(0), "calibration_failed"),
])
def test_the_station_refuses_to_start(kiosk, passed, age, code):
    record(kiosk, passed=passed, age=age, problems=["the image is blurred"])
    refusals = kiosk.station.readiness(kiosk.catalogue.kit_for(ANALYTE).id)
    assert [r.code for r in refusals] == [code]
    if not passed:
        assert "the image is blurred" in refusals[0].detail
    with pytest.raises(StationRefused):
        run_test(kiosk)
    assert kiosk.books.outbox.stats().last_seq == 0  # no reading, no strip taken
    assert kiosk.books.stock.boxes()[0].strips_left == 20


def test_a_reading_in_a_good_calibration_says_ok(kiosk):
    record(kiosk)
    [recorded] = run_test(kiosk).readings
    assert recorded.reading.calibration.state == "ok"


def test_a_calibration_that_goes_overdue_during_incubation_flags_the_reading(kiosk):
    interval = timedelta(days=30)
    # Due soon (usable) when the test starts; overdue a moment later, at capture.
    record(kiosk, age=interval - timedelta(seconds=0.4))
    assert kiosk.station.readiness(kiosk.catalogue.kit_for(ANALYTE).id) == []
    [recorded] = run_test(kiosk, insert_after=0.6).readings
    assert recorded.reading.calibration.state == "overdue"
    assert recorded.reading.calibration.calibrated_at is not None


def test_a_calibration_that_fails_during_incubation_flags_the_reading(kiosk):
    record(kiosk)

    def technician_fails_a_calibration():
        kiosk.books.calibrations.record(kiosk.settings.station.reader_id, passed=False, figures={},
                                  problems=["under-exposed"], flat_field=None)

    [recorded] = run_test(kiosk, during_incubation=technician_fails_a_calibration).readings
    assert recorded.reading.calibration.state == "failed"
