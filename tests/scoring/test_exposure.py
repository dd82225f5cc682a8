"""Exposure head-room: from half to 1.6 times the nominal exposure a kiosk frame is read
within the usual error or refused as over- or under-exposed — never as glare, which would send
the technician to wipe a clean window — and the scorer says how to take it again."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from device_drivers.strip_sim import (
    EXPOSURE_HEADROOM,
    KIOSK_CAPTURE,
    Defect,
    LineTruth,
    random_scene,
    render_scene,
)
from gateway.kits import Kit, sim_geometry
from gateway.scoring import FrameError, exposure_advice, score
from protocol.messages import Call


def kiosk_frame(kit: Kit, seed: int, exposure: float, t_c: float = 0.9,
                frame_index: int = 0) -> np.ndarray:
    spec = random_scene(seed, cassette=sim_geometry(kit), ranges=KIOSK_CAPTURE,
                        lines=(LineTruth.from_ratio(0.6, t_c),))
    return render_scene(replace(spec, light=replace(spec.light, exposure=exposure)),
                        frame_index=frame_index)


def test_near_clipping_is_read_or_refused_as_overexposed_never_as_glare(kit: Kit) -> None:
    refused = 0
    for i, exposure in enumerate(np.linspace(1.3, 1.6, 16)):
        r = score([kiosk_frame(kit, 7_000_000 + i, float(exposure))], kit, lossless=True)
        assert "glare" not in r.reason_codes, (exposure, r.reasons)
        if r.call is Call.INVALID:
            assert r.reason_codes == ["overexposed"], r.reason_codes
            assert "too bright" in r.reasons[0]
            refused += 1
        else:
            assert r.t_c_ratio == pytest.approx(0.9, abs=0.03)
    assert refused > 0  # the top of the range has no head-room left


def test_the_exposure_set_never_says_glare(kit: Kit) -> None:
    # The simulator's own exposure set (0.5-1.6 x nominal, every other nuisance at random).
    for seed in range(40):
        spec = random_scene(8_000 + seed, cassette=sim_geometry(kit), ranges=EXPOSURE_HEADROOM,
                            lines=(LineTruth.from_ratio(0.6, 1.3),))
        r = score([render_scene(spec)], kit, lossless=True)
        assert "glare" not in r.reason_codes, (spec.light.exposure, r.reasons)
        assert r.call in (Call.NEGATIVE, Call.INVALID)


def test_advice_darker_when_overexposed_and_the_retake_reads(kit: Kit) -> None:
    frames = [kiosk_frame(kit, 31, 1.6, frame_index=k) for k in range(3)]
    first = score(frames, kit, lossless=True)
    assert first.call is Call.INVALID and first.reason_codes == ["overexposed"]
    scale = exposure_advice(frames, kit)
    assert scale is not None and 0.3 <= scale <= 0.75
    again = [kiosk_frame(kit, 31, 1.6 * scale, frame_index=k) for k in range(3)]
    assert exposure_advice(again, kit) is None
    assert score(again, kit, lossless=True).t_c_ratio == pytest.approx(0.9, abs=0.03)


def test_advice_brighter_when_too_dark_and_none_when_fine(kit: Kit) -> None:
    dark = [kiosk_frame(kit, 32, 0.25)]
    assert score(dark, kit, lossless=True).reason_codes == ["underexposed"]
    scale = exposure_advice(dark, kit)
    assert scale is not None and 1.3 <= scale <= 2.5
    assert exposure_advice([kiosk_frame(kit, 32, 1.0)], kit) is None
    # Readable but dim (half the light): taken again brighter, for less shot noise.
    dim = exposure_advice([kiosk_frame(kit, 32, 0.5)], kit)
    assert dim is not None and 1.3 <= dim <= 2.5
    assert exposure_advice([kiosk_frame(kit, 32, 0.5 * dim)], kit) is None


def test_no_advice_for_what_light_cannot_fix(kit: Kit) -> None:
    black = np.zeros((960, 1280, 3), np.uint8)
    assert exposure_advice([black], kit) is None
    empty = random_scene(5, cassette=sim_geometry(kit), defect=Defect.NO_CASSETTE)
    assert exposure_advice([render_scene(empty)], kit) is None
    with pytest.raises(FrameError):
        exposure_advice([], kit)
