"""A kiosk on simulated devices (``gateway.testing.SimulatedKiosk``), stocked and calibrated,
for station and session tests."""

from __future__ import annotations

import functools
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from device_drivers import DevicesConfig
from device_drivers.strip_sim import LineTruth, SceneSpec, render_scene
from gateway.kits import Kit, sim_geometry
from gateway.scoring import make_flat_field
from gateway.testing import SimulatedKiosk
from tests.gateway.conftest import kiosk_settings

FRAME = (1280, 960)


def simulated_gateway(data_dir: Path, broker_url: str = "mqtt://127.0.0.1:1",
                      **sections: dict) -> SimulatedKiosk:
    station = {"incubation_time_scale": 0.0001, "cassette_timeout_s": 5.0,
               **sections.pop("station", {})}
    settings = kiosk_settings(
        data_dir, broker_url,
        devices=DevicesConfig.simulated(camera_size=FRAME).model_dump(),
        station=station, **sections,
    )
    return SimulatedKiosk.open(settings)


def stock(gateway: SimulatedKiosk, kit_id: str, strips: int = 20) -> None:
    today = datetime.now(UTC).date()
    lot = gateway.catalogue.usable_lots(kit_id, today)[0]
    gateway.books.stock.register_box(box_code=f"BOX-{kit_id}", kit_id=kit_id, lot=lot.lot,
                                     expires_on=lot.expires_on, strips=strips)


def calibrate(gateway: SimulatedKiosk) -> None:
    card = SceneSpec(seed=3, cassette=None, white_card=True)
    frames = [render_scene(card, frame_index=i) for i in range(3)]
    gateway.books.calibrations.record(gateway.settings.station.reader_id, passed=True,
                                      figures={}, problems=[],
                                      flat_field=make_flat_field(frames))


def render(spec: SceneSpec, frame_index: int) -> np.ndarray:
    return render_scene(spec, frame_index=frame_index)


def show(gateway: SimulatedKiosk, kit: Kit, t_c: float, c_od: float = 0.6, seed: int = 1,
         lossless: bool = False) -> None:
    """Put a cassette of ``kit`` with true T/C ``t_c`` (every window) in front of the camera
    (through JPEG, or as a lossless camera delivers it)."""
    spec = SceneSpec(seed=seed, cassette=sim_geometry(kit),
                     lines=tuple(LineTruth.from_ratio(c_od, t_c) for _ in kit.analytes))
    if lossless:
        spec = replace(spec, camera=replace(spec.camera, jpeg_quality=None, bayer=True))
    gateway.camera.show(functools.partial(render, spec), lossless=lossless)
