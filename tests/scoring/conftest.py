"""Shared helpers for the scoring tests: the catalogue's kits and simulator scenes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from device_drivers.strip_sim import Camera, LineTruth, SceneSpec, random_scene
from gateway.kits import Catalogue, Kit, load_catalogue, sim_geometry

SINGLE, CARD4, CARD3 = "gold-procymidone-v1", "card-aquatic-4in1-v1", \
    "card-beta-agonists-3in1-v1"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="session")
def kit(catalogue: Catalogue) -> Kit:
    return catalogue.kit(SINGLE)


def scene(kit: Kit, seed: int, *ratios: float, c_od: float = 0.6, **kwargs: object
          ) -> SceneSpec:
    """A random-nuisance scene of ``kit`` with the given true T/C per window."""
    lines = tuple(LineTruth.from_ratio(c_od, r) for r in ratios) if ratios else None
    return random_scene(seed, cassette=sim_geometry(kit), lines=lines, **kwargs)  # type: ignore[arg-type]


def clean(spec: SceneSpec) -> SceneSpec:
    """The same scene through a lossless, quiet camera."""
    return replace(spec, camera=Camera(jpeg_quality=None, shot_noise=0.003, read_noise=0.001,
                                       px_per_mm=spec.camera.px_per_mm,
                                       blur_px=spec.camera.blur_px))
