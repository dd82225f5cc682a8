"""One process drives a kiosk's real devices: the lock file, and the gateway's devices."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from device_drivers import DevicesConfig
from gateway.device_lock import DeviceLock, DevicesInUse, holder
from gateway.devices import KioskDevices


def test_a_second_holder_is_told_who_has_it(tmp_path):
    path = tmp_path / "devices.lock"
    first = DeviceLock(path).acquire()
    try:
        assert holder(path) == os.getpid()
        with pytest.raises(DevicesInUse, match=f"process {os.getpid()}"):
            DeviceLock(path).acquire()
    finally:
        first.release()
    DeviceLock(path).acquire().release()  # free again


def test_the_lock_goes_with_a_process_that_dies(tmp_path):
    path = tmp_path / "devices.lock"
    code = ("import os, sys; sys.path.insert(0, os.getcwd()); from pathlib import Path; "
            "from gateway.device_lock import DeviceLock; "
            f"DeviceLock(Path({str(path)!r})).acquire(); os._exit(0)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.getcwd())
    DeviceLock(path).acquire().release()


def real_reader_config():
    config = DevicesConfig.simulated(camera_size=(320, 240)).model_dump()
    config["reader"] = {"backend": "serial", "port": "/dev/ttyACM-not-here"}
    return DevicesConfig.model_validate(config)


def test_real_devices_take_the_lock_and_simulated_ones_do_not(tmp_path):
    path = tmp_path / "devices.lock"
    simulated = KioskDevices.from_config(DevicesConfig.simulated(), lock_path=path)
    simulated.open_all()
    other = KioskDevices.from_config(DevicesConfig.simulated(), lock_path=path)
    assert other.open_all() == {}  # per-process simulations never block each other
    real = KioskDevices.from_config(real_reader_config(), lock_path=path)
    errors = real.open_all()
    assert "reader" in errors and "not-here" in errors["reader"]  # absent, but the lock is held
    second = KioskDevices.from_config(real_reader_config(), lock_path=path)
    try:
        assert "in use by process" in second.open_all()["reader"]
        [reader] = [h for h in second.health() if h.device == "reader"]
        assert reader.state == "fault" and "systemctl stop" in reader.fix
    finally:
        for devices in (simulated, other, real, second):
            devices.close_all()
    DeviceLock(path).acquire().release()
