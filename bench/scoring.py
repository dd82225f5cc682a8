#!/usr/bin/env python3
"""Strip scoring benchmark: accuracy, calls, gates, repeatability, speed and memory of
``gateway.scoring`` on generated cassette scenes with known truth, against a naive baseline
in the same run, plus sanity checks on real strip photographs when they are available.

Usage (from the repository root):

    .venv/bin/python bench/scoring.py            # the full run (~5,600 scenes)
    .venv/bin/python bench/scoring.py --scale 0.2   # a quick smaller run while developing

Everything runs on one core (OpenCV and BLAS threads pinned to 1). The scenes come from
``device_drivers.strip_sim`` with every nuisance factor drawn at random; they are the frames the
kiosk's own camera delivers (``KIOSK_CAPTURE``: lossless, demosaiced from a colour filter
array), read as the kiosk reads them (``lossless=True``), each random good scene both from one
frame and from a burst of five (the kiosk's default). Sets of their own: veil glare over one
window (``VeilRanges``: +3 % to +50 % of the membrane's light, 1-3 mm, anywhere along it and on
either line), the same on JPEG frames, and exposure from 0.5 to 1.6 times nominal
(``EXPOSURE_HEADROOM``) read once and then as the kiosk reads it, taking the burst again at
the exposure the scorer advises. A further set reads frames from the default ranges, 80 % of
them JPEG (photographs from elsewhere, MJPEG webcams). The bad-quality share has every gate
(Defect) in equal numbers. Real photographs are read from ``../shared/field-images`` relative
to the repository root and skipped cleanly if absent.
"""

from __future__ import annotations

import os

# Single-threaded before numpy and OpenCV load: the target is per frame on one core.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from field_images import field_checks  # noqa: E402
from naive_reader import naive_score  # noqa: E402
from scoring_report import (  # noqa: E402
    CARD3,
    CARD4,
    KIOSK_BURST,
    SINGLE,
    Reading,
    conditions,
    report,
)

from device_drivers.strip_sim import (  # noqa: E402
    EXPOSURE_HEADROOM,
    KIOSK_CAPTURE,
    Defect,
    LineTruth,
    NuisanceRanges,
    SceneSpec,
    add_veil,
    membrane_light,
    random_scene,
    render_scene,
)
from gateway.kits import Kit, load_catalogue, sim_geometry  # noqa: E402
from gateway.scoring import (  # noqa: E402
    exposure_advice,
    locate,
    make_flat_field,
    score,
    score_windows,
)

RECAPTURES = 2  # as the kiosk's station: bursts taken again at the advised exposure


def kiosk_scene(seed: int, kit: Kit, **kw) -> SceneSpec:  # type: ignore[no-untyped-def]
    """A random scene of ``kit`` as the kiosk's camera sees it (``KIOSK_CAPTURE``)."""
    return random_scene(seed, cassette=sim_geometry(kit), ranges=KIOSK_CAPTURE, **kw)


def lossless(spec: SceneSpec) -> bool:
    return spec.camera.jpeg_quality is None


EXPECTED_REASON = {
    Defect.OVEREXPOSED: "overexposed", Defect.UNDEREXPOSED: "underexposed",
    Defect.BLURRED: "blurred", Defect.GLARE: "glare", Defect.NO_CASSETTE: "cassette_absent",
    Defect.MISPLACED: "cassette_misplaced", Defect.ROTATED: "cassette_rotated",
    Defect.REVERSED: "cassette_reversed", Defect.WET: "membrane_wet",
    Defect.UNCLEARED: "membrane_uncleared",
}


