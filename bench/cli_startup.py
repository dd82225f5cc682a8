"""How long ``nongan --help`` takes to start, lazy (what the command does) against eager (every
command module imported first: what the dispatcher did before issue 12), in the same run.

    python bench/cli_startup.py [--runs 10]

Each figure is the wall time of a fresh interpreter (``python -m nongan --help``; the eager
baseline builds the whole parser with ``nongan.cli.build_parser``) after one warm-up run, and the
import time ``python -X importtime`` reports for the same command (the sum of the top-level
imports), with the number of modules loaded and which heavy libraries among them.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

HEAVY = ("numpy", "cv2", "sqlalchemy", "fastapi", "pydantic", "cryptography")
LAZY = ["-m", "nongan", "--help"]
EAGER = ["-c", "from nongan.cli import build_parser; build_parser().format_help()"]


def wall_ms(args: list[str], runs: int) -> list[float]:
    subprocess.run([sys.executable, *args], capture_output=True, check=True)  # warm caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def imports(args: list[str]) -> tuple[float, int, list[str]]:
    """(top-level import ms, modules imported, heavy libraries among them)."""
    err = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True,
                         text=True, check=True).stderr
    lines = [line for line in err.splitlines() if line.startswith("import time:")
             and line.split("|")[1].strip().isdigit()]  # not the header line
    total = names = 0.0
    heavy = set()
    for line in lines:
        _, cumulative, name = line.split("|")
        names += 1
        if not name.startswith("  "):  # a top-level import: its cumulative time counts once
            total += int(cumulative)
        if name.strip() in HEAVY:
            heavy.add(name.strip())
    return total / 1000, int(names), sorted(heavy)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    print(f"nongan --help, {runs} runs each (python {sys.version.split()[0]})")
    print(f"{'':8} {'median ms':>9} {'min':>6} {'max':>6} {'imports ms':>10} {'modules':>8}"
          "  heavy")
    for label, args in (("eager", EAGER), ("lazy", LAZY)):
        times = wall_ms(args, runs)
        total, count, heavy = imports(args)
        print(f"{label:8} {statistics.median(times):9.0f} {min(times):6.0f} {max(times):6.0f} "
              f"{total:10.0f} {count:8d}  {', '.join(heavy) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
