"""The calibration card for a simulated kiosk: rendered by the strip simulator, lit by the
simulated reader's LED, put in front of the simulated camera at each step of the procedure.

Only for configurations that chose ``backend = "simulated"`` for the camera and the reader
(the demo, tests): a real camera photographs the real card the technician puts in the tray.
The scene can carry faults (a dim LED, uneven light, blur, over-exposure) through ``spec``.
"""

from __future__ import annotations

from dataclasses import replace

from device_drivers import SimulatedCamera, SimulatedReaderController
from device_drivers.strip_sim import Camera as SimOptics
from device_drivers.strip_sim import SceneSpec, render_scene
from device_drivers.strip_sim.targets import led_lit, render_focus_target

from .calibrate import Step


class SimulatedCards:
    """A ``place`` callback for ``calibrate`` that shows the rendered card's sides.

    Args:
        camera: the simulated camera; frames are rendered at its resolution.
        reader: the simulated reader whose LED level lights the card.
        led_level: the LED level at which ``spec`` has its own exposure.
        spec: light, optics and noise of the simulated box (default: a healthy one).
        follow_led: False simulates light that ignores the LED (an open lid, a stuck LED).
    """

    def __init__(self, camera: SimulatedCamera, reader: SimulatedReaderController, *,
                 led_level: float, spec: SceneSpec | None = None,
                 follow_led: bool = True) -> None:
        width, height = camera.resolution
        base = spec or SceneSpec(seed=11)
        self.spec = replace(base, cassette=None, white_card=False,
                            camera=replace(base.camera or SimOptics(), width=width,
                                           height=height))
        self.camera = camera
        self.reader = reader
        self.led_level = led_level
        self.follow_led = follow_led
        self.steps: list[Step] = []

    def _led(self) -> float:
        return self.reader.led if self.follow_led else self.led_level

    def __call__(self, step: Step) -> None:
        self.steps.append(step)
        if step is Step.WHITE_CARD:
            card = replace(self.spec, white_card=True)
            self.camera.show(led_lit(card, self._led, nominal_level=self.led_level))
        elif step is Step.FOCUS_TARGET:
            self.camera.show(led_lit(self.spec, self._led, nominal_level=self.led_level,
                                     render=render_focus_target))
        else:  # the card is out: the empty tray
            self.camera.show(led_lit(self.spec, self._led, nominal_level=self.led_level,
                                     render=render_scene))