class Bench:
    def __init__(self, scale: float, seed: int):
        self.scale = scale
        self.seed = seed
        self.catalogue = load_catalogue()
        self.kits = {k: self.catalogue.kit(k) for k in (SINGLE, CARD4, CARD3)}
        self.readings: list[Reading] = []
        self.scenes = 0
        self.render_s = 0.0

    def n(self, count: int) -> int:
        return max(1, round(count * self.scale))

    def render(self, spec: SceneSpec, frame_index: int = 0) -> np.ndarray:
        t = time.perf_counter()
        frame = render_scene(spec, frame_index=frame_index)
        self.render_s += time.perf_counter() - t
        return frame

    def run_scene(self, group: str, kit: Kit, spec: SceneSpec,
                  expected_reason: str | None = None, burst: int = 1,
                  veiled: int | None = None, recapture: bool = False) -> None:
        """Read the scene from its first frame, and also from a burst of ``burst`` frames;
        ``veiled``: the window under a veil; ``recapture``: also read it as the kiosk does,
        taking the frame again at the exposure the scorer advises."""
        self.scenes += 1
        frames = [self.render(spec, frame_index=k) for k in range(burst)]
        results = score_windows(frames[:1], kit, lossless=lossless(spec))
        bursts = score_windows(frames, kit, lossless=lossless(spec)) if burst > 1 else None
        again = self.recaptured(kit, spec, frames[:1]) if recapture else None
        pose = locate(frames[0], kit.cassette, 12.0).pose  # shared by the naive reads
        for i, r in enumerate(results):
            truth = spec.lines[i].t_c if spec.lines else None
            naive = naive_score(frames[:1], kit, i, pose=pose)
            rule = kit.decision_for(i)
            b = bursts[i] if bursts is not None else None
            k = again[0][i] if again is not None else None
            self.readings.append(Reading(
                group, truth, rule.cutoff_low, rule.cutoff_high, r.call, r.t_c_ratio,
                r.reason_codes, naive.call, naive.ratio, expected_reason,
                burst_call=b.call if b else None, burst_ratio=b.t_c_ratio if b else None,
                veiled=veiled == i if veiled is not None else None,
                strength=self.strength if veiled == i else None,
                exposure=spec.light.exposure if recapture else None,
                recaptured_call=k.call if k else None,
                recaptured_ratio=k.t_c_ratio if k else None,
                recaptured_codes=k.reason_codes if k else None,
                recaptured_exposure=again[1] if again is not None else None))

    def recaptured(self, kit: Kit, spec: SceneSpec, frames: list[np.ndarray]
                   ) -> tuple[list, float]:  # type: ignore[type-arg]
        """The readings the kiosk ends with: the frames taken again (up to RECAPTURES times)
        at the exposure the scorer advises, and the exposure they were taken at."""
        scale = 1.0
        for _ in range(RECAPTURES):
            advice = exposure_advice(frames, kit)
            if advice is None:
                break
            scale *= advice
            light = replace(spec.light, exposure=spec.light.exposure * scale)
            frames = [self.render(replace(spec, light=light))]
        return score_windows(frames, kit, lossless=lossless(spec)), spec.light.exposure * scale

    # -- scene sets --------------------------------------------------------------------------

    def random_good(self) -> None:
        plan = [(SINGLE, self.n(1200)), (CARD4, self.n(100)), (CARD3, self.n(100))]
        seed = self.seed * 1_000_000
        for kit_id, count in plan:
            kit = self.kits[kit_id]
            for _ in range(count):
                seed += 1
                self.run_scene("good", kit, kiosk_scene(seed, kit),
                               burst=KIOSK_BURST)

    def random_jpeg(self) -> None:
        """Single strips from the default ranges: 80 % JPEG frames, 20 % lossless, no
        demosaicing (the evaluation conditions before the kiosk's capture was fixed)."""
        kit = self.kits[SINGLE]
        seed = self.seed * 1_000_000 + 100_000
        for _ in range(self.n(1500)):
            seed += 1
            self.run_scene("jpeg_mix", kit, random_scene(seed, cassette=sim_geometry(kit)))

    strength: float | None = None  # the veil of the scene being read (for its Reading)

    def veils(self) -> None:
        """Veil glare over one window of single strips and cards (strength +3 % to +50 % of
        the membrane's light, 1-3 mm, anywhere along the window, two thirds on a line), kiosk
        frames; and the same veils on JPEG frames (single strips)."""
        seed = self.seed * 1_000_000 + 1_000_000
        plan = [(SINGLE, self.n(600), KIOSK_CAPTURE, "veil"),
                (CARD4, self.n(100), KIOSK_CAPTURE, "veil"),
                (CARD3, self.n(100), KIOSK_CAPTURE, "veil"),
                (SINGLE, self.n(300), NuisanceRanges(lossless_share=0.0), "veil_jpeg"),
                (SINGLE, self.n(300), NuisanceRanges(lossless_share=0.0), "clean_jpeg")]
        for kit_id, count, ranges, group in plan:
            kit = self.kits[kit_id]
            for _ in range(count):
                seed += 1
                spec = random_scene(seed, cassette=sim_geometry(kit), ranges=ranges)
                window = None
                if group != "clean_jpeg":
                    window = int(np.random.default_rng([seed, 5]).integers(kit.windows))
                    spec = add_veil(spec, seed, window=window)
                    self.strength = self._strength(spec)
                self.run_scene(group, kit, spec, veiled=window)
                self.strength = None

    @staticmethod
    def _strength(spec: SceneSpec) -> float:
        """The veil's peak over the membrane's light there (as add_veil drew it)."""
        spot = spec.glare[-1]
        return spot.peak / membrane_light(spec, spot.x_px, spot.y_px)

    def exposures(self) -> None:
        """Kiosk frames with the light from 0.5 to 1.6 x nominal (noise near clipping at the
        top), single strips and cards: read once, and as the kiosk reads them."""
        seed = self.seed * 1_000_000 + 1_100_000
        for kit_id, count in ((SINGLE, self.n(500)), (CARD4, self.n(50)), (CARD3, self.n(50))):
            kit = self.kits[kit_id]
            for _ in range(count):
                seed += 1
                spec = random_scene(seed, cassette=sim_geometry(kit), ranges=EXPOSURE_HEADROOM)
                self.run_scene("exposure", kit, spec, recapture=True)

    def challenge(self) -> None:
        """Scenes at the kit's cut-offs +-20 %: 0.8 x lower cut-off (must be positive) and
        1.2 x upper cut-off (must be negative), every nuisance at random."""
        kit = self.kits[SINGLE]
        rule = kit.decision
        seed = self.seed * 1_000_000 + 200_000
        rng = np.random.default_rng([self.seed, 11])
        for group, tc in (("challenge_pos", 0.8 * rule.cutoff_low),
                          ("challenge_neg", 1.2 * rule.cutoff_high)):
            for _ in range(self.n(250)):
                seed += 1
                lines = (LineTruth.from_ratio(float(rng.uniform(0.3, 0.9)), tc),)
                self.run_scene(group, kit, kiosk_scene(seed, kit, lines=lines))

    def ladder(self) -> dict[float, int]:
        """Inhibition ladder: T/C = blank x (1 - inhibition)."""
        kit = self.kits[SINGLE]
        seed = self.seed * 1_000_000 + 300_000
        rng = np.random.default_rng([self.seed, 12])
        levels = [round(x, 2) for x in np.arange(0.10, 0.61, 0.05)]
        for level in levels:
            for _ in range(self.n(25)):
                seed += 1
                tc = kit.blank_t_c * (1 - level)
                lines = (LineTruth.from_ratio(float(rng.uniform(0.3, 0.9)), tc),)
                self.run_scene(f"ladder:{level:.2f}", kit,
                               kiosk_scene(seed, kit, lines=lines))
        return {lv: 0 for lv in levels}

    def no_control(self) -> None:
        seed = self.seed * 1_000_000 + 400_000
        for kit_id, count in ((SINGLE, self.n(80)), (CARD4, self.n(20))):
            kit = self.kits[kit_id]
            for _ in range(count):
                seed += 1
                self.run_scene("no_c", kit, kiosk_scene(seed, kit, defect=Defect.NO_C_LINE),
                               "no_control_line")

    def bad_quality(self) -> None:
        kit = self.kits[SINGLE]
        seed = self.seed * 1_000_000 + 500_000
        for defect, code in EXPECTED_REASON.items():
            for _ in range(self.n(50)):
                seed += 1
                self.run_scene(f"bad:{defect.value}", kit,
                               kiosk_scene(seed, kit, defect=defect),
                               code)

    # -- separate measurements ---------------------------------------------------------------

    def repeatability(self) -> dict[str, float]:
        """One strip (fixed look and light) re-placed 20 times within the tray's tolerance."""
        kit = self.kits[SINGLE]
        base = kiosk_scene(self.seed * 1_000_000 + 600_000, kit,
                           lines=(LineTruth.from_ratio(0.5, 0.9),))
        rng = np.random.default_rng([self.seed, 13])
        ours, naive = [], []
        for k in range(20):
            placement = replace(base.placement,
                                offset_mm=(float(rng.uniform(-3, 3)), float(rng.uniform(-3, 3))),
                                rotation_deg=float(rng.uniform(-3, 3)))
            frame = self.render(replace(base, placement=placement), frame_index=k)
            r = score([frame], kit, lossless=True)
            nv = naive_score([frame], kit)
            if r.t_c_ratio is not None:
                ours.append(r.t_c_ratio)
            if nv.ratio is not None:
                naive.append(nv.ratio)
        self.scenes += 20

        def cv(values: list[float]) -> float:
            return float(np.std(values, ddof=1) / np.mean(values)) if len(values) > 2 else \
                float("nan")
        return {"cv": cv(ours), "cv_naive": cv(naive), "n": len(ours), "n_naive": len(naive)}

    def flat_field(self) -> dict[str, float]:
        """Strong LED-array ripple (5 %): a smooth baseline cannot follow it, a flat field
        from the blank-card calibration removes it."""
        kit = self.kits[SINGLE]
        errs_raw, errs_flat = [], []
        seed = self.seed * 1_000_000 + 700_000
        for _ in range(self.n(60)):
            seed += 1
            spec = kiosk_scene(seed, kit)
            spec = replace(spec, light=replace(spec.light, ripple=0.05, ripple_period_mm=7.0,
                                               ripple_angle_deg=0.0))
            card = replace(spec, white_card=True, glare=())
            flat = make_flat_field([self.render(card, frame_index=k) for k in range(4)])
            frame = self.render(spec)
            truth = spec.lines[0].t_c
            a = score([frame], kit, lossless=True)
            b = score([frame], kit, flat_field=flat, lossless=True)
            if a.t_c_ratio is not None and truth is not None:
                errs_raw.append(abs(a.t_c_ratio - truth))
            if b.t_c_ratio is not None and truth is not None:
                errs_flat.append(abs(b.t_c_ratio - truth))
            self.scenes += 1
        return {"mae_raw": float(np.mean(errs_raw)), "mae_flat": float(np.mean(errs_flat)),
                "n": len(errs_flat)}

    def bursts(self) -> dict[str, float]:
        """Bursts of 5 frames of one scene: median combination and spread."""
        kit = self.kits[SINGLE]
        errs, errs1, spreads = [], [], []
        seed = self.seed * 1_000_000 + 800_000
        for _ in range(self.n(60)):
            seed += 1
            spec = kiosk_scene(seed, kit)
            frames = [self.render(spec, frame_index=k) for k in range(5)]
            truth = spec.lines[0].t_c
            r = score(frames, kit, lossless=True)
            r1 = score(frames[:1], kit, lossless=True)
            if r.t_c_ratio is not None and r1.t_c_ratio is not None and truth is not None:
                errs.append(abs(r.t_c_ratio - truth))
                errs1.append(abs(r1.t_c_ratio - truth))
                spreads.append(r.t_c_spread or 0.0)
            self.scenes += 1
        return {"mae_burst": float(np.mean(errs)), "mae_single": float(np.mean(errs1)),
                "spread_median": float(np.median(spreads)), "n": len(errs)}

    def timing(self) -> dict[str, float]:
        """Milliseconds per 1280x960 frame on one core, ours and naive."""
        kit = self.kits[SINGLE]
        frames = [self.render(kiosk_scene(self.seed * 1_000_000 + 900_000 + i, kit))
                  for i in range(self.n(60))]
        ours, naive = [], []
        for f in frames:
            score([f], kit, lossless=True)  # warm caches for this frame
            reps = []
            for _ in range(3):
                t = time.perf_counter()
                score([f], kit, lossless=True)
                reps.append(time.perf_counter() - t)
            ours.append(float(np.median(reps)) * 1000)
            t = time.perf_counter()
            naive_score([f], kit)
            naive.append((time.perf_counter() - t) * 1000)
        return {"ms_mean": float(np.mean(ours)), "ms_p95": float(np.percentile(ours, 95)),
                "ms_max": float(np.max(ours)), "naive_ms_mean": float(np.mean(naive)),
                "frames": len(frames)}


