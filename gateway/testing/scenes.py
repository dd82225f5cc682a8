"""From "what is really in this produce" to the cassette the simulated camera sees.

A truth (clean, contaminated, unclear) becomes, for each window of a kit, the T/C ratio such a
sample would develop (above the kit's cut-off for a clean competitive strip, far below it when
contaminated; no T line or a strong one on a sandwich strip; right between the cut-offs when
unclear), then a strip-simulator scene of the kit's cassette with those lines. The kiosk's
scorer then reads the picture as it would a real one: the truth is chosen here, the verdict is
the kiosk's.

Without a random generator the figures are fixed (tests that assert exact outcomes); with one
they vary as real samples, placements and light do (the demo's farmers).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Mapping
from dataclasses import replace
from enum import StrEnum

import numpy as np

from device_drivers.strip_sim import (
    Camera,
    Illumination,
    LineTruth,
    Placement,
    SceneSpec,
    render_scene,
)

from ..kits import Format, Kit, sim_geometry


class Truth(StrEnum):
    CLEAN = "clean"
    CONTAMINATED = "contaminated"
    UNCLEAR = "unclear"  # a T/C right between the kit's cut-offs: suspect, re-tested


KIOSK_CAMERA = Camera(jpeg_quality=None, bayer=True)
"""The kiosk's own camera: lossless frames from a colour-filter-array sensor."""
C_LINE_OD = 0.6
"""The control line's optical density without a random generator."""

Truths = Truth | str | Mapping[str, Truth | str]
"""One truth for every window, or one per analyte (an analyte not named is clean)."""


def true_ratio(kit: Kit, window: int, truth: Truth | str,
               rng: random.Random | None = None) -> float:
    """The T/C ratio a sample of ``truth`` develops in ``kit``'s ``window``."""
    truth = Truth(truth)
    decision = kit.decision_for(window)
    middle = (decision.cutoff_low + decision.cutoff_high) / 2
    # With a generator, every draw is made whatever the truth, so that one farmer's truth
    # does not shift the next farmer's random figures.
    if kit.format is Format.SANDWICH:  # the T line appears with the analyte
        strong = rng.uniform(0.6, 1.0) if rng is not None else 0.9
        return {Truth.CLEAN: 0.0, Truth.CONTAMINATED: strong, Truth.UNCLEAR: middle}[truth]
    # Competitive: a clean sample leaves the T line as strong as the blank's.
    clean = max(kit.blank_t_c, decision.cutoff_high * 1.15)
    if rng is not None:
        clean *= rng.uniform(0.97, 1.05)
    weak = rng.uniform(0.1, decision.cutoff_low * 0.6) if rng is not None else 0.2
    return {Truth.CLEAN: clean, Truth.CONTAMINATED: weak, Truth.UNCLEAR: middle}[truth]


def truth_of(truths: Truths, analyte: str) -> Truth:
    if isinstance(truths, Mapping):
        return Truth(truths.get(analyte, Truth.CLEAN))
    return Truth(truths)


def scene_for(kit: Kit, truths: Truths, *, seed: int = 1, rng: random.Random | None = None,
              camera: Camera | None = None) -> SceneSpec:
    """A cassette of ``kit`` as samples of ``truths`` would develop it.

    Args:
        seed: the scene's noise seed when there is no ``rng``.
        rng: vary the lines, the placement in the tray and the light as real tests do (and
            take the seed from it); None: fixed figures, centred, the simulator's light.
        camera: the camera the scene is seen through (default: the simulator's).
    """
    lines = []
    for window, analyte in enumerate(kit.analytes):
        c_od = rng.uniform(0.45, 0.75) if rng is not None else C_LINE_OD
        lines.append(LineTruth.from_ratio(c_od, true_ratio(kit, window,
                                                           truth_of(truths, analyte), rng)))
    spec = SceneSpec(seed=rng.randrange(2**31) if rng is not None else seed,
                     cassette=sim_geometry(kit), lines=tuple(lines))
    if rng is not None:
        spec = replace(spec,
                       placement=Placement(offset_mm=(rng.uniform(-1.5, 1.5), rng.uniform(-1, 1)),
                                           rotation_deg=rng.uniform(-1.5, 1.5)),
                       light=replace(Illumination(), exposure=rng.uniform(0.92, 1.08)))
    if camera is not None:
        spec = replace(spec, camera=camera)
    return spec


def render(spec: SceneSpec, frame_index: int) -> np.ndarray:
    """One frame of ``spec`` (what the simulated camera calls for each frame of a burst)."""
    return render_scene(spec, frame_index=frame_index)


def renderer(spec: SceneSpec) -> functools.partial[np.ndarray]:
    """``spec`` as the simulated camera's scene (a picklable frame function)."""
    return functools.partial(render, spec)
