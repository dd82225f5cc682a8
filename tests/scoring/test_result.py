"""A result fills the wire contract's StripReading by name, and speaks for itself."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from device_drivers.strip_sim import Defect, render_scene
from gateway.kits import Kit
from gateway.scoring import MESSAGES, Reason, score
from gateway.scoring.reasons import message
from protocol.messages import Calibration, StripReading

from .conftest import scene


def reading(kit: Kit, result) -> StripReading:  # type: ignore[no-untyped-def]
    return StripReading(
        reading_id=uuid.uuid4().hex, product_code="chives", analyte_code=result.analyte,
        kit_id=kit.id, kit_lot="DEMO-2026A", kit_expires_on=date(2027, 6, 30),
        reader_id="reader-1", calibration=Calibration(state="ok"),
        scored_at=datetime.now(UTC), **result.reading_fields())


def test_valid_and_invalid_results_make_strip_readings(kit: Kit) -> None:
    good = score([render_scene(scene(kit, 1, 0.5))], kit)
    bad = score([render_scene(scene(kit, 2, 0.5, defect=Defect.NO_CASSETTE))], kit)
    for result in (good, bad):
        wire = reading(kit, result)
        assert wire.call is result.call and wire.t_c_ratio == result.t_c_ratio
        assert wire.frames_sha256 == result.frames_sha256
    assert bad.t_c_ratio is None and bad.c_line.height is None
    json.dumps(good.to_dict())  # JSON-ready, no image inside
    assert "annotated" not in good.to_dict()


def test_annotated_image(kit: Kit) -> None:
    frame = render_scene(scene(kit, 3, 0.5))
    r = score([frame], kit, annotate=True)
    assert r.annotated is not None and r.annotated.shape == frame.shape
    assert (r.annotated != frame).any()
    assert score([frame], kit).annotated is None


def test_every_reason_has_words() -> None:
    figures = dict(offset_mm=9.1, rotation_deg=12.0, size_error=0.1, blur_px=5.0,
                   membrane_ratio=0.6, background_od=0.2, t_c_ratio=0.9, cutoff_low=0.8,
                   cutoff_high=1.0, frame_count=5, t_c_spread=0.2, discarded=2,
                   why="glare")
    assert set(MESSAGES) == set(Reason)
    for code in Reason:
        text = message(code, **figures)
        assert "{" not in text and len(text) > 20
    # A missing figure still gives the sentence's first part, never an exception.
    assert message(Reason.CASSETTE_MISPLACED) == "The cassette is not seated in the tray."
