"""Turn a kit's cassette layout into the strip simulator's geometry, so the simulated camera,
the tests and the benchmark render exactly the cassette the scorer expects."""

from __future__ import annotations

from device_drivers.strip_sim import CassetteGeometry, WindowGeometry

from .models import Kit


def sim_geometry(kit: Kit) -> CassetteGeometry:
    """The simulator geometry of ``kit``'s cassette."""
    c = kit.cassette
    return CassetteGeometry(
        size_mm=(c.size_mm[0], c.size_mm[1]),
        corner_radius_mm=c.corner_radius_mm,
        line_width_mm=c.line_width_mm,
        windows=tuple(
            WindowGeometry(
                centre_mm=(w.centre_mm[0], w.centre_mm[1]),
                size_mm=(w.size_mm[0], w.size_mm[1]),
                t_mm=w.t_mm,
                c_mm=w.c_mm,
                well_centre_mm=(w.well_centre_mm[0], w.well_centre_mm[1]),
                well_diameter_mm=w.well_diameter_mm,
            )
            for w in c.windows
        ),
    )
