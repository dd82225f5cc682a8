"""One cassette through the station: simulated camera and reader, the real scorer, the ledger."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import pytest

from gateway.clock import KioskClock
from gateway.station import CassetteTimeout, Phase, StationRefused, TestRequest
from protocol import Call, decode
from tests.gateway.station_helpers import calibrate, show, simulated_gateway, stock
from tests.support import aio


@pytest.fixture
def kiosk(tmp_path):
    gw = simulated_gateway(tmp_path / "kiosk")
    yield gw
    gw.close()


def kit_id_for(gw, analyte="procymidone"):
    return gw.catalogue.kit_for(analyte).id


async def insert_soon(reader, delay=0.05):
    await asyncio.sleep(delay)
    reader.insert_cassette()


def run_one(gw, t_c, analyte="procymidone", insert=True, lossless=False):
    kit = gw.catalogue.kit(kit_id_for(gw, analyte))
    show(gw, kit, t_c, lossless=lossless)
    phases = []

    async def scenario():
        inserting = asyncio.create_task(insert_soon(gw.devices.reader)) if insert else None
        try:
            return await gw.station.run(
                TestRequest(kit_id=kit.id, analytes=[analyte], product_code="chives",
                            session_id="a" * 32),
                lambda p: phases.append(p.phase),
            )
        finally:
            if inserting is not None:
                await inserting
            gw.devices.reader.remove_cassette()

    return aio.run(scenario()), phases


def test_a_clean_sample_reads_negative_and_enters_the_ledger(kiosk):
    kit_id = kit_id_for(kiosk)
    stock(kiosk, kit_id)
    calibrate(kiosk)
    result, phases = run_one(kiosk, t_c=1.2)
    [recorded] = result.readings
    assert recorded.reading.call is Call.NEGATIVE
    assert recorded.reading.kit_id == kit_id
    assert recorded.reading.calibration.state == "ok"
    assert phases[0] is Phase.INSERT and phases[-1] is Phase.DONE
    assert Phase.INCUBATING in phases
    assert result.image_path.exists()
    assert result.image_path.stem == recorded.reading.frames_sha256[0]
    batch = kiosk.books.outbox.next_batch(10)
    assert [decode(r.topic, r.payload).message.reading.reading_id for r in batch] == [
        recorded.reading.reading_id]
    assert kiosk.devices.reader.tray == "out"  # the cassette is given back
    assert kiosk.books.stock.boxes()[0].strips_left == 19


@pytest.mark.parametrize("lossless", [False, True])
def test_the_scorer_trusts_colours_only_from_a_lossless_camera(kiosk, monkeypatch, lossless):
    import gateway.station as station_module

    seen = []
    real = station_module.score_windows

    def spy(*args, **kwargs):
        seen.append(kwargs["lossless"])
        return real(*args, **kwargs)

    monkeypatch.setattr(station_module, "score_windows", spy)
    stock(kiosk, kit_id_for(kiosk))
    calibrate(kiosk)
    result, _ = run_one(kiosk, t_c=1.2, lossless=lossless)
    assert seen == [lossless]
    assert result.readings[0].reading.call is Call.NEGATIVE


def test_a_contaminated_sample_reads_positive(kiosk):
    stock(kiosk, kit_id_for(kiosk))
    calibrate(kiosk)
    result, _ = run_one(kiosk, t_c=0.2)
    assert result.readings[0].reading.call is Call.POSITIVE


def test_refusals_say_why(kiosk):
    kit_id = kit_id_for(kiosk)
    codes = {r.code for r in kiosk.station.readiness(kit_id)}
    assert codes == {"no_stock", "calibration_none"}
    stock(kiosk, kit_id)
    calibrate(kiosk)
    assert kiosk.station.readiness(kit_id) == []
    kiosk.devices.camera.unplug()
    refusals = kiosk.station.readiness(kit_id)
    assert [r.code for r in refusals] == ["device_fault"]
    assert "camera" in refusals[0].detail
    with pytest.raises(StationRefused):
        run_one(kiosk, t_c=1.2, insert=False)
    assert kiosk.books.stock.boxes()[0].strips_left == 20  # nothing taken for a refused test


def test_refusals_name_the_kit_they_concern(kiosk):
    kit_id = kit_id_for(kiosk)
    by_code = {r.code: r for r in kiosk.station.readiness(kit_id)}
    assert by_code["no_stock"].kit_id == kit_id
    assert by_code["calibration_none"].kit_id is None  # the kiosk's own, not the kit's


def test_no_cassette_times_out_and_gives_the_tray_back(tmp_path):
    gw = simulated_gateway(tmp_path / "kiosk", station={"cassette_timeout_s": 0.5})
    try:
        stock(gw, kit_id_for(gw))
        calibrate(gw)
        with pytest.raises(CassetteTimeout, match="no cassette"):
            run_one(gw, t_c=1.2, insert=False)
        assert gw.devices.reader.tray == "out"
        assert gw.books.outbox.stats().unacked == 0  # no reading without a strip
    finally:
        gw.close()


def test_reading_records_what_a_reviewer_needs(kiosk):
    stock(kiosk, kit_id_for(kiosk))
    calibrate(kiosk)
    run_one(kiosk, t_c=1.2)
    body = json.loads(kiosk.books.outbox.next_batch(1)[0].payload)["reading"]
    for field in ("t_c_ratio", "cutoff_low", "cutoff_high", "rule", "kit_lot", "kit_expires_on",
                  "frames_sha256", "reader_id", "calibration", "scored_at", "c_line", "t_line"):
        assert body[field] is not None, field


def test_a_kit_lasts_to_the_end_of_its_expiry_day_where_the_kiosk_stands(kiosk):
    # Printed "expires 2026-11-24": usable until midnight in Asia/Shanghai (16:00 UTC),
    # not until midnight UTC (08:00 the next morning there).
    kit_id = kit_id_for(kiosk)
    lot = kiosk.catalogue.kit(kit_id).lots[0].lot
    kiosk.books.stock.register_box(box_code="LAST-DAY", kit_id=kit_id, lot=lot,
                             expires_on=date(2026, 11, 24), strips=5)
    calibrate(kiosk)

    def codes_at(utc: datetime) -> list[str]:
        kiosk.station.clock = KioskClock(trust_system_clock=True, wall=lambda: utc)
        return [r.code for r in kiosk.station.readiness(kit_id)]

    assert "expired" not in codes_at(datetime(2026, 11, 24, 15, 59, tzinfo=UTC))
    assert "expired" in codes_at(datetime(2026, 11, 24, 16, 1, tzinfo=UTC))
