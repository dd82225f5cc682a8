"""How big the place-name data is and how fast lookups are, with a same-run baseline.

The baseline is a bare ``SELECT name FROM place WHERE code = ?`` on the same file through
``sqlite3`` (what any lookup costs at least); every figure is the best of ``--repeat`` runs of
``--number`` calls. Also builds the one-province file a kiosk would use (from the cached source)
to give its size and build time.

    .venv/bin/python bench/places.py [--repeat 5] [--number 2000] [--province 37]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from protocol.places import Level, Places, default_path
from protocol.places.build import build
from protocol.places.sources import EDITIONS, cached_tarball


def best(fn: Callable[[], object], repeat: int, number: int) -> float:
    """Seconds per call, best of ``repeat`` runs of ``number`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def import_ms(module: str, repeat: int) -> float:
    """Fresh-interpreter import time of ``module`` (best of ``repeat``), in ms."""
    code = f"import time; t = time.perf_counter(); import {module}; " \
           "print((time.perf_counter() - t) * 1000)"
    return min(float(subprocess.run([sys.executable, "-c", code], check=True,
                                    capture_output=True, text=True).stdout)
               for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--province", default="37")
    args = parser.parse_args()
    path = default_path()
    places = Places(path)
    info = places.info
    print(f"data {info.version}: {path} {path.stat().st_size / 1e6:.1f} MB, "
          f"{sum(info.counts.values()):,} rows")

    def first() -> object:
        fresh = Places(path)
        try:
            return fresh.get("370902001")
        finally:
            fresh.close()

    raw = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    base = best(lambda: raw.execute("SELECT name FROM place WHERE code = ?",
                                    (370902001001,)).fetchone(), args.repeat, args.number)
    rows: list[tuple[str, float]] = [
        ("open + first lookup (new Places each time)", best(first, args.repeat, 200)),
        ("get(village)", best(lambda: places.get("370902001001"), args.repeat, args.number)),
        ("full_name(village)", best(lambda: places.full_name("370902001001"), args.repeat,
                                    args.number)),
        ("display_name(unknown town)", best(lambda: places.display_name("370902999"),
                                            args.repeat, args.number)),
    ]
    for code, label in [(None, "provinces"), ("37", "province → cities"),
                        ("3709", "city → counties"), ("370902", "county → towns"),
                        ("370902001", "town → villages"), ("11", "北京 (groupings spliced)")]:
        count = len(places.children(code))
        rows.append((f"children: {label} ({count})",
                     best(lambda c=code: places.children(c), args.repeat, args.number)))
    few = max(3, args.number // 200)
    rows += [
        ("search 城关, whole country", best(lambda: places.search("城关"), args.repeat, few)),
        (f"search 城关 within {args.province}",
         best(lambda: places.search("城关", within=args.province), args.repeat, few)),
        ("search 泰山, counties only",
         best(lambda: places.search("泰山", level=Level.COUNTY), args.repeat, few)),
    ]
    print(f"{'lookup':48} {'µs/call':>10} {'× baseline':>11}")
    print(f"{'bare SELECT by key (baseline)':48} {base * 1e6:10.1f} {1:11.1f}")
    for label, seconds in rows:
        print(f"{label:48} {seconds * 1e6:10.1f} {seconds / base:11.1f}")
    print(f"import protocol.places: {import_ms('protocol.places', args.repeat):.0f} ms "
          f"(import protocol alone: {import_ms('protocol', args.repeat):.0f} ms)")
    raw.close()
    places.close()

    tarball = cached_tarball(EDITIONS[-1])
    if tarball is None:
        print("source not cached: run `nongan places build` for the kiosk figures")
        return
    with tempfile.TemporaryDirectory() as folder:
        for label, provinces in [(f"kiosk file, province {args.province}", [args.province]),
                                 ("full file", None)]:
            start = time.perf_counter()
            report = build([tarball], out=Path(folder) / "p.sqlite", provinces=provinces,
                           force=True)
            print(f"{label}: {report.bytes / 1e6:.1f} MB, built in "
                  f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
