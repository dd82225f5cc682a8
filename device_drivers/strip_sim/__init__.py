"""Strip-scene simulator: renders what the reader's camera sees of a colloidal-gold cassette.

Used by the simulated camera, the tests and the benchmark. A scene is described by a
:class:`SceneSpec` (the true line optical densities, the cassette geometry and every nuisance
factor) and rendered by :func:`render_scene`, deterministically from its seed. Imports nothing
of ours (numpy and OpenCV only).
"""

from .geometry import cassette_quad, cassette_to_frame, line_centres_px, window_quads
from .random_scenes import (
    EXPOSURE_HEADROOM,
    KIOSK_CAPTURE,
    Defect,
    NuisanceRanges,
    VeilRanges,
    add_veil,
    membrane_light,
    random_scene,
)
from .render import render_scene
from .spec import (
    GOLD_ABSORBANCE_BGR,
    Camera,
    CassetteGeometry,
    GlareSpot,
    Illumination,
    LineTruth,
    Placement,
    SceneSpec,
    StripLook,
    WindowGeometry,
    multi_strip_card,
    single_strip_cassette,
)

__all__ = [
    "EXPOSURE_HEADROOM",
    "GOLD_ABSORBANCE_BGR",
    "KIOSK_CAPTURE",
    "Camera",
    "CassetteGeometry",
    "Defect",
    "GlareSpot",
    "Illumination",
    "LineTruth",
    "NuisanceRanges",
    "Placement",
    "SceneSpec",
    "StripLook",
    "VeilRanges",
    "WindowGeometry",
    "add_veil",
    "cassette_quad",
    "cassette_to_frame",
    "line_centres_px",
    "membrane_light",
    "multi_strip_card",
    "random_scene",
    "render_scene",
    "single_strip_cassette",
    "window_quads",
]
