"""Fixtures for the technician's tools: a kiosk database with its books, the shipped catalogue,
and a settings file for the commands."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from device_drivers import DevicesConfig
from gateway.calibration import CalibrationBook
from gateway.kit_stock import KitStockBook
from gateway.kits import Catalogue, load_catalogue
from gateway.settings import GatewaySettings
from gateway.settings_toml import write_settings
from gateway.storage import KioskDatabase
from tests.gateway.conftest import kiosk_settings


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[KioskDatabase]:
    database = KioskDatabase(tmp_path / "kiosk" / "kiosk.db")
    yield database
    database.close()


@pytest.fixture
def stock(db: KioskDatabase) -> KitStockBook:
    return KitStockBook(db)


@pytest.fixture
def book(db: KioskDatabase, tmp_path: Path) -> CalibrationBook:
    return CalibrationBook(db, tmp_path / "kiosk" / "calibration", interval=timedelta(days=30))


def settings_file(tmp_path: Path, *, broker_url: str = "mqtt://127.0.0.1:1",
                  camera_size: tuple[int, int] = (640, 480), **sections: Any
                  ) -> tuple[Path, GatewaySettings]:
    """A kiosk settings file with simulated devices in ``tmp_path/kiosk``."""
    devices = sections.pop("devices", DevicesConfig.simulated(camera_size=camera_size)
                           .model_dump())
    settings = kiosk_settings(tmp_path / "kiosk", broker_url, devices=devices, **sections)
    path = write_settings(settings, tmp_path / "kiosk" / "gateway.toml")
    return path, settings
