"""A kiosk on simulated devices, shipped with the package for the demo and the tests alike
(as gpiozero ships the fixtures that drive its mock pins).

``SimulatedKiosk`` builds the gateway on typed simulated devices and offers the verbs a person
and the hardware use (``show_cassette``, ``insert``, ``scan``, ``wait_for``, ``run_cassette``);
``scenes`` turns a truth about the produce into the strip the camera sees (``Truth``,
``true_ratio``, ``scene_for``). Nothing here is used by a kiosk in the field: a real kiosk
never falls back to simulation.
"""

from .kiosk import SimulatedDevices, SimulatedKiosk
from .scenes import KIOSK_CAMERA, Truth, renderer, scene_for, true_ratio

__all__ = [
    "KIOSK_CAMERA",
    "SimulatedDevices",
    "SimulatedKiosk",
    "Truth",
    "renderer",
    "scene_for",
    "true_ratio",
]
