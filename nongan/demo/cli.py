"""``nongan demo``: argument parsing and the top-level run."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from rich.console import Console

DEFAULT_DATA_DIR = Path(".nongan-demo")


def cmd_demo(args: argparse.Namespace) -> int:
    from .headless import run_headless
    from .interactive import run_interactive
    from .stack import (
        HEADLESS_INCUBATION_SCALE,
        INTERACTIVE_INCUBATION_SCALE,
        DemoError,
        DemoOptions,
        DemoStack,
    )

    console = Console()
    if args.fresh and args.data_dir.exists():
        try:
            _check_is_demo_folder(args.data_dir)
        except DemoError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        shutil.rmtree(args.data_dir)
    options = DemoOptions(
        data_dir=args.data_dir, broker_url=args.broker, api_port=args.port,
        kiosk_port=None if args.headless else args.kiosk_port,
        incubation_scale=HEADLESS_INCUBATION_SCALE if args.headless
        else INTERACTIVE_INCUBATION_SCALE,
    )

    async def main() -> int:
        async with DemoStack(options) as stack:
            if args.headless:
                return await run_headless(stack, args.farmers, console, seed=args.seed,
                                          contaminated=args.contaminated)
            return await run_interactive(stack, console)

    try:
        return asyncio.run(main())
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _check_is_demo_folder(folder: Path) -> None:
    """Raise DemoError unless ``folder`` is empty or looks like a demo's data folder, so that
    ``--fresh`` never deletes anything else."""
    from .stack import DemoError

    if not folder.is_dir():
        raise DemoError(f"--fresh: {folder} is not a folder; not deleting it")
    if (folder / "cloud.db").exists() or (folder / "kiosk").is_dir():
        return
    if any(folder.iterdir()):
        raise DemoError(f"--fresh: {folder} is not a demo data folder (it has neither cloud.db "
                        "nor kiosk/); not deleting it")


def non_negative_int(text: str) -> int:
    """argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run kiosk and cloud together on this machine (simulated hardware)",
        description="Start an embedded MQTT broker, the cloud bridge on SQLite and a simulated "
        "kiosk. Interactive by default; --headless runs simulated farmers and prints a summary.",
    )
    demo.add_argument("--headless", action="store_true",
                      help="no browser: simulated farmers, then a summary table")
    demo.add_argument("--farmers", type=non_negative_int, default=5, metavar="N",
                      help="simulated farmers in --headless mode (default 5)")
    demo.add_argument("--contaminated", type=non_negative_int, default=2, metavar="N",
                      help="in --headless mode, N more farmers whose produce is contaminated: "
                      "their lots must be blocked and reported, never certified (default 2)")
    demo.add_argument("--kiosk-port", type=int, default=8000,
                      help="the kiosk screen's port in interactive mode (default 8000)")
    demo.add_argument("--seed", type=int, default=1, help="random seed for the simulation")
    demo.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                      help=f"where the demo keeps its databases (default {DEFAULT_DATA_DIR})")
    demo.add_argument("--fresh", action="store_true", help="delete the data folder first")
    demo.add_argument("--broker", metavar="URL",
                      help="use this MQTT broker (mqtt://host:port) instead of the embedded one")
    demo.add_argument("--port", type=int, help="the cloud API's port (default: a free one)")
    demo.set_defaults(func=cmd_demo)
