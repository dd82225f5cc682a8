"""Where a cassette lies in a frame: centre, angle of its flow axis, and scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pose:
    """Where the cassette is: centre (frame px), angle of its flow axis, px per mm."""

    centre: tuple[float, float]
    angle: float  # radians, positive = clockwise in the image
    scale: float

    def matrix(self) -> np.ndarray:
        """2x3 affine matrix from cassette mm (u, v) to frame px (x, y)."""
        c, s = math.cos(self.angle) * self.scale, math.sin(self.angle) * self.scale
        return np.array([[c, -s, self.centre[0]], [s, c, self.centre[1]]])

    def to_frame(self, points_mm: np.ndarray) -> np.ndarray:
        """Map (N, 2) cassette mm points to frame px."""
        m = self.matrix()
        return np.asarray(points_mm, dtype=np.float64).reshape(-1, 2) @ m[:, :2].T + m[:, 2]
