"""The certificate serial counts per day of the kiosk's configured time zone."""

from datetime import UTC, datetime

import pytest

from gateway.app import Gateway
from gateway.clock import KioskClock
from gateway.issuance import Lot, Promisor
from tests.gateway.conftest import kiosk_settings
from tests.protocol.samples import reading

LATE_EVENING_UTC = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # already the 25th in Shanghai


@pytest.mark.parametrize(("clock", "day"), [
    ({}, "20261125"),                      # the default: Asia/Shanghai
    ({"timezone": "UTC"}, "20261124"),
])
def test_the_serial_day_follows_clock_timezone(tmp_path, clock, day):
    settings = kiosk_settings(tmp_path / "kiosk", clock=clock)
    gw = Gateway.open(settings, clock=KioskClock(wall=lambda: LATE_EVENING_UTC,
                                                 synced=lambda: True))
    try:
        recorded = gw.books.readings.record(reading())
        issued = gw.books.issuer.issue(Promisor("P1", "王五", "13800000000"),
                                 Lot("chives", "韭菜", 1, "kg", "370902"), [recorded.reading])
        assert issued.certificate.serial == f"ST01-{day}-0001"
    finally:
        gw.close()
