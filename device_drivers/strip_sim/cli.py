"""``nongan simulate strip``: render one strip scene to an image file.

By default the scene is clean (nominal light, centred cassette); ``--random`` draws every
nuisance factor from the simulator's ranges using ``--seed``, and the other options then
override single factors. Imports nothing of ours beyond this package.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import cv2

from .random_scenes import Defect, random_scene
from .render import render_scene
from .spec import (
    CassetteGeometry,
    GlareSpot,
    LineTruth,
    SceneSpec,
    multi_strip_card,
    single_strip_cassette,
)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
CASSETTES = {"single": single_strip_cassette, "card2": lambda: multi_strip_card(2),
             "card3": lambda: multi_strip_card(3), "card4": lambda: multi_strip_card(4)}


def _simulate_subparsers(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]
                         ) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """The ``simulate`` verb's own sub-commands, shared with other simulator modules."""
    existing = subparsers.choices.get("simulate")
    if existing is not None and hasattr(existing, "nongan_subparsers"):
        return existing.nongan_subparsers
    parser = subparsers.add_parser("simulate", help="render simulated device output")
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    parser.nongan_subparsers = sub  # type: ignore[attr-defined]
    return sub


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``nongan simulate strip``."""
    p = _simulate_subparsers(subparsers).add_parser(
        "strip", help="render a cassette scene (truth known) to an image",
        description=__doc__)
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="image file to write (.png lossless, or .jpg)")
    p.add_argument("--cassette", choices=sorted(CASSETTES), default="single",
                   help="single strip, or a card of 2-4 strips (default single)")
    p.add_argument("--tc", type=float, nargs="+", default=[1.0], metavar="T/C",
                   help="true T/C per window (one value is used for every window)")
    p.add_argument("--c-od", type=float, default=0.6, help="C line optical density (green)")
    p.add_argument("--no-c", action="store_true", help="no C line (an invalid strip)")
    p.add_argument("--seed", type=int, default=0, help="seed of the scene (default 0)")
    p.add_argument("--random", action="store_true",
                   help="draw every nuisance factor at random from the seed")
    p.add_argument("--defect", choices=[d.value for d in Defect],
                   help="with --random: make one thing go wrong")
    p.add_argument("--frame-index", type=int, default=0, help="frame of a burst (noise)")
    p.add_argument("--rotation", type=float, help="cassette rotation, degrees")
    p.add_argument("--offset", type=float, nargs=2, metavar=("X_MM", "Y_MM"),
                   help="cassette offset from the tray's nominal position, mm")
    p.add_argument("--blur", type=float, help="optical blur sigma, px")
    p.add_argument("--exposure", type=float, help="relative exposure (1 = nominal)")
    p.add_argument("--jpeg-quality", type=int, help="JPEG round trip at this quality")
    p.add_argument("--lossless", action="store_true", help="no JPEG round trip")
    p.add_argument("--kiosk-camera", action="store_true",
                   help="as the kiosk's camera delivers it: lossless, demosaiced from a colour "
                        "filter array (score it without --compressed)")
    p.add_argument("--glare", type=float, nargs=4, action="append",
                   metavar=("X", "Y", "SIGMA", "PEAK"), help="add a glare spot (frame px)")
    p.add_argument("--wet", type=float, help="membrane wetness 0-0.6")
    p.add_argument("--uncleared", type=float, help="unbound gold on the membrane, green OD")
    p.add_argument("--no-cassette", action="store_true", help="empty tray")
    p.add_argument("--white-card", action="store_true",
                   help="a blank white card (flat-field calibration image)")
    p.add_argument("--truth", type=Path, help="also write the scene specification as JSON")
    p.set_defaults(func=run)


def build_spec(args: argparse.Namespace) -> SceneSpec:
    """The scene the options describe."""
    if args.frame_index < 0:
        raise ValueError(f"--frame-index must be 0 or more, not {args.frame_index}")
    geometry: CassetteGeometry = CASSETTES[args.cassette]()
    n = len(geometry.windows)
    ratios = list(args.tc)
    if len(ratios) == 1:
        ratios *= n
    if len(ratios) != n:
        raise ValueError(f"--tc needs 1 or {n} values for a {args.cassette} cassette")
    c_od = 0.0 if args.no_c else args.c_od
    lines = tuple(LineTruth(c_od=c_od, t_od=args.c_od * r) for r in ratios)
    if args.random:
        spec = random_scene(args.seed, cassette=geometry, lines=lines,
                            defect=Defect(args.defect) if args.defect else None)
    else:
        if args.defect:
            raise ValueError("--defect needs --random")
        spec = SceneSpec(seed=args.seed, cassette=geometry, lines=lines)
    cam, light, look, place = spec.camera, spec.light, spec.look, spec.placement
    if args.rotation is not None:
        place = replace(place, rotation_deg=args.rotation)
    if args.offset is not None:
        place = replace(place, offset_mm=(args.offset[0], args.offset[1]))
    if args.blur is not None:
        cam = replace(cam, blur_px=args.blur)
    if args.jpeg_quality is not None:
        cam = replace(cam, jpeg_quality=args.jpeg_quality)
    if args.lossless:
        cam = replace(cam, jpeg_quality=None)
    if args.kiosk_camera:
        cam = replace(cam, jpeg_quality=None, bayer=True)
    if args.exposure is not None:
        light = replace(light, exposure=args.exposure)
    if args.wet is not None:
        look = replace(look, wet=args.wet)
    if args.uncleared is not None:
        look = replace(look, uncleared_od=args.uncleared)
    glare = spec.glare + tuple(GlareSpot(*g) for g in (args.glare or []))
    spec = replace(spec, camera=cam, light=light, look=look, placement=place, glare=glare)
    if args.no_cassette:
        spec = replace(spec, cassette=None, lines=())
    if args.white_card:
        spec = replace(spec, white_card=True, glare=())
    return spec


def run(args: argparse.Namespace) -> int:
    """Render the scene and write it."""
    try:
        spec = build_spec(args)
    except ValueError as exc:
        print(f"nongan simulate strip: {exc}", file=sys.stderr)
        return 2
    if args.output.suffix.lower() not in IMAGE_SUFFIXES:
        print(f"nongan simulate strip: {args.output}: use a .png or .jpg file name",
              file=sys.stderr)
        return 2
    if args.truth:
        try:  # before the image is written, so a bad --truth leaves no image without truth
            args.truth.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(f"nongan simulate strip: cannot write --truth {args.truth}: {exc}",
                  file=sys.stderr)
            return 2
    frame = render_scene(spec, frame_index=args.frame_index)
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        written = cv2.imwrite(str(args.output), frame)
    except (OSError, cv2.error) as exc:
        written = False
        print(f"nongan simulate strip: {exc}", file=sys.stderr)
    if not written:
        print(f"nongan simulate strip: cannot write {args.output}", file=sys.stderr)
        return 2
    if args.truth:
        try:
            args.truth.write_text(json.dumps(asdict(spec), indent=2, default=str))
        except OSError as exc:
            print(f"nongan simulate strip: wrote {args.output} but cannot write --truth "
                  f"{args.truth}: {exc}", file=sys.stderr)
            return 2
    truths = ", ".join(f"window {i}: C {t.c_od:.3f} T {t.t_od:.3f} T/C "
                       f"{'-' if t.t_c is None else f'{t.t_c:.3f}'}"
                       for i, t in enumerate(spec.lines)) or "no cassette"
    print(f"wrote {args.output} ({frame.shape[1]}x{frame.shape[0]}); {truths}")
    return 0
