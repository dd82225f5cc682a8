"""Kiosk settings written to TOML read back equal (the demo's gateway.toml)."""

from __future__ import annotations

import stat

from device_drivers import DevicesConfig
from gateway.settings import load_settings
from gateway.settings_toml import settings_to_toml, write_settings
from tests.gateway.conftest import kiosk_settings


def test_round_trip_with_devices_and_chinese_text(tmp_path, monkeypatch):
    for name in [n for n in __import__("os").environ if n.startswith("NONGAN_")]:
        monkeypatch.delenv(name)
    settings = kiosk_settings(
        tmp_path, "mqtts://broker.example:8883",
        device={"station_name": "演示服务站 \"一号\""},
        broker={"username": "kiosk-0001", "password": "p#ss 'w\\ord"},
        devices=DevicesConfig.simulated(camera_size=(1280, 960)).model_dump())
    path = write_settings(settings, tmp_path / "gateway.toml")
    assert load_settings(path) == settings
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it may hold the broker password
    assert "[devices.camera]" in settings_to_toml(settings)


def test_sections_left_out_stay_default(tmp_path):
    settings = kiosk_settings(tmp_path)
    text = settings_to_toml(settings)
    assert "[devices" not in text and "ca_file" not in text
    assert load_settings(write_settings(settings, tmp_path / "g.toml")) == settings
