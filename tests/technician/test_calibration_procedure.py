"""The calibration procedure on the simulated camera and reader: a healthy box passes and
stores its flat field; each fault fails with its problem in words, and is stored as failed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from device_drivers import DeviceAbsent, DevicesConfig, make_camera, make_reader
from device_drivers.strip_sim import SceneSpec, render_scene
from device_drivers.strip_sim.targets import led_lit
from gateway.technician.calibrate import Step, calibrate
from gateway.technician.sim_cards import SimulatedCards

LED = 0.8
BASE = SceneSpec(seed=5)


@pytest.fixture
def rig() -> Iterator[tuple]:
    config = DevicesConfig.simulated(camera_size=(640, 480))
    camera, reader = make_camera(config.camera).open(), make_reader(config.reader).open()
    yield camera, reader
    camera.close()
    reader.close()


def run(rig, book, spec=BASE, **cards):
    camera, reader = rig
    place = SimulatedCards(camera, reader, led_level=LED, spec=spec, **cards)
    result = calibrate(camera, reader, book, reader_id="reader-1", led_level=LED, place=place)
    return result, place


def light(**changes):
    return replace(BASE, light=replace(BASE.light, **changes))


def test_a_healthy_reader_passes_and_its_flat_field_is_stored(rig, book):
    result, place = run(rig, book)
    assert result.passed, result.problems
    assert place.steps == [Step.WHITE_CARD, Step.FOCUS_TARGET, Step.REMOVE_CARD]
    checks = {f.check: f for f in result.findings}
    assert set(checks) == {"exposure", "clipping", "LED response", "flicker", "uniformity",
                           "spots", "focus"}
    assert 0.55 < checks["exposure"].value < 0.7
    assert checks["LED response"].value == pytest.approx(0.5, abs=0.03)
    assert checks["focus"].value < 3.0
    assert result.figures["white_reference_bgr"][1] == pytest.approx(checks["exposure"].value,
                                                                     abs=0.01)
    state = book.current("reader-1")
    assert state.state == "ok" and state.calibrated_at == result.performed_at
    assert state.flat_field.shape == (480, 640, 3)
    assert float(np.median(state.flat_field[..., 1])) == pytest.approx(1.0, abs=0.01)
    _, reader = rig
    assert reader.led == 0.0 and reader.tray == "out"


@pytest.mark.parametrize("spec,cards,check,words", [
    (light(exposure=0.4), {}, "exposure", "under-exposed"),                     # dim LED
    (light(tilt=(0.35, 0.0)), {}, "uniformity", "weakest at the left"),          # uneven light
    (light(vignetting=0.9), {}, "uniformity", "uneven"),                         # dead corners
    (replace(BASE, camera=replace(BASE.camera, blur_px=3.0)), {}, "focus", "blurred"),
    (light(exposure=1.45), {}, "exposure", "over-exposed"),
    (light(exposure=2.5), {}, "clipping", "clipped"),
    (BASE, {"follow_led": False}, "LED response", "does not follow the LED"),
], ids=["dim-led", "tilted-light", "vignetting", "blur", "over-exposed", "clipped",
        "led-not-driven"])
def test_each_fault_fails_with_its_problem_in_words(rig, book, spec, cards, check, words):
    result, _ = run(rig, book, spec, **cards)
    assert not result.passed
    failed = {f.check: f for f in result.findings if not f.passed}
    assert check in failed, result.findings
    assert words in failed[check].problem
    assert any(words in p for p in result.problems)
    state = book.current("reader-1")
    assert state.state == "failed" and state.flat_field is None
    assert any(words in p for p in state.problems)


def test_a_dirty_lens_shows_as_a_spot(rig, book):
    camera, reader = rig

    def dirty(index):
        frame = led_lit(replace(BASE, white_card=True, camera=replace(
            BASE.camera, width=640, height=480)), lambda: reader.led, nominal_level=LED)(index)
        yy, xx = np.mgrid[0:480, 0:640]
        spot = 1 - 0.3 * np.exp(-((xx - 200) ** 2 + (yy - 300) ** 2) / (2 * 12.0 ** 2))
        return (frame * spot[:, :, None]).astype(np.uint8)

    cards = SimulatedCards(camera, reader, led_level=LED, spec=BASE)

    def place(step):
        cards(step)
        if step is Step.WHITE_CARD:
            camera.show(dirty)

    result = calibrate(camera, reader, book, reader_id="reader-1", led_level=LED, place=place)
    failed = {f.check: f for f in result.findings if not f.passed}
    assert set(failed) == {"spots"}, result.findings
    assert "clean the camera lens" in failed["spots"].problem


def test_the_white_side_twice_means_no_focus_target(rig, book):
    camera, reader = rig
    cards = SimulatedCards(camera, reader, led_level=LED, spec=BASE)

    def place(step):
        cards(Step.WHITE_CARD if step is Step.FOCUS_TARGET else step)

    result = calibrate(camera, reader, book, reader_id="reader-1", led_level=LED, place=place)
    [focus] = [f for f in result.findings if f.check == "focus"]
    assert not focus.passed and "turn the calibration card over" in focus.problem


def test_a_camera_lost_mid_procedure_stores_nothing(rig, book):
    result, _ = run(rig, book)
    camera, reader = rig
    before = book.current("reader-1")

    def place(step):
        if step is Step.FOCUS_TARGET:
            camera.unplug()

    cards = SimulatedCards(camera, reader, led_level=LED, spec=BASE)
    with pytest.raises(DeviceAbsent):
        calibrate(camera, reader, book, reader_id="reader-1", led_level=LED,
                  place=lambda s: (cards(s), place(s)))
    assert book.current("reader-1").calibrated_at == before.calibrated_at == result.performed_at
    assert reader.led == 0.0 and reader.tray == "out"


def test_calibrations_are_kept_per_reader_with_their_date(rig, book):
    camera, reader = rig
    when = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    calibrate(camera, reader, book, reader_id="reader-2", led_level=LED,
              place=SimulatedCards(camera, reader, led_level=LED), now=lambda: when)
    assert book.current("reader-2", now=when).calibrated_at == when
    assert book.current("reader-1").state == "none"


def test_led_lit_scenes_follow_the_led(rig):
    _, reader = rig
    spec = replace(BASE, white_card=True, cassette=None,
                   camera=replace(BASE.camera, width=128, height=96, jpeg_quality=None))
    scene = led_lit(spec, lambda: reader.led, nominal_level=LED)
    reader.set_led(LED)
    bright = scene(0).mean()
    reader.set_led(LED / 4)
    assert scene(0).mean() < bright * 0.75
    assert scene(0).shape == render_scene(spec).shape
