"""The doctor lists the alarms the running kiosk raised and has not cleared."""

import pytest

from gateway.alarms import AlarmBook
from gateway.app import Gateway
from gateway.technician.doctor import alarm_checks
from gateway.technician.report import Status
from protocol import AlarmSeverity
from tests.gateway.conftest import kiosk_settings


@pytest.fixture
def gateway(tmp_path):
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk"))
    yield gw
    gw.close()


def test_no_alarms_is_ok(gateway):
    book = AlarmBook(gateway.books.db, gateway.books.outbox)
    assert [c.status for c in alarm_checks(book.active())] == [
        Status.OK]


def test_active_alarms_are_listed_by_severity(gateway):
    book = AlarmBook(gateway.books.db, gateway.books.outbox)
    book.raise_alarm("disk_low", "900 MB free")
    book.raise_alarm("device_fault", "camera: unplugged", subject="camera",
                     severity=AlarmSeverity.FAULT)
    checks = {c.name: c for c in alarm_checks(book.active())}
    assert checks["disk_low"].status is Status.WARNING
    assert checks["device_fault (camera)"].status is Status.FAULT
    assert "unplugged" in checks["device_fault (camera)"].detail
