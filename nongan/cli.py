"""The ``nongan`` command: a thin dispatcher to each package's commands.

Each package that offers commands has a ``cli`` module with ``register(subparsers)``, which adds
its verbs and sets ``func`` on each parser to a callable taking the parsed arguments and
returning an exit status. Modules are imported when the command line is built, and must not
create settings, engines or clients at import time.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from nongan import __version__

# Order is the order of --help.
COMMAND_MODULES = (
    "nongan.demo.cli",
    "gateway.cli",
    "kiosk_ui.cli",
    "gateway.technician.cli",
    "gateway.scoring.cli",
    "device_drivers.strip_sim.cli",
    "cloud_bridge.cli",
    "cloud_bridge.pki_cli",
    "device_drivers.firmware_cli",
    "gateway.update.release_cli",
    "gateway.update.cli",
    "protocol.places.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nongan",
        description="Village rapid-testing kiosks and their cloud (农安).",
    )
    parser.add_argument("--version", action="version", version=f"nongan {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
