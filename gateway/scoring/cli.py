"""``nongan score``: read strip images with a kit and print the reading (or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from gateway.kits import KitCatalogueError, UnknownCodeError, load_catalogue

from .engine import DEFAULT_PX_PER_MM, DEFAULT_SIZE, score_windows
from .errors import ScoringError
from .io import is_jpeg_file, load_frame
from .result import ScoreResult


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``nongan score``."""
    p = subparsers.add_parser(
        "score", help="read colloidal-gold strip images with a kit",
        description="Score one cassette from one or more frames (a burst) of the same "
                    "cassette; prints one reading per window.")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                   help="frames of the same cassette (PNG or JPEG, 8-bit colour)")
    p.add_argument("--kit", required=True, help="kit id from the catalogue")
    p.add_argument("--lot", help="kit lot (applies the lot's own cut-offs)")
    p.add_argument("--window", type=int, help="read only this window (default: all)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--annotate", type=Path, metavar="OUT.png",
                   help="write an annotated image of the first frame")
    p.add_argument("--catalogue", type=Path, help="kit catalogue folder (default: built-in)")
    p.add_argument("--flat-field", type=Path, metavar="FLAT.npy",
                   help="the reader's flat field (float array saved with numpy.save)")
    p.add_argument("--px-per-mm", type=float, default=DEFAULT_PX_PER_MM,
                   help=f"reader magnification (default {DEFAULT_PX_PER_MM})")
    p.add_argument("--compressed", action="store_true",
                   help="the frames went through JPEG at some point (say so for a PNG made "
                        "from a JPEG): read green alone. JPEG files are read so anyway")
    p.add_argument("--any-size", action="store_true",
                   help="accept frames of any size (default: "
                        f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]} only)")
    p.set_defaults(func=run)


def _fail(message: str) -> int:
    print(f"nongan score: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Score the images; exit 0 with a reading (whatever the call), 2 on bad input."""
    try:
        catalogue = load_catalogue(args.catalogue)
    except KitCatalogueError as exc:
        return _fail(f"the kit catalogue is invalid: {exc}")
    try:
        kit = catalogue.kit(args.kit, args.lot)
    except UnknownCodeError as exc:
        return _fail(f"{exc} (kits: {', '.join(sorted(catalogue.kits))})")
    if args.annotate is not None and args.annotate.suffix.lower() not in (".png", ".jpg",
                                                                          ".jpeg"):
        return _fail(f"{args.annotate}: use a .png or .jpg file name for --annotate")
    try:
        frames = [load_frame(p) for p in args.images]
        flat = _load_flat(args.flat_field) if args.flat_field else None
        windows = None if args.window is None else [args.window]
        results = score_windows(frames, kit, windows=windows, flat_field=flat,
                                annotate=args.annotate is not None,
                                expected_size=None if args.any_size else DEFAULT_SIZE,
                                px_per_mm=args.px_per_mm,
                                lossless=not args.compressed
                                and not any(is_jpeg_file(p) for p in args.images))
    except ScoringError as exc:
        return _fail(str(exc))
    if args.annotate is not None:
        image = results[0].annotated
        try:
            args.annotate.parent.mkdir(parents=True, exist_ok=True)
            written = image is not None and cv2.imwrite(str(args.annotate), image)
        except (OSError, cv2.error):
            written = False
        if not written:
            return _fail(f"cannot write {args.annotate}")
    if args.json:
        print(json.dumps({"kit_id": kit.id, "lot": kit.lot.lot if kit.lot else None,
                          "readings": [r.to_dict() for r in results]}, indent=2,
                         ensure_ascii=False))
    else:
        for r in results:
            print(_describe(r))
    return 0


def _load_flat(path: Path) -> np.ndarray:
    try:
        flat = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ScoringError(f"{path}: not a flat field saved with numpy.save ({exc})") from None
    except EOFError:
        raise ScoringError(f"{path}: the flat field file is empty or cut short; save it again "
                           "with numpy.save (or recalibrate the reader)") from None
    if not isinstance(flat, np.ndarray):
        raise ScoringError(f"{path}: not a single array")
    return flat


def _describe(r: ScoreResult) -> str:
    ratio = "-" if r.t_c_ratio is None else f"{r.t_c_ratio:.3f}"
    spread = "" if not r.t_c_spread else f" (spread {r.t_c_spread:.3f})"
    head = (f"window {r.window} ({r.analyte}): {r.call.value.upper()}  T/C {ratio}{spread}  "
            f"[{r.rule} {r.cutoff_low:.2f}/{r.cutoff_high:.2f}]  C {r.c_line.height}  "
            f"T {r.t_line.height}  frames {r.frames_used}/{r.frame_count}  "
            f"{r.processing_ms:.0f} ms")
    return "\n".join([head, *(f"  - {text}" for text in r.reasons)])
