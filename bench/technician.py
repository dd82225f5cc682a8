"""How long the technician's tools take, with same-run baselines.

- calibration analysis (every check on the captured bursts) against ``make_flat_field`` alone
  on the same white frames (what the old minimal calibration computed);
- kit label parsing (GS1 raw, GS1 bracketed, NGK1) against ``str.split`` of the NGK1 text.

    .venv/bin/python bench/technician.py [--size 1280x960] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

from device_drivers.strip_sim import Camera, SceneSpec, render_scene
from device_drivers.strip_sim.targets import render_focus_target
from gateway.kit_labels import format_gs1, format_local, parse_label
from gateway.scoring import make_flat_field
from gateway.technician.calibrate import analyse
from gateway.technician.measure import CalibrationLimits


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="1280x960")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    spec = SceneSpec(seed=1, cassette=None, camera=Camera(width=width, height=height))
    white = [render_scene(SceneSpec(seed=1, cassette=None, white_card=True,
                                    camera=spec.camera), frame_index=i) for i in range(5)]
    frames = {"white": white, "half": white[:2],
              "focus": [render_focus_target(spec, frame_index=i) for i in range(3)]}
    limits = CalibrationLimits()
    base = best(lambda: make_flat_field(white), args.repeat)
    full = best(lambda: analyse(frames, limits), args.repeat)
    print(f"calibration analysis, {width}x{height}, 5+2+3 frames:")
    print(f"  make_flat_field alone (baseline) {base * 1000:8.1f} ms")
    print(f"  every check (analyse)            {full * 1000:8.1f} ms   ratio {full / base:.2f}")

    codes = {
        "GS1 raw": format_gs1("02990000000019", "DEMO-2026A", date(2027, 6, 30), strips=50,
                              serial="B0001"),
        "GS1 bracketed": format_gs1("02990000000019", "DEMO-2026A", date(2027, 6, 30),
                                    strips=50, serial="B0001", bracketed=True),
        "NGK1": format_local("gold-procymidone-v1", "DEMO-2026A", date(2027, 6, 30), 50, "B1"),
    }
    n = 2000
    split = best(lambda: [codes["NGK1"].split("|") for _ in range(n)], args.repeat) / n
    print(f"label parsing, per code ({n} codes, best of {args.repeat}):")
    print(f"  str.split of NGK1 (baseline)     {split * 1e6:8.2f} µs")
    for name, code in codes.items():
        per = best(lambda c=code: [parse_label(c) for _ in range(n)], args.repeat) / n
        print(f"  parse_label {name:<20} {per * 1e6:8.2f} µs   ratio {per / split:.0f}")


if __name__ == "__main__":
    main()
