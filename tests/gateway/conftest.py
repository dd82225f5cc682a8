"""Fixtures for gateway tests: settings in a temporary data folder, an opened gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.app import Gateway
from gateway.settings import GatewaySettings, load_settings
from tests.support import cloud_key


def kiosk_settings(data_dir: Path, broker_url: str = "mqtt://127.0.0.1:1", **sections: Any
                   ) -> GatewaySettings:
    base: dict[str, Any] = {
        "device": {"id": "kiosk-0001", "station_id": "ST01", "place_code": "370902",
                   "data_dir": str(data_dir)},
        "broker": {"url": broker_url},
        "link": {"backoff_initial_s": 0.05, "backoff_max_s": 0.5, "telemetry_interval_s": 0.5,
                 "resend_after_s": 2.0},
        "clock": {"trust_system_clock": True},
        # pinned as enrolment prints it: the test suite's cloud key (tests.support.cloud_key)
        "cloud": {"signing_keys": [cloud_key.public_key()]},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return load_settings(None, **base)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway.open(kiosk_settings(tmp_path / "kiosk"))
    try:
        yield gw
    finally:
        gw.close()