def memory(frames_dir: Path, reader: str) -> dict[str, float]:
    """Peak resident memory of a fresh process that scores the frames in ``frames_dir``."""
    out = subprocess.run([sys.executable, __file__, "--memory-probe", str(frames_dir),
                          "--reader", reader], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """Peak resident memory of this process, MB. VmHWM belongs to the address space made at
    exec; ru_maxrss would include the parent's peak, which Linux carries across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_probe(frames_dir: Path, reader: str) -> None:
    """Run in a child process: import, score every frame (and one burst), report peak RSS."""
    from gateway.scoring import load_frame

    cv2.setNumThreads(1)
    kit = load_catalogue().kit(SINGLE)
    after_import = peak_rss_mb()
    paths = sorted(frames_dir.glob("*.png"))
    frames = []
    for p in paths:
        frame = load_frame(p)
        if reader == "ours":
            score([frame], kit, annotate=True, lossless=True)
        else:
            naive_score([frame], kit)
        frames.append(frame)
        frames = frames[-5:]
    if reader == "ours":
        score(frames, kit, lossless=True)
    peak = peak_rss_mb()
    print(json.dumps({"peak_mb": peak, "after_import_mb": after_import, "frames": len(paths)}))


def machine() -> str:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} logical cores (benchmark pinned to 1 thread); "
            f"Python {platform.python_version()}, numpy {np.__version__}, "
            f"OpenCV {cv2.__version__}, {platform.system()} {platform.release()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full scene counts (default 1.0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--field-images", type=Path,
                        default=ROOT.parent / "shared" / "field-images",
                        help="real strip photographs (default ../shared/field-images)")
    parser.add_argument("--only", choices=("veil", "exposure", "timing"), action="append",
                        help="while developing: only this set (repeatable), its figures only")
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reader", default="ours", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    if args.memory_probe:
        memory_probe(args.memory_probe, args.reader)
        return 0

    started = time.perf_counter()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print("nongan strip scoring benchmark")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {machine()}")
    bench = Bench(args.scale, args.seed)

    def phase(name: str, step):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        out = step()
        now = time.perf_counter()
        print(f"  [{now - started:5.0f} s] {name} ({now - t:.0f} s)",
              file=sys.stderr, flush=True)
        return out

    if args.only:
        sets = {"veil": ("veil glare scenes", bench.veils),
                "exposure": ("exposure 0.5-1.6x scenes", bench.exposures)}
        for name in args.only:
            if name == "timing":
                t = phase("timing", bench.timing)
                print(f"ms per frame: ours {t['ms_mean']:.1f} mean, {t['ms_p95']:.1f} p95, "
                      f"{t['ms_max']:.1f} max; naive {t['naive_ms_mean']:.1f} "
                      f"({t['frames']} frames)")
            else:
                phase(*sets[name])
        conditions(bench.readings, float("nan"))
        return 0
    phase("random good scenes", bench.random_good)
    phase("random JPEG-mix scenes", bench.random_jpeg)
    phase("veil glare scenes", bench.veils)
    phase("exposure 0.5-1.6x scenes", bench.exposures)
    phase("cut-off +-20% scenes", bench.challenge)
    phase("inhibition ladder", bench.ladder)
    phase("no-C scenes", bench.no_control)
    phase("bad-quality scenes", bench.bad_quality)
    rep = phase("repeatability", bench.repeatability)
    flat = phase("flat field", bench.flat_field)
    burst = phase("bursts", bench.bursts)
    timing = phase("timing", bench.timing)
    with tempfile.TemporaryDirectory() as tmp:
        kit = bench.kits[SINGLE]
        for i in range(bench.n(20)):
            spec = kiosk_scene(bench.seed * 1_000_000 + 950_000 + i, kit)
            cv2.imwrite(str(Path(tmp) / f"frame{i:03d}.png"), render_scene(spec))
        mem = memory(Path(tmp), "ours")
        mem_naive = memory(Path(tmp), "naive")
    field = field_checks(args.field_images)
    figures = report(bench, rep, flat, burst, timing, mem, mem_naive, field)
    total = time.perf_counter() - started
    print(f"\nscenes rendered: {bench.scenes} (+ timing/memory frames); "
          f"render time {bench.render_s:.0f} s; total {total:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
