"""Where things land in the frame: the cassette-to-frame transform and the windows' corners.

The scorer has to find these by itself; the simulator exposes them so that tests and the
benchmark know the truth (for example, whether a glare spot really covers a window).
"""

from __future__ import annotations

import math

import numpy as np

from .spec import CassetteGeometry, SceneSpec, WindowGeometry


def cassette_to_frame(spec: SceneSpec) -> np.ndarray:
    """The 2x3 affine matrix taking cassette millimetres (u, v, 1) to frame pixels (x, y).

    Pixel coordinates follow OpenCV: integer values are pixel centres. The nominal cassette
    centre is the frame centre ``((width - 1) / 2, (height - 1) / 2)``.
    """
    cam, place = spec.camera, spec.placement
    s = cam.px_per_mm
    theta = math.radians(place.rotation_deg + (180.0 if place.reversed else 0.0))
    cx = (cam.width - 1) / 2 + place.offset_mm[0] * s
    cy = (cam.height - 1) / 2 + place.offset_mm[1] * s
    c, n = math.cos(theta) * s, math.sin(theta) * s
    return np.array([[c, -n, cx], [n, c, cy]], dtype=np.float64)


def map_points(matrix: np.ndarray, points_mm: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to an (N, 2) array of points."""
    pts = np.asarray(points_mm, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]


def window_corners_mm(window: WindowGeometry) -> np.ndarray:
    """The window's four corners in cassette mm, starting at the sample-side top corner."""
    (cu, cv), (length, width) = window.centre_mm, window.size_mm
    hl, hw = length / 2, width / 2
    return np.array(
        [[cu - hl, cv - hw], [cu + hl, cv - hw], [cu + hl, cv + hw], [cu - hl, cv + hw]]
    )


def window_quads(spec: SceneSpec) -> list[np.ndarray]:
    """Each window's corners in frame pixels ((4, 2) arrays); empty without a cassette."""
    if spec.cassette is None or spec.white_card:
        return []
    m = cassette_to_frame(spec)
    return [map_points(m, window_corners_mm(w)) for w in spec.cassette.windows]


def cassette_quad(spec: SceneSpec) -> np.ndarray | None:
    """The cassette's outline corners in frame pixels, or None without a cassette."""
    if spec.cassette is None or spec.white_card:
        return None
    return map_points(cassette_to_frame(spec), _outline_mm(spec.cassette))


def _outline_mm(geometry: CassetteGeometry) -> np.ndarray:
    hl, hw = geometry.size_mm[0] / 2, geometry.size_mm[1] / 2
    return np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]])


def line_centres_px(spec: SceneSpec, window_index: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame pixel centres of the (T, C) lines of one window (on the window's mid-line)."""
    assert spec.cassette is not None
    w = spec.cassette.windows[window_index]
    u0 = w.centre_mm[0] - w.size_mm[0] / 2
    m = cassette_to_frame(spec)
    t = map_points(m, np.array([[u0 + w.t_mm, w.centre_mm[1]]]))[0]
    c = map_points(m, np.array([[u0 + w.c_mm, w.centre_mm[1]]]))[0]
    return t, c
