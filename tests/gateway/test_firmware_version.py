"""Status and telemetry carry the reader firmware version from the reader's cached handshake."""

import json

from device_drivers import DeviceError
from device_drivers.reader.simulated import SIM_FIRMWARE
from gateway.app import reader_firmware
from tests.gateway.station_helpers import simulated_gateway


def test_status_and_telemetry_carry_the_reader_firmware(tmp_path):
    gw = simulated_gateway(tmp_path / "kiosk")
    try:
        assert gw.devices is not None and gw.devices.reader.is_open
        assert gw.telemetry.snapshot()["firmware_version"] == SIM_FIRMWARE
        status = json.loads(gw.link._status_payload(online=True, graceful=False))
        assert status["firmware_version"] == SIM_FIRMWARE
        gw.devices.reader.close()  # a reader that is not open has no version to give
        assert gw.telemetry.snapshot()["firmware_version"] is None
        status = json.loads(gw.link._status_payload(online=False, graceful=True))
        assert status["firmware_version"] is None
    finally:
        gw.close()


def test_no_devices_means_no_firmware_version(gateway):
    assert gateway.devices is None
    assert gateway.telemetry.snapshot()["firmware_version"] is None
    status = json.loads(gateway.link._status_payload(online=True, graceful=False))
    assert status["firmware_version"] is None


def test_a_reader_that_cannot_say_gives_none(tmp_path, monkeypatch):
    gw = simulated_gateway(tmp_path / "kiosk")
    try:
        reader = type(gw.devices.reader)

        def refuse(self):
            raise DeviceError("reader controller is not open")

        monkeypatch.setattr(reader, "info", property(refuse))
        assert reader_firmware(gw.devices)() is None
    finally:
        gw.close()
